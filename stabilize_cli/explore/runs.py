"""The Runs screen: the workflows list, newest first, refreshed as new runs arrive."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input

from ..audit.contracts import WorkflowSummary
from ..queries.workflows import WorkflowFilter, WorkflowList, duration_ms, list_workflows
from ..render.incomplete import mark_incomplete
from ..render.output import table_time
from ..render.timeline import seconds, status_style
from ..render.workflows import workflows_report
from .base import View, cell, reads
from .lists import Column, CursorList, TableList

COLUMNS = (
    Column("WORKFLOW"),
    Column("STATUS"),
    Column("NAME", cap=30),
    Column("STARTED (UTC)"),
    Column("TOOK", right=True),
    Column("APP", cap=20),
    Column("EVENTS", right=True),
    Column("FAILED", right=True),
)


def short_time(value: str | None) -> str | None:
    """``11-28 15:04:44``: the year and milliseconds are in the export and ``workflows``."""
    shown = table_time(value)
    if isinstance(shown, str) and len(shown) == len("2026-11-28 15:04:44.123"):
        return shown[5:19]
    return value


def matches(summary: WorkflowSummary, needle: str) -> bool:
    """``/`` text: a case-insensitive part of the id, name, application or status."""
    if not needle:
        return True
    fields = (summary.workflow_id, summary.name, summary.application, summary.status)
    return any(needle.lower() in str(f).lower() for f in fields if f is not None)


class RunsScreen(View):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("r", "reload", "Reload"),
        *View.BINDINGS,
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listed = WorkflowList(())
        self.shown: list[WorkflowSummary] = []
        self.needle = ""
        self.head = -1

    def body(self) -> ComposeResult:
        yield Input(placeholder="filter: part of an id, name, app or status", id="filter")
        yield TableList(COLUMNS, id="runs")

    def on_mount(self) -> None:
        table = self.query_one("#runs", TableList)
        self.query_one("#filter", Input).display = False
        self.reload()
        table.focus()
        self.set_interval(self.source.refresh_seconds, self.poll)

    def on_screen_resume(self) -> None:
        """Back from a run: the title takes in what its reads met (damage, say)."""
        if self.is_mounted:
            self.describe()

    @reads
    def poll(self) -> None:
        """New runs appear without a key press: reload when the store has grown."""
        store = self.source.store
        store.refresh()
        if store.get_current_sequence() != self.head:
            self.reload()

    @reads
    def reload(self) -> None:
        wanted = self.source.runs
        self.head = self.source.store.get_current_sequence()
        self.listed = list_workflows(
            self.source.store,
            WorkflowFilter(
                statuses=wanted.statuses,
                application=wanted.application,
                since=wanted.since,
                limit=wanted.limit,
            ),
            self.source.redactor,
        )
        self.fill()

    def fill(self) -> None:
        table = self.query_one("#runs", TableList)
        chosen = self.current_id()
        name = (self.source.runs.name or "").lower()
        self.shown = [
            w
            for w in self.listed.workflows
            if matches(w, self.needle) and name in str(w.name or "").lower()
        ]
        rows = []
        for w in self.shown:
            took = duration_ms(w)
            rows.append(
                [
                    cell(w.workflow_id),
                    cell(w.status, status_style(w.status)),
                    cell(w.name),
                    cell(short_time(w.start_time)),
                    Text("" if took is None else seconds(took), justify="right"),
                    cell(w.application, "dim"),
                    Text(str(w.event_count), justify="right"),
                    Text(str(w.failed_stages or ""), justify="right", style="red"),
                ]
            )
        table.set_rows(rows, [w.workflow_id for w in self.shown])
        if chosen is not None:
            for row, w in enumerate(self.shown):
                if w.workflow_id == chosen:
                    table.move_to(row)
        self.describe()

    def describe(self) -> None:
        title = Text("Runs", style="bold")
        title.append(f"  {len(self.shown)} of {len(self.listed.workflows)} shown, newest first")
        if self.needle:
            title.append("  filter: ").append(cell(self.needle, "bold"))
        self.set_title(title)
        self.show_command()

    def current_id(self) -> str | None:
        table = self.query_one("#runs", TableList)
        if not self.shown or not 0 <= table.cursor < len(self.shown):
            return None
        return self.shown[table.cursor].workflow_id

    def command_line(self) -> str:
        wanted = self.source.runs
        args = ["workflows"]
        for status in sorted(wanted.statuses):
            args += ["--status", status]
        if wanted.application is not None:
            args += ["--app", wanted.application]
        if wanted.since is not None:
            args += ["--since", wanted.since.isoformat()]
        args += ["--limit", str(wanted.limit)]
        line = self.source.command(*args)
        narrowed = [t for t in (wanted.name, self.needle) if t]
        return line + ("  # then only rows with: " + ", ".join(narrowed) if narrowed else "")

    def document(self) -> tuple[str, Any]:
        shown = WorkflowList(tuple(self.shown))
        report = mark_incomplete(workflows_report(shown), self.source.run_left_out(None))
        return "stabilize-workflows", report.document()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#filter")
    def narrow(self, event: Input.Changed) -> None:
        self.needle = event.value
        self.fill()

    @on(Input.Submitted, "#filter")
    def done_filtering(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = bool(self.needle)
        self.query_one("#runs", TableList).focus()

    @on(CursorList.Chosen, "#runs")
    def chosen(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        workflow_id = self.current_id()
        if workflow_id is not None:
            self.explorer.open_run(workflow_id)

    @reads
    def action_reload(self) -> None:
        self.source.store.refresh()
        self.reload()

    def action_back(self) -> None:
        box = self.query_one("#filter", Input)
        if box.has_focus or self.needle:
            box.value = ""
            box.display = False
            self.query_one("#runs", TableList).focus()
