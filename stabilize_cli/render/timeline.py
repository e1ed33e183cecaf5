"""The timeline as a Rich tree (workflow → stages → tasks) with a Gantt strip per stage.

Every label is a ``Table.grid`` whose name column narrows by one tree indent per depth, so
status, offset, duration and strip line up at every depth. The same tree is written to SVG
or HTML for CI artifacts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from ..queries.timeline import StageLine, TaskLine, TimelineResult
from .console import Deferred
from .formats import Format
from .output import Report, dumps
from .sanitize import NULL_MARK, inert

STRIP_WIDTH = 30
INDENT = 4
"""Cells a Rich tree indents each level by."""
MIN_NAME = 16
MIN_STRIP = 8
GAP = 2
STATUS_STYLES = {
    "SUCCEEDED": "green",
    "RUNNING": "cyan",
    "SKIPPED": "dim",
    "CANCELED": "yellow",
    "PAUSED": "yellow",
    "SUSPENDED": "yellow",
}


def status_style(status: Any) -> str:
    return STATUS_STYLES.get(str(status), "red" if status is not None else "dim")


def seconds(ms: float) -> str:
    """A duration for people: 0.35s, 2m05.3s, 1h02m03s."""
    if ms < 59_995:
        return f"{ms / 1000:.2f}s"
    if ms < 3_599_950:
        minutes, tenths = divmod(round(ms / 100), 600)
        return f"{minutes}m{tenths / 10:04.1f}s"
    hours, rest = divmod(round(ms / 1000), 3600)
    return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s"


def plain(value: Any, *, multiline: bool = False) -> str:
    """An untrusted value as inert text: strings as they are, other values as JSON."""
    if value is None:
        return NULL_MARK
    if not isinstance(value, str):
        return dumps(value)  # ASCII JSON: every control already a JSON escape
    return inert(value, multiline=multiline)


@dataclass(frozen=True)
class Bar:
    """Where a stage ran, as fractions of the workflow's span; ``begin`` None: it never ran."""

    begin: float | None
    end: float
    style: str


class GanttStrip:
    """A bar drawn over ``width`` cells; the glyphs fit the console's encoding."""

    def __init__(self, bar: Bar, width: int) -> None:
        self.bar, self.width = bar, width

    def cells(self) -> tuple[int, int]:
        """The first and last filled cell (last < first: none)."""
        width, begin = self.width, self.bar.begin
        if begin is None:
            return 0, -1
        first = min(width - 1, max(0, int(begin * width)))
        return first, max(first, min(width - 1, math.ceil(self.bar.end * width) - 1))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        full, empty = ("#", ".") if options.ascii_only else ("\u2588", "\u00b7")
        first, last = self.cells()
        strip = Text(empty * first, style="dim", no_wrap=True)
        strip.append(full * (last - first + 1), style=self.bar.style)
        strip.append(empty * (self.width - max(last, first - 1) - 1), style="dim")
        yield strip

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(self.width, self.width)


@dataclass(frozen=True)
class Clock:
    """The workflow's span: offsets from its start, bars across it."""

    start: datetime | None
    end: datetime | None

    def offset(self, when: datetime | None) -> str:
        if self.start is None or when is None:
            return ""
        return "+" + seconds((when - self.start).total_seconds() * 1000)

    def bar(self, begin: datetime | None, finish: datetime | None, style: str) -> Bar:
        if self.start is None or self.end is None or begin is None:
            return Bar(None, 0, style)
        total = (self.end - self.start).total_seconds()
        if total <= 0:
            return Bar(0, 1, style)
        end = (finish or self.end) - self.start
        return Bar((begin - self.start).total_seconds() / total, end.total_seconds() / total, style)


@dataclass(frozen=True)
class Row:
    depth: int
    name: Text
    status: Text
    offset: str
    duration: str
    sequences: str
    retries: str
    bar: Bar | None


def _duration(start: datetime | None, end: datetime | None, status: Any) -> str:
    if start is not None and end is not None:
        return seconds((end - start).total_seconds() * 1000)
    return "running" if status == "RUNNING" else ""


def sequence_range(sequences: tuple[int, int] | None) -> str:
    """``seq 3-7``: the global sequence numbers ``diff`` and ``state --at`` take."""
    if sequences is None:
        return ""
    first, last = sequences
    return f"seq {first}" if first == last else f"seq {first}-{last}"


def _status(status: Any) -> Text:
    return Text(plain(status), style=status_style(status))


def line_row(line: StageLine | TaskLine, clock: Clock, depth: int) -> Row:
    """A stage (bold, with its strip) or a task (with its retries) as one aligned row."""
    is_stage = isinstance(line, StageLine)
    count = line.retry_count if isinstance(line, TaskLine) else 0
    return Row(
        depth=depth,
        name=Text(plain(line.name), style="bold" if is_stage else ""),
        status=_status(line.status),
        offset=clock.offset(line.start),
        duration=_duration(line.start, line.end, line.status),
        sequences=sequence_range(line.sequences),
        retries=f"{count} {'retry' if count == 1 else 'retries'}" if count else "",
        bar=clock.bar(line.start, line.end, status_style(line.status)) if is_stage else None,
    )


@dataclass(frozen=True)
class Layout:
    """Column widths for the whole tree; the name column gives up one indent per level."""

    name: int
    status: int
    offset: int
    duration: int
    sequences: int
    retries: int
    strip: int = STRIP_WIDTH

    @classmethod
    def fit(cls, rows: list[Row], width: int) -> Layout:
        """Every row ``width`` cells wide: the name folds, then the strip narrows or goes."""

        def widest(values: Iterable[int]) -> int:
            return max(values, default=0)

        layout = cls(
            name=widest(r.name.cell_len + INDENT * r.depth for r in rows),
            status=widest(r.status.cell_len for r in rows),
            offset=widest(len(r.offset) for r in rows),
            duration=widest(len(r.duration) for r in rows),
            sequences=widest(len(r.sequences) for r in rows),
            retries=widest(len(r.retries) for r in rows),
        )
        room = width - layout.fixed()
        name = min(layout.name, max(MIN_NAME, room - STRIP_WIDTH - GAP))
        strip = min(STRIP_WIDTH, room - name - GAP)
        if strip < MIN_STRIP:
            name, strip = min(layout.name, max(MIN_NAME, room)), 0
        return replace(layout, name=name, strip=strip)

    def fixed(self) -> int:
        """Cells taken by the columns between the name and the strip, gaps included."""
        columns = [self.status, self.offset, self.duration, self.sequences]
        if self.retries:
            columns.append(self.retries)
        return sum(columns) + GAP * len(columns)

    def grid(self, row: Row) -> Table:
        grid = Table.grid(padding=(0, GAP, 0, 0))
        grid.add_column(width=max(1, self.name - INDENT * row.depth), overflow="fold")
        grid.add_column(width=self.status, no_wrap=True)
        grid.add_column(width=self.offset, justify="right", no_wrap=True)
        grid.add_column(width=self.duration, justify="right", no_wrap=True)
        grid.add_column(width=self.sequences, no_wrap=True)
        cells: list[Any] = [row.name, row.status, Text(row.offset), Text(row.duration)]
        cells.append(Text(row.sequences, style="dim"))
        if self.retries:
            grid.add_column(width=self.retries, no_wrap=True)
            cells.append(Text(row.retries, style="yellow"))
        if self.strip:
            grid.add_column(width=self.strip, no_wrap=True)
            cells.append(GanttStrip(row.bar, self.strip) if row.bar else Text(""))
        grid.add_row(*cells)
        return grid


def note(label: str, value: Any, style: str) -> Text:
    """A labelled untrusted value, newlines kept (errors are shown in full)."""
    return Text.assemble((label, f"bold {style}"), (plain(value, multiline=True), style))


def header(result: TimelineResult) -> Text:
    state = result.state
    text = Text.assemble(
        (inert(result.workflow_id), "bold"),
        "  ",
        plain(state.get("name")),
        "  ",
        (plain(state.get("application")), "dim"),
        "  ",
        _status(state.get("status")),
    )
    start, end = result.start, result.span_end
    if start is not None and end is not None:
        total = seconds((end - start).total_seconds() * 1000)
        text.append(f"  {total} total" if result.end else f"  {total} so far")
    text.append(f"\nstarted {plain(state.get('start_time'))}  ended {plain(state.get('end_time'))}")
    text.append(f"  {sequence_range(result.sequences)}", style="dim")
    return text


def _stage_notes(node: Tree, stage: StageLine, clock: Clock) -> None:
    if stage.error is not None:
        node.add(note("error: ", stage.error, "red"))
    if stage.status == "SKIPPED":
        reason = "no reason given" if stage.skip_reason is None else stage.skip_reason
        node.add(note("skipped: ", reason, "dim"))
    if stage.status == "CANCELED":
        when = clock.offset(stage.end)
        node.add(Text(f"canceled at {when}" if when else "canceled", style="yellow"))


def _ending_notes(tree: Tree, result: TimelineResult) -> None:
    ending = result.ending
    if ending.error is not None:
        tree.add(note("workflow error: ", ending.error, "red"))
    if result.state.get("status") == "CANCELED":
        by = "" if ending.canceled_by is None else f" by {plain(ending.canceled_by)}"
        reason = NULL_MARK if ending.reason is None else ending.reason
        tree.add(note(f"workflow canceled{by}: ", reason, "yellow"))


def timeline_view(result: TimelineResult, width: int) -> Tree:
    """The tree, its columns fitted to ``width`` cells."""
    clock = Clock(result.start, result.span_end)
    stages = [
        (s, line_row(s, clock, 1), [line_row(t, clock, 2) for t in s.tasks]) for s in result.stages
    ]
    loose = [(t, line_row(t, clock, 1)) for t in result.loose_tasks]
    rows = [r for _, row, tasks in stages for r in (row, *tasks)] + [r for _, r in loose]
    layout = Layout.fit(rows, width)
    tree = Tree(header(result), guide_style="dim")
    for stage, row, task_rows in stages:
        node = tree.add(layout.grid(row))
        _stage_notes(node, stage, clock)
        for task, trow in zip(stage.tasks, task_rows, strict=True):
            _task_node(node.add(layout.grid(trow)), task)
    for task, trow in loose:
        _task_node(tree.add(layout.grid(trow)), task)
    if result.failures_only and not stages and not loose:
        tree.add(Text("no failed stages or tasks", style="dim"))
    _ending_notes(tree, result)
    return tree


def _task_node(node: Tree, task: TaskLine) -> None:
    if task.error is not None:
        node.add(note("error: ", task.error, "red"))


def timeline_report(result: TimelineResult) -> Report:
    return Report(
        document=result.to_json,
        view=lambda: Deferred(lambda options: timeline_view(result, options.max_width)),
        formats=frozenset({Format.TABLE, Format.JSON}),
    )
