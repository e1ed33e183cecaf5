"""The Events screen: every event of a run with a cursor, and beside it the state as of
the cursor's sequence; ``m`` marks two sequences and the pane shows their diff.

The list draws only the lines on screen (a run may have 100,000 events) and the state
comes from a :class:`~stabilize_cli.queries.cursor.StateCursor`, which folds on from
the state it last gave.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from rich.tree import Tree
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer

from ..events.base import Event
from ..events.errors import StoreError
from ..queries.cursor import RunEvents, StateCursor
from ..queries.events import event_record
from ..queries.state import StateDiff, StateResult
from ..render.incomplete import mark_incomplete
from ..render.state import (
    ENTITY_KEYS,
    WORKFLOW_FIELDS,
    add_value,
    diff_report,
    diff_view,
    entity_label,
    key_text,
    state_header,
    state_report,
)
from ..render.timeline import plain, status_style
from .base import View, cell, reads
from .lists import CursorList
from .pane import LinePane, text_rows, tree_rows

MARKS_KEPT = 2
SPREAD_UP_TO = 12
"""Stages (or tasks) a state shows in full; beyond, one line each but the cursor's."""
WARM_FROM = 2_000
"""Runs longer than this are folded once in the background when their events open."""
WARM_EVERY = 0.02
"""Seconds between two warming steps (each folds ``cursor.WARM_STEP`` events)."""


def state_tree(result: StateResult, focus: frozenset[str]) -> Tree:
    """``state``'s tree; in a run of many stages or tasks, each is one line but those in
    ``focus`` (what the cursor's event is about): a long run's state stays readable, and
    quick to draw at every step. The export has it all."""
    state = result.state
    tree = Tree(state_header(result), guide_style="dim")
    for key in WORKFLOW_FIELDS:
        add_value(tree, key_text(key), state.get(key))
    add_value(tree, key_text("context"), state.get("context"))
    for kind in ENTITY_KEYS:
        entities = state.get(kind) or {}
        branch = tree.add(Text.assemble(key_text(kind), f" ({len(entities)})"))
        spread = len(entities) <= SPREAD_UP_TO
        for entity_id, entity in entities.items():
            label = entity_label(kind, entity_id, state)
            fields = {k: v for k, v in entity.items() if k not in ("id", "name")}
            if spread or entity_id in focus:
                add_value(branch, label, fields) if fields else branch.add(label)
            else:
                status = entity.get("status")
                branch.add(label.append("  ").append_text(cell(status, status_style(status))))
    for key, value in state.items():
        if key not in (*WORKFLOW_FIELDS, "workflow_id", "context", *ENTITY_KEYS):
            add_value(tree, key_text(key), value)
    return tree


class EventList(CursorList):
    """One line per event, decoded a page at a time as they scroll into view."""

    def __init__(self, events: RunEvents, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.events = events
        self.marks: list[int] = []

    def on_mount(self) -> None:
        self.resized()

    def count(self) -> int:
        return len(self.events)

    def line(self, index: int) -> Text:
        try:
            row = self.events[index]
        except StoreError as error:  # drawn in place; the screen's title says it too
            return cell(f"{self.events.sequences[index]} could not be read: {error}", "red")
        record = event_record(row)
        sequence = self.events.sequences[index]
        mark = "*" if sequence in self.marks else " "
        digits = len(str(self.events.sequences[-1]))
        text = Text(f"{mark}{sequence:>{digits}} ", style="bold" if mark == "*" else "")
        text.append_text(cell(record["event_type"]))
        text.append(" ")
        text.append_text(cell(record["summary"], "dim"))
        text.truncate(max(1, self.scrollable_content_region.width), overflow="ellipsis")
        return text


class EventsScreen(View):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("m", "mark", "Mark"),
        Binding("c", "clear_marks", "Clear marks"),
        *View.BINDINGS,
    ]

    def __init__(self, source: Any, workflow_id: str, start: int | None = None) -> None:
        super().__init__(source)
        self.workflow_id = workflow_id
        self.events = RunEvents(source.store, workflow_id)
        self.cursor = StateCursor(source.store, workflow_id)
        self.start = start
        self.view_diff: StateDiff | None = None
        self.view_state: StateResult | None = None
        self.warming: Timer | None = None

    def body(self) -> ComposeResult:
        with Horizontal(id="events-body"):
            yield EventList(self.events, id="event-list")
            yield LinePane(id="state-pane")

    def on_mount(self) -> None:
        listing = self.query_one(EventList)
        listing.focus()
        self.set_interval(self.source.refresh_seconds, self.follow)
        start = 0 if self.start is None else self.events.index_of(self.start)
        listing.move_to(start)
        self.update_pane(listing.cursor)
        if len(self.events) > WARM_FROM:
            self.warming = self.set_interval(WARM_EVERY, self.warm)

    @reads
    def warm(self) -> None:
        """Fold the run once, a step at a time between key presses: afterwards a jump
        anywhere folds at most a few hundred events."""
        if self.cursor.warm() and self.warming is not None:
            self.warming.stop()

    @reads
    def follow(self) -> None:
        """A running workflow's new events join the list as they are committed."""
        self.source.store.refresh()
        grown = self.events.grow()
        if grown is None:
            self.cursor.forget()
        if grown != 0:
            listing = self.query_one(EventList)
            listing.resized()
            self.view_diff = None
            self.update_pane(listing.cursor)

    @on(CursorList.Moved, "#event-list")
    def moved(self, message: CursorList.Moved) -> None:
        self.update_pane(message.index)

    def sequence_at(self, index: int) -> int | None:
        if not len(self.events):
            return None
        return self.events.sequences[index]

    @reads
    def update_pane(self, index: int) -> None:
        """The pane for the cursor: the diff when two sequences are marked, else the state."""
        listing = self.query_one(EventList)
        pane = self.query_one(LinePane)
        sequence = self.sequence_at(index)
        if len(listing.marks) == MARKS_KEPT:
            first, second = listing.marks
            diff = self.view_diff
            if diff is None or (diff.from_sequence, diff.to_sequence) != (first, second):
                self.view_diff = diff = self.cursor.diff(first, second)
                pane.show(tree_rows(diff_view(diff)))
            self.view_state = None
        elif sequence is None:
            self.view_state = self.view_diff = None
            pane.show(text_rows([Text("no events", style="dim")]))
        else:
            state = self.cursor.state_at(sequence)
            self.view_state = StateResult(self.workflow_id, state, sequence)
            self.view_diff = None
            head = text_rows([*pane.wrapped(self.event_detail(index)), Text("")])
            focus = self.focus_of(index)
            pane.show(head + tree_rows(state_tree(self.view_state, focus)))
        self.describe()

    def focus_of(self, index: int) -> frozenset[str]:
        """The stage or task the cursor's event is about (and a task's stage)."""
        row = self.events[index]
        if not isinstance(row, Event):
            return frozenset()
        stage = row.data.get("stage_id")
        return frozenset({row.entity_id, *([stage] if isinstance(stage, str) else [])})

    def event_detail(self, index: int) -> Text:
        row = self.events[index]
        record = event_record(row)
        text = Text.assemble((f"event {record['sequence']}  ", "bold"), cell(record["event_type"]))
        text.append("  ").append_text(cell(record["entity_type"], "dim")).append(" ")
        text.append_text(cell(record["entity_id"], "dim"))
        text.append("\n").append_text(cell(record["timestamp"], "dim"))
        if isinstance(row, Event):
            text.append("\n").append_text(Text(plain(row.data, multiline=False)))
        else:
            text.append("\n").append_text(cell(record["summary"], "red"))
        left_out = self.source.left_out(self.workflow_id, record["sequence"])
        if left_out:
            text.append(
                f"\nINCOMPLETE: {len(left_out)} unreadable event(s) left out of this state",
                style="bold red",
            )
        return text

    def describe(self) -> None:
        listing = self.query_one(EventList)
        title = Text("Events", style="bold")
        title.append("  ").append_text(cell(self.workflow_id))
        title.append(f"  {len(self.events)} events")
        sequence = self.sequence_at(listing.cursor)
        if sequence is not None:
            title.append(f"  at {sequence}")
        if listing.marks:
            title.append("  marked " + " ".join(str(m) for m in listing.marks), style="bold")
        self.set_title(title)
        self.show_command()

    def action_mark(self) -> None:
        listing = self.query_one(EventList)
        sequence = self.sequence_at(listing.cursor)
        if sequence is None:
            return
        if sequence in listing.marks:
            listing.marks.remove(sequence)
        else:
            listing.marks = sorted([*listing.marks, sequence][-MARKS_KEPT:])
        listing.refresh()
        self.update_pane(listing.cursor)

    def action_clear_marks(self) -> None:
        listing = self.query_one(EventList)
        listing.marks = []
        listing.refresh()
        self.update_pane(listing.cursor)

    def command_line(self) -> str:
        if self.view_diff is not None:
            diff = self.view_diff
            args = ["diff", self.workflow_id, str(diff.from_sequence), str(diff.to_sequence)]
            return self.source.command(*args)
        if self.view_state is not None:
            at = str(self.view_state.as_of_sequence)
            return self.source.command("state", self.workflow_id, "--at", at)
        return self.source.command("history", self.workflow_id, "--all")

    def document(self) -> tuple[str, Any] | None:
        wf = self.workflow_id
        if self.view_diff is not None:
            diff = self.view_diff
            left_out = self.source.run_left_out(wf, diff.to_sequence)
            stem = f"stabilize-diff-{wf}-{diff.from_sequence}-{diff.to_sequence}"
            return stem, mark_incomplete(diff_report(diff), left_out).document()
        if self.view_state is not None:
            at = self.view_state.as_of_sequence
            left_out = self.source.run_left_out(wf, at)
            stem = f"stabilize-state-{wf}-{at}"
            return stem, mark_incomplete(state_report(self.view_state), left_out).document()
        return None
