"""The engine's workflow tables (a read model) from the SQLite file that holds the events.

The engine's ``SqliteWorkflowStore`` writes ``pipeline_executions``, ``stage_executions`` and
``task_executions`` into the same file as ``events`` when both share a path. A store with
only ``events`` (ours, or the engine's event store on its own file) has none: every reader
here then answers None / empty, and the commands behave as on events alone.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ...events.store.sqlite.store import SqliteEventStore
from ...runs.model import (
    RunRow,
    StageRow,
    TaskRow,
    decode_json,
    epoch_ms,
    flag,
    ref_ids,
    text,
)

REQUIRED = {
    "pipeline_executions": ("id", "application", "name", "status", "context", "trigger"),
    "stage_executions": ("id", "execution_id", "ref_id", "status", "context"),
    "task_executions": ("id", "stage_id", "name", "status"),
}
TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ({marks})"
RUN = """
SELECT id, type, application, name, status, context, trigger, start_time, end_time,
       is_canceled, canceled_by, cancellation_reason, paused, {config_version}
FROM pipeline_executions WHERE id = ?
"""
STAGES = """
SELECT id, ref_id, type, name, status, context, outputs, requisite_stage_ref_ids,
       parent_stage_id, start_time, end_time, version, join_type
FROM stage_executions WHERE execution_id = ? ORDER BY rowid
"""
TASKS = """
SELECT t.id, t.stage_id, t.name, t.implementing_class, t.status, t.start_time, t.end_time,
       t.task_exception_details, t.version
FROM task_executions AS t JOIN stage_executions AS s ON s.id = t.stage_id
WHERE s.execution_id = ? ORDER BY t.rowid
"""
_FAILED = "('TERMINAL', 'FAILED_CONTINUE', 'STOPPED')"
FAILED_STAGES = f"""
SELECT execution_id, id, ref_id, type, name, status, context, outputs, requisite_stage_ref_ids,
       parent_stage_id, start_time, end_time, version, join_type
FROM stage_executions WHERE status IN {_FAILED} ORDER BY rowid
"""
FAILED_TASKS = f"""
SELECT t.id, t.stage_id, t.name, t.implementing_class, t.status, t.start_time, t.end_time,
       t.task_exception_details, t.version
FROM task_executions AS t JOIN stage_executions AS s ON s.id = t.stage_id
WHERE s.status IN {_FAILED} ORDER BY t.rowid
"""


class SqliteRunTables:
    """The workflow tables of one SQLite store; absent tables read as no rows."""

    def __init__(self, store: SqliteEventStore) -> None:
        self._store = store
        self._present: bool | None = None
        self._has_config_version = False

    def present(self) -> bool:
        """Whether the file holds the engine's three tables with the columns read here."""
        if self._present is None:
            self._present = self._check()
        return self._present

    def _check(self) -> bool:
        with self._store.reading() as conn:
            marks = ", ".join("?" for _ in REQUIRED)
            found = {r[0] for r in conn.execute(TABLES.format(marks=marks), tuple(REQUIRED))}
            if found != set(REQUIRED):
                return False
            for table, needed in REQUIRED.items():
                columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                if not set(needed) <= columns:
                    return False
                if table == "pipeline_executions":
                    self._has_config_version = "config_version" in columns
            return True

    def run(self, workflow_id: str) -> RunRow | None:
        """The workflow's row with its stages and tasks; None without tables or row."""
        if not self.present():
            return None
        config = "config_version" if self._has_config_version else "NULL"
        with self._store.reading() as conn:
            row = conn.execute(RUN.format(config_version=config), (workflow_id,)).fetchone()
            if row is None:
                return None
            stages = conn.execute(STAGES, (workflow_id,)).fetchall()
            tasks = conn.execute(TASKS, (workflow_id,)).fetchall()
        return _run(row, [_stage(s) for s in stages], [_task(t) for t in tasks])

    def failed_stages(self) -> list[tuple[str, StageRow]]:
        """Every stage whose row says it failed, with its tasks, and its workflow's id."""
        if not self.present():
            return []
        with self._store.reading() as conn:
            stages = conn.execute(FAILED_STAGES).fetchall()
            tasks = [_task(t) for t in conn.execute(FAILED_TASKS)]
        by_stage: dict[str, list[TaskRow]] = {}
        for task in tasks:
            by_stage.setdefault(task.stage_id, []).append(task)
        found = []
        for row in stages:
            stage = _stage(row[1:])
            found.append((str(row[0]), replace(stage, tasks=tuple(by_stage.get(stage.id, ())))))
        return found


def _run(row: tuple[Any, ...], stages: list[StageRow], tasks: list[TaskRow]) -> RunRow:
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


def _stage(row: tuple[Any, ...]) -> StageRow:
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


def _task(row: tuple[Any, ...]) -> TaskRow:
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
