"""The engine's workflow tables (a read model) from the SQLite file that holds the events.

The engine's ``SqliteWorkflowStore`` writes ``pipeline_executions``, ``stage_executions`` and
``task_executions`` into the same file as ``events`` when both share a path. A store with
only ``events`` (ours, or the engine's event store on its own file) has none: every reader
here then answers None / empty, and the commands behave as on events alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ...events.errors import StoreCorruptError
from ...events.store.raw import ReadNotes
from ...events.store.sqlite.store import SqliteEventStore
from ...runs.model import (
    RunRow,
    StageRow,
    TaskRow,
    run_from_row,
    stage_from_row,
    task_from_row,
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
_STAGE_COLUMNS = """execution_id, id, ref_id, type, name, status, context, outputs,
       requisite_stage_ref_ids, parent_stage_id, start_time, end_time, version, join_type"""
_TASK_COLUMNS = """t.id, t.stage_id, t.name, t.implementing_class, t.status, t.start_time,
       t.end_time, t.task_exception_details, t.version"""
FAILED_STAGES = f"""
SELECT {_STAGE_COLUMNS}
FROM stage_executions WHERE status IN {_FAILED} ORDER BY rowid
"""
FAILED_TASKS = f"""
SELECT {_TASK_COLUMNS}
FROM task_executions AS t JOIN stage_executions AS s ON s.id = t.stage_id
WHERE s.status IN {_FAILED} ORDER BY t.rowid
"""
# The damaged path's keyset reads (``keyset_rows``): rowid first, then the same columns.
FAILED_STAGES_READABLE = f"""
SELECT rowid, {_STAGE_COLUMNS}
FROM stage_executions WHERE status IN {_FAILED}
  AND rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?
"""
TASKS_READABLE = f"""
SELECT t.rowid, {_TASK_COLUMNS}
FROM task_executions AS t
WHERE t.rowid > ? AND t.rowid <= ? ORDER BY t.rowid LIMIT ?
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

        def present(conn: sqlite3.Connection) -> bool:
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

        return self._store.read(present)

    def run(self, workflow_id: str) -> RunRow | None:
        """The workflow's row with its stages and tasks; None without tables or row."""
        if not self.present():
            return None
        config = "config_version" if self._has_config_version else "NULL"

        def rows(conn: sqlite3.Connection) -> tuple[Any, list[Any], list[Any]]:
            row = conn.execute(RUN.format(config_version=config), (workflow_id,)).fetchone()
            if row is None:
                return None, [], []
            stages = conn.execute(STAGES, (workflow_id,)).fetchall()
            tasks = conn.execute(TASKS, (workflow_id,)).fetchall()
            return row, stages, tasks

        row, stages, tasks = self._store.read(rows)
        if row is None:
            return None
        return run_from_row(
            row, [stage_from_row(s) for s in stages], [task_from_row(t) for t in tasks]
        )

    def _readable_failed(self, notes: ReadNotes) -> tuple[list[tuple[Any, ...]], list[TaskRow]]:
        """The failed stages and their tasks that can be read past damaged pages (a
        damaged store only); each table with a damaged page is noted."""

        def damaged(table: str) -> Callable[[int, int | None], None]:
            return lambda first, last: notes.met_damaged_table(table, "a damaged page")

        stages = [
            row[1:]
            for row in self._store.keyset_rows(
                FAILED_STAGES_READABLE, on_damage=damaged("stage_executions")
            )
        ]
        failed = {row[1] for row in stages}
        tasks = [
            task_from_row(row[1:])
            for row in self._store.keyset_rows(TASKS_READABLE, on_damage=damaged("task_executions"))
            if row[2] in failed
        ]
        return stages, tasks

    def failed_stages(self) -> list[tuple[str, StageRow]]:
        """Every stage whose row says it failed, with its tasks, and its workflow's id."""
        if not self.present():
            return []

        def rows(conn: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
            return conn.execute(FAILED_STAGES).fetchall(), conn.execute(FAILED_TASKS).fetchall()

        try:
            stages, raw_tasks = self._store.read(rows)
            tasks = [task_from_row(t) for t in raw_tasks]
        except StoreCorruptError:
            notes = self._store.notes
            if notes is None:
                raise
            stages, tasks = self._readable_failed(notes)
        by_stage: dict[str, list[TaskRow]] = {}
        for task in tasks:
            by_stage.setdefault(task.stage_id, []).append(task)
        found = []
        for row in stages:
            stage = stage_from_row(row[1:])
            found.append((str(row[0]), replace(stage, tasks=tuple(by_stage.get(stage.id, ())))))
        return found
