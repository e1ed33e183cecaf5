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
from typing import Any, TypeVar

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


_KEYSET = " AND {table}.rowid > ? AND {table}.rowid <= ? ORDER BY {table}.rowid LIMIT ?"


def _keyset(sql: str, select: str, table: str, order: str = " ORDER BY rowid") -> str:
    """``sql`` read past damaged pages (``keyset_rows``): the rowid first, keyset bounds."""
    if select not in sql or order not in sql:  # pragma: no cover - guards an edit of sql
        raise ImportError(f"run_tables: {select!r} changed shape: update its readable form")
    return sql.replace(select, select.replace("SELECT ", f"SELECT {table}.rowid, ", 1)).replace(
        order, _KEYSET.format(table=table)
    )


RUN_READABLE = _keyset(
    RUN.replace("WHERE id = ?", "WHERE id = ? ORDER BY rowid"), "SELECT id,", "pipeline_executions"
)
STAGES_READABLE = _keyset(STAGES, "SELECT id,", "stage_executions")
FAILED_STAGES_READABLE = _keyset(FAILED_STAGES, "SELECT execution_id,", "stage_executions")
TASKS_READABLE = _keyset(
    TASKS.replace(
        "JOIN stage_executions AS s ON s.id = t.stage_id\nWHERE s.execution_id = ?", "WHERE 1"
    ),
    "SELECT t.id,",
    "t",
    " ORDER BY t.rowid",
)
if "stage_executions AS s" in TASKS_READABLE:  # pragma: no cover - guards an edit of TASKS
    raise ImportError("run_tables.TASKS changed shape: update TASKS_READABLE")

T = TypeVar("T")


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
        """The workflow's row with its stages and tasks; None without tables or row.

        On a damaged store (read with notes) the rows that can be read, each table with a
        damaged page noted: None if the workflow's own row is what could not be read."""
        if not self.present():
            return None
        config = "config_version" if self._has_config_version else "NULL"

        def whole(conn: sqlite3.Connection) -> tuple[Any, list[Any], list[Any]]:
            row = conn.execute(RUN.format(config_version=config), (workflow_id,)).fetchone()
            if row is None:
                return None, [], []
            stages = conn.execute(STAGES, (workflow_id,)).fetchall()
            tasks = conn.execute(TASKS, (workflow_id,)).fetchall()
            return row, stages, tasks

        def readable(notes: ReadNotes) -> tuple[Any, list[Any], list[Any]]:
            run = RUN_READABLE.format(config_version=config)
            found = self._readable(notes, "pipeline_executions", run, (workflow_id,))
            stages = self._readable(notes, "stage_executions", STAGES_READABLE, (workflow_id,))
            ids = {stage[0] for stage in stages}
            tasks = [
                t for t in self._readable(notes, "task_executions", TASKS_READABLE) if t[1] in ids
            ]
            return (found[0] if found else None), stages, tasks

        row, stages, tasks = self._whole_or_readable(whole, readable)
        if row is None:
            return None
        return run_from_row(
            row, [stage_from_row(s) for s in stages], [task_from_row(t) for t in tasks]
        )

    def failed_stages(self) -> list[tuple[str, StageRow]]:
        """Every stage whose row says it failed, with its tasks, and its workflow's id.

        On a damaged store (read with notes) the rows that can be read, each table with a
        damaged page noted."""
        if not self.present():
            return []

        def whole(conn: sqlite3.Connection) -> tuple[list[Any], list[Any]]:
            return conn.execute(FAILED_STAGES).fetchall(), conn.execute(FAILED_TASKS).fetchall()

        def readable(notes: ReadNotes) -> tuple[list[Any], list[Any]]:
            stages = self._readable(notes, "stage_executions", FAILED_STAGES_READABLE)
            failed = {row[1] for row in stages}
            tasks = [
                t
                for t in self._readable(notes, "task_executions", TASKS_READABLE)
                if t[1] in failed
            ]
            return stages, tasks

        stages, raw_tasks = self._whole_or_readable(whole, readable)
        by_stage: dict[str, list[TaskRow]] = {}
        for task in map(task_from_row, raw_tasks):
            by_stage.setdefault(task.stage_id, []).append(task)
        found = []
        for row in stages:
            stage = stage_from_row(row[1:])
            found.append((str(row[0]), replace(stage, tasks=tuple(by_stage.get(stage.id, ())))))
        return found

    def _whole_or_readable(
        self, whole: Callable[[sqlite3.Connection], T], readable: Callable[[ReadNotes], T]
    ) -> T:
        """One read of everything; on a damaged page, with notes, the rows that can be read
        (only damaged stores take that path: the whole read is faster on a healthy one)."""
        try:
            return self._store.read(whole)
        except StoreCorruptError:
            notes = self._store.notes
            if notes is None:
                raise
            return readable(notes)

    def _readable(
        self, notes: ReadNotes, table: str, sql: str, params: tuple[Any, ...] = ()
    ) -> list[tuple[Any, ...]]:
        """The rows of ``sql`` (a keyset read of ``table``) past its damaged pages, without
        their rowid; ``table`` is noted if a page of it could not be read."""

        def damaged(first: int, last: int | None) -> None:
            notes.met_damaged_table(table, "a damaged page")

        return [row[1:] for row in self._store.keyset_rows(sql, params=params, on_damage=damaged)]
