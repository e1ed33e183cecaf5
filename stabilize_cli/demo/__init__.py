"""A realistic demo event store, written through our own recorder.

A newcomer needs a database holding every shape the tool reports on (failures with
stack traces, retries, skips, a pause, a cancel, parallel branches) before having an
engine of their own. Nothing runs (:mod:`.simulation`): a seeded ``random.Random``
draws durations, outcomes and ids, and a simulated clock drives :class:`EventRecorder`,
so one seed always writes the same events, event ids included.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random

from ..events.base import EntityType, Event, EventType
from ..events.recorder import EventRecorder, event_context
from ..events.replay import EventReplayer
from ..events.snapshots import SnapshotStore
from ..events.store.postgres import PostgresEventStore
from ..events.store.postgres.dsn import is_postgres_dsn, redact_dsn
from ..events.store.sqlite import SqliteEventStore
from ..events.ulids import UlidSource
from .shapes import plan
from .simulation import Run

DEFAULT_SEED = 2026
DEMO_START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


DemoStore = SqliteEventStore | PostgresEventStore


class _Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self.now)


def _record(store: DemoStore, runs: list[Run], event_ids: UlidSource) -> int:
    """Every run's steps in time order, through the recorder, in one transaction."""
    clock = _Clock()
    recorder = EventRecorder(
        store,
        publish_to_bus=False,
        clock=clock,
        id_factory=lambda: event_ids.at(_epoch_ms(clock())),
    )
    ordered = sorted(
        (
            (step.at, i, j, run, step)
            for i, run in enumerate(runs)
            for j, step in enumerate(run.steps)
        ),
        key=lambda item: item[:3],
    )
    latest: dict[str, str] = {}
    with store.transaction() as conn:
        for _, _, _, run, step in ordered:
            clock.now = step.at
            for name, value in step.updates.items():
                setattr(step.args[0], name, value)
            cause = latest.get(step.cause) if step.cause else None
            with event_context(run.wf.id, cause, step.actor):
                method = getattr(recorder, step.method)
                event: Event = method(*step.args, connection=conn, source_handler=step.handler)
            latest[event.entity_id] = event.event_id
    return len(ordered)


def _simulate(rng: Random, ids: UlidSource) -> list[Run]:
    runs: list[Run] = []
    at = (DEMO_START - _EPOCH) // timedelta(microseconds=1) + rng.randint(0, 999_999)
    chosen = plan(rng)
    for index, (shape, app, fate) in enumerate(chosen):
        minutes = 40.0 if index == len(chosen) - 1 else rng.uniform(2, 9)
        at += int(minutes * 60_000_000) if index else 0
        run = Run(shape, app, fate, rng, ids.at)
        run.simulate(at)
        runs.append(run)
    return runs


def _snapshot(store: DemoStore, runs: list[Run]) -> int:
    """The two longest workflows get snapshots (mid-run and at the end): something to list."""
    replayer, snapshots, saved = EventReplayer(store), SnapshotStore(store), set()
    for run in sorted(runs, key=lambda r: len(r.steps), reverse=True)[:2]:
        events = store.get_events_for_workflow(run.wf.id)
        for upto in (events[len(events) // 2], events[-1]):
            version = [
                e.version
                for e in events
                if e.entity_type is EntityType.WORKFLOW and e.sequence <= upto.sequence
            ][-1]
            state = replayer.rebuild_workflow_state(run.wf.id, as_of_sequence=upto.sequence)
            snapshots.create_workflow_snapshot(state, run.wf.id, version, upto.sequence)
            saved.add((run.wf.id, version))
    return len(saved)


def _subscribe(store: DemoStore) -> int:
    """One consumer caught up, one lagging behind with a webhook: `subscriptions list`."""
    head = store.get_current_sequence()
    store.save_subscription("audit-archive", None, None, head)
    failures = [EventType.WORKFLOW_FAILED, EventType.STAGE_FAILED, EventType.TASK_FAILED]
    webhook = "https://hooks.example.com/stabilize/failures"
    store.save_subscription("failure-alerts", failures, None, max(0, head - 40), webhook)
    return 2


@dataclass(frozen=True)
class DemoSummary:
    path: Path | str
    seed: int
    events: int
    workflows: int
    snapshots: int
    subscriptions: int


def _write(path: Path, seed: int) -> DemoSummary:
    return _fill(SqliteEventStore(str(path)), path, seed)


def _fill(store: DemoStore, path: Path | str, seed: int) -> DemoSummary:
    rng = Random(seed)
    ids = UlidSource(Random(f"entity-ids:{seed}"))
    try:
        runs = _simulate(rng, ids)
        events = _record(store, runs, UlidSource(Random(f"event-ids:{seed}")))
        snapshots = _snapshot(store, runs)
        subscriptions = _subscribe(store)
    finally:
        store.close()
    return DemoSummary(path, seed, events, len(runs), snapshots, subscriptions)


class DemoTargetNotEmptyError(Exception):
    """The server database already holds events: the demo never mixes with them."""


def write_demo(text: str, seed: int = DEFAULT_SEED, *, overwrite: bool = False) -> DemoSummary:
    """The demo into a file (``text`` a path or ``sqlite:///path``), or into a PostgreSQL
    database (a URL or libpq ``key=value``), creating the engine's event tables there.

    A server database that already holds events is refused (``--force`` replaces files
    only: it never empties a database); raises :class:`DemoTargetNotEmptyError`.
    """
    if not is_postgres_dsn(text):
        return write_demo_database(demo_path(text), seed, overwrite=overwrite)
    store = PostgresEventStore(text, create_tables=True)
    if store.get_current_sequence() or store.list_subscriptions() or store.list_snapshots():
        store.close()
        raise DemoTargetNotEmptyError(
            f"{redact_dsn(text)} already holds an event store; the demo needs an empty database"
        )
    return _fill(store, redact_dsn(text), seed)


def shown_target(text: str) -> str:
    """Where the demo went, fit to show (a URL's password masked)."""
    return redact_dsn(text) if is_postgres_dsn(text) else text


def demo_path(text: str) -> Path:
    """A path, or ``sqlite:///path`` as ``--db`` takes it."""
    return Path(text[len("sqlite:///") :] if text.startswith("sqlite:///") else text)


def write_demo_database(
    target: str | os.PathLike[str], seed: int = DEFAULT_SEED, *, overwrite: bool = False
) -> DemoSummary:
    """Write the demo beside ``target`` under a temporary name, then move it into place,
    so a crash never leaves half a database.

    Raises ``FileExistsError`` when ``target`` exists and ``overwrite`` is false, and
    ``OSError`` when it cannot be written (missing directory, a directory, permissions).
    """
    path = Path(target)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a directory", str(path))
    if not path.parent.is_dir():
        raise FileNotFoundError(errno.ENOENT, "directory does not exist", str(path.parent))
    if path.exists() and not overwrite:
        raise FileExistsError(errno.EEXIST, "already exists", str(path))
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        summary = _write(temp, seed)
        for sidecar in ("-journal", "-wal", "-shm"):  # an old file's, never to meet the new one
            Path(f"{path}{sidecar}").unlink(missing_ok=True)
        os.replace(temp, path)
    finally:
        for leftover in (temp, Path(f"{temp}-journal")):
            leftover.unlink(missing_ok=True)
    return dataclasses.replace(summary, path=path)
