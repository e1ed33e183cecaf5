"""The library's warnings on stderr, one neutralised line each.

The library warns with ids from the database (a skipped event, an ignored snapshot);
without a handler Python would print them raw. Imported when a command runs, not at start
(``--version`` and Tab-completion need no logging).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from ..render.sanitize import clean
from .run import CommandRun


class _NeutralWarning(logging.Handler):
    """One ``warning:`` line per record, redacted by the run's redactor, control
    characters escaped."""

    def __init__(self, run: CommandRun) -> None:
        super().__init__(logging.WARNING)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"warning: {clean(self.run.redact(record.getMessage()))}\n")
        except Exception:
            self.handleError(record)


@contextmanager
def library_warnings(run: CommandRun) -> Iterator[None]:
    """The library's warnings shown while ``run`` lasts (its handler leaves with it)."""
    library = logging.getLogger("stabilize_cli")
    handler = _NeutralWarning(run)
    library.addHandler(handler)
    try:
        yield
    finally:
        library.removeHandler(handler)
