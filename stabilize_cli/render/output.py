"""The one output path: every command hands a :class:`Report` here, in any format.

JSON never goes through Rich (it added colour codes under FORCE_COLOR and wrapped long
strings): it is written with the json module, ASCII-only so no control byte survives.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from ..events.errors import StoreError
from ..events.timeutil import parse_timestamp
from .console import make_console
from .fit import FitColumn, FitTable
from .formats import ROW_FORMATS, Format, FormatNotAvailableError
from .safe import safe_text
from .sanitize import NULL_MARK, csv_text, display, inert, markdown_text


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    numeric: bool = False


@dataclass(frozen=True)
class StreamedDocument:
    """A JSON object one of whose values is a list too long to hold (a million timeline
    entries): the keys before it, its items (written one by one as they come), and the
    keys after it, asked for once the items are written. Written byte for byte as
    :func:`write_json` writes the whole object."""

    head: dict[str, Any]
    key: str
    items: Iterable[Any]
    tail: Callable[[], dict[str, Any]]


@dataclass
class Report:
    """What a command produces, in every form it can be written."""

    document: Callable[[], Any]
    """The JSON document (``--format json``)."""
    columns: Sequence[Column] = ()
    records: Callable[[], Iterable[dict[str, Any]]] | None = None
    """Rows, for ndjson/csv/markdown, and for the table when there is no view."""
    view: Callable[[], RenderableType] | None = None
    """The Rich view for ``--format table``."""
    formats: frozenset[Format] = field(default_factory=lambda: frozenset(Format))
    broken: list[Exception] = field(default_factory=list)
    """An error the view met after showing what it could read: raised once it is shown."""
    mark: tuple[dict[str, Any], str] | None = None
    """What the answer left out, as the incomplete mark and one line of text
    (``incomplete.mark_incomplete``): the row formats end with it."""


def write(report: Report, fmt: Format) -> None:
    if fmt not in report.formats or (fmt in ROW_FORMATS and report.records is None):
        allowed = ", ".join(f.value for f in Format if f in report.formats)
        raise FormatNotAvailableError(f"--format {fmt.value} is not available here (use {allowed})")
    if fmt is Format.JSON:
        document = report.document()
        if isinstance(document, StreamedDocument):
            write_json_streamed(document)
        else:
            write_json(document)
    elif fmt in ROW_FORMATS:
        assert report.records is not None
        try:
            _write_rows(fmt, report.columns, report.records())
        except StoreError as error:  # broken off part way: what was written says so
            mark, text = _broken_mark(error), str(error)
            if report.mark is not None:  # and what else the answer left out
                mark, text = {**mark, **report.mark[0]}, f"{text}; {report.mark[1]}"
            _write_mark(fmt, report.columns, mark, text)
            raise
        if report.mark is not None:
            _write_mark(fmt, report.columns, *report.mark)
    else:
        console = make_console()
        if report.view is not None:
            console.print(report.view())
        else:
            assert report.records is not None
            console.print(rows_table(report.columns, report.records()))
        if report.broken:
            raise report.broken[0]


def _broken_mark(error: Exception) -> dict[str, Any]:
    from .incomplete import incomplete_mark  # noqa: PLC0415 - the one mark, imported late (cycle)

    return incomplete_mark(error)


def _write_rows(fmt: Format, columns: Sequence[Column], records: Iterable[dict[str, Any]]) -> None:
    if fmt is Format.NDJSON:
        for record in records:
            write_json_line(record)
    elif fmt is Format.CSV:
        _write_csv(columns, records)
    else:
        _write_markdown(columns, records)


def _write_mark(fmt: Format, columns: Sequence[Column], mark: dict[str, Any], text: str) -> None:
    """The incomplete mark after the rows: NDJSON's last line, CSV's last row (its first
    cell says it), a line after the Markdown table."""
    if fmt is Format.NDJSON:
        write_json_line(mark)
    elif fmt is Format.CSV:
        import csv  # noqa: PLC0415 - only CSV output needs it

        cells = [csv_text(cell(f"INCOMPLETE: {text}"))] + [""] * (len(columns) - 1)
        csv.writer(sys.stdout, lineterminator="\n").writerow(cells)
    else:
        sys.stdout.write(f"\n**INCOMPLETE**: {markdown_text(cell(text))}\n")


def json_ready(value: Any) -> Any:
    """Values JSON can carry: non-finite floats become strings, times ISO 8601."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):  # a BLOB where text belongs: its SQL literal, X'0A1B'
        return f"X'{value.hex().upper()}'"
    return value


def dumps(value: Any, *, indent: int | None = None) -> str:
    return json.dumps(json_ready(value), ensure_ascii=True, allow_nan=False, indent=indent)


def write_json(value: Any) -> None:
    sys.stdout.write(dumps(value, indent=2) + "\n")


def write_json_streamed(document: StreamedDocument) -> None:
    """What ``write_json`` writes for the whole object, in pieces: at indent 2 a list
    item's own lines sit four spaces in (a raw newline is only ever indentation: JSON
    escapes those inside strings)."""
    out = sys.stdout.write
    head = dumps(document.head, indent=2)
    out(head[:-2] + ",\n" if document.head else "{\n")
    out(f"  {dumps(document.key)}: [")
    empty = True
    for item in document.items:
        out(("\n    " if empty else ",\n    ") + _indented(json_ready(item), "\n    "))
        empty = False
    out("]" if empty else "\n  ]")
    tail = document.tail()
    out("," + dumps(tail, indent=2)[1:] + "\n" if tail else "\n}\n")


_ENCODE = json.JSONEncoder(ensure_ascii=True, allow_nan=False).encode


def _scalar(value: Any) -> str:
    """What the encoder writes for a value that is not a container, its usual cases
    without its per-call set-up."""
    if isinstance(value, str):
        return encode_basestring_ascii(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if type(value) is int:
        return int.__repr__(value)
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value)
    return _ENCODE(value)


def _indented(value: Any, newline: str) -> str:
    """``dumps(value, indent=2)`` with each line break followed by ``newline``'s indent,
    for a value :func:`json_ready` made: three times faster than the json module's own
    indenting encoder (pure Python), once per entry of a million-entry document."""
    if isinstance(value, dict) and value:
        inner = newline + "  "
        parts = [f"{_scalar(k)}: {_indented(v, inner)}" for k, v in value.items()]
        return "{" + inner + ("," + inner).join(parts) + newline + "}"
    if isinstance(value, list) and value:
        inner = newline + "  "
        return "[" + inner + ("," + inner).join(_indented(v, inner) for v in value) + newline + "]"
    return _scalar(value)


def write_json_line(value: Any) -> None:
    sys.stdout.write(dumps(value) + "\n")
    sys.stdout.flush()


def cell(value: Any) -> str:
    """A value as one line of plain, terminal-safe text."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return dumps(value)  # ASCII JSON: every control already a JSON escape
    if isinstance(value, bool):
        return "true" if value else "false"
    return inert(display(value))


def csv_cell(value: Any) -> str:
    """A CSV cell: numbers the tool writes as numbers stay numbers (a spreadsheet sums
    them; ``str`` of an int or a finite float cannot hold a formula), any text a
    spreadsheet would read as a formula starts with ``'``."""
    if _is_number(value):
        return display(value)
    return csv_text(cell(value))


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def markdown_cell(value: Any) -> str:
    """A Markdown cell that renders as the table's text; NULL as its mark."""
    return markdown_text(cell(value)) or NULL_MARK


def markdown_row(values: Iterable[str]) -> str:
    return "| " + " | ".join(values) + " |\n"


def markdown_head(columns: Sequence[Column]) -> str:
    return markdown_row(markdown_text(c.header) for c in columns) + markdown_row(
        "---:" if c.numeric else "---" for c in columns
    )


def _write_csv(columns: Sequence[Column], records: Iterable[dict[str, Any]]) -> None:
    import csv  # noqa: PLC0415 - only CSV output needs it

    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow([c.key for c in columns])
    for record in records:
        writer.writerow([csv_cell(record.get(c.key)) for c in columns])


def _write_markdown(columns: Sequence[Column], records: Iterable[dict[str, Any]]) -> None:
    sys.stdout.write(markdown_head(columns))
    for record in records:
        sys.stdout.write(markdown_row(markdown_cell(record.get(c.key)) for c in columns))


def is_id(key: str) -> bool:
    """Ids are copied from tables into the next command: never cut them (nor statuses)."""
    return key == "id" or key.endswith("_id")


def is_time(key: str) -> bool:
    return key in ("timestamp", "first_seen", "last_seen") or key.endswith(("_time", "_at"))


def table_time(value: Any) -> Any:
    """The one time layout of every table: UTC to the millisecond (``2026-11-28
    15:04:51.232``); JSON and CSV keep the stored ISO text. Not a time: as it is."""
    try:
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            moment = parse_timestamp(value)
        else:
            return value
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
    except (ValueError, OverflowError):  # not a time, or beyond datetime's range in UTC
        return value
    # Formatted by hand: strftime's %Y drops the leading zeros of years before 1000.
    day = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    return f"{day} {moment:%H:%M:%S}.{moment.microsecond // 1000:03d}"


FIXED_KEYS = frozenset({"status", "entity_type", "event_type", "kind", "severity", "check"})
"""Text columns that are words from a small set: never cut, like ids and numbers."""


def is_fixed(column: Column) -> bool:
    """Numbers, ids, statuses and times are copied or compared: never cut or wrapped."""
    return column.numeric or is_id(column.key) or is_time(column.key) or column.key in FIXED_KEYS


def rows_table(
    columns: Sequence[Column], records: Iterable[dict[str, Any]], *, title: str | None = None
) -> FitTable:
    """Rows for the terminal: times in one layout, fitted to the width (see ``fit``)."""
    rows = [
        [_table_cell(table_time(r.get(c.key)) if is_time(c.key) else r.get(c.key)) for c in columns]
        for r in records
    ]
    fitted = [
        FitColumn(c.header, "fixed" if is_fixed(c) else "wrap", right=c.numeric) for c in columns
    ]
    return FitTable(fitted, rows, title=title)


def _table_cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return Text(dumps(value))  # ASCII JSON: every control already a JSON escape
    return safe_text(value, style="dim" if value is None else "")
