"""The workflow list as a report: the same rows for CSV, Markdown and NDJSON.

The terminal table leaves out the end time (start plus duration says it) so that a
row fits 120 columns without wrapping the times.
"""

from __future__ import annotations

from ..queries.workflows import WorkflowList
from .output import Column, Report, rows_table

WORKFLOW_COLUMNS = (
    Column("workflow_id", "WORKFLOW"),
    Column("application", "APP"),
    Column("name", "NAME"),
    Column("status", "STATUS"),
    Column("start_time", "STARTED"),
    Column("end_time", "ENDED"),
    Column("duration_ms", "MS", numeric=True),
    Column("event_count", "EVENTS", numeric=True),
    Column("failed_stages", "FAILED", numeric=True),
    Column("restarts", "RESTARTS", numeric=True),
)
TABLE_COLUMNS = tuple(c for c in WORKFLOW_COLUMNS if c.key != "end_time")


def workflows_report(result: WorkflowList) -> Report:
    return Report(
        document=lambda: list(result.records()),
        columns=WORKFLOW_COLUMNS,
        records=result.records,
        view=lambda: rows_table(TABLE_COLUMNS, result.records()),
    )
