"""The workflow list as a report: the same rows for the table, CSV, Markdown and NDJSON."""

from __future__ import annotations

from ..queries.workflows import WorkflowList
from .output import Column, Report

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
)


def workflows_report(result: WorkflowList) -> Report:
    return Report(
        document=lambda: list(result.records()),
        columns=WORKFLOW_COLUMNS,
        records=result.records,
    )
