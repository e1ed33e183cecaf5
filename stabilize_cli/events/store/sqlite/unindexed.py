"""Reading the tables themselves when an index of the file is damaged.

A damaged index page loses no row: every row is still in its table. A statement whose
plan goes through that index fails with SQLite's corrupt error all the same. Only then
(never on a healthy file) the statement is run again with ``NOT INDEXED`` on every table
it reads; if that reads, the index was what was damaged, and every later statement on the
connection reads the tables themselves too (slower, complete).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

TABLES = ("events", "pipeline_executions", "stage_executions", "task_executions")
"""The tables whose indexes the audit reads through (the events and the engine's)."""

_TABLE_REF = re.compile(
    r"\b(?P<head>FROM|JOIN)\s+(?P<table>(?:main\.)?(?:" + "|".join(TABLES) + r"))\b"
    r"(?P<alias>\s+(?:AS\s+)?(?!(?:WHERE|JOIN|ON|ORDER|GROUP|LIMIT|LEFT|INNER|CROSS|NATURAL"
    r"|UNION|WINDOW|HAVING|USING|NOT|INDEXED|EXCEPT|INTERSECT)\b)[A-Za-z_]\w*)?"
    r"(?P<given>\s+INDEXED\s+BY\s+\w+|\s+NOT\s+INDEXED)?",
    re.IGNORECASE,
)


def without_indexes(sql: str) -> str:
    """``sql`` reading each of :data:`TABLES` by itself (rowid and scans, no index)."""

    def plain(match: re.Match[str]) -> str:
        return f"{match['head']} {match['table']}{match['alias'] or ''} NOT INDEXED"

    return _TABLE_REF.sub(plain, sql)


def is_corrupt(error: BaseException) -> bool:
    """SQLite's corrupt error, raw or as the store's (which keeps it as its cause)."""
    if not isinstance(error, sqlite3.DatabaseError):
        error = error.__cause__  # type: ignore[assignment]
        if not isinstance(error, sqlite3.DatabaseError):
            return False
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    return code == 11 or "malformed" in str(error)  # SQLITE_CORRUPT


class AuditConnection(sqlite3.Connection):
    """A read-only connection that can read past a damaged index (see the module)."""

    tables_only = False
    """Set once an index was found damaged: every statement reads the tables themselves."""
    index_damaged = False
    """An index was found damaged (and the tables read whole instead)."""
    _tried = False

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        if self.tables_only:
            sql = without_indexes(sql)
        return super().execute(sql, parameters)

    def past_index_damage(self, work: Callable[[], T]) -> tuple[bool, T | None]:
        """After ``work`` failed with the corrupt error: ``work`` again on the tables only.
        (True, result) if that read: the damage was in an index, and later statements keep
        reading the tables. (False, None) if not, or if tried before on this connection
        and it did not help (the damage is in a table: its readers step past it)."""
        if self.tables_only or self._tried:
            return False, None
        self._tried = True
        self.tables_only = True
        try:
            result = work()
        except Exception as error:
            if not is_corrupt(error):
                raise
            self.tables_only = False
            return False, None
        self.index_damaged = True
        return True, result


def damaged_indexes(conn: sqlite3.Connection) -> list[str]:
    """The indexes of :data:`TABLES` a full walk cannot read (only called on a file found
    damaged: each walk reads a whole index)."""
    marks = ",".join("?" * len(TABLES))
    names = [
        str(row[0])
        for row in sqlite3.Connection.execute(
            conn,
            f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN ({marks}) "
            "ORDER BY name",
            TABLES,
        )
    ]
    damaged: list[str] = []
    for name in names:
        quoted = '"' + name.replace('"', '""') + '"'
        try:
            rows = sqlite3.Connection.execute(
                conn,
                "SELECT tbl_name FROM sqlite_master WHERE name = ?",
                (name,),
            ).fetchall()
            table = '"' + str(rows[0][0]).replace('"', '""') + '"'
            # the WHERE keeps count(*) off the btree-count shortcut, which skips pages
            sqlite3.Connection.execute(
                conn, f"SELECT count(*) FROM {table} INDEXED BY {quoted} WHERE rowid IS NOT NULL"
            ).fetchall()
        except sqlite3.DatabaseError as error:
            if is_corrupt(error):  # not a partial index the WHERE cannot use
                damaged.append(name)
    return damaged
