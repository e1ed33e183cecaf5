"""The metrics cache's questions, answered from a SQLite file."""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from ...events.store.sqlite.store import SELECT_EVENTS, SqliteEventStore
from ..contracts import CacheIdentity


class SqliteCacheSubject:
    """A SQLite database is its file: the real path names the entry, device and inode
    tell a replaced file from the one the entry was computed on."""

    driver_errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, store: SqliteEventStore) -> None:
        self.store = store

    def identity(self) -> CacheIdentity:
        stat = os.stat(self.store.path)
        return CacheIdentity(
            os.path.realpath(self.store.path), {"device": stat.st_dev, "inode": stat.st_ino}
        )

    def last_sequence(self) -> int:
        """The newest event's sequence (0 in an empty store)."""
        return last_sequence(self.store)

    def sample_sequences(self, targets: list[int], checkpoint: int) -> list[int]:
        """For each target, the first existing sequence at or after it (up to ``checkpoint``)."""

        def first_at_or_after(conn: sqlite3.Connection) -> list[int]:
            found: list[int] = []
            for target in targets:
                row = conn.execute(
                    "SELECT sequence FROM events WHERE sequence >= ? AND sequence <= ? "
                    "ORDER BY sequence LIMIT 1",
                    (target, checkpoint),
                ).fetchone()
                if row is not None and row[0] not in found:
                    found.append(int(row[0]))
            return found

        return self.store.read(first_at_or_after)

    def prefix_rows(self, checkpoint: int, sequences: list[int]) -> tuple[int, list[Any]]:
        """How many events up to ``checkpoint``, and the sampled rows, every column."""

        def count_and_rows(conn: sqlite3.Connection) -> tuple[int, list[Any]]:
            (count,) = conn.execute(
                "SELECT count(*) FROM events WHERE sequence <= ?", (checkpoint,)
            ).fetchone()
            rows = conn.execute(
                f"{SELECT_EVENTS} WHERE sequence IN (SELECT value FROM json_each(?)) "
                "ORDER BY sequence",
                (json.dumps(sequences),),
            ).fetchall()
            return int(count), rows

        return self.store.read(count_and_rows)


def last_sequence(store: SqliteEventStore) -> int:
    """The newest event's sequence (0 in an empty store)."""
    (top,) = store.read(
        lambda conn: conn.execute("SELECT ifnull(max(sequence), 0) FROM events").fetchone()
    )
    return int(top)
