"""The Failures and Metrics screens: the commands' tables, read on a worker thread (a big
store takes seconds) so the screen stays responsive; from a failure group, its runs."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..queries.failures import FailureFilter, FailureReport, failures
from ..queries.metrics import MetricsFilter, MetricsResult, stage_metrics
from ..render.failures import failures_report
from ..render.incomplete import mark_incomplete
from ..render.metrics import human_ms, metrics_report
from ..render.output import table_time
from .base import View, block, cell
from .lists import Column, CursorList, TableList

NUMBERS = ("RUNS", "OK", "FAILED")
STAGE_COLUMNS = (
    Column("STAGE TYPE", cap=30),
    *(Column(t, right=True) for t in (*NUMBERS, "SUCCESS", "AVG", "P95", "MAX")),
)
TASK_COLUMNS = (
    Column("TASK", cap=30),
    *(Column(t, right=True) for t in (*NUMBERS, "RETRIES", "SUCCESS", "AVG")),
)
GROUP_COLUMNS = (
    Column("ID"),
    Column("COUNT", right=True),
    Column("RUNS", right=True),
    Column("LAST SEEN"),
    Column("SIGNATURE"),
)


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

    def __init__(self, source: Any) -> None:
        super().__init__(source)
        self.report: FailureReport | None = None

    def body(self) -> ComposeResult:
        yield TableList(GROUP_COLUMNS, id="groups")
        with VerticalScroll(id="group-detail"):
            yield Static(Text(""), id="group-text")
        yield TableList([Column("EXAMPLE RUNS OF THE SELECTED GROUP (enter opens)")], id="examples")

    def read(self) -> FailureReport:
        return failures(self.source.store, FailureFilter())

    def show(self, found: FailureReport) -> None:
        self.report = found
        table = self.query_one("#groups", TableList)
        rows = [
            [
                Text(group.fingerprint),
                right(group.count),
                right(group.workflows),
                Text(table_time(group.last_seen.isoformat())),
                cell(group.signature),
            ]
            for group in found.groups
        ]
        table.set_rows(rows, [group.fingerprint for group in found.groups])
        title = Text("Failures", style="bold")
        title.append(
            f"  {found.total_failures} failures in {found.total_workflows} runs, "
            f"{found.total_groups} signatures"
        )
        self.set_title(title)
        table.focus()
        self.pick(0)

    @on(CursorList.Moved, "#groups")
    def highlighted(self, event: CursorList.Moved) -> None:
        self.pick(event.index)

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
        examples = self.query_one("#examples", TableList)
        ids = list(group.example_workflow_ids)
        examples.set_rows([[cell(i)] for i in ids], ids)
        examples.move_to(0)

    @on(CursorList.Chosen, "#groups")
    def group_chosen(self) -> None:
        examples = self.query_one("#examples", TableList)
        if examples.row_count:
            examples.focus()

    @on(CursorList.Chosen, "#examples")
    def example_chosen(self, event: CursorList.Chosen) -> None:
        examples = self.query_one("#examples", TableList)
        self.explorer.open_run(examples.keys[event.index])

    def command_line(self) -> str:
        return self.source.command("failures")

    def document(self) -> tuple[str, Any] | None:
        if self.report is None:
            return None
        report = mark_incomplete(failures_report(self.report), self.source.run_left_out(None))
        return "stabilize-failures", report.document()


class MetricsScreen(Loading):
    heading = "Metrics"

    def __init__(self, source: Any) -> None:
        super().__init__(source)
        self.result: MetricsResult | None = None

    def body(self) -> ComposeResult:
        yield TableList(STAGE_COLUMNS, id="stages")
        yield TableList(TASK_COLUMNS, id="tasks")

    def read(self) -> MetricsResult:
        return stage_metrics(self.source.store, MetricsFilter(), cache=self.source.metrics_cache())

    def show(self, found: MetricsResult) -> None:
        self.result = found
        stages = self.query_one("#stages", TableList)
        stage_rows = []
        for row in found.records():
            stage_rows.append(
                [
                    cell(row["stage_type"]),
                    right(row["execution_count"]),
                    right(row["success_count"]),
                    right(row["failure_count"]),
                    right(f"{row['success_rate']:.1f}%"),
                    duration(row["avg_duration_ms"]),
                    duration(row["p95_duration_ms"]),
                    duration(row["max_duration_ms"]),
                ]
            )
        stages.set_rows(stage_rows, [str(r[0]) for r in stage_rows])
        tasks = self.query_one("#tasks", TableList)
        task_rows = []
        for row in found.task_records():
            task_rows.append(
                [
                    cell(row["task_name"]),
                    right(row["execution_count"]),
                    right(row["success_count"]),
                    right(row["failure_count"]),
                    right(row["retry_count"]),
                    right(f"{row['success_rate']:.1f}%"),
                    duration(row["avg_duration_ms"]),
                ]
            )
        tasks.set_rows(task_rows, [str(r[0]) for r in task_rows])
        title = Text("Metrics", style="bold")
        title.append(f"  {len(found.stages)} stage types, {len(found.tasks)} tasks; slowest first")
        self.set_title(title)
        stages.focus()

    def command_line(self) -> str:
        return self.source.command("metrics")

    def document(self) -> tuple[str, Any] | None:
        if self.result is None:
            return None
        report = mark_incomplete(metrics_report(self.result), self.source.run_left_out(None))
        return "stabilize-metrics", report.document()
