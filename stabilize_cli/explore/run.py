"""The Run screen: the timeline tree with its Gantt strips; the selected stage or task's
error in full, outputs and events below. A running workflow's tree follows its events."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static, Tree

from ..events.base import EntityType
from ..events.errors import StoreCorruptError
from ..events.store import EventQuery
from ..queries.events import event_record
from ..queries.state import Outcome, outcome
from ..queries.timeline import StageLine, TaskLine, TimelineResult, workflow_timeline
from ..render.cause import cause_details, cause_headline
from ..render.incomplete import mark_incomplete
from ..render.output import dumps, table_time
from ..render.timeline import (
    GAP,
    MIN_NAME,
    MIN_STRIP,
    STRIP_WIDTH,
    Clock,
    GanttStrip,
    Layout,
    Row,
    header,
    line_row,
    plain,
    sequence_range,
)
from ..render.timeline import timeline_report as report_of
from .base import View, block, cell, reads

EVENTS_SHOWN = 200
"""Events listed under a selected stage or task; the Events screen has every one."""
TREE_INDENT = 4
NAME_CAP = 40
"""Name cells (guides included) before the Gantt strip gets the rest of the width."""
TOGGLE = 2
"""Cells of a node's expand icon (a leaf has none)."""


@dataclass(frozen=True)
class Selected:
    kind: EntityType
    entity_id: str
    line: StageLine | TaskLine | None


def label_column(depth: int, toggles: bool) -> int:
    """Where a node's label starts in the tree: its guides, then the expand icon if any."""
    return TREE_INDENT * depth + (TOGGLE if toggles else 0)


def fit(rows: list[tuple[Row, int]], width: int) -> Layout:
    """``timeline``'s column layout for labels starting at the given columns."""
    layout = Layout.fit([row for row, _ in rows], width)
    need = max((row.name.cell_len + start for row, start in rows), default=MIN_NAME)
    room = width - layout.fixed()
    name = min(need, NAME_CAP, max(MIN_NAME, room - MIN_STRIP - GAP))
    strip = min(STRIP_WIDTH, room - name - GAP)
    if strip < MIN_STRIP:
        name, strip = min(need, max(MIN_NAME, room)), 0
    return replace(layout, name=name, strip=strip)


def row_text(row: Row, layout: Layout, start: int) -> Text:
    """One timeline row as a tree label: the columns of ``timeline``'s tree, in Text."""
    name_width = max(4, layout.name - start)
    name = row.name.copy()
    name.truncate(name_width, overflow="ellipsis", pad=True)
    text = Text.assemble(name, "  ")
    status = row.status.copy()
    status.truncate(layout.status, pad=True)
    text.append_text(status).append("  ")
    text.append(row.offset.rjust(layout.offset) + "  ")
    text.append(row.duration.rjust(layout.duration) + "  ")
    text.append(row.sequences.ljust(layout.sequences), style="dim")
    if layout.retries:
        text.append("  " + row.retries.ljust(layout.retries), style="yellow")
    if layout.strip and row.bar is not None:
        first, last = GanttStrip(row.bar, layout.strip).cells()
        text.append("  ")
        text.append("\u00b7" * first, style="dim")
        text.append("\u2588" * (last - first + 1), style=row.bar.style)
        text.append("\u00b7" * (layout.strip - max(last, first - 1) - 1), style="dim")
    return text


def compact_header(result: TimelineResult) -> Text:
    """``timeline``'s header in two lines of at most 80 cells (times as tables show them)."""
    first = header(result).split("\n")[0]
    state = result.state
    first.append("\nstarted ").append_text(cell(table_time(state.get("start_time"))))
    first.append("  ended ").append_text(cell(table_time(state.get("end_time"))))
    first.append(f"  {sequence_range(result.sequences)}", style="dim")
    return first


class RunScreen(View):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "events", "Events"),
        Binding("f", "failing", "Failing path"),
        *View.BINDINGS,
    ]

    def __init__(self, source: Any, workflow_id: str) -> None:
        super().__init__(source)
        self.workflow_id = workflow_id
        self.failures_only = False
        self.result: TimelineResult | None = None
        self.selected: Selected | None = None
        self.event_count = 0
        self.following = False

    def body(self) -> ComposeResult:
        tree: Tree[Selected] = Tree(Text(""), id="timeline")
        tree.guide_depth = TREE_INDENT
        yield tree
        with VerticalScroll(id="detail"):
            yield Static(Text(""), id="detail-text")

    def on_mount(self) -> None:
        self.load()
        self.query_one("#timeline", Tree).focus()
        self.set_interval(self.source.refresh_seconds, self.follow)

    def count(self) -> int:
        """The run's events as the store counts them (-1: a damaged index cannot tell,
        the timeline is still read from the table)."""
        try:
            return self.source.store.count_events(EventQuery(workflow_id=self.workflow_id))
        except StoreCorruptError:
            return -1

    @reads
    def load(self) -> None:
        source = self.source
        self.event_count = self.count()
        self.result = workflow_timeline(
            source.store, self.workflow_id, failures_only=self.failures_only
        )
        self.following = outcome(self.result.state) is Outcome.RUNNING
        self.draw()

    @reads
    def follow(self) -> None:
        """While the workflow runs, take in its new events (the order they committed in)."""
        if not self.following:
            return
        store = self.source.store
        store.refresh()
        count = self.count()
        if count != self.event_count:  # a count, not "after the last sequence":
            self.load()  # PostgreSQL may commit a lower sequence later

    def draw(self) -> None:
        result = self.result
        assert result is not None
        title = compact_header(result)
        if self.following:
            title.append("  following new events", style="bold cyan")
        if self.failures_only:
            title.append("  failing path only", style="bold")
        self.set_title(title)  # marked INCOMPLETE when damaged pages were read past
        tree = self.query_one("#timeline", Tree)
        keep = self.selected.entity_id if self.selected else None
        tree.clear()
        root_data = Selected(EntityType.WORKFLOW, self.workflow_id, None)
        tree.root.data = root_data
        tree.root.set_label(Text.assemble(("workflow ", "dim"), cell(self.workflow_id, "bold")))
        tree.root.expand()
        clock = Clock(result.start, result.span_end)
        rows: list[tuple[StageLine | TaskLine, Row, int]] = []
        for stage in result.stages:
            rows.append((stage, line_row(stage, clock, 1), label_column(1, bool(stage.tasks))))
            rows += [(t, line_row(t, clock, 2), label_column(2, False)) for t in stage.tasks]
        rows += [(t, line_row(t, clock, 1), label_column(1, False)) for t in result.loose_tasks]
        width = max(40, self.size.width - 2 if self.size.width else 78)
        layout = fit([(row, start) for _, row, start in rows], width)
        found = tree.root if keep in (None, self.workflow_id) else None
        parent = tree.root
        for line, row, start in rows:
            kind = EntityType.STAGE if isinstance(line, StageLine) else EntityType.TASK
            data = Selected(kind, line.id, line)
            label = row_text(row, layout, start)
            if isinstance(line, StageLine) and line.tasks:
                node = parent = tree.root.add(label, data=data, expand=True)
            elif row.depth == 1:
                node = tree.root.add_leaf(label, data=data)
            else:
                node = parent.add_leaf(label, data=data)
            if line.id == keep:
                found = node
        if found is not None:
            tree.move_cursor(found)
        self.selected = found.data if found is not None else root_data
        self.describe()

    @on(Tree.NodeHighlighted, "#timeline")
    def highlighted(self, event: Tree.NodeHighlighted[Selected]) -> None:
        if event.node.data is not None:
            self.selected = event.node.data
            self.describe()

    @reads
    def describe(self) -> None:
        """The detail pane for the selection: what it is, its error, outputs, events."""
        result, chosen = self.result, self.selected
        if result is None or chosen is None:
            return
        if chosen.kind is EntityType.WORKFLOW:
            text = self.workflow_detail(result)
        else:
            text = self.entity_detail(result, chosen)
        self.query_one("#detail-text", Static).update(text)
        self.show_command()

    def workflow_detail(self, result: TimelineResult) -> Text:
        state = result.state
        text = Text.assemble(("workflow ", "dim"), cell(self.workflow_id, "bold"), "  ")
        text.append_text(cell(state.get("status"), "bold"))
        ending = result.ending
        if ending.error is not None:
            text.append("\nworkflow error:\n", style="bold red").append_text(
                block(plain(ending.error, multiline=True), "red")
            )
        if ending.canceled_by is not None or ending.reason is not None:
            text.append("\ncanceled by ", style="bold yellow").append_text(cell(ending.canceled_by))
            text.append(": ").append_text(block(ending.reason))
        self.add_value(text, "context", state.get("context"))
        self.add_events(text, EventQuery(workflow_id=self.workflow_id, limit=EVENTS_SHOWN + 1))
        return text

    def entity_detail(self, result: TimelineResult, chosen: Selected) -> Text:
        line = chosen.line
        kind = chosen.kind.value
        entities = result.state.get("stages" if kind == "stage" else "tasks") or {}
        entity = entities.get(chosen.entity_id) or {}
        text = Text.assemble((f"{kind} ", "dim"), cell(entity.get("name"), "bold"), " (")
        text.append_text(cell(chosen.entity_id, "dim")).append(")  ")
        text.append_text(cell(entity.get("status"), "bold"))
        if isinstance(line, StageLine):
            text.append("  type ").append_text(cell(line.type))
        if isinstance(line, TaskLine) and line.retry_count:
            text.append(f"  {line.retry_count} retries", style="yellow")
        text.append("\nstarted ").append_text(cell(entity.get("start_time")))
        text.append("  ended ").append_text(cell(entity.get("end_time")))
        if line is not None and line.sequences:
            text.append(f"  seq {line.sequences[0]}-{line.sequences[1]}", style="dim")
        if entity.get("error") is not None:
            text.append("\nerror:\n", style="bold red")
            text.append_text(block(plain(entity.get("error"), multiline=True), "red"))
        self.add_causes(text, line)
        if isinstance(line, StageLine) and line.skip_reason is not None:
            text.append("\nskipped: ", style="bold").append_text(block(line.skip_reason))
        self.add_value(text, "outputs", entity.get("outputs"))
        query = EventQuery(
            entity_type=chosen.kind, entity_id=chosen.entity_id, limit=EVENTS_SHOWN + 1
        )
        self.add_events(text, query)
        return text

    @staticmethod
    def add_causes(text: Text, line: StageLine | TaskLine | None) -> None:
        """The real cause the engine wrote into its own tables (the events say only
        "Task failed"), in full; and what a failed attempt left before a restart."""
        found: list[tuple[str, Any]] = [("", getattr(line, "cause", None))]
        if isinstance(line, StageLine):
            found.append(("before the restart: ", line.earlier_cause))
        for label, cause in found:
            if cause is None:
                continue
            text.append("\n")
            if label:
                text.append(label, style="bold yellow")
            text.append_text(cause_headline(cause))
            for detail in cause_details(cause, full=True):
                text.append("\n").append_text(detail)

    @staticmethod
    def add_value(text: Text, label: str, value: Any) -> None:
        if value in (None, {}, []):
            return
        text.append(f"\n{label}: ", style="bold")
        text.append_text(block(dumps(value, indent=2)))

    def add_events(self, text: Text, query: EventQuery) -> None:
        rows = list(self.source.store.get_rows(query))
        text.append(f"\nevents ({len(rows[:EVENTS_SHOWN])}", style="bold")
        text.append(" or more" if len(rows) > EVENTS_SHOWN else "", style="bold")
        text.append("; v: every event with the state at each)", style="bold")
        for row in rows[:EVENTS_SHOWN]:
            record = event_record(row)
            text.append(f"\n{record['sequence']:>8}  ", style="dim")
            text.append_text(cell(record["event_type"], "bold")).append("  ")
            text.append_text(cell(record["summary"]))

    def command_line(self) -> str:
        args = ["timeline", self.workflow_id]
        if self.failures_only:
            args.append("--failures")
        return self.source.command(*args)

    def document(self) -> tuple[str, Any] | None:
        if self.result is None:
            return None
        left_out = self.source.run_left_out(self.workflow_id)
        report = mark_incomplete(report_of(self.result), left_out)
        return f"stabilize-timeline-{self.workflow_id}", report.document()

    def action_failing(self) -> None:
        self.failures_only = not self.failures_only
        self.load()

    def action_events(self) -> None:
        line = self.selected.line if self.selected else None
        start = line.sequences[0] if line is not None and line.sequences else None
        self.explorer.open_events(self.workflow_id, start)
