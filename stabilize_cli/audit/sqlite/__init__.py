"""The audit read models in SQLite's dialect (JSON1, ``typeof``, ``sqlite_master``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ...events.store.sqlite.store import SqliteEventStore
from ..contracts import (
    BackendNote,
    MetricsFigures,
    RawEvent,
    RawSubscription,
    ReadModels,
    WorkflowSummary,
)
from . import analytics, integrity, newest, secrets_scan, snapshot_admin
from .cache_key import SqliteCacheSubject
from .catalog import WorkflowCatalog
from .run_tables import SqliteRunTables


class _Bound:
    def __init__(self, store: SqliteEventStore) -> None:
        self.store = store


class SqliteNewest(_Bound):
    def summaries_of(self, workflow_ids: list[str]) -> list[WorkflowSummary]:
        return newest.summaries_of(self.store, workflow_ids)

    def newest_first(self, batch: int = 50) -> Iterator[WorkflowSummary]:
        return newest.newest_first(self.store, batch)

    def workflows_of_application(self, application: str) -> frozenset[str]:
        return newest.workflows_of_application(self.store, application)


class SqliteIntegrity(_Bound):
    def iter_raw_events(self) -> Iterator[RawEvent]:
        return integrity.iter_raw_events(self.store)

    def integrity_problems(self, *, full: bool = False) -> list[str]:
        return integrity.integrity_problems(self.store, full=full)

    def sequence_head(self) -> tuple[int | None, int | None]:
        return integrity.sequence_head(self.store)

    def dangling_causations(self) -> list[tuple[int, Any]]:
        return integrity.dangling_causations(self.store)

    def has_table(self, name: str) -> bool:
        return integrity.has_table(self.store, name)

    def raw_subscriptions(self) -> list[RawSubscription]:
        return integrity.raw_subscriptions(self.store)

    def backend_notes(self) -> list[BackendNote]:
        """SQLite says everything it knows through ``integrity_problems``."""
        return []


class SqliteSnapshotAdmin(_Bound):
    def iter_snapshot_rows(self, workflow_id: str | None = None) -> Iterator[dict[str, Any]]:
        return snapshot_admin.iter_snapshot_rows(self.store, workflow_id)

    def get_snapshot_row(self, snapshot_id: int) -> dict[str, Any] | None:
        return snapshot_admin.get_snapshot_row(self.store, snapshot_id)

    def snapshot_id(self, entity_type: str, entity_id: str, version: int) -> int:
        return snapshot_admin.snapshot_id(self.store, entity_type, entity_id, version)

    def workflow_position(self, workflow_id: str, up_to: int) -> tuple[int, int | None]:
        return snapshot_admin.workflow_position(self.store, workflow_id, up_to)

    def prunable_snapshots(self, keep: int) -> list[dict[str, Any]]:
        return snapshot_admin.prunable_snapshots(self.store, keep)

    def prune_snapshots(self, keep: int) -> list[dict[str, Any]]:
        return snapshot_admin.prune_snapshots(self.store, keep)


class SqliteSecretScan(_Bound):
    def payloads_mentioning(self, workflow_id: str | None, needles: Iterable[str]) -> Iterator[Any]:
        return secrets_scan.payloads_mentioning(self.store, workflow_id, needles)

    def workflows_declaring(self, key: str, *, after: int = -(2**63)) -> set[str | None]:
        return secrets_scan.workflows_declaring(self.store, key, after=after)


class SqliteAnalytics(_Bound):
    def stage_and_task_figures(
        self, workflow_ids: frozenset[str] | None = None, *, upto: int | None = None
    ) -> MetricsFigures:
        return analytics.stage_and_task_figures(self.store, workflow_ids, upto=upto)

    def figures_after(
        self, figures: MetricsFigures, after: int, *, limit: int
    ) -> tuple[MetricsFigures, int]:
        return analytics.figures_after(self.store, figures, after, limit=limit)


def sqlite_read_models(store: SqliteEventStore) -> ReadModels:
    """Every read model over one SQLite store (no cache for an in-memory database)."""
    return ReadModels(
        catalog=WorkflowCatalog(store),
        newest=SqliteNewest(store),
        integrity=SqliteIntegrity(store),
        snapshots=SqliteSnapshotAdmin(store),
        secrets=SqliteSecretScan(store),
        analytics=SqliteAnalytics(store),
        cache=None if store.is_memory else SqliteCacheSubject(store),
        runs=SqliteRunTables(store),
    )


__all__ = ["sqlite_read_models"]
