"""Events as tables, rows and streams: `history`, `events` and `events --follow`.

Event outputs can be long, so JSON and NDJSON are written one event at a time, and a
followed stream prints each event as one plain line (a Rich table would re-render).
"""

from __future__ import annotations

import csv
import itertools
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rich.console import (
    Group,
    RenderableType,
)
from rich.text import Text
from rich.tree import Tree

from ..events.errors import DamageSkippedError, StoreError
from ..queries.events import EntityHistory, EventStream, StoredEvent, event_record
from .cause import add_cause
from .console import make_console
from .fit import FitColumn, FitTable
from .formats import Format, FormatNotAvailableError
from .incomplete import incomplete_mark
from .output import (
    Column,
    Report,
    cell,
    csv_cell,
    dumps,
    is_time,
    markdown_cell,
    markdown_head,
    markdown_row,
    table_time,
    write,
    write_json_line,
)
from .safe import safe_text
from .sanitize import clean

SEQUENCE = Column("sequence", "SEQ", numeric=True)
TIME = Column("timestamp", "TIME")
TYPE = Column("event_type", "TYPE")
KIND = Column("entity_type", "KIND")
ENTITY = Column("entity_id", "ENTITY")
WORKFLOW = Column("workflow_id", "WORKFLOW")
VERSION = Column("version", "VER", numeric=True)
ACTOR = Column("actor", "ACTOR")
HANDLER = Column("source_handler", "HANDLER")
SUMMARY = Column("summary", "SUMMARY")

HISTORY_COLUMNS = (SEQUENCE, TIME, TYPE, VERSION, ACTOR, HANDLER, SUMMARY)
WORKFLOW_HISTORY_COLUMNS = (SEQUENCE, TIME, TYPE, KIND, ENTITY, VERSION, ACTOR, HANDLER, SUMMARY)
EVENT_TABLE_COLUMNS = (SEQUENCE, TIME, TYPE, KIND, ENTITY, VERSION, SUMMARY)
"""Events on a terminal: actor and handler make way for the summary (CSV keeps them)."""
EVENT_COLUMNS = (
    SEQUENCE,
    TIME,
    TYPE,
    KIND,
    ENTITY,
    WORKFLOW,
    VERSION,
    ACTOR,
    HANDLER,
    SUMMARY,
)
WANTED_SUMMARY_WIDTH = 24
MOVES_FIRST = {"source_handler": 0, "actor": 0, "entity_type": 0}
"""Actor, handler and entity kind move under the row before the summary does."""


def event_table(columns: Sequence[Column], records: Sequence[dict[str, Any]]) -> FitTable:
    """One line per event where the width allows: the summary (the last column) ends in
    an ellipsis, not below a readable width; sequence, time, type and ids are never cut,
    and a column that does not fit moves to a line under its row (see ``fit``)."""
    *fixed, last = columns
    fitted = [
        FitColumn(c.header, "fixed", right=c.numeric, moves=MOVES_FIRST.get(c.key)) for c in fixed
    ]
    fitted.append(FitColumn(last.header, "clip", min_width=WANTED_SUMMARY_WIDTH))
    rows = [[_cell(_shown(c.key, r.get(c.key))) for c in columns] for r in records]
    return FitTable(fitted, rows)


def _shown(key: str, value: Any) -> Any:
    return table_time(value) if is_time(key) else value


def _cell(value: Any) -> Text:
    return safe_text(value, style="dim" if value is None else "")


def readable_table(
    columns: Sequence[Column], records: Iterable[dict[str, Any]], broken: list[Exception]
) -> RenderableType:
    """The rows read before the store broke off (a damaged page), then a line saying the
    table is incomplete; the error goes to ``broken``, raised once this is shown."""
    rows: list[dict[str, Any]] = []
    try:
        rows.extend(records)
    except StoreError as error:
        broken.append(error)
        mark = Text(f"INCOMPLETE: {clean(str(error))}", style="bold red")
        return Group(event_table(columns, rows), mark)
    return event_table(columns, rows)


def history_report(history: EntityHistory) -> Report:
    whole = history.whole_workflow
    columns = EVENT_TABLE_COLUMNS if whole else HISTORY_COLUMNS
    report = Report(
        document=history.to_json,
        columns=WORKFLOW_HISTORY_COLUMNS if whole else HISTORY_COLUMNS,
        records=history.records,
    )
    report.view = lambda: Group(
        _history_title(history), readable_table(columns, history.records(), report.broken)
    )
    return report


def history_table(history: EntityHistory) -> PagedTable:
    columns = EVENT_TABLE_COLUMNS if history.whole_workflow else HISTORY_COLUMNS
    return PagedTable(
        columns, history.records, lambda: _history_title(history), lambda: _causes(history)
    )


def _causes(history: EntityHistory) -> RenderableType | None:
    """Each failure's real cause from the engine's tables, after the events."""
    trees: list[RenderableType] = []
    for entity_id, cause in history.shown_causes():
        tree = Tree(Text.assemble("real cause of ", safe_text(entity_id), " (engine tables)"))
        add_cause(tree, cause)
        trees.append(tree)
    return Group(*trees) if trees else None


def _history_title(history: EntityHistory) -> Text:
    scope = "every event of workflow" if history.whole_workflow else history.entity_type.value
    title = Text.assemble((f"{scope} ", "bold"), safe_text(history.entity_id, style="bold"))
    if history.owner is not None:
        title.append(" in workflow ").append_text(safe_text(history.owner))
    count = history.count
    return title.append(f": {count} event{'s' if count != 1 else ''}")


def events_report(stream: EventStream) -> Report:
    report = Report(document=stream.to_json, columns=EVENT_COLUMNS, records=stream.records)
    report.view = lambda: readable_table(EVENT_TABLE_COLUMNS, stream.records(), report.broken)
    return report


def events_table(stream: EventStream) -> PagedTable:
    return PagedTable(EVENT_TABLE_COLUMNS, stream.records)


PAGE_ROWS = 10_000
"""Rows a table measures and renders at once: Rich holds a whole table (its cells, then
its lines) before writing it, so a longer one is printed page by page."""


@dataclass(frozen=True)
class PagedTable:
    """A table of events written in pages of :data:`PAGE_ROWS` rows, each sized to its
    own rows: time and memory stay in proportion to one page, whatever the row count."""

    columns: Sequence[Column]
    records: Callable[[], Iterable[dict[str, Any]]]
    title: Callable[[], RenderableType] | None = None
    footer: Callable[[], RenderableType | None] | None = None
    """Printed after the last page (history: the real causes from the engine's tables)."""

    def write(self, left_out: str | None = None) -> None:
        """Pages as they are read; when the store breaks off (a damaged page), the rows
        read before it, then an ``INCOMPLETE`` line, then the error is raised. ``left_out``:
        what else the report left out, said on the ``INCOMPLETE`` line."""
        console = make_console()
        rows = iter(self.records())
        broken: list[StoreError] = []

        def take() -> list[dict[str, Any]]:
            page: list[dict[str, Any]] = []
            if broken:
                return page
            try:
                page.extend(itertools.islice(rows, PAGE_ROWS))
            except StoreError as error:
                broken.append(error)
            return page

        page = take()
        following = take()
        if following:
            sys.stderr.write(
                f"note: more than {PAGE_ROWS:,} rows: the table is printed in pages of "
                f"{PAGE_ROWS:,}, each sized to its own rows (-f ndjson or -f csv: one row "
                "per line)\n"
            )
        if self.title is not None:
            console.print(self.title())
        console.print(event_table(self.columns, page))
        while following:
            page, following = following, take()
            console.print(event_table(self.columns, page))
        also = "" if left_out is None else f"; {left_out}"
        if broken:
            console.print(Text(f"INCOMPLETE: {clean(str(broken[0]) + also)}", style="bold red"))
            raise broken[0]
        footer = None if self.footer is None else self.footer()
        if footer is not None:
            console.print(footer)
        if left_out is not None:
            console.print(Text(f"INCOMPLETE: {clean(left_out)}", style="bold"))


class Dictable(Protocol):
    """An event as JSON writes it: the engine's form (and, in history, a cause beside it)."""

    def to_dict(self) -> dict[str, Any]: ...


def write_events(
    report: Report,
    events: Callable[[], Iterable[Dictable]],
    fmt: Format,
    table: PagedTable | None = None,
) -> None:
    """JSON and NDJSON carry each event in the engine's form, written as it is read.

    An unreadable row is its columns as stored with an ``unreadable`` object saying why.
    When the store fails part way (a corrupt page), what was written ends with
    ``{"incomplete": true, "error": ...}`` (JSON: as the array's last item), then the
    error is raised. A report marked as leaving something else out (``report.mark``: the
    engine's tables read beside the events) ends with that mark, or adds it to the error's.
    """
    left_out = report.mark
    if fmt is Format.NDJSON:
        written = False
        try:
            for event in events():
                write_json_line(event.to_dict())
                written = True
        except StoreError as error:
            if written or isinstance(error, DamageSkippedError) or left_out is not None:
                write_json_line(_broken_mark(error, left_out))
            raise
        if left_out is not None:
            write_json_line(left_out[0])
    elif fmt is Format.JSON:
        write_json_array((e.to_dict() for e in events()), left_out)
    elif fmt is Format.TABLE and table is not None:
        table.write(None if left_out is None else left_out[1])
    else:
        write(report, fmt)


def _broken_mark(error: StoreError, left_out: tuple[dict[str, Any], str] | None) -> dict[str, Any]:
    """The mark of a stream broken off, with what else the report left out."""
    return {**incomplete_mark(error), **({} if left_out is None else left_out[0])}


def write_json_array(
    items: Iterable[Any], left_out: tuple[dict[str, Any], str] | None = None
) -> None:
    """``json.dumps(list(items), indent=2)``, byte for byte, without building the list;
    ``left_out``'s mark, if given, as its last item."""
    out = sys.stdout
    first = True
    try:
        for item in items:
            out.write("[\n  " if first else ",\n  ")
            out.write(dumps(item, indent=2).replace("\n", "\n  "))
            first = False
    except StoreError as error:
        if not first or isinstance(error, DamageSkippedError) or left_out is not None:
            out.write("[\n  " if first else ",\n  ")
            out.write(dumps(_broken_mark(error, left_out), indent=2).replace("\n", "\n  "))
            out.write("\n]\n")
        raise
    if left_out is not None:
        out.write("[\n  " if first else ",\n  ")
        out.write(dumps(left_out[0], indent=2).replace("\n", "\n  "))
        first = False
    out.write("[]\n" if first else "\n]\n")


# -- following ----------------------------------------------------------------------------


def write_followed(events: Iterator[StoredEvent], fmt: Format) -> None:
    """Each event as soon as it arrives, flushed, in a format that can be appended to."""
    line = _line_writer(fmt)
    for event in events:
        line(event)
        sys.stdout.flush()


def _line_writer(fmt: Format) -> Callable[[StoredEvent], object]:
    if fmt is Format.NDJSON:
        return lambda event: write_json_line(event.to_dict())
    if fmt is Format.CSV:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow([c.key for c in EVENT_COLUMNS])
        return lambda event: writer.writerow(_cells(event, EVENT_COLUMNS, csv_cell))
    if fmt is Format.MARKDOWN:
        sys.stdout.write(markdown_head(EVENT_COLUMNS))
        return lambda event: sys.stdout.write(
            markdown_row(_cells(event, EVENT_COLUMNS, markdown_cell))
        )
    if fmt is Format.TABLE:
        width = make_console().width
        return lambda event: sys.stdout.write(plain_line(event, width) + "\n")
    raise FormatNotAvailableError(
        f"--follow cannot write --format {fmt.value} (a stream has no end)"
    )


def _cells(event: StoredEvent, columns: Sequence[Column], shown: Callable[[Any], str]) -> list[str]:
    record = event_record(event)
    return [shown(record.get(c.key)) for c in columns]


def plain_line(event: StoredEvent, width: int) -> str:
    """One event as one terminal-safe line of at most ``width`` characters."""
    r = {k: cell(v) for k, v in event_record(event).items()}
    text = (
        f"{r['sequence']:>6}  {r['timestamp']}  {r['event_type']:<16}  {r['entity_type']:<8}  "
        f"{r['entity_id']:<26}  v{r['version']:<3} {r['summary']}"
    )
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"
