"""Two runs of a pipeline side by side: what changed from B (before) to A (after).

Stages are matched by ``ref_id``, tasks by name within their stage. Everything here works
on plain ``Side`` records, built from each run's timeline, so the comparison is the same
with or without the engine's tables (with them there is more to compare: causes, trigger).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .cause import Cause

FAILED = frozenset({"TERMINAL", "FAILED_CONTINUE", "STOPPED", "CANCELED"})


@dataclass(frozen=True)
class SideTask:
    name: Any
    status: Any
    duration_ms: int | None


@dataclass(frozen=True)
class SideStage:
    ref_id: str
    name: Any
    status: Any
    duration_ms: int | None
    cause: Cause | None = None
    error: Any = None
    outputs: Any = None
    tasks: tuple[SideTask, ...] = ()

    @property
    def failed(self) -> bool:
        return self.status in FAILED


@dataclass(frozen=True)
class Side:
    workflow_id: str
    name: Any
    application: Any
    status: Any
    start_time: str | None
    duration_ms: int | None
    trigger: Any = None
    context: Any = None
    stages: tuple[SideStage, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "workflow_id": self.workflow_id,
            "name": self.name,
            "application": self.application,
            "status": self.status,
            "start_time": self.start_time,
            "duration_ms": self.duration_ms,
            "trigger": self.trigger,
            "context": self.context,
        }


@dataclass(frozen=True)
class Change:
    """One value that differs: ``path`` of keys, ``before`` in B and ``after`` in A."""

    path: tuple[str, ...]
    op: str
    """``added`` (only in A), ``removed`` (only in B) or ``changed``."""
    before: Any = None
    after: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"path": list(self.path), "op": self.op, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Duration:
    before: int | None
    after: int | None

    @property
    def delta_ms(self) -> int | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def percent(self) -> float | None:
        delta = self.delta_ms
        if delta is None or not self.before:
            return None
        assert self.before is not None
        return round(100 * delta / self.before, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "before_ms": self.before,
            "after_ms": self.after,
            "delta_ms": self.delta_ms,
            "delta_percent": self.percent,
        }


@dataclass(frozen=True)
class TaskChange:
    name: Any
    presence: str
    """``both``, ``added`` (only in A) or ``missing`` (only in B)."""
    status: tuple[Any, Any]
    duration: Duration

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "presence": self.presence,
            "status_before": self.status[0],
            "status_after": self.status[1],
            "status_changed": self.status[0] != self.status[1],
            "duration": self.duration.to_json(),
        }


@dataclass(frozen=True)
class StageChange:
    ref_id: str
    name: Any
    presence: str
    status: tuple[Any, Any]
    duration: Duration
    tasks: tuple[TaskChange, ...] = ()
    outputs: tuple[Change, ...] = ()
    new_failure: bool = False
    """It failed in A and not in B: its cause (or error) is A's."""
    cause: Cause | None = None
    error: Any = None

    @property
    def changed(self) -> bool:
        return (
            self.presence != "both"
            or self.status[0] != self.status[1]
            or bool(self.outputs)
            or any(t.presence != "both" or t.status[0] != t.status[1] for t in self.tasks)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ref_id": self.ref_id,
            "name": self.name,
            "presence": self.presence,
            "status_before": self.status[0],
            "status_after": self.status[1],
            "status_changed": self.status[0] != self.status[1],
            "duration": self.duration.to_json(),
            "new_failure": self.new_failure,
            "cause": None if self.cause is None else self.cause.to_json(),
            "error": self.error,
            "outputs": [c.to_json() for c in self.outputs],
            "tasks": [t.to_json() for t in self.tasks],
        }


@dataclass(frozen=True)
class Comparison:
    after: Side
    """A: the run being explained (by default the latest failed)."""
    before: Side
    """B: the run it is compared with (by default the last success before A)."""
    context: tuple[Change, ...] = ()
    stages: tuple[StageChange, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def new_failures(self) -> list[StageChange]:
        return [s for s in self.stages if s.new_failure]

    @property
    def duration(self) -> Duration:
        return Duration(self.before.duration_ms, self.after.duration_ms)

    def to_json(self) -> dict[str, Any]:
        return {
            "a": self.after.to_json(),
            "b": self.before.to_json(),
            "duration": self.duration.to_json(),
            "context_changes": [c.to_json() for c in self.context],
            "stages_added": [s.ref_id for s in self.stages if s.presence == "added"],
            "stages_missing": [s.ref_id for s in self.stages if s.presence == "missing"],
            "new_failures": [s.ref_id for s in self.new_failures],
            "stages": [s.to_json() for s in self.stages],
            "notes": list(self.notes),
        }


def value_changes(before: Any, after: Any, path: tuple[str, ...] = ()) -> list[Change]:
    """Differences between two JSON-like values, key by key inside objects."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[Change] = []
        for key in sorted({*before, *after}, key=str):  # JSONB orders keys its own way
            here = (*path, str(key))
            if key not in after:
                found.append(Change(here, "removed", before[key], None))
            elif key not in before:
                found.append(Change(here, "added", None, after[key]))
            else:
                found += value_changes(before[key], after[key], here)
        return found
    if before == after:
        return []
    return [Change(path, "changed", before, after)]


def _engine_key(path: tuple[str, ...]) -> bool:
    """Engine-owned context keys (``_hydrated_keys``, ``_task_completion``...) are noise."""
    return any(part.startswith("_") for part in path)


def compare_runs(after: Side, before: Side) -> Comparison:
    context = [
        c
        for c in value_changes(
            {"trigger": before.trigger, "context": before.context},
            {"trigger": after.trigger, "context": after.context},
        )
        if not _engine_key(c.path)
    ]
    stages = _stages(after, before)
    notes = []
    if after.name != before.name or after.application != before.application:
        notes.append("the two runs are of different workflows (name or application differ)")
    return Comparison(after, before, tuple(context), tuple(stages), tuple(notes))


def _stages(after: Side, before: Side) -> list[StageChange]:
    old = {s.ref_id: s for s in before.stages}
    new = {s.ref_id: s for s in after.stages}
    order = [s.ref_id for s in after.stages] + [r for r in old if r not in new]
    return [_stage(old.get(ref), new.get(ref)) for ref in order]


def _stage(before: SideStage | None, after: SideStage | None) -> StageChange:
    either = after or before
    assert either is not None
    presence = "both" if before and after else "added" if after else "missing"
    outputs = (
        tuple(c for c in value_changes(before.outputs, after.outputs) if not _engine_key(c.path))
        if before and after and before.outputs is not None and after.outputs is not None
        else ()
    )
    new_failure = after is not None and after.failed and (before is None or not before.failed)
    return StageChange(
        ref_id=either.ref_id,
        name=either.name,
        presence=presence,
        status=(before.status if before else None, after.status if after else None),
        duration=Duration(
            before.duration_ms if before else None, after.duration_ms if after else None
        ),
        tasks=_tasks(before, after),
        outputs=outputs,
        new_failure=new_failure,
        cause=after.cause if after is not None and after.failed else None,
        error=after.error if after is not None and after.failed else None,
    )


def _tasks(before: SideStage | None, after: SideStage | None) -> tuple[TaskChange, ...]:
    old = {str(t.name): t for t in (before.tasks if before else ())}
    new = {str(t.name): t for t in (after.tasks if after else ())}
    order = list(new) + [n for n in old if n not in new]
    changes = []
    for name in order:
        b, a = old.get(name), new.get(name)
        presence = "both" if a and b else "added" if a else "missing"
        either = a or b
        assert either is not None
        changes.append(
            TaskChange(
                name=either.name,
                presence=presence,
                status=(b.status if b else None, a.status if a else None),
                duration=Duration(b.duration_ms if b else None, a.duration_ms if a else None),
            )
        )
    return tuple(changes)
