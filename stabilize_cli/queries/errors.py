"""What a query can refuse; the CLI maps each to a message and an exit code."""

from __future__ import annotations


class QueryError(Exception):
    """Base for errors a user's input caused."""


class NotFoundError(QueryError):
    """The workflow, entity, event or snapshot asked for does not exist."""


class InvalidInputError(QueryError):
    """An argument is malformed or out of range (a reversed range, an ambiguous prefix)."""


class CannotWriteError(QueryError):
    """A file the user asked to be written (``--export``) cannot be: exit 3, like a file
    that cannot be opened, and before any output."""
