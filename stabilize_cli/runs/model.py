"""The engine's workflow tables as plain rows (``pipeline_executions``, ``stage_executions``,
``task_executions``), decoded the same way whichever backend read them.

SQLite stores JSON as text and flags as 0/1; PostgreSQL returns JSONB as values, flags as
booleans and ``requisite_stage_ref_ids`` as a list. ``decode_json`` and ``flag`` take both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any


def decode_json(value: Any) -> Any:
    """A JSON column's value: text is parsed (kept as text when it is not JSON), values pass."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def flag(value: Any) -> bool:
    return bool(value) if isinstance(value, (int, bool)) else False


def epoch_ms(value: Any) -> int | None:
    """An epoch-milliseconds column; anything else (NULL, text) is unknown."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def instant(ms: int | None) -> datetime | None:
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def text(value: Any) -> str | None:
    """A text column as text; a BLOB where text belongs as its SQL literal (``X'0A1B'``)."""
    if isinstance(value, (bytes, bytearray)):
        return f"X'{bytes(value).hex().upper()}'"
    return None if value is None else str(value)


def ref_ids(value: Any) -> tuple[str, ...]:
    """``requisite_stage_ref_ids``: JSON array text (SQLite) or a list (PostgreSQL)."""
    decoded = decode_json(value)
    if isinstance(decoded, list):
        return tuple(str(v) for v in decoded)
    return ()


@dataclass(frozen=True)
class TaskRow:
    id: str
    stage_id: str
    name: str | None
    implementing_class: str | None
    status: str | None
    start_time: int | None
    end_time: int | None
    exception_details: Any
    version: int | None


@dataclass(frozen=True)
class StageRow:
    id: str
    ref_id: str | None
    type: str | None
    name: str | None
    status: str | None
    context: Any
    outputs: Any
    requires: tuple[str, ...]
    """``requisite_stage_ref_ids``: the ref_ids this stage waits for (its DAG edges)."""
    parent_stage_id: str | None
    start_time: int | None
    end_time: int | None
    version: int | None
    join_type: str | None
    tasks: tuple[TaskRow, ...] = ()


@dataclass(frozen=True)
class RunRow:
    """One ``pipeline_executions`` row with its stages and their tasks, in table order."""

    id: str
    type: str | None
    application: str | None
    name: str | None
    status: str | None
    context: Any
    trigger: Any
    start_time: int | None
    end_time: int | None
    is_canceled: bool
    canceled_by: str | None
    cancellation_reason: str | None
    paused: Any
    config_version: str | None
    stages: tuple[StageRow, ...] = ()

    def stage(self, stage_id: str) -> StageRow | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def by_ref(self) -> dict[str, StageRow]:
        return {s.ref_id: s for s in self.stages if s.ref_id is not None}


@dataclass(frozen=True)
class Pause:
    """The row's ``paused`` record: the engine writes no event for a pause or a resume."""

    paused_by: Any
    pause_time: int | None
    resume_time: int | None
    paused_ms: int | None

    @classmethod
    def of(cls, value: Any) -> Pause | None:
        if not isinstance(value, dict):
            return None
        return cls(
            paused_by=value.get("paused_by"),
            pause_time=epoch_ms(value.get("pause_time")),
            resume_time=epoch_ms(value.get("resume_time")),
            paused_ms=epoch_ms(value.get("paused_ms")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "paused_by": self.paused_by,
            "pause_time": self.pause_time,
            "resume_time": self.resume_time,
            "paused_ms": self.paused_ms,
        }


# -- rows as the readers select them (the same column order in every dialect) --------


def run_from_row(row: tuple[Any, ...], stages: list[StageRow], tasks: list[TaskRow]) -> RunRow:
    """A ``pipeline_executions`` row (columns in the readers' order) with its stages and tasks."""
    (
        wf,
        kind,
        app,
        name,
        status,
        context,
        trigger,
        start,
        end,
        canceled,
        by,
        reason,
        paused,
        config,
    ) = row
    by_stage: dict[str, list[TaskRow]] = {}
    for task in tasks:
        by_stage.setdefault(task.stage_id, []).append(task)
    return RunRow(
        id=str(wf),
        type=text(kind),
        application=text(app),
        name=text(name),
        status=text(status),
        context=decode_json(context),
        trigger=decode_json(trigger),
        start_time=epoch_ms(start),
        end_time=epoch_ms(end),
        is_canceled=flag(canceled),
        canceled_by=text(by),
        cancellation_reason=text(reason),
        paused=decode_json(paused),
        config_version=text(config),
        stages=tuple(replace(s, tasks=tuple(by_stage.get(s.id, ()))) for s in stages),
    )


def stage_from_row(row: tuple[Any, ...]) -> StageRow:
    (
        sid,
        ref,
        kind,
        name,
        status,
        context,
        outputs,
        requires,
        parent,
        start,
        end,
        version,
        join,
    ) = row
    return StageRow(
        id=str(sid),
        ref_id=text(ref),
        type=text(kind),
        name=text(name),
        status=text(status),
        context=decode_json(context),
        outputs=decode_json(outputs),
        requires=ref_ids(requires),
        parent_stage_id=text(parent),
        start_time=epoch_ms(start),
        end_time=epoch_ms(end),
        version=epoch_ms(version),
        join_type=text(join),
    )


def task_from_row(row: tuple[Any, ...]) -> TaskRow:
    tid, stage, name, impl, status, start, end, details, version = row
    return TaskRow(
        id=str(tid),
        stage_id=str(stage),
        name=text(name),
        implementing_class=text(impl),
        status=text(status),
        start_time=epoch_ms(start),
        end_time=epoch_ms(end),
        exception_details=decode_json(details),
        version=epoch_ms(version),
    )
