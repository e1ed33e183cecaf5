"""Turns state transitions into events in the engine's payload format, stores, then publishes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any

from ..base import TERMINAL_WORKFLOW_EVENTS, EntityType, Event, EventType, new_event_id
from ..bus import get_event_bus
from ..store.interface import EventStore
from ..timeutil import epoch_ms, utc_now
from .context import get_event_metadata
from .entities import StageLike, TaskLike, WorkflowLike, attr

_ENDS_ENTITY = TERMINAL_WORKFLOW_EVENTS | {
    EventType.STAGE_COMPLETED,
    EventType.STAGE_FAILED,
    EventType.STAGE_SKIPPED,
    EventType.STAGE_CANCELED,
    EventType.TASK_COMPLETED,
    EventType.TASK_FAILED,
}


def _status(value: object, default: str) -> str:
    """The engine's status name, from an enum member or a plain string."""
    if value is None:
        return default
    if isinstance(value, Enum):
        return value.name
    return str(value)


def _duration(start: int | None, end: int | None) -> int | None:
    return end - start if isinstance(start, int) and isinstance(end, int) else None


class EventRecorder:
    """Records one event per transition; every method returns the stored event.

    Persisting comes first: an event is published on the bus only once it is durable,
    so subscribers never see something the store does not have.
    """

    def __init__(
        self,
        event_store: EventStore,
        publish_to_bus: bool = True,
        *,
        clock: Callable[[], datetime] = utc_now,
        id_factory: Callable[[], str] = new_event_id,
    ) -> None:
        """``clock`` and ``id_factory`` (ours) let simulations and tests be deterministic."""
        self.event_store = event_store
        self.publish_to_bus = publish_to_bus
        self._clock = clock
        self._new_id = id_factory
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- the one path every record method takes -----------------------------------------

    def record(
        self,
        event_type: EventType,
        entity_type: EntityType,
        entity_id: str,
        workflow_id: str,
        data: dict[str, Any],
        version: int | None = None,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        """Record any event, including types the engine added after the seed's list."""
        event = Event(
            event_id=self._new_id(),
            event_type=event_type,
            timestamp=self._clock(),
            entity_type=entity_type,
            entity_id=entity_id,
            workflow_id=workflow_id,
            version=self._version(entity_id, version, event_type),
            data=data,
            metadata=get_event_metadata(source_handler, default_correlation_id=workflow_id),
        )
        stored = self.event_store.append(event, connection=connection)
        if self.publish_to_bus:
            get_event_bus().publish(stored)
        return stored

    def _version(self, entity_id: str, given: int | None, event_type: EventType) -> int:
        """The object's own version when it has one, else one more than last time."""
        with self._lock:
            version = given if isinstance(given, int) else self._versions.get(entity_id, 0) + 1
            if event_type in _ENDS_ENTITY:
                self._versions.pop(entity_id, None)
            else:
                self._versions[entity_id] = version
        return version

    def _now_ms(self) -> int:
        return epoch_ms(self._clock())

    def _workflow(
        self,
        kind: EventType,
        workflow: WorkflowLike,
        data: dict[str, Any],
        connection: Any | None,
        source_handler: str | None,
    ) -> Event:
        return self.record(
            kind,
            EntityType.WORKFLOW,
            workflow.id,
            workflow.id,
            data,
            attr(workflow, "version"),
            connection,
            source_handler,
        )

    def _stage(
        self,
        kind: EventType,
        stage: StageLike,
        data: dict[str, Any],
        connection: Any | None,
        source_handler: str | None,
    ) -> Event:
        head = {
            "ref_id": attr(stage, "ref_id"),
            "type": attr(stage, "type"),
            "name": attr(stage, "name"),
        }
        return self.record(
            kind,
            EntityType.STAGE,
            stage.id,
            _stage_workflow_id(stage),
            head | data,
            attr(stage, "version"),
            connection,
            source_handler,
        )

    def _task(
        self,
        kind: EventType,
        task: TaskLike,
        workflow_id: str,
        data: dict[str, Any],
        connection: Any | None,
        source_handler: str | None,
    ) -> Event:
        return self.record(
            kind,
            EntityType.TASK,
            task.id,
            workflow_id,
            {"name": attr(task, "name")} | data,
            attr(task, "version"),
            connection,
            source_handler,
        )

    # -- workflow -------------------------------------------------------------------------

    def record_workflow_created(
        self,
        workflow: WorkflowLike,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        stages = list(attr(workflow, "stages", None) or [])
        data = {
            "application": attr(workflow, "application"),
            "name": attr(workflow, "name"),
            "type": _status(attr(workflow, "type"), "PIPELINE"),
            "trigger_type": attr(workflow, "trigger_type", "manual"),
            "stage_count": len(stages),
            "initial_stage_count": len(_initial_stages(stages)),
        }
        return self._workflow(
            EventType.WORKFLOW_CREATED, workflow, data, connection, source_handler
        )

    def record_workflow_started(
        self,
        workflow: WorkflowLike,
        initial_stage_ids: list[str] | None = None,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        if initial_stage_ids is None:
            stages = list(attr(workflow, "stages", None) or [])
            initial_stage_ids = [s.id for s in _initial_stages(stages)]
        data = {
            "start_time": attr(workflow, "start_time") or self._now_ms(),
            "initial_stage_ids": initial_stage_ids,
            "context": dict(attr(workflow, "context", None) or {}),
        }
        return self._workflow(
            EventType.WORKFLOW_STARTED, workflow, data, connection, source_handler
        )

    def record_workflow_completed(
        self,
        workflow: WorkflowLike,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        end = attr(workflow, "end_time") or self._now_ms()
        data = {
            "status": _status(attr(workflow, "status"), "SUCCEEDED"),
            "end_time": end,
            "duration_ms": _duration(attr(workflow, "start_time"), end),
        }
        return self._workflow(
            EventType.WORKFLOW_COMPLETED, workflow, data, connection, source_handler
        )

    def record_workflow_failed(
        self,
        workflow: WorkflowLike,
        error: str,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        data = {
            "status": _status(attr(workflow, "status"), "TERMINAL"),
            "error": error,
            "end_time": attr(workflow, "end_time") or self._now_ms(),
        }
        return self._workflow(EventType.WORKFLOW_FAILED, workflow, data, connection, source_handler)

    def record_workflow_canceled(
        self,
        workflow: WorkflowLike,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        data = {
            "canceled_by": attr(workflow, "canceled_by"),
            "reason": attr(workflow, "cancellation_reason"),
            "end_time": attr(workflow, "end_time") or self._now_ms(),
        }
        return self._workflow(
            EventType.WORKFLOW_CANCELED, workflow, data, connection, source_handler
        )

    def record_workflow_paused(
        self,
        workflow: WorkflowLike,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        data = {
            "paused_by": attr(workflow, "paused_by"),
            "pause_time": attr(workflow, "pause_time") or self._now_ms(),
        }
        return self._workflow(EventType.WORKFLOW_PAUSED, workflow, data, connection, source_handler)

    def record_workflow_resumed(
        self,
        workflow: WorkflowLike,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        data = {"resume_time": self._now_ms(), "paused_ms": attr(workflow, "paused_ms")}
        return self._workflow(
            EventType.WORKFLOW_RESUMED, workflow, data, connection, source_handler
        )

    # -- stage ----------------------------------------------------------------------------

    def record_stage_started(
        self, stage: StageLike, connection: Any | None = None, source_handler: str | None = None
    ) -> Event:
        data = {
            "start_time": attr(stage, "start_time") or self._now_ms(),
            "is_synthetic": bool(attr(stage, "is_synthetic", False)),
            "parent_stage_id": attr(stage, "parent_stage_id"),
            "task_count": len(list(attr(stage, "tasks", None) or [])),
        }
        return self._stage(EventType.STAGE_STARTED, stage, data, connection, source_handler)

    def record_stage_completed(
        self, stage: StageLike, connection: Any | None = None, source_handler: str | None = None
    ) -> Event:
        end = attr(stage, "end_time") or self._now_ms()
        data = {
            "status": _status(attr(stage, "status"), "SUCCEEDED"),
            "end_time": end,
            "duration_ms": _duration(attr(stage, "start_time"), end),
            "outputs": dict(attr(stage, "outputs", None) or {}),
        }
        return self._stage(EventType.STAGE_COMPLETED, stage, data, connection, source_handler)

    def record_stage_failed(
        self,
        stage: StageLike,
        error: str,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        data = {
            "status": _status(attr(stage, "status"), "TERMINAL"),
            "error": error,
            "end_time": attr(stage, "end_time") or self._now_ms(),
        }
        return self._stage(EventType.STAGE_FAILED, stage, data, connection, source_handler)

    def record_stage_skipped(
        self,
        stage: StageLike,
        reason: str,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        return self._stage(
            EventType.STAGE_SKIPPED, stage, {"reason": reason}, connection, source_handler
        )

    def record_stage_suspended(
        self, stage: StageLike, connection: Any | None = None, source_handler: str | None = None
    ) -> Event:
        return self._stage(EventType.STAGE_SUSPENDED, stage, {}, connection, source_handler)

    def record_stage_resumed(
        self,
        stage: StageLike,
        signal_name: str = "",
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        return self._stage(
            EventType.STAGE_RESUMED, stage, {"signal_name": signal_name}, connection, source_handler
        )

    def record_stage_canceled(
        self, stage: StageLike, connection: Any | None = None, source_handler: str | None = None
    ) -> Event:
        return self._stage(EventType.STAGE_CANCELED, stage, {}, connection, source_handler)

    # -- task -----------------------------------------------------------------------------

    def record_task_started(
        self,
        task: TaskLike,
        workflow_id: str,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        data = {
            "implementing_class": attr(task, "implementing_class"),
            "start_time": attr(task, "start_time") or self._now_ms(),
            "stage_id": attr(task, "stage_id"),
        }
        return self._task(
            EventType.TASK_STARTED, task, workflow_id, data, connection, source_handler
        )

    def record_task_completed(
        self,
        task: TaskLike,
        workflow_id: str,
        outputs: dict[str, Any] | None = None,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        end = attr(task, "end_time") or self._now_ms()
        data = {
            "status": _status(attr(task, "status"), "SUCCEEDED"),
            "end_time": end,
            "duration_ms": _duration(attr(task, "start_time"), end),
            "outputs": dict(outputs if outputs is not None else attr(task, "outputs", None) or {}),
        }
        return self._task(
            EventType.TASK_COMPLETED, task, workflow_id, data, connection, source_handler
        )

    def record_task_failed(
        self,
        task: TaskLike,
        workflow_id: str,
        error: str,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        data = {
            "status": _status(attr(task, "status"), "TERMINAL"),
            "error": error,
            "end_time": attr(task, "end_time") or self._now_ms(),
            "exception_details": attr(task, "exception_details"),
        }
        return self._task(
            EventType.TASK_FAILED, task, workflow_id, data, connection, source_handler
        )

    def record_task_retried(
        self,
        task: TaskLike,
        workflow_id: str,
        attempt: int,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        data = {"attempt": attempt, "last_error": attr(task, "last_error")}
        return self._task(
            EventType.TASK_RETRIED, task, workflow_id, data, connection, source_handler
        )

    # -- generic --------------------------------------------------------------------------

    def record_status_change(
        self,
        entity_type: EntityType,
        entity_id: str,
        workflow_id: str,
        old_status: object,
        new_status: object,
        version: int = 1,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        data = {"old_status": _status(old_status, ""), "new_status": _status(new_status, "")}
        return self.record(
            EventType.STATUS_CHANGED,
            entity_type,
            entity_id,
            workflow_id,
            data,
            version,
            connection,
            source_handler,
        )

    def record_context_updated(
        self,
        entity_type: EntityType,
        entity_id: str,
        workflow_id: str,
        context: dict[str, Any],
        version: int = 1,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        return self.record(
            EventType.CONTEXT_UPDATED,
            entity_type,
            entity_id,
            workflow_id,
            {"context": context},
            version,
            connection,
            source_handler,
        )

    def record_outputs_updated(
        self,
        entity_type: EntityType,
        entity_id: str,
        workflow_id: str,
        outputs: dict[str, Any],
        version: int = 1,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        return self.record(
            EventType.OUTPUTS_UPDATED,
            entity_type,
            entity_id,
            workflow_id,
            {"outputs": outputs},
            version,
            connection,
            source_handler,
        )

    def record_jump_executed(
        self,
        workflow_id: str,
        from_stage_id: str,
        to_stage_id: str,
        jump_type: str,
        version: int = 1,
        connection: Any | None = None,
        source_handler: str | None = None,
    ) -> Event:
        data = {"from_stage_id": from_stage_id, "to_stage_id": to_stage_id, "jump_type": jump_type}
        return self.record(
            EventType.JUMP_EXECUTED,
            EntityType.WORKFLOW,
            workflow_id,
            workflow_id,
            data,
            version,
            connection,
            source_handler,
        )


def _initial_stages(stages: list[Any]) -> list[Any]:
    """Top-level stages with nothing upstream: where a workflow begins."""
    return [
        s
        for s in stages
        if not attr(s, "requisite_stage_ref_ids", None) and not attr(s, "parent_stage_id", None)
    ]


def _stage_workflow_id(stage: StageLike) -> str:
    """Our records carry ``workflow_id``; the engine's stages reach it through ``execution``."""
    direct = attr(stage, "workflow_id")
    if direct:
        return str(direct)
    execution = attr(stage, "execution")
    return str(attr(execution, "id", "")) if execution is not None else ""
