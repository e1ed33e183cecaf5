"""Stage and task metrics as a report; and the progress bar long scans show on a terminal.

Durations are humanised (``245ms``, ``1.23s``) in the table only; every other format
carries the engine's milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Group, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..events.base import Event
from ..queries.metrics import MetricsResult, Track
from .console import make_console
from .fit import FitColumn, FitTable
from .output import Column, Report
from .safe import safe_text

PROGRESS_STEP = 1000
"""Events between progress updates: per-event updates would cost more than the scan."""

STAGE_COLUMNS = (
    Column("stage_type", "STAGE TYPE"),
    Column("execution_count", "RUNS", numeric=True),
    Column("success_count", "OK", numeric=True),
    Column("failure_count", "FAILED", numeric=True),
    Column("skip_count", "SKIPPED", numeric=True),
    Column("success_rate", "SUCCESS %", numeric=True),
    Column("failure_rate", "FAILURE %", numeric=True),
    Column("avg_duration_ms", "AVG MS", numeric=True),
    Column("median_duration_ms", "MEDIAN MS", numeric=True),
    Column("p95_duration_ms", "P95 MS", numeric=True),
    Column("min_duration_ms", "MIN MS", numeric=True),
    Column("max_duration_ms", "MAX MS", numeric=True),
)
ROW_COLUMNS = (
    Column("kind", "KIND"),
    Column("name", "NAME"),
    Column("implementing_class", "CLASS"),
    Column("execution_count", "RUNS", numeric=True),
    Column("success_count", "OK", numeric=True),
    Column("failure_count", "FAILED", numeric=True),
    Column("skip_count", "SKIPPED", numeric=True),
    Column("retry_count", "RETRIES", numeric=True),
    Column("success_rate", "SUCCESS %", numeric=True),
    Column("failure_rate", "FAILURE %", numeric=True),
    *STAGE_COLUMNS[7:],
)
"""CSV, NDJSON and Markdown: stages then tasks, told apart by ``kind``; a figure one kind
does not have is empty."""
TASK_NUMBERS = ("execution_count", "success_count", "failure_count", "retry_count")
STAGE_HEADERS = (
    *("STAGE TYPE", "RUNS", "OK", "FAILED", "SKIPPED", "SUCCESS %", "FAILURE %"),
    *("AVG", "MEDIAN", "P95", "MIN", "MAX"),
)
TASK_HEADERS = ("TASK", "CLASS", "RUNS", "OK", "FAILED", "RETRIES", "SUCCESS %", "AVG")


@contextmanager
def scan_progress(label: str) -> Iterator[Track]:
    """A transient bar on stderr while events are read; nothing at all when piped, even
    under FORCE_COLOR (its cursor codes would litter a CI log)."""
    console = make_console(stderr=True)
    if not console.is_interactive:
        yield lambda events, total: events
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:

        def track(events: Iterator[Event], total: Callable[[], int]) -> Iterator[Event]:
            task = progress.add_task(label, total=total())
            seen = 0
            for event in events:
                yield event
                seen += 1
                if seen % PROGRESS_STEP == 0:
                    progress.update(task, completed=seen)
            progress.update(task, completed=seen)

        yield track


def human_ms(ms: float) -> str:
    """``245ms``, ``1.23s``, ``2m 03s``, ``1h 05m``."""
    if round(ms) < 1000:
        return f"{ms:.0f}ms"
    if ms < 59_995:
        return f"{ms / 1000:.2f}s"
    minutes, seconds = divmod(round(ms / 1000), 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _decided(row: Mapping[str, Any]) -> bool:
    """Durations and rates exist only for runs that ended (completed or failed)."""
    return bool(row["success_count"] or row["failure_count"])


NO_MEASUREMENT = "\u2013"
"""An en dash: no run ended, so there is no rate or duration (``0ms`` would be a lie)."""


def _percent(row: Mapping[str, Any], key: str) -> Text:
    return Text(f"{row[key]:.1f}%" if _decided(row) else NO_MEASUREMENT)


def _duration(row: Mapping[str, Any], key: str) -> Text:
    return Text(human_ms(row[key]) if _decided(row) else NO_MEASUREMENT)


def _table(
    title: str, headers: Iterable[str], text_columns: int, rows: list[list[Text]]
) -> FitTable:
    """Names on the left (they wrap), figures right-aligned and never cut; on a narrow
    terminal the figures that do not fit go to a second table under the same names."""
    columns = [
        FitColumn(h, "fixed", right=True) if i >= text_columns else FitColumn(h, "wrap")
        for i, h in enumerate(headers)
    ]
    return FitTable(
        columns,
        rows,
        title=title,
        key=text_columns,
        spill="split",
        caption=None if rows else "(none)",
    )


def stage_table(rows: Iterable[Mapping[str, Any]]) -> FitTable:
    cells = [
        [
            safe_text(row["stage_type"]),
            *(Text(str(row[c.key])) for c in STAGE_COLUMNS[1:5]),
            _percent(row, "success_rate"),
            _percent(row, "failure_rate"),
            *(_duration(row, c.key) for c in STAGE_COLUMNS[7:]),
        ]
        for row in rows
    ]
    return _table("Stage types (slowest average first)", STAGE_HEADERS, 1, cells)


def task_table(rows: Iterable[Mapping[str, Any]]) -> FitTable:
    cells = [
        [
            safe_text(row["task_name"]),
            safe_text(row["implementing_class"], style="dim"),
            *(Text(str(row[key])) for key in TASK_NUMBERS),
            _percent(row, "success_rate"),
            _duration(row, "avg_duration_ms"),
        ]
        for row in rows
    ]
    return _table("Tasks (slowest average first)", TASK_HEADERS, 2, cells)


def metrics_view(result: MetricsResult) -> RenderableType:
    """Both tables, slowest first (``--top N``: N rows each)."""
    return Group(stage_table(result.records()), Text(""), task_table(result.task_records()))


def metrics_report(result: MetricsResult) -> Report:
    return Report(
        document=result.to_json,
        columns=ROW_COLUMNS,
        records=result.rows,
        view=lambda: metrics_view(result),
    )
