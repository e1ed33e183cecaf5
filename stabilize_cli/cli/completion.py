"""Tab completion of values from the database in use: workflow ids, statuses, event
types, stage types.

Every Tab runs the program, so this stays cheap: no Rich, no redaction, the store opened
read-only, and only indexed or bounded reads (a workflow-id prefix through the catalog's
index; stage types from the newest events only). Anything that goes wrong completes
nothing: a Tab never prints an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ..events.store import AuditableStore

STAGE_TYPE_SAMPLE = 1000
"""Newest events read for stage types: bounded, so Tab stays fast on any store."""
DEFAULT_DB = "stabilize.db"


def _database(ctx: Any) -> str:
    """The ``--db`` typed so far, else ``$STABILIZE_DB``, else the default."""
    typed = getattr(ctx, "params", {}).get("db")
    return str(typed or os.environ.get("STABILIZE_DB") or DEFAULT_DB)


@contextmanager
def _store(ctx: Any) -> Iterator[AuditableStore | None]:
    """The database in use, read-only; None when it cannot be opened."""
    from ..redaction import Redactor  # noqa: PLC0415
    from .run import open_for_audit  # noqa: PLC0415 - only on Tab

    store = None
    with suppress(Exception):
        store = open_for_audit(_database(ctx), Redactor(enabled=False))
    try:
        yield store
    finally:
        if store is not None:
            with suppress(Exception):
                store.close()


def _safely(find: Callable[[], list[str]]) -> list[str]:
    try:
        return find()
    except Exception:
        return []


def workflow_ids(ctx: typer.Context, incomplete: str) -> list[str]:
    """``latest``, ``latest-failed`` and the workflow ids starting with what was typed."""
    from ..audit import read_models_for  # noqa: PLC0415 - only on Tab

    words = [w for w in ("latest", "latest-failed") if w.startswith(incomplete)]

    def find() -> list[str]:
        with _store(ctx) as store:
            if store is None:
                return []
            return read_models_for(store).catalog.with_prefix(incomplete.upper(), limit=50)

    return words + _safely(find)


def statuses(ctx: typer.Context, incomplete: str) -> list[str]:
    from ..queries.workflows import STATUSES  # noqa: PLC0415 - only on Tab

    return [s for s in STATUSES if s.startswith(incomplete.upper())]


def event_types(ctx: typer.Context, incomplete: str) -> list[str]:
    from ..events.base import EventType  # noqa: PLC0415 - only on Tab

    names = (t.value for t in EventType if t is not EventType.UNKNOWN)
    return [n for n in names if n.startswith(incomplete.lower())]


def stage_types(ctx: typer.Context, incomplete: str) -> list[str]:
    """The stage types named by the newest events of the database in use."""
    from ..events.base import EntityType  # noqa: PLC0415 - only on Tab
    from ..events.store import EventQuery  # noqa: PLC0415

    def find() -> list[str]:
        with _store(ctx) as store:
            if store is None:
                return []
            query = EventQuery(ascending=False, limit=STAGE_TYPE_SAMPLE)
            found = {
                str(e.data.get("type"))
                for e in store.get_events(query)
                if e.entity_type is EntityType.STAGE and e.data.get("type")
            }
            return sorted(t for t in found if t.startswith(incomplete))

    return _safely(find)
