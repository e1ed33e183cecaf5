"""The workflow list as a report: the same rows for CSV, Markdown and NDJSON.

The terminal table leaves out the end time (start plus duration says it) and the
sequence range (``history --all`` shows it) so that a row fits 120 columns.
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
    Column("first_sequence", "FIRST SEQ", numeric=True),
    Column("last_sequence", "LAST SEQ", numeric=True),
)
"""CSV and Markdown: every key of the JSON rows, as the README names them."""
TABLE_COLUMNS = tuple(
    c for c in WORKFLOW_COLUMNS if c.key not in ("end_time", "first_sequence", "last_sequence")
)


def workflows_report(result: WorkflowList) -> Report:
    return Report(
        document=lambda: list(result.records()),
        columns=WORKFLOW_COLUMNS,
        records=result.records,
        view=lambda: rows_table(TABLE_COLUMNS, result.records()),
    )
