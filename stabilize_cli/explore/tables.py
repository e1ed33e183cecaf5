"""The Failures and Metrics screens: the commands' tables, read on a worker thread (a big
store takes seconds) so the screen stays responsive; from a failure group, its runs."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Static

from ..queries.failures import FailureFilter, FailureReport, failures
from ..queries.metrics import MetricsFilter, MetricsResult, stage_metrics
from ..render.failures import failures_report
from ..render.incomplete import mark_incomplete
from ..render.metrics import human_ms, metrics_report
from ..render.output import table_time
from .base import View, block, cell

STAGE_COLUMNS = ("STAGE TYPE", "RUNS", "OK", "FAILED", "SUCCESS", "AVG", "P95", "MAX")
TASK_COLUMNS = ("TASK", "RUNS", "OK", "FAILED", "RETRIES", "SUCCESS", "AVG")


def right(value: Any) -> Text:
    return Text(str(value), justify="right")


def duration(value: Any) -> Text:
    return right(human_ms(float(value)) if isinstance(value, int | float) else "")


class Loading(View):
    """A screen whose table is computed once, off the event loop."""

    def on_mount(self) -> None:
        self.set_title(Text(f"{self.heading}  reading...", style="bold"))
        self.show_command()
        self.compute()

    heading = ""

    @work(thread=True, exclusive=True)
    def compute(self) -> None:
        try:
            found = self.read()
        except Exception as error:  # shown, not raised: the explorer stays open
            message = f"{self.heading}: {error}"
            self.app.call_from_thread(self.failed, message)
            return
        self.app.call_from_thread(self.show, found)

    def read(self) -> Any:
        raise NotImplementedError

    def show(self, found: Any) -> None:
        raise NotImplementedError

    def failed(self, message: str) -> None:
        self.set_title(Text.assemble((self.heading, "bold"), "  ", cell(message, "red")))


class FailuresScreen(Loading):
    heading = "Failures"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "runs", "Example runs", show=False),
        *View.BINDINGS,
    ]

    def __init__(self, source: Any) -> None:
        super().__init__(source)
        self.report: FailureReport | None = None

    def body(self) -> ComposeResult:
        yield DataTable(id="groups", cursor_type="row")
        with VerticalScroll(id="group-detail"):
            yield Static(Text(""), id="group-text")
        yield DataTable(id="examples", cursor_type="row")

    def read(self) -> FailureReport:
        return failures(self.source.store, FailureFilter())

    def show(self, found: FailureReport) -> None:
        self.report = found
        table = self.query_one("#groups", DataTable)
        table.add_columns("ID", "COUNT", "RUNS", "LAST SEEN", "SIGNATURE")
        for group in found.groups:
            table.add_row(
                Text(group.fingerprint),
                right(group.count),
                right(group.workflows),
                Text(table_time(group.last_seen.isoformat())),
                cell(group.signature),
            )
        examples = self.query_one("#examples", DataTable)
        examples.add_columns("EXAMPLE RUNS OF THE SELECTED GROUP (enter opens)")
        title = Text("Failures", style="bold")
        title.append(
            f"  {found.total_failures} failures in {found.total_workflows} runs, "
            f"{found.total_groups} signatures"
        )
        self.set_title(title)
        table.focus()
        self.pick(0)

    @on(DataTable.RowHighlighted, "#groups")
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.pick(event.cursor_row)

    def pick(self, row: int) -> None:
        report = self.report
        if report is None or not 0 <= row < len(report.groups):
            return
        group = report.groups[row]
        text = Text.assemble(("signature ", "bold"), cell(group.signature))
        text.append("\nfirst seen ").append(table_time(group.first_seen.isoformat()))
        text.append("  last seen ").append(table_time(group.last_seen.isoformat()))
        where = ", ".join([*group.stage_types, *group.task_names]) or "-"
        text.append("\nin ").append_text(cell(where))
        text.append("\nlast error:\n", style="bold red").append_text(block(group.example_error))
        self.query_one("#group-text", Static).update(text)
        examples = self.query_one("#examples", DataTable)
        examples.clear()
        for workflow_id in group.example_workflow_ids:
            examples.add_row(cell(workflow_id), key=workflow_id)

    @on(DataTable.RowSelected, "#groups")
    def group_chosen(self) -> None:
        self.action_runs()

    def action_runs(self) -> None:
        examples = self.query_one("#examples", DataTable)
        if examples.row_count:
            examples.focus()

    @on(DataTable.RowSelected, "#examples")
    def example_chosen(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is not None:
            self.explorer.open_run(key)

    def command_line(self) -> str:
        return self.source.command("failures")

    def document(self) -> tuple[str, Any] | None:
        if self.report is None:
            return None
        return "stabilize-failures", failures_report(self.report).document()


class MetricsScreen(Loading):
    heading = "Metrics"

    def __init__(self, source: Any) -> None:
        super().__init__(source)
        self.result: MetricsResult | None = None

    def body(self) -> ComposeResult:
        yield DataTable(id="stages", cursor_type="row")
        yield DataTable(id="tasks", cursor_type="row")

    def read(self) -> MetricsResult:
        return stage_metrics(self.source.store, MetricsFilter(), cache=self.source.metrics_cache())

    def show(self, found: MetricsResult) -> None:
        self.result = found
        stages = self.query_one("#stages", DataTable)
        stages.add_columns(*STAGE_COLUMNS)
        for row in found.records():
            stages.add_row(
                cell(row["stage_type"]),
                right(row["execution_count"]),
                right(row["success_count"]),
                right(row["failure_count"]),
                right(f"{row['success_rate']:.1f}%"),
                duration(row["avg_duration_ms"]),
                duration(row["p95_duration_ms"]),
                duration(row["max_duration_ms"]),
            )
        tasks = self.query_one("#tasks", DataTable)
        tasks.add_columns(*TASK_COLUMNS)
        for row in found.task_records():
            tasks.add_row(
                cell(row["task_name"]),
                right(row["execution_count"]),
                right(row["success_count"]),
                right(row["failure_count"]),
                right(row["retry_count"]),
                right(f"{row['success_rate']:.1f}%"),
                duration(row["avg_duration_ms"]),
            )
        title = Text("Metrics", style="bold")
        title.append(f"  {len(found.stages)} stage types, {len(found.tasks)} tasks; slowest first")
        self.set_title(title)
        stages.focus()

    def command_line(self) -> str:
        return self.source.command("metrics")

    def document(self) -> tuple[str, Any] | None:
        if self.result is None:
            return None
        report = mark_incomplete(metrics_report(self.result), self.source.notes.unreadable)
        return "stabilize-metrics", report.document()
