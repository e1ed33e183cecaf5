"""The two reads Tab completion makes, on nothing but sqlite3 and the read-only open.

Every Tab starts the program, so these skip the store class and the event model (tens
of milliseconds to import): workflow ids by prefix through the ``workflow_id`` index,
and the stage types named by a bounded number of the newest events. The file is opened
as every audit opens it (``readonly``): nothing in it or beside it changes, and a read in
place of a file that changed meanwhile is not used.
"""

from __future__ import annotations

import json
from typing import Any

from ...errors import StoreOpenError
from .connection import parse_connection_string
from .readonly import (
    open_read_only_connection,
    prepare_read_only,
    require_real_events_table,
    vouched,
)

WORKFLOW_PREFIX = """
SELECT DISTINCT workflow_id FROM events
WHERE workflow_id >= ? AND workflow_id < ? ORDER BY workflow_id LIMIT ?
"""
NEWEST_EVENTS = "SELECT entity_type, data FROM events ORDER BY sequence DESC LIMIT ?"
TAB_SECONDS = 0.05
"""A Tab's wait for a writer's lock or a quiet file (an audit's is 30 s): past it, a Tab
completes nothing."""
TAB_COPY_BYTES = 8 << 20
"""The largest file a Tab copies when it cannot be read in place (about 20 ms): a bigger
one completes nothing rather than stall the shell."""


def prefix_range(prefix: str) -> tuple[str, str]:
    """Ids starting with ``prefix`` as a range, not LIKE, so ``%`` and ``_`` stay literal."""
    return prefix, prefix + "\U0010ffff"


def _read(db: str, query: str, parameters: tuple[object, ...]) -> list[tuple[Any, ...]]:
    """Every row of one query, opened and vouched for as every audit read is: a file read
    in place as unchanging that changed meanwhile gives ``ChangedWhileRead`` (a Tab
    then completes nothing), never rows from a torn read."""
    location = parse_connection_string(db)
    if location.is_memory:
        raise StoreOpenError(":memory: holds nothing to complete from")
    target = prepare_read_only(location.path, TAB_SECONDS, copy_limit=TAB_COPY_BYTES)
    try:
        conn = open_read_only_connection(target, TAB_SECONDS)
        try:
            with vouched(target, location.path):
                require_real_events_table(conn, location.path)
                return conn.execute(query, parameters).fetchall()
        finally:
            conn.close()
    finally:
        target.cleanup()


def workflow_ids_with_prefix(db: str, prefix: str, limit: int) -> list[str]:
    rows = _read(db, WORKFLOW_PREFIX, (*prefix_range(prefix), limit))
    return [str(row[0]) for row in rows]


def newest_stage_types(db: str, sample: int) -> set[str]:
    """The ``data.type`` of stage events among the newest ``sample`` events."""
    found: set[str] = set()
    for entity_type, data in _read(db, NEWEST_EVENTS, (sample,)):
        if entity_type != "stage" or not isinstance(data, str):
            continue
        try:
            payload = json.loads(data)
        except (ValueError, RecursionError):
            continue
        if isinstance(payload, dict) and payload.get("type"):
            found.add(str(payload["type"]))
    return found
