"""Tab completion of values from the database in use: workflow ids, statuses, event
types, stage types.

Every Tab runs the program, so this stays cheap: no Typer at run time (``quick_complete``
answers most Tabs without it), no Rich, no redaction, the store opened read-only, and only
indexed or bounded reads (a workflow-id prefix through the ``workflow_id`` index; stage
types from the newest events only). The database is the one a command would read:
``--db`` as typed, else ``$STABILIZE_DB``, else the profile's, else ``stabilize.db``.
Anything that goes wrong completes nothing: a Tab never prints an error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

STAGE_TYPE_SAMPLE = 1000
"""Newest events read for stage types: bounded, so Tab stays fast on any store."""
WORKFLOW_ID_LIMIT = 50
DEFAULT_DB = "stabilize.db"
DB_ENV = "STABILIZE_DB"

WORKFLOW = "workflow"
STATUS = "status"
EVENT_TYPE = "event-type"
STAGE_TYPE = "stage-type"
FROM_DATABASE = frozenset({WORKFLOW, STAGE_TYPE})
"""The kinds read from the database; the others are the engine's fixed names."""
LATEST_WORDS = ("latest", "latest-failed")


def database(
    typed: str | None, profile: str | None = None, environ: Mapping[str, str] = os.environ
) -> str:
    """The database a command would read: command line, environment, profile, default."""
    if typed:
        return typed
    if environ.get(DB_ENV):
        return environ[DB_ENV]
    try:
        from .profiles import PROFILE_ENV, load_profile  # noqa: PLC0415 - only on Tab

        chosen = load_profile(profile or environ.get(PROFILE_ENV) or None, "completion", environ)
        return chosen.db(environ) or DEFAULT_DB
    except Exception:  # a broken config.toml completes from the default, silently
        return DEFAULT_DB


def candidates(kind: str, incomplete: str, db: str) -> list[str]:
    """What Tab offers for a value of ``kind``; nothing when anything goes wrong."""
    try:
        if kind == STATUS:
            from ..events.statuses import STATUSES  # noqa: PLC0415 - only on Tab

            return [s for s in STATUSES if s.startswith(incomplete.upper())]
        if kind == EVENT_TYPE:
            from ..events.base import EventType  # noqa: PLC0415 - only on Tab

            names = (t.value for t in EventType if t is not EventType.UNKNOWN)
            return [n for n in names if n.startswith(incomplete.lower())]
        if kind == WORKFLOW:
            words = [w for w in LATEST_WORDS if w.startswith(incomplete)]
            return words + _workflow_ids(db, incomplete.upper())
        if kind == STAGE_TYPE:
            return sorted(t for t in _stage_types(db) if t.startswith(incomplete))
    except Exception:
        return []
    raise ValueError(f"no completion of kind {kind!r}")


def _workflow_ids(db: str, prefix: str) -> list[str]:
    try:
        if not _is_server(db):
            from ..events.store.sqlite.quick_reads import (  # noqa: PLC0415 - only on Tab
                workflow_ids_with_prefix,
            )

            return workflow_ids_with_prefix(db, prefix, WORKFLOW_ID_LIMIT)
        from ..audit import read_models_for  # noqa: PLC0415 - only on Tab

        store = _open_server(db)
        try:
            return read_models_for(store).catalog.with_prefix(prefix, limit=WORKFLOW_ID_LIMIT)
        finally:
            store.close()
    except Exception:
        return []


def _stage_types(db: str) -> set[str]:
    if not _is_server(db):
        from ..events.store.sqlite.quick_reads import newest_stage_types  # noqa: PLC0415

        return newest_stage_types(db, STAGE_TYPE_SAMPLE)
    from ..events.base import EntityType  # noqa: PLC0415 - only on Tab
    from ..events.store import EventQuery  # noqa: PLC0415

    store = _open_server(db)
    try:
        query = EventQuery(ascending=False, limit=STAGE_TYPE_SAMPLE)
        return {
            str(e.data.get("type"))
            for e in store.get_events(query)
            if e.entity_type is EntityType.STAGE and e.data.get("type")
        }
    finally:
        store.close()


def _is_server(db: str) -> bool:
    from ..events.store.postgres.dsn import is_postgres_dsn  # noqa: PLC0415 - no driver

    return is_postgres_dsn(db)


def _open_server(db: str) -> Any:
    from ..redaction import Redactor  # noqa: PLC0415
    from .run import open_for_audit  # noqa: PLC0415 - only on Tab

    return open_for_audit(db, Redactor(enabled=False))


# -- Typer's callbacks (what quick_complete leaves to Typer); ``ctx`` is found by its name,
# so Typer need not be imported here


def _typed_database(ctx: Any) -> str:
    """The database from the ``--db`` typed on the command line (not Click's fill-in from
    the environment or the default) and the ``--profile`` typed or in the environment."""
    from .typer_private import ParameterSource  # noqa: PLC0415 - Typer is loaded already

    typed = profile = None
    with suppress(Exception):
        source = ctx.get_parameter_source("db")
        if ParameterSource is None or source is ParameterSource.COMMANDLINE:
            typed = ctx.params.get("db")
    with suppress(Exception):
        profile = ctx.find_root().params.get("profile")
    return database(typed, profile)


def workflow_ids(ctx: Any, incomplete: str) -> list[str]:
    """``latest``, ``latest-failed`` and the workflow ids starting with what was typed."""
    return candidates(WORKFLOW, incomplete, _typed_database(ctx))


def statuses(ctx: Any, incomplete: str) -> list[str]:
    return candidates(STATUS, incomplete, DEFAULT_DB)


def event_types(ctx: Any, incomplete: str) -> list[str]:
    return candidates(EVENT_TYPE, incomplete, DEFAULT_DB)


def stage_types(ctx: Any, incomplete: str) -> list[str]:
    """The stage types named by the newest events of the database in use."""
    return candidates(STAGE_TYPE, incomplete, _typed_database(ctx))
