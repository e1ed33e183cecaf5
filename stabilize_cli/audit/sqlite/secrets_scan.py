"""SQL that finds the payloads a redactor must read before showing a workflow.

A workflow declares secrets in a payload (``"secrets": ["db_password"]``), maybe after the
events that hold the values; so before any event of it is shown, the payloads that
mention the declaration (and then the declared names) are read. ``LIKE`` is only a
pre-filter (a superset: it ignores ASCII case, and ``_``/``%`` in a needle match more);
the caller parses the JSON and decides. Pages are short statements, as everywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ...events.store.sqlite.store import SqliteEventStore
from ..contracts import json_needle

PAGE_SIZE = 500
_MENTIONING = (
    "SELECT sequence, data FROM events WHERE workflow_id IS ? AND sequence > ? AND ({}) "
    "ORDER BY sequence LIMIT ?"
)
_DECLARING = (
    "SELECT sequence, workflow_id FROM events WHERE sequence > ? AND data LIKE ? "
    "ORDER BY sequence LIMIT ?"
)


def payloads_mentioning(
    store: SqliteEventStore, workflow_id: str | None, needles: Iterable[str]
) -> Iterator[Any]:
    """The parsed payloads of one workflow whose JSON text contains any of ``needles``.

    Unparseable payloads are skipped: such a row never becomes an event to show.
    """
    likes = [f"%{needle}%" for needle in needles]
    if not likes:
        return
    sql = _MENTIONING.format(" OR ".join("data LIKE ?" for _ in likes))
    after = -(2**63)
    while True:
        rows = store.fetch_all(sql, (workflow_id, after, *likes, PAGE_SIZE))
        for _, raw in rows:
            parsed = _parse(raw)
            if parsed is not None:
                yield parsed
        if len(rows) < PAGE_SIZE:
            return
        after = rows[-1][0]


def workflows_declaring(
    store: SqliteEventStore, key: str, *, after: int = -(2**63)
) -> set[str | None]:
    """Every workflow with a payload that mentions ``key`` (one pass over the table, or
    over the events after sequence ``after``)."""
    found: set[str | None] = set()
    while True:
        rows = store.fetch_all(_DECLARING, (after, f"%{json_needle(key)}%", PAGE_SIZE))
        found.update(workflow_id for _, workflow_id in rows)
        if len(rows) < PAGE_SIZE:
            return found
        after = rows[-1][0]


def _parse(raw: object) -> Any:
    if not isinstance(raw, str | bytes):
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
