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

from ..queries.timeline import (
    GENERIC_ERRORS,
    RunFacts,
    StageLine,
    TaskLine,
    TimelineEntries,
    TimelineResult,
)
from ..runs.attempts import Attempt
from ..runs.model import instant
from .cause import add_cause
from .console import Deferred
from .durations import seconds as seconds  # noqa: PLC0414 - re-exported for other views
from .formats import Format
from .output import Report, StreamedDocument, dumps, table_time
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
    "NOT_STARTED": "dim",
}


def status_style(status: Any) -> str:
    return STATUS_STYLES.get(str(status), "red" if status is not None else "dim")


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
    earlier: tuple[Bar, ...] = ()
    """Runs of the same stage before a restart, drawn lighter in the same strip."""


class GanttStrip:
    """A bar drawn over ``width`` cells; the glyphs fit the console's encoding."""

    def __init__(self, bar: Bar, width: int) -> None:
        self.bar, self.width = bar, width

    def cells(self, bar: Bar | None = None) -> tuple[int, int]:
        """The first and last filled cell of ``bar`` (default: the strip's; last < first:
        none)."""
        bar = bar or self.bar
        width, begin = self.width, bar.begin
        if begin is None:
            return 0, -1
        first = min(width - 1, max(0, int(begin * width)))
        return first, max(first, min(width - 1, math.ceil(bar.end * width) - 1))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        full, earlier, empty = (
            ("#", "=", ".") if options.ascii_only else ("\u2588", "\u2592", "\u00b7")
        )
        cells: list[tuple[str, str]] = [(empty, "dim")] * self.width
        for bar in self.bar.earlier:
            first, last = self.cells(bar)
            for index in range(first, last + 1):
                cells[index] = (earlier, bar.style)
        first, last = self.cells()
        for index in range(first, last + 1):
            cells[index] = (full, self.bar.style)
        strip = Text(no_wrap=True)
        for glyph, style in cells:
            strip.append(glyph, style=style)
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


NO_END = "NO END EVENT"
"""Status shown for a stage or task that started in a finished workflow and never ended."""


def _duration(line: StageLine | TaskLine) -> str:
    """The one duration (the engine's recorded one where it wrote it), as JSON has it."""
    if line.duration_ms is not None:
        return seconds(float(line.duration_ms))
    return "running" if line.status == "RUNNING" and not line.no_end_event else ""


def _attempt_duration(attempt: Attempt) -> str:
    """An attempt has no recorded figure of its own: end minus start, as its events say."""
    if attempt.start is not None and attempt.end is not None:
        return seconds((attempt.end - attempt.start).total_seconds() * 1000)
    return "running" if attempt.status == "RUNNING" else ""


def sequence_range(sequences: tuple[int, int] | None) -> str:
    """``seq 3-7``: the global sequence numbers ``diff`` and ``state --at`` take."""
    if sequences is None:
        return ""
    first, last = sequences
    return f"seq {first}" if first == last else f"seq {first}-{last}"


def _status(status: Any) -> Text:
    return Text(plain(status), style=status_style(status))


def attempt_row(attempt: Attempt, clock: Clock, depth: int, *, strip: bool) -> Row:
    """An earlier run of a restarted stage or task, with its own status, times and bar."""
    label = f"attempt {attempt.number}" + (" (before restart)" if attempt.before_restart else "")
    count = attempt.retries
    style = status_style(attempt.status)
    return Row(
        depth=depth,
        name=Text(label, style="italic"),
        status=_status(attempt.status),
        offset=clock.offset(attempt.start),
        duration=_attempt_duration(attempt),
        sequences=sequence_range(attempt.sequences),
        retries=f"{count} {'retry' if count == 1 else 'retries'}" if count else "",
        bar=clock.bar(attempt.start, attempt.end, style) if strip else None,
    )


def line_row(line: StageLine | TaskLine, clock: Clock, depth: int) -> Row:
    """A stage (bold, with its strip) or a task (with its retries) as one aligned row."""
    is_stage = isinstance(line, StageLine)
    count = line.retry_count if isinstance(line, TaskLine) else 0
    return Row(
        depth=depth,
        name=Text(plain(line.name), style="bold" if is_stage else ""),
        status=Text(NO_END, style="yellow") if line.no_end_event else _status(line.status),
        offset=clock.offset(line.start),
        duration=_duration(line),
        sequences=sequence_range(line.sequences),
        retries=f"{count} {'retry' if count == 1 else 'retries'}" if count else "",
        bar=_stage_bar(line, clock) if isinstance(line, StageLine) else None,
    )


def _stage_bar(stage: StageLine, clock: Clock) -> Bar:
    """The stage's final run, with the runs a restart undid drawn lighter in the same strip."""
    bar = clock.bar(stage.start, stage.end, status_style(stage.status))
    earlier = tuple(clock.bar(a.start, a.end, status_style(a.status)) for a in stage.attempts[:-1])
    return replace(bar, earlier=earlier) if earlier else bar


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
        # The strip narrows before a name folds; below MIN_STRIP it goes.
        name = min(layout.name, max(MIN_NAME, room - MIN_STRIP - GAP))
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
    started, ended = (plain(table_time(state.get(key))) for key in ("start_time", "end_time"))
    text.append(f"\nstarted {started}  ended {ended}")
    text.append(f"  {sequence_range(result.sequences)}", style="dim")
    clock = Clock(result.start, result.span_end)
    for line in run_lines(result.facts, clock, result):
        text.append("\n")
        text.append_text(line)
    return text


def _pairs(value: Any) -> str:
    """``key=value`` pairs of a dict (values that are not text as JSON), else the value.

    Keys sorted: PostgreSQL's JSONB keeps its own key order, so the same run reads the same
    on both backends."""
    if isinstance(value, dict):
        return " ".join(
            f"{plain(k)}={plain(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        )
    return plain(value)


def trigger_line(trigger: Any, context: Any) -> Text | None:
    """Who or what started the run, and the context it was given (git sha, version...)."""
    text = Text()
    if isinstance(trigger, dict):
        kind, user = trigger.get("type"), trigger.get("user")
        text.append("trigger ", style="dim")
        text.append(plain(kind))
        if user is not None:
            text.append(f" by {plain(user)}")
        parameters = trigger.get("parameters")
        if isinstance(parameters, dict) and parameters:
            text.append(f"  {_pairs(parameters)}")
    given = trigger.get("parameters") if isinstance(trigger, dict) else None
    repeated = (
        isinstance(given, dict) and all(given.get(k) == v for k, v in context.items())
        if isinstance(context, dict)
        else False
    )
    if isinstance(context, dict) and context and not repeated:
        text.append("  " if text else "")
        text.append("context ", style="dim")
        text.append(_pairs(context))
    return text if text else None


def run_lines(facts: RunFacts, clock: Clock, result: TimelineResult) -> list[Text]:
    """Header lines: trigger and context, restarts, pause, cancel, silent stages, gaps."""
    lines: list[Text] = []
    trigger = trigger_line(facts.trigger, facts.context)
    if trigger is not None:
        lines.append(trigger)
    if facts.restarts:
        outcomes = ", ".join(
            f"{plain(r.status)} at seq {r.sequence} ({clock.offset(r.at)})" for r in facts.restarts
        )
        times = "once" if len(facts.restarts) == 1 else f"{len(facts.restarts)} times"
        lines.append(Text(f"restarted {times}: earlier outcome {outcomes}", style="yellow"))
    if facts.pause is not None:
        lines.append(pause_line(facts, clock))
    if facts.canceled_by is not None or facts.cancel_reason is not None:
        lines.append(
            Text.assemble(
                ("canceled by ", "yellow"),
                plain(facts.canceled_by),
                ": ",
                plain(facts.cancel_reason, multiline=True),
            )
        )
    if facts.stages_without_events:
        count = facts.stages_without_events
        lines.append(
            Text(
                f"{count} of {facts.stage_count} stages have no events (never started; "
                "the engine's stage_executions table is not in this file)",
                style="dim",
            )
        )
    for gap in facts.gaps:
        if gap.explanation == "task running":  # a long task emits nothing: in JSON only
            continue
        why = gap.explanation or "unexplained"
        lines.append(
            Text(
                f"no events for {seconds(gap.ms)} after seq {gap.after_sequence} "
                f"({clock.offset(gap.start)}): {why}",
                style="yellow" if gap.explanation is None else "dim",
            )
        )
    return lines


def pause_line(facts: RunFacts, clock: Clock) -> Text:
    pause = facts.pause
    assert pause is not None
    text = Text("paused", style="yellow")
    text.append(f" by {plain(pause.paused_by)}")
    when = clock.offset(instant(pause.pause_time))
    if when:
        text.append(f" at {when}")
    if pause.resume_time is not None:
        text.append(f", resumed at {clock.offset(instant(pause.resume_time))}")
        if pause.paused_ms:
            text.append(f" ({seconds(pause.paused_ms)} paused)")
    else:
        text.append(" (the engine records no resume time)", style="dim")
    return text


@dataclass(frozen=True)
class Detail:
    """How much of each cause to show: the tail of its output, or all of it."""

    full: bool = False


def _stage_notes(node: Tree, stage: StageLine, clock: Clock, detail: Detail) -> None:
    if stage.cause is not None:
        add_cause(node, stage.cause, full=detail.full)
        own = stage.error is not None and not _generic(stage.error)
        if own and stage.error != stage.cause.message:
            node.add(note("error: ", stage.error, "red"))
    elif stage.error is not None:
        node.add(note("error: ", stage.error, "red"))
    if stage.status == "SKIPPED":
        reason = "no reason given" if stage.skip_reason is None else stage.skip_reason
        node.add(note("skipped: ", reason, "dim"))
    if stage.status == "CANCELED":
        when = clock.offset(stage.end)
        node.add(Text(f"canceled at {when}" if when else "canceled", style="yellow"))
    if stage.status == "NOT_STARTED" and stage.requires:
        waits = ", ".join(plain(r) for r in stage.requires)
        node.add(Text(f"never started: waits for {waits}", style="dim"))


def _ending_notes(tree: Tree, result: TimelineResult) -> None:
    ending = result.ending
    if ending.error is not None:
        tree.add(note("workflow error: ", ending.error, "red"))


def _generic(error: Any) -> bool:
    """``Task failed`` / ``Unknown error``: what the events say when the tables say more."""
    return isinstance(error, str) and error in GENERIC_ERRORS


def _earlier(attempts: tuple[Attempt, ...]) -> tuple[Attempt, ...]:
    """Attempts before the final one: shown only when there was more than one."""
    return attempts[:-1] if len(attempts) > 1 else ()


def timeline_view(result: TimelineResult, width: int, *, full: bool = False) -> Tree:
    """The tree, its columns fitted to ``width`` cells."""
    clock = Clock(result.start, result.span_end)
    rows: list[Row] = []
    plan: list[tuple[StageLine, Row, list[Row], list[tuple[TaskLine, Row, list[Row]]]]] = []
    for stage in result.stages:
        srow = line_row(stage, clock, 1)
        earlier = [attempt_row(a, clock, 2, strip=True) for a in _earlier(stage.attempts)]
        tasks = [
            (
                t,
                line_row(t, clock, 2),
                [attempt_row(a, clock, 3, strip=False) for a in _earlier(t.attempts)],
            )
            for t in stage.tasks
        ]
        plan.append((stage, srow, earlier, tasks))
        rows += [srow, *earlier, *(r for _, trow, more in tasks for r in (trow, *more))]
    loose = [(t, line_row(t, clock, 1)) for t in result.loose_tasks]
    rows += [r for _, r in loose]
    layout = Layout.fit(rows, width)
    detail = Detail(full)
    tree = Tree(header(result), guide_style="dim")
    for stage, row, earlier, tasks in plan:
        node = tree.add(layout.grid(row))
        _stage_notes(node, stage, clock, detail)
        _attempt_nodes(node, stage, earlier, layout, detail)
        for task, trow, more in tasks:
            tnode = node.add(layout.grid(trow))
            _task_node(tnode, task, stage, detail)
            for attempt, arow in zip(_earlier(task.attempts), more, strict=True):
                anode = tnode.add(layout.grid(arow))
                if attempt.error is not None:
                    anode.add(note("error: ", attempt.error, "red"))
    for task, trow in loose:
        _task_node(tree.add(layout.grid(trow)), task, None, detail)
    if result.failures_only and not plan and not loose:
        tree.add(Text("no failed stages or tasks", style="dim"))
    _ending_notes(tree, result)
    return tree


def _attempt_nodes(
    node: Tree, stage: StageLine, rows: list[Row], layout: Layout, detail: Detail
) -> None:
    """Earlier runs of a restarted stage; the cause its context kept goes on the last failed."""
    earlier = _earlier(stage.attempts)
    failed = [a for a in earlier if a.status not in ("SUCCEEDED", "SKIPPED")]
    for attempt, row in zip(earlier, rows, strict=True):
        anode = node.add(layout.grid(row))
        if stage.earlier_cause is not None and failed and attempt is failed[-1]:
            label = "left in the stage's context by this run:"
            add_cause(anode, stage.earlier_cause, full=detail.full, label=label)
        elif attempt.error is not None:
            anode.add(note("error: ", attempt.error, "red"))


def _task_node(node: Tree, task: TaskLine, stage: StageLine | None, detail: Detail) -> None:
    if task.cause is not None and (stage is None or stage.cause != task.cause):
        add_cause(node, task.cause, full=detail.full)
        return
    explained = stage is not None and stage.cause is not None
    if explained and task.cause is not None:
        return
    if task.error is not None and not (explained and _generic(task.error)):
        node.add(note("error: ", task.error, "red"))


def timeline_report(
    result: TimelineResult, *, full: bool = False, entries: TimelineEntries | None = None
) -> Report:
    """With ``entries``, the JSON document is written as its entries come (the result
    was built without them)."""
    return Report(
        document=result.to_json if entries is None else lambda: _streamed(result, entries),
        view=lambda: Deferred(lambda options: timeline_view(result, options.max_width, full=full)),
        formats=frozenset({Format.TABLE, Format.JSON}),
    )


def _streamed(result: TimelineResult, entries: TimelineEntries) -> StreamedDocument:
    def tail() -> dict[str, Any]:
        document = result.json_with(entries.timeline, [])
        return {k: v for k, v in document.items() if k not in ("workflow_id", "entries")}

    return StreamedDocument(
        {"workflow_id": result.workflow_id}, "entries", (e.to_dict() for e in entries), tail
    )
