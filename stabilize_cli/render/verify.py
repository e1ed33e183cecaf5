"""The integrity audit as a report: one row per finding, and a summary under the table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from ..queries.verify import Audit, Severity
from .output import Column, Report, rows_table

FINDING_COLUMNS = (
    Column("severity", "SEVERITY"),
    Column("code", "CODE"),
    Column("sequences", "SEQUENCES"),
    Column("message", "MESSAGE"),
)
SEQUENCES_SHOWN = 8


def _sequences(values: list[int]) -> str:
    shown = ", ".join(str(v) for v in values[:SEQUENCES_SHOWN])
    extra = len(values) - SEQUENCES_SHOWN
    return shown + (f", ... (+{extra})" if extra > 0 else "")


def _table_rows(audit: Audit) -> Iterable[dict[str, Any]]:
    for record in audit.records():
        yield {**record, "sequences": _sequences(record["sequences"])}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(audit: Audit) -> str:
    checked = (
        f"checked {_plural(audit.events, 'event')}, {_plural(audit.snapshots, 'snapshot')}, "
        f"{_plural(audit.subscriptions, 'subscription')}: "
    )
    counts = [
        f"{audit.count(s)} info" if s is Severity.INFO else _plural(audit.count(s), s.value)
        for s in Severity
    ]
    verdict = ", ".join(counts) if audit.findings else "no findings"
    if audit.incomplete:
        verdict += " -- INCOMPLETE: the database is corrupt, findings may be missing"
    return checked + verdict


def verify_report(audit: Audit) -> Report:
    def view() -> RenderableType:
        line = Text(summary(audit), style="bold red" if audit.incomplete else "")
        if not audit.findings:
            return line
        return Group(rows_table(FINDING_COLUMNS, _table_rows(audit)), Text(""), line)

    return Report(document=audit.to_json, columns=FINDING_COLUMNS, records=audit.records, view=view)
