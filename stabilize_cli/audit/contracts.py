"""What the audit commands ask a store beyond the engine's API: small, backend-neutral.

Each protocol is one read model; ``audit/<dialect>/`` answers it in that backend's SQL, and
:func:`stabilize_cli.audit.read_models_for` picks the dialect for a store. The value types
here are what every dialect returns, so ``queries/`` never sees a backend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from ..events.projections.metrics import StageMetrics, TaskMetrics
from ..runs.model import RunRow, StageRow

# -- values every dialect returns ----------------------------------------------------------


@dataclass(frozen=True)
class WorkflowSummary:
    """One workflow as the listing shows it; status follows the replay's rules."""

    workflow_id: str
    application: str | None
    name: str | None
    status: str | None
    start_time: str | None
    end_time: str | None
    event_count: int
    failed_stages: int
    """Stages whose last end is ``stage.failed``: the failures of the final outcome."""
    first_sequence: int
    last_sequence: int
    restarts: int = 0
    """How many times it ended and was started again (the engine writes no restart event)."""


class RawEvent(NamedTuple):
    """An ``events`` row as stored: any column may hold any type, or NULL."""

    sequence: int
    event_id: Any
    event_type: Any
    timestamp: Any
    entity_type: Any
    entity_id: Any
    workflow_id: Any
    version: Any
    data: Any
    causation_id: Any


class RawSubscription(NamedTuple):
    """An ``event_subscriptions`` row as stored; ``storage`` is SQLite's typeof(position)."""

    id: Any
    last_sequence: Any
    storage: str
    event_types: Any
    entity_filter: Any
    webhook_url: Any
    created_at: Any
    updated_at: Any


class BackendNote(NamedTuple):
    """Something only one backend can say about a store, for ``verify`` to report:
    severity ("error", "warning", "info"), a finding code, the message, the sequences."""

    severity: str
    code: str
    message: str
    sequences: tuple[int, ...]


class FastPathUnavailable(Exception):
    """The store holds something the SQL path cannot answer exactly: use the projection."""


@dataclass
class MetricsFigures:
    """Stage and task figures, in the order the projection would have created them."""

    stages: dict[str, StageMetrics] = field(default_factory=dict)
    tasks: dict[str, TaskMetrics] = field(default_factory=dict)
    complete: bool = True
    """False when damaged pages kept events out: such figures are shown, never cached."""


def json_needle(key: str) -> str:
    """A key as the engine's ``json.dumps`` writes it, quotes included."""
    import json  # noqa: PLC0415 - only the secret scans need it

    return json.dumps(key)


# -- the read models ------------------------------------------------------------------------


class WorkflowCatalog(Protocol):
    """Read-only questions over every workflow in a store."""

    def summaries(self) -> list[WorkflowSummary]: ...
    def exists(self, workflow_id: str) -> bool: ...
    def with_prefix(self, prefix: str, limit: int = 10) -> list[str]: ...
    def latest(self, *, failed: bool = False) -> str | None: ...
    def entity_types(self, entity_id: str) -> list[str]: ...
    def sequences_of(self, workflow_id: str, after: int = 0) -> list[int]:
        """The global sequences of the workflow's events after ``after``, ascending (a
        cursor over 100,000 events needs positions without decoding the events)."""
        ...


class NewestLookups(Protocol):
    """Newest-first listings and per-application lookups, without reading every event."""

    def summaries_of(self, workflow_ids: list[str]) -> list[WorkflowSummary]: ...
    def newest_first(self, batch: int = 50) -> Iterator[WorkflowSummary]: ...
    def workflows_of_application(self, application: str) -> frozenset[str]: ...


class IntegrityChecks(Protocol):
    """Rows as stored, for ``verify``: any column may hold anything."""

    def iter_raw_events(self) -> Iterator[RawEvent]: ...
    def integrity_problems(self, *, full: bool = False) -> list[str]: ...
    def sequence_head(self) -> tuple[int | None, int | None]: ...
    def dangling_causations(self) -> list[tuple[int, Any]]: ...
    def has_table(self, name: str) -> bool: ...
    def raw_subscriptions(self) -> list[RawSubscription]: ...
    def backend_notes(self) -> list[BackendNote]: ...


class SnapshotAdmin(Protocol):
    """Snapshot rows as stored, and the one write the CLI makes (``snapshots prune``)."""

    def iter_snapshot_rows(self, workflow_id: str | None = None) -> Iterator[dict[str, Any]]: ...
    def get_snapshot_row(self, snapshot_id: int) -> dict[str, Any] | None: ...
    def snapshot_id(self, entity_type: str, entity_id: str, version: int) -> int: ...
    def workflow_position(self, workflow_id: str, up_to: int) -> tuple[int, int | None]: ...
    def prunable_snapshots(self, keep: int) -> list[dict[str, Any]]: ...
    def prune_snapshots(self, keep: int) -> list[dict[str, Any]]: ...


class Unparseable:
    """A payload that mentions a needle but cannot be parsed: what it declares is unknown."""

    __slots__ = ()


UNPARSEABLE = Unparseable()


class SecretScan(Protocol):
    """Payloads that mention a key, found by the database instead of by decoding them all.

    ``payloads_mentioning`` yields :data:`UNPARSEABLE` in the place of a payload it cannot
    parse; a damaged page raises ``StoreCorruptError`` (the caller decides). On a store
    read with notes, ``workflows_declaring`` also names every workflow that has a row on
    a damaged page (it may declare there), and raises when it cannot tell which."""

    def payloads_mentioning(
        self, workflow_id: str | None, needles: Iterable[str]
    ) -> Iterator[Any]: ...
    def workflows_declaring(self, key: str, *, after: int = -(2**63)) -> set[str | None]: ...


class Analytics(Protocol):
    """The metrics fast path: the projection's figures, aggregated by the database."""

    def stage_and_task_figures(
        self, workflow_ids: frozenset[str] | None = None, *, upto: int | None = None
    ) -> MetricsFigures: ...
    def figures_after(
        self, figures: MetricsFigures, after: int, *, limit: int
    ) -> tuple[MetricsFigures, int]: ...


@dataclass(frozen=True)
class CacheIdentity:
    """Which database a metrics cache entry belongs to, never a secret (no URL, no
    password): SQLite gives the file's real path and device+inode; a server backend its
    system identifier and database name."""

    name: str
    """Names the entry's file and is stored in it (``path`` in the entry)."""
    stamp: dict[str, int | str]
    """Must not have changed for the entry to hold (stored in the entry's ``prefix``)."""


class CacheSubject(Protocol):
    """What the backend-neutral metrics cache needs from a backend."""

    driver_errors: tuple[type[Exception], ...]
    """The driver's errors: raised while checking a database that went away meanwhile,
    they only mean that no entry is written."""

    def identity(self) -> CacheIdentity: ...
    def last_sequence(self) -> int: ...
    def sample_sequences(self, targets: list[int], checkpoint: int) -> list[int]: ...
    def prefix_rows(self, checkpoint: int, sequences: list[int]) -> tuple[int, list[Any]]: ...


class RunTables(Protocol):
    """The engine's own workflow tables (``pipeline_executions``, ``stage_executions``,
    ``task_executions``), where they share the events' database: the real error text,
    the DAG, stages that never ran, pause, cancel and trigger. Without them every answer
    is empty and the commands behave as on the events alone."""

    def present(self) -> bool: ...
    def run(self, workflow_id: str) -> RunRow | None: ...
    def failed_stages(self) -> list[tuple[str, StageRow]]: ...


class NoRunTables:
    """A backend that does not read the engine's workflow tables: the events alone."""

    def present(self) -> bool:
        return False

    def run(self, workflow_id: str) -> RunRow | None:
        return None

    def failed_stages(self) -> list[tuple[str, StageRow]]:
        return []


@dataclass(frozen=True)
class ReadModels:
    """Every audit read model of one opened store, in that store's dialect."""

    catalog: WorkflowCatalog
    newest: NewestLookups
    integrity: IntegrityChecks
    snapshots: SnapshotAdmin
    secrets: SecretScan
    analytics: Analytics
    cache: CacheSubject | None
    """None where no cache may be kept (an in-memory database)."""
    runs: RunTables = field(default_factory=NoRunTables)
    """The engine's workflow tables (SQLite: ``audit/sqlite/run_tables.py``; PostgreSQL:
    ``audit/postgres/run_tables.py``); a backend that passes none reads events only."""


# -- running two reads at once ----------------------------------------------------------------


def in_thread(work: Callable[[], Any]) -> Callable[[], Any]:
    """Run ``work`` on another thread (SQLite releases the GIL); call the result to join."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = work()
        except BaseException as exc:  # handed over to the joining thread
            box["error"] = exc

    thread = threading.Thread(target=run, name="stabilize-metrics-checks", daemon=True)
    thread.start()

    def join() -> Any:
        thread.join()
        if "error" in box:
            raise box["error"]
        return box["result"]

    return join


def joined(*joins: Callable[[], Any]) -> list[Any]:
    """Every thread joined (the caller closes the store next: a thread still reading it
    would crash the process), then the first error raised, if one failed."""
    results: list[Any] = []
    error: BaseException | None = None
    for join in joins:
        try:
            results.append(join())
        except BaseException as exc:
            error = error or exc
    if error is not None:
        raise error
    return results
