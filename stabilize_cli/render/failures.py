"""Failure groups as a report: a table that answers "same failure as yesterday?" at a glance.

Each row starts with the signature's fingerprint (stable across days and databases), then
how often and in how many workflows, when first and last seen, and the signature itself
with where it came from. Below the table, per fingerprint, the example workflow ids and
one raw error, cleaned here at render time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ..queries.failures import FAILURE_TYPES, FailureGroup, FailureReport
from .output import Column, Report
from .safe import safe_text
from .sanitize import inert

EXAMPLE_LINES = 8
"""Lines of the example error shown in the table view; JSON carries all of it."""

FAILURE_COLUMNS = (
    Column("fingerprint", "ID"),
    Column("signature", "SIGNATURE"),
    Column("count", "COUNT", numeric=True),
    Column("workflows", "WORKFLOWS", numeric=True),
    Column("event_types", "EVENT TYPES"),
    Column("stage_types", "STAGE TYPES"),
    Column("task_names", "TASKS"),
    Column("first_seen", "FIRST SEEN"),
    Column("last_seen", "LAST SEEN"),
    Column("example_workflow_ids", "EXAMPLE WORKFLOWS"),
    Column("example_error", "EXAMPLE ERROR"),
    Column("cause_sources", "CAUSE FROM"),
)


def short_time(value: datetime) -> str:
    """ISO 8601 to the second, in UTC: enough to tell today from yesterday."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _origin(group: FailureGroup) -> Text:
    """Where the failure was seen: event types, stage types and task names."""
    text = Text(", ".join(group.event_types), style="dim")
    for label, names in (("stage type", group.stage_types), ("task", group.task_names)):
        if names:
            text.append(f" · {label}{'s' if len(names) > 1 else ''} ", style="dim")
            text.append_text(safe_text(", ".join(names), style="dim"))
    return text


def _signature_cell(group: FailureGroup) -> Text:
    origin = _origin(group)
    if group.cause_sources:
        origin.append(" · cause from " + ", ".join(group.cause_sources), style="dim")
    return Text("\n").join([safe_text(group.signature, style="bold"), origin])


def groups_table(report: FailureReport) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("ID", no_wrap=True)
    for header in ("COUNT", "WFS"):
        table.add_column(header, justify="right", no_wrap=True)
    for header in ("FIRST SEEN", "LAST SEEN"):
        table.add_column(header, no_wrap=True)
    table.add_column("SIGNATURE", ratio=1)
    for group in report.groups:
        table.add_row(
            Text(group.fingerprint),
            Text(str(group.count)),
            Text(str(group.workflows)),
            Text(short_time(group.first_seen)),
            Text(short_time(group.last_seen)),
            _signature_cell(group),
        )
    return table


def _example_error(raw: str) -> Text:
    lines = inert(raw, multiline=True).splitlines() or [""]
    shown = "\n".join(lines[:EXAMPLE_LINES])
    text = Text(shown)
    if len(lines) > EXAMPLE_LINES:
        text.append(f"\n... {len(lines) - EXAMPLE_LINES} more lines (see --json)", style="dim")
    return text


def examples_table(report: FailureReport) -> Table:
    table = Table(title="Examples (most recent)", title_justify="left", title_style="bold")
    table.box, table.show_header, table.pad_edge = None, False, False
    table.add_column(no_wrap=True)
    table.add_column(ratio=1)
    for group in report.groups:
        ids = Text("workflows: ", style="dim")
        ids.append_text(safe_text(", ".join(group.example_workflow_ids)))
        table.add_row(Text(group.fingerprint), ids)
        table.add_row(Text(""), _example_error(group.example_error))
    return table


def summary_line(report: FailureReport) -> Text:
    if not report.total_groups:
        kinds = ", ".join(t.value for t in FAILURE_TYPES)
        return Text(f"No failures ({kinds}) in this range.")
    text = Text(
        f"{report.total_failures} failure events in {report.total_workflows} workflows, "
        f"{report.total_groups} distinct signatures"
    )
    if len(report.groups) < report.total_groups:
        text.append(f"; showing the {len(report.groups)} most frequent (--limit)", style="dim")
    return text


def failures_view(report: FailureReport) -> RenderableType:
    parts: list[RenderableType] = [summary_line(report)]
    if report.groups:
        parts += [Text(""), groups_table(report), Text(""), examples_table(report)]
    return Group(*parts)


def failures_report(report: FailureReport) -> Report:
    return Report(
        document=report.to_json,
        columns=FAILURE_COLUMNS,
        records=report.records,
        view=lambda: failures_view(report),
    )
