"""How events fold into a workflow's state, exactly as the engine's replayer folds them.

The state is a plain JSON-ready dict (the form ``rebuild_workflow_state`` returns and
snapshots store), so a snapshot's state can be resumed by the same fold.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import base
from .base import EntityType, Event, EventType
from .timeutil import format_timestamp, parse_timestamp

log = logging.getLogger(__name__)

_WORKFLOW_STATUS = {
    EventType.WORKFLOW_CANCELED: "CANCELED",
    EventType.WORKFLOW_PAUSED: "PAUSED",
    EventType.WORKFLOW_RESUMED: "RUNNING",
}
_STAGE_STATUS = {
    EventType.STAGE_STARTED: "RUNNING",
    EventType.STAGE_SKIPPED: "SKIPPED",
    EventType.STAGE_SUSPENDED: "SUSPENDED",
    EventType.STAGE_RESUMED: "RUNNING",
    EventType.STAGE_CANCELED: "CANCELED",
}


def empty_state(workflow_id: str) -> dict[str, Any]:
    return {
        "workflow_id": workflow_id,
        "status": None,
        "application": None,
        "name": None,
        "start_time": None,
        "end_time": None,
        "context": {},
        "stages": {},
        "tasks": {},
    }


def apply_event(state: dict[str, Any], event: Event) -> bool:
    """Fold one event into ``state`` in place; False when it was skipped as too new.

    An older event is first upcast by the global migrator, leniently as the engine does:
    with a step missing it is folded as far as it got."""
    current = base.CURRENT_SCHEMA_VERSION
    if event.schema_version != current:
        if event.schema_version > current:
            log.warning(
                "skipping event %s (sequence %s): schema v%s is newer than v%s",
                event.event_id,
                event.sequence,
                event.schema_version,
                current,
            )
            return False
        event = base.get_event_migrator().migrate(event, strict=False)
    if event.entity_type is EntityType.WORKFLOW:
        _apply_workflow(state, event)
    elif event.entity_type is EntityType.STAGE:
        _apply_stage(state["stages"], event)
    else:
        _apply_task(state["tasks"], event)
    return True


def _ended(data: dict[str, Any], default: str) -> Any:
    """The payload's status when the key is there (even null, as the engine keeps it)."""
    return data.get("status", default)


def _apply_workflow(state: dict[str, Any], event: Event) -> None:
    kind, data, when = event.event_type, event.data, format_timestamp(event.timestamp)
    if kind is EventType.WORKFLOW_CREATED:
        state["application"] = data.get("application")
        state["name"] = data.get("name")
    elif kind is EventType.WORKFLOW_STARTED:
        state["status"] = "RUNNING"
        state["start_time"] = when
        state["context"].update(_mapping(data.get("context")))
    elif kind is EventType.WORKFLOW_COMPLETED:
        state["end_time"] = when
        state["status"] = _ended(data, "SUCCEEDED")
    elif kind is EventType.WORKFLOW_FAILED:
        state["end_time"] = when
        state["status"] = _ended(data, "TERMINAL")
    elif kind is EventType.CONTEXT_UPDATED:
        state["context"].update(_mapping(data.get("context")))
    elif kind in _WORKFLOW_STATUS:
        state["status"] = _WORKFLOW_STATUS[kind]
        if kind is EventType.WORKFLOW_CANCELED:
            state["end_time"] = when


def _apply_stage(stages: dict[str, Any], event: Event) -> None:
    kind, data, when = event.event_type, event.data, format_timestamp(event.timestamp)
    stage = stages.get(event.entity_id)
    if stage is None:
        stage = stages[event.entity_id] = {
            "id": event.entity_id,
            "ref_id": data.get("ref_id"),
            "type": data.get("type"),
            "name": data.get("name"),
        }
    if kind in _STAGE_STATUS:
        stage["status"] = _STAGE_STATUS[kind]
    if kind is EventType.STAGE_STARTED:
        stage["start_time"] = when
    elif kind is EventType.STAGE_COMPLETED:
        stage["status"] = _ended(data, "SUCCEEDED")
        stage["end_time"] = when
        if "outputs" in data:
            stage["outputs"] = data["outputs"]
    elif kind is EventType.STAGE_FAILED:
        stage["status"] = _ended(data, "TERMINAL")
        stage["end_time"] = when
        stage["error"] = data.get("error")
    elif kind is EventType.STAGE_SKIPPED:
        stage["skip_reason"] = data.get("reason")


def _apply_task(tasks: dict[str, Any], event: Event) -> None:
    kind, data = event.event_type, event.data
    if kind is EventType.TASK_RETRIED:  # first: a long poll writes millions of them
        _retried(tasks, event)
        return
    when = format_timestamp(event.timestamp)
    task = tasks.get(event.entity_id)
    if task is None:
        task = tasks[event.entity_id] = {
            "id": event.entity_id,
            "name": data.get("name"),
            "stage_id": data.get("stage_id"),
        }
    if kind is EventType.TASK_STARTED:
        task["status"] = "RUNNING"
        task["start_time"] = when
    elif kind is EventType.TASK_COMPLETED:
        task["status"] = _ended(data, "SUCCEEDED")
        task["end_time"] = when
        if "outputs" in data:
            task["outputs"] = data["outputs"]
    elif kind is EventType.TASK_FAILED:
        task["status"] = _ended(data, "TERMINAL")
        task["end_time"] = when
        task["error"] = data.get("error")


def apply_retry(state: dict[str, Any], event: Event) -> None:
    """:func:`apply_event` for a ``task.retried`` event of a task at the current schema
    version (a long poll writes millions: the dispatch is skipped)."""
    _retried(state["tasks"], event)


def _retried(tasks: dict[str, Any], event: Event) -> None:
    data = event.data
    task = tasks.get(event.entity_id)
    if task is None:
        task = tasks[event.entity_id] = {
            "id": event.entity_id,
            "name": data.get("name"),
            "stage_id": data.get("stage_id"),
        }
    given = data.get("retry_count")
    task["retry_count"] = given if given is not None else task.get("retry_count", 0) + 1


def resumable(state: object) -> bool:
    """Whether the fold can continue from ``state`` (a snapshot's): objects where it writes."""
    if not isinstance(state, dict) or not isinstance(state.get("context"), dict):
        return False
    entities = [state.get("stages"), state.get("tasks")]
    return all(
        isinstance(e, dict) and all(isinstance(v, dict) for v in e.values()) for e in entities
    )


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def copy_state(state: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(state)


def _time_or_none(value: object) -> datetime | None:
    return parse_timestamp(value) if isinstance(value, str) else None


@dataclass
class WorkflowState:
    """Typed view of a rebuilt state dict."""

    workflow_id: str
    status: str | None = None
    application: str | None = None
    name: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow_id,
            "status": self.status,
            "application": self.application,
            "name": self.name,
            "start_time": None if self.start_time is None else format_timestamp(self.start_time),
            "end_time": None if self.end_time is None else format_timestamp(self.end_time),
            "context": self.context,
            "stages": self.stages,
            "tasks": self.tasks,
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> WorkflowState:
        return cls(
            workflow_id=state["workflow_id"],
            status=state.get("status"),
            application=state.get("application"),
            name=state.get("name"),
            start_time=_time_or_none(state.get("start_time")),
            end_time=_time_or_none(state.get("end_time")),
            context=dict(state.get("context") or {}),
            stages=dict(state.get("stages") or {}),
            tasks=dict(state.get("tasks") or {}),
        )
