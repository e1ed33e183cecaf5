"""Output formats, kept free of Rich so that parsing options stays cheap."""

from __future__ import annotations

from enum import StrEnum


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"
    MARKDOWN = "markdown"


ROW_FORMATS = frozenset({Format.NDJSON, Format.CSV, Format.MARKDOWN})


class FormatNotAvailableError(ValueError):
    """The command's output has no such form (a tree has no CSV)."""
