"""The audit commands' read models: questions the engine's API does not ask, answered in
each backend's SQL (``audit/sqlite``, ``audit/postgres``).

``queries/`` asks through :func:`read_models_for` and the protocols in :mod:`.contracts`,
never a backend module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from .contracts import ReadModels

if TYPE_CHECKING:
    from ..events.store import AuditableStore
    from ..events.store.postgres import PostgresEventStore
    from ..events.store.sqlite import SqliteEventStore


class UnsupportedBackendError(TypeError):
    """A store this package has no read models for."""


def read_models_for(store: AuditableStore) -> ReadModels:
    """The read models in ``store``'s dialect, chosen by its backend name.

    A backend registers nothing: its dialect package is imported here, on first use, so
    SQLite runs never import a PostgreSQL driver and the other way round.
    """
    backend = store.backend
    if backend == "sqlite":
        from .sqlite import sqlite_read_models  # noqa: PLC0415 - one dialect per run

        return sqlite_read_models(cast("SqliteEventStore", store))
    if backend == "postgres":
        from .postgres import postgres_read_models  # noqa: PLC0415 - one dialect per run

        return postgres_read_models(cast("PostgresEventStore", store))
    raise UnsupportedBackendError(
        f"no audit read models for the {backend!r} backend ({type(store).__name__})"
    )


__all__ = ["ReadModels", "UnsupportedBackendError", "read_models_for"]
