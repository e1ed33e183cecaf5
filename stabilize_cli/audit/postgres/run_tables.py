"""The engine's workflow tables (read model RunTables) in PostgreSQL's dialect.

The engine's ``stabilize mg-up`` creates the same three tables on PostgreSQL with other
types (stabilize-format.md, "The same tables on PostgreSQL"): JSONB columns arrive as
values, ``requisite_stage_ref_ids`` is ``TEXT[]`` (a list), flags are BOOLEAN, times
BIGINT; ``runs/model.py`` reads both. There is no rowid: stages and tasks are listed in
id order (ULIDs the engine makes in definition order).

Typed against the one method it uses (``reading()``, yielding a psycopg connection), so it
needs nothing from the PostgreSQL store module itself.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import replace
from typing import Any, Protocol

from ...runs.model import RunRow, StageRow, TaskRow, run_from_row, stage_from_row, task_from_row

REQUIRED = {
    "pipeline_executions": ("id", "application", "name", "status", "context", "trigger"),
    "stage_executions": ("id", "execution_id", "ref_id", "status", "context"),
    "task_executions": ("id", "stage_id", "name", "status"),
}
COLUMNS = """
SELECT table_name, column_name FROM information_schema.columns
WHERE table_schema = current_schema() AND table_name = ANY(%s)
"""
RUN = """
SELECT id, type, application, name, status, context, trigger, start_time, end_time,
       is_canceled, canceled_by, cancellation_reason, paused, {config_version}
FROM pipeline_executions WHERE id = %s
"""
_STAGE_COLUMNS = """id, ref_id, type, name, status, context, outputs, requisite_stage_ref_ids,
       parent_stage_id, start_time, end_time, version, join_type"""
STAGES = f"SELECT {_STAGE_COLUMNS} FROM stage_executions WHERE execution_id = %s ORDER BY id"
_TASK_COLUMNS = """t.id, t.stage_id, t.name, t.implementing_class, t.status, t.start_time,
       t.end_time, t.task_exception_details, t.version"""
TASKS = f"""
SELECT {_TASK_COLUMNS}
FROM task_executions AS t JOIN stage_executions AS s ON s.id = t.stage_id
WHERE s.execution_id = %s ORDER BY t.id
"""
_FAILED = "('TERMINAL', 'FAILED_CONTINUE', 'STOPPED')"
FAILED_STAGES = f"""
SELECT execution_id, {_STAGE_COLUMNS}
FROM stage_executions WHERE status IN {_FAILED} ORDER BY execution_id, id
"""
FAILED_TASKS = f"""
SELECT {_TASK_COLUMNS}
FROM task_executions AS t JOIN stage_executions AS s ON s.id = t.stage_id
WHERE s.status IN {_FAILED} ORDER BY t.id
"""


class Reading(Protocol):
    """What this read model needs of a PostgreSQL store."""

    def reading(self) -> AbstractContextManager[Any]: ...


class PostgresRunTables:
    """The workflow tables of one PostgreSQL database; absent tables read as no rows."""

    def __init__(self, store: Reading) -> None:
        self._store = store
        self._present: bool | None = None
        self._has_config_version = False

    def present(self) -> bool:
        if self._present is None:
            self._present = self._check()
        return self._present

    def _check(self) -> bool:
        with self._store.reading() as conn:
            rows = conn.execute(COLUMNS, (list(REQUIRED),)).fetchall()
        columns: dict[str, set[str]] = {}
        for table, column in rows:
            columns.setdefault(str(table), set()).add(str(column))
        self._has_config_version = "config_version" in columns.get("pipeline_executions", ())
        return all(set(needed) <= columns.get(t, set()) for t, needed in REQUIRED.items())

    def run(self, workflow_id: str) -> RunRow | None:
        if not self.present():
            return None
        config = "config_version" if self._has_config_version else "NULL"
        with self._store.reading() as conn:
            row = conn.execute(RUN.format(config_version=config), (workflow_id,)).fetchone()
            if row is None:
                return None
            stages = conn.execute(STAGES, (workflow_id,)).fetchall()
            tasks = conn.execute(TASKS, (workflow_id,)).fetchall()
        return run_from_row(
            tuple(row),
            [stage_from_row(tuple(s)) for s in stages],
            [task_from_row(tuple(t)) for t in tasks],
        )

    def failed_stages(self) -> list[tuple[str, StageRow]]:
        if not self.present():
            return []
        with self._store.reading() as conn:
            stages = conn.execute(FAILED_STAGES).fetchall()
            tasks = [task_from_row(tuple(t)) for t in conn.execute(FAILED_TASKS).fetchall()]
        by_stage: dict[str, list[TaskRow]] = {}
        for task in tasks:
            by_stage.setdefault(task.stage_id, []).append(task)
        found = []
        for row in stages:
            stage = stage_from_row(tuple(row[1:]))
            found.append((str(row[0]), replace(stage, tasks=tuple(by_stage.get(stage.id, ())))))
        return found
