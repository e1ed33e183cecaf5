"""Which workflows exist, and which one a user means by an id, a prefix or 'latest'."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..audit import read_models_for
from ..audit.contracts import WorkflowSummary
from ..events.base import EntityType
from ..events.statuses import STATUSES
from ..events.store import AuditableStore, EventQuery
from ..events.timeutil import parse_timestamp
from ..redaction import Redactor
from .errors import InvalidInputError, NotFoundError

LATEST = "latest"
LATEST_FAILED = "latest-failed"


def resolve_workflow(store: AuditableStore, ref: str) -> str:
    """A full id, a unique prefix, ``latest`` or ``latest-failed`` → the workflow id."""
    catalog = read_models_for(store).catalog
    if ref in (LATEST, LATEST_FAILED):
        found = catalog.latest(failed=ref == LATEST_FAILED)
        if found is None:
            what = "failed workflow" if ref == LATEST_FAILED else "workflow"
            raise NotFoundError(f"no {what} in the store")
        return found
    if not ref:
        raise InvalidInputError("empty workflow id")
    for spelling in dict.fromkeys((ref, ref.upper())):  # ULIDs read the same in any case
        if catalog.exists(spelling):
            return spelling
        candidates = catalog.with_prefix(spelling, limit=6)
        if candidates:
            break
    if not candidates:
        raise NotFoundError(_not_a_workflow(store, ref))
    if len(candidates) > 1:
        shown = ", ".join(candidates[:5]) + (", ..." if len(candidates) > 5 else "")
        raise InvalidInputError(f"workflow prefix {ref!r} is ambiguous: {shown}")
    return candidates[0]


def _not_a_workflow(store: AuditableStore, ref: str) -> str:
    """Why ``ref`` names no workflow: it may be a stage's or a task's id (say whose)."""
    for spelling in dict.fromkeys((ref, ref.upper())):
        event = next(iter(store.get_events(EventQuery(entity_id=spelling, limit=1))), None)
        if event is not None and event.entity_type is not EntityType.WORKFLOW:
            kind = event.entity_type.value
            return (
                f"{spelling!r} is the id of a {kind} of workflow {event.workflow_id}, not of a "
                f"workflow (its events: 'stabilize history {spelling}')"
            )
    return f"no workflow {ref!r} in the store"


@dataclass(frozen=True)
class WorkflowFilter:
    statuses: frozenset[str] = frozenset()
    application: str | None = None
    name: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50

    def admits(self, summary: WorkflowSummary) -> bool:
        if self.statuses and (summary.status or "").upper() not in self.statuses:
            return False
        if self.application is not None and summary.application != self.application:
            return False
        if self.name is not None and summary.name != self.name:
            return False
        if self.since is None and self.until is None:
            return True
        start = _parse(summary.start_time)
        if start is None:
            return False
        if self.since is not None and start < self.since:
            return False
        return self.until is None or start <= self.until


def check_statuses(statuses: Iterable[str]) -> None:
    """A status that is not one of the engine's is a typo, never an empty result."""
    for status in statuses:
        if status not in STATUSES:
            raise InvalidInputError(
                f"--status {status!r} is not a status; use one of: {', '.join(STATUSES)}"
            )


def _parse(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_timestamp(text)
    except ValueError:
        return None


def duration_ms(summary: WorkflowSummary) -> int | None:
    start, end = _parse(summary.start_time), _parse(summary.end_time)
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() * 1000)


@dataclass(frozen=True)
class WorkflowList:
    workflows: tuple[WorkflowSummary, ...]

    def records(self) -> Iterable[dict[str, Any]]:
        for w in self.workflows:
            yield {
                "workflow_id": w.workflow_id,
                "application": w.application,
                "name": w.name,
                "status": w.status,
                "start_time": w.start_time,
                "end_time": w.end_time,
                "duration_ms": duration_ms(w),
                "event_count": w.event_count,
                "failed_stages": w.failed_stages,
                "restarts": w.restarts,
                "first_sequence": w.first_sequence,
                "last_sequence": w.last_sequence,
            }


def list_workflows(
    store: AuditableStore, wanted: WorkflowFilter, redactor: Redactor | None = None
) -> WorkflowList:
    """Names and applications are read in SQL, not as events: redacted here (None: fresh)."""
    if wanted.limit < 0:
        raise InvalidInputError(f"--limit must not be negative (got {wanted.limit})")
    if wanted.since and wanted.until and wanted.since > wanted.until:
        raise InvalidInputError("--since is after --until")
    check_statuses(wanted.statuses)
    chosen: list[WorkflowSummary] = []
    for summary in read_models_for(store).newest.newest_first():
        if len(chosen) >= wanted.limit:
            break
        if wanted.admits(summary):
            chosen.append(summary)
    return WorkflowList(tuple(_redacted(s, redactor or Redactor()) for s in chosen))


def _redacted(summary: WorkflowSummary, redactor: Redactor) -> WorkflowSummary:
    application, name = redactor.redact_value([summary.application, summary.name])
    return dataclasses.replace(summary, application=application, name=name)
