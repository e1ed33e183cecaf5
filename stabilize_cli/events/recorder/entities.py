"""What the recorder reads from the engine's domain objects.

The engine passes its own ``Workflow``, ``StageExecution`` and ``TaskExecution``
objects. We do not have those classes, so the recorder reads them structurally
(these protocols name the attributes it needs) and ships plain records with the
same attributes for callers outside the engine: tests, the demo, other tools.
Times are epoch milliseconds, as in the engine's payloads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class WorkflowLike(Protocol):
    @property
    def id(self) -> str: ...


class StageLike(Protocol):
    @property
    def id(self) -> str: ...


class TaskLike(Protocol):
    @property
    def id(self) -> str: ...


@dataclass
class TaskRecord:
    id: str
    name: str
    stage_id: str = ""
    implementing_class: str = ""
    status: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    exception_details: dict[str, Any] | None = None
    last_error: str | None = None
    version: int | None = None


@dataclass
class StageRecord:
    id: str
    ref_id: str
    name: str
    type: str
    workflow_id: str = ""
    status: str | None = None
    start_time: int | None = None
    end_time: int | None = None
    is_synthetic: bool = False
    parent_stage_id: str | None = None
    requisite_stage_ref_ids: list[str] = field(default_factory=list)
    tasks: list[TaskRecord] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    version: int | None = None


@dataclass
class WorkflowRecord:
    id: str
    application: str
    name: str
    type: str = "PIPELINE"
    trigger_type: str = "manual"
    status: str | None = None
    stages: list[StageRecord] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)
    start_time: int | None = None
    end_time: int | None = None
    canceled_by: str | None = None
    cancellation_reason: str | None = None
    paused_by: str | None = None
    pause_time: int | None = None
    paused_ms: int | None = None
    version: int | None = None


def attr(obj: object, name: str, default: Any = None) -> Any:
    """An attribute of a domain object, tolerating objects that lack it."""
    return getattr(obj, name, default)
