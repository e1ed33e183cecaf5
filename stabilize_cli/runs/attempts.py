"""Attempts and restarts, from the events alone.

The engine writes no event for a restart: after ``workflow.failed`` the same stage ids
start again (``stage.started`` at a higher version), and the workflow ends a second time.
So every ``*.started`` of a stage or task begins a new attempt, and a terminal workflow
event followed by more starts is a restart, not the end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from ..events.base import EntityType, Event
from ..events.timeutil import format_timestamp

TERMINAL = frozenset({"workflow.completed", "workflow.failed", "workflow.canceled"})
_ENDS = {
    "stage.completed": "SUCCEEDED",
    "stage.failed": "TERMINAL",
    "stage.canceled": "CANCELED",
    "stage.skipped": "SKIPPED",
    "task.completed": "SUCCEEDED",
    "task.failed": "TERMINAL",
}
_STARTS = frozenset({"stage.started", "task.started"})


@dataclass
class Attempt:
    """One run of a stage or task: from its ``*.started`` to the event that ended it."""

    number: int
    start: datetime | None = None
    end: datetime | None = None
    status: Any = "RUNNING"
    error: Any = None
    retries: int = 0
    first_sequence: int = 0
    last_sequence: int = 0
    before_restart: bool = False
    """It ended before the workflow was restarted: an earlier outcome, not the final one."""

    @property
    def sequences(self) -> tuple[int, int]:
        return (self.first_sequence, self.last_sequence)

    def to_json(self) -> dict[str, Any]:
        return {
            "attempt": self.number,
            "status": self.status,
            "start_time": None if self.start is None else format_timestamp(self.start),
            "end_time": None if self.end is None else format_timestamp(self.end),
            "duration_ms": _ms(self.start, self.end),
            "error": self.error,
            "retry_count": self.retries,
            "before_restart": self.before_restart,
            "first_sequence": self.first_sequence,
            "last_sequence": self.last_sequence,
        }


def _ms(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return int((end - start).total_seconds() * 1000)


@dataclass(frozen=True)
class Restart:
    """An outcome the workflow later left: its terminal event, then more stages started."""

    sequence: int
    event_type: str
    status: Any
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "event_type": self.event_type,
            "status": self.status,
            "timestamp": format_timestamp(self.at),
        }


@dataclass
class RunAttempts:
    """Per stage and task id, its attempts in order; the workflow's restarted outcomes."""

    by_entity: dict[str, list[Attempt]] = field(default_factory=dict)
    restarts: list[Restart] = field(default_factory=list)

    def of(self, entity_id: str) -> list[Attempt]:
        return self.by_entity.get(entity_id, [])


class AttemptSplitter:
    """Attempts and restarts folded one event at a time (a streamed pass keeps no event)."""

    def __init__(self) -> None:
        self._result = RunAttempts()
        self._pending: tuple[Event, str] | None = None

    def add(self, event: Event) -> None:
        kind = event.type_name
        if self._pending is not None and kind in _STARTS:
            ended, status = self._pending
            restart = Restart(ended.sequence, ended.type_name, status, ended.timestamp)
            self._result.restarts.append(restart)
            self._pending = None
        if kind in TERMINAL:
            self._pending = (event, str(event.data.get("status") or kind.rsplit(".", 1)[1].upper()))
            return
        if event.entity_type is not EntityType.WORKFLOW:  # a stage or a task
            _fold(self._result.by_entity.setdefault(event.entity_id, []), event, kind)

    def add_retry(self, event: Event) -> None:
        """:meth:`add` for a ``task.retried`` event of a task (not a start, not an end):
        a million of them in one long poll. One more retry of the current attempt."""
        attempts = self._result.by_entity.setdefault(event.entity_id, [])
        if not attempts:
            attempts.append(Attempt(1, first_sequence=event.sequence))
        attempt = attempts[-1]
        attempt.last_sequence = event.sequence
        attempt.retries += 1

    def result(self) -> RunAttempts:
        _label_restarted(self._result)
        return self._result


def split_attempts(events: Iterable[Event]) -> RunAttempts:
    """One pass over a workflow's events in sequence order."""
    splitter = AttemptSplitter()
    for event in events:
        splitter.add(event)
    return splitter.result()


def _label_restarted(result: RunAttempts) -> None:
    """An attempt followed by another of the same entity across a restart ended before it."""
    cuts = [r.sequence for r in result.restarts]
    for attempts in result.by_entity.values():
        for attempt, after in pairwise(attempts):
            attempt.before_restart = any(
                attempt.last_sequence < cut < after.first_sequence for cut in cuts
            )


def _fold(attempts: list[Attempt], event: Event, kind: str) -> None:
    if kind in _STARTS or not attempts:
        attempts.append(Attempt(len(attempts) + 1, first_sequence=event.sequence))
        if kind in _STARTS:
            attempts[-1].start = event.timestamp
    attempt = attempts[-1]
    attempt.last_sequence = event.sequence
    if kind == "task.retried":
        attempt.retries += 1
    elif kind in _ENDS:
        attempt.end = event.timestamp
        attempt.status = event.data.get("status") or _ENDS[kind]
        error = event.data.get("error")
        attempt.error = error if kind.endswith("failed") else None
