"""The audit read models in PostgreSQL's dialect (JSONB operators, ``FILTER``, windows)."""

from __future__ import annotations

from ...events.store.postgres import PostgresEventStore
from ..contracts import ReadModels
from .analytics import PostgresAnalytics
from .cache_key import PostgresCacheSubject
from .catalog import PostgresCatalog, PostgresNewest
from .integrity import PostgresIntegrity
from .run_tables import PostgresRunTables
from .secrets_scan import PostgresSecretScan
from .snapshot_admin import PostgresSnapshotAdmin


def postgres_read_models(store: PostgresEventStore) -> ReadModels:
    """Every read model over one PostgreSQL store (its cache keyed by the server)."""
    return ReadModels(
        catalog=PostgresCatalog(store),
        newest=PostgresNewest(store),
        integrity=PostgresIntegrity(store),
        snapshots=PostgresSnapshotAdmin(store),
        secrets=PostgresSecretScan(store),
        analytics=PostgresAnalytics(store),
        cache=PostgresCacheSubject(store),
        runs=PostgresRunTables(store),
    )


__all__ = ["postgres_read_models"]
