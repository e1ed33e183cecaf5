"""Behaviour of the SQLite event store: opening, appending, querying, streaming, the format.

The store contract (append, query, read helpers, decoding) is written once and runs on a
file store and an in-memory store through the parametrised ``store`` fixture. Tests that
need a real file (other connections, threads, raw bytes on disk) use ``file_store``.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import random
import shutil
import sqlite3
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import stabilize_cli.events.store.sqlite.connection as connection_module
import stabilize_cli.events.store.sqlite.store as sqlite_module
from stabilize_cli.events.base import (
    RAW_EVENT_TYPE_KEY,
    EntityType,
    Event,
    EventMetadata,
    EventType,
    new_event_id,
)
from stabilize_cli.events.errors import (
    DuplicateEventError,
    EventDecodeError,
    SchemaError,
    StoreBusyError,
    StoreOpenError,
)
from stabilize_cli.events.store import UNLIMITED, EventQuery, SqliteEventStore
from stabilize_cli.events.store.sqlite.schema import EVENT_COLUMNS

from ..conftest import REAL_DB, sha256

# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------

T0 = datetime(2026, 11, 28, 14, 40, 58, 128463, tzinfo=UTC)
"""A timestamp with microseconds, like the ones the engine writes."""

THREAD_TIMEOUT = 60.0
"""Upper bound for joining worker threads; only reached when a test is failing."""

ORDER_KEYS: dict[str, Callable[[Event], Any]] = {
    "sequence": lambda e: e.sequence,
    "timestamp": lambda e: (e.timestamp, e.sequence),
    "event_type": lambda e: (e.event_type.value, e.sequence),
}
"""The order each ``order_by`` must produce; ties are broken by sequence."""

CYCLED_TYPES = (
    EventType.WORKFLOW_STARTED,
    EventType.STAGE_STARTED,
    EventType.TASK_STARTED,
    EventType.TASK_COMPLETED,
    EventType.STAGE_COMPLETED,
)


def make_event(
    n: int = 0,
    *,
    event_type: EventType = EventType.WORKFLOW_STARTED,
    entity_type: EntityType = EntityType.WORKFLOW,
    entity_id: str = "wf-1",
    workflow_id: str = "wf-1",
    version: int = 1,
    timestamp: datetime | None = None,
) -> Event:
    return Event(
        event_type=event_type,
        timestamp=timestamp if timestamp is not None else T0 + timedelta(seconds=n),
        entity_type=entity_type,
        entity_id=entity_id,
        workflow_id=workflow_id,
        version=version,
        data={"n": n},
        metadata=EventMetadata(correlation_id=workflow_id),
    )


def make_events(count: int, start: int = 0, **kwargs: Any) -> list[Event]:
    return [make_event(start + i, **kwargs) for i in range(count)]


def workflow_history(workflow_id: str) -> list[Event]:
    """A small, realistic history: a workflow, one stage, one task retried once."""
    stage, task = f"{workflow_id}-stage", f"{workflow_id}-task"
    steps = [
        (EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, workflow_id, 1),
        (EventType.STAGE_STARTED, EntityType.STAGE, stage, 1),
        (EventType.TASK_STARTED, EntityType.TASK, task, 1),
        (EventType.TASK_RETRIED, EntityType.TASK, task, 1),
        (EventType.TASK_COMPLETED, EntityType.TASK, task, 2),
        (EventType.STAGE_COMPLETED, EntityType.STAGE, stage, 2),
        (EventType.WORKFLOW_COMPLETED, EntityType.WORKFLOW, workflow_id, 2),
    ]
    return [
        make_event(
            event_type=event_type,
            entity_type=entity_type,
            entity_id=entity_id,
            workflow_id=workflow_id,
            version=version,
        )
        for event_type, entity_type, entity_id, version in steps
    ]


def interleaved_histories(store: SqliteEventStore) -> list[Event]:
    """Two workflows whose events alternate, one second apart; returns them as stored."""
    pairs = zip(workflow_history("wf-a"), workflow_history("wf-b"), strict=True)
    events = [e for pair in pairs for e in pair]
    timed = [
        dataclasses.replace(e, timestamp=T0 + timedelta(seconds=i)) for i, e in enumerate(events)
    ]
    return store.append_batch(timed)


def shuffled_events(count: int, seed: int = 7) -> list[Event]:
    """Events whose timestamps and types are NOT in sequence order (distinct timestamps)."""
    offsets = list(range(count))
    random.Random(seed).shuffle(offsets)
    return [
        make_event(
            i,
            event_type=CYCLED_TYPES[i % len(CYCLED_TYPES)],
            timestamp=T0 + timedelta(seconds=offsets[i]),
        )
        for i in range(count)
    ]


def expected_order(events: list[Event], order_by: str, ascending: bool) -> list[Event]:
    return sorted(events, key=ORDER_KEYS[order_by], reverse=not ascending)


def ids(events: Any) -> list[str]:
    return [e.event_id for e in events]


def seqs(events: Any) -> list[int]:
    return [e.sequence for e in events]


def insert_raw(
    store: SqliteEventStore,
    *,
    event_id: str | None = None,
    event_type: str = "workflow.started",
    timestamp: str = "2026-11-28T14:40:58.128463+00:00",
    entity_type: str = "workflow",
    entity_id: str = "wf-raw",
    workflow_id: str = "wf-raw",
    version: int = 1,
    data: str = "{}",
) -> int:
    """Write one row with plain SQL, the way another writer might; returns its sequence."""
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO events (event_id, event_type, timestamp, entity_type, entity_id,"
            " workflow_id, version, data, correlation_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event_id or new_event_id(),
                event_type,
                timestamp,
                entity_type,
                entity_id,
                workflow_id,
                version,
                data,
                workflow_id,
            ),
        )
        return int(cursor.lastrowid or 0)


def raw_row(store: SqliteEventStore, sequence: int) -> dict[str, Any]:
    """One row exactly as stored, read through plain SQL."""
    with store.transaction() as conn:
        row = conn.execute(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE sequence = ?", (sequence,)
        ).fetchone()
    return dict(zip(EVENT_COLUMNS, row, strict=True))


def read_file_rows(path: Path, sql: str = "SELECT * FROM events ORDER BY sequence") -> list[Any]:
    """Rows read by a separate, read-only sqlite3 connection (nothing of ours involved)."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def make_sqlite_file(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def run_threads(targets: list[Callable[[], None]]) -> list[BaseException]:
    """Start all targets at once (behind a barrier); return what they raised."""
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> None:
        try:
            barrier.wait(timeout=THREAD_TIMEOUT)
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    return errors


# ---------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteEventStore]:
    """The contract runs on both kinds of store."""
    target = str(tmp_path / "events.db") if request.param == "file" else "sqlite:///:memory:"
    with SqliteEventStore(target) as opened:
        yield opened


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
def file_store(db_path: Path) -> Iterator[SqliteEventStore]:
    with SqliteEventStore(str(db_path)) as opened:
        yield opened


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    """Pages of 7 rows, so that a few dozen events span many internal pages."""
    monkeypatch.setattr(sqlite_module, "PAGE_SIZE", 7)
    return 7


@pytest.fixture(scope="module")
def engine_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteEventStore]:
    """The engine-written database, opened as found (on a private copy)."""
    copy = tmp_path_factory.mktemp("engine") / "real-small.db"
    shutil.copyfile(REAL_DB, copy)
    with SqliteEventStore(str(copy), create_tables=False) as opened:
        yield opened


# ---------------------------------------------------------------------------------------
# Connection strings
# ---------------------------------------------------------------------------------------


def test_a_sqlite_url_with_three_slashes_is_a_path_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with SqliteEventStore("sqlite:///rel.db") as opened:
        opened.append(make_event())
    assert os.listdir(tmp_path) == ["rel.db"]
    assert len(read_file_rows(tmp_path / "rel.db")) == 1


def test_a_relative_url_stays_bound_to_the_directory_it_was_opened_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    monkeypatch.chdir(tmp_path / "first")
    with SqliteEventStore("sqlite:///rel.db") as opened:
        opened.append(make_event())
        monkeypatch.chdir(tmp_path / "second")
        seen: list[int] = []
        assert run_threads([lambda: seen.append(opened.get_current_sequence())]) == []
    assert seen == [1]
    assert os.listdir(tmp_path / "second") == []


def test_a_sqlite_url_with_four_slashes_is_an_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cwd").mkdir()
    (tmp_path / "abs").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    target = tmp_path / "abs" / "path.db"
    url = f"sqlite:///{target}"
    assert url.startswith("sqlite:////")
    with SqliteEventStore(url) as opened:
        opened.append(make_event())
    assert len(read_file_rows(target)) == 1
    assert os.listdir(tmp_path / "cwd") == []


def test_the_memory_url_creates_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with SqliteEventStore("sqlite:///:memory:") as opened:
        opened.append(make_event())
        assert opened.count_events() == 1
    assert os.listdir(tmp_path) == []


def test_each_memory_store_is_a_private_database() -> None:
    with (
        SqliteEventStore("sqlite:///:memory:") as first,
        SqliteEventStore("sqlite:///:memory:") as second,
    ):
        first.append(make_event())
        assert second.count_events() == 0


def test_a_plain_path_opens_that_file(tmp_path: Path) -> None:
    target = tmp_path / "plain.db"
    with SqliteEventStore(str(target)) as opened:
        opened.append(make_event())
    assert len(read_file_rows(target)) == 1


@pytest.mark.parametrize("use_url", [False, True], ids=["plain-path", "sqlite-url"])
def test_a_name_with_question_mark_hash_percent_and_space_is_used_literally(
    tmp_path: Path, use_url: bool
) -> None:
    name = "we?ird #1 50%41 x.db"
    target = tmp_path / name
    with SqliteEventStore(f"sqlite:///{target}" if use_url else str(target)) as opened:
        opened.append(make_event())
    assert os.listdir(tmp_path) == [name]
    assert len(read_file_rows(target)) == 1


@pytest.mark.parametrize(
    "connection_string",
    ["postgres://x", "postgresql://user@host/db", "sqlite://host/events.db", "sqlite:///"],
)
def test_an_unsupported_connection_string_raises_store_open_error_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, connection_string: str
) -> None:
    monkeypatch.chdir(tmp_path)
    # Directories a path-like reading of the URL would write into: nothing may appear there.
    for directory in ("postgres:", "postgresql:/user@host"):
        (tmp_path / directory).mkdir(parents=True)
    with pytest.raises(StoreOpenError):
        SqliteEventStore(connection_string)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


# ---------------------------------------------------------------------------------------
# Opening existing files (create_tables=False)
# ---------------------------------------------------------------------------------------


def test_opening_a_missing_file_without_create_raises_and_creates_nothing(tmp_path: Path) -> None:
    target = tmp_path / "missing.db"
    with pytest.raises(StoreOpenError):
        SqliteEventStore(str(target), create_tables=False)
    assert not target.exists()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("create_tables", [False, True])
def test_opening_a_directory_raises_store_open_error(tmp_path: Path, create_tables: bool) -> None:
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreOpenError):
        SqliteEventStore(str(tmp_path / "dir.db"), create_tables=create_tables)
    assert os.listdir(tmp_path / "dir.db") == []


def test_opening_a_text_file_raises_store_open_error_and_leaves_it_alone(tmp_path: Path) -> None:
    target = tmp_path / "notes.db"
    target.write_text("this is not a database\n" * 20)
    before = sha256(target)
    with pytest.raises(StoreOpenError, match="not an SQLite database"):
        SqliteEventStore(str(target), create_tables=False)
    assert sha256(target) == before


def test_an_sqlite_file_without_events_table_raises_schema_error_listing_its_tables(
    tmp_path: Path,
) -> None:
    target = tmp_path / "other.db"
    make_sqlite_file(
        target, "CREATE TABLE pipeline_runs (id TEXT)", "CREATE TABLE queue_items (id TEXT)"
    )
    with pytest.raises(SchemaError, match="no events table") as caught:
        SqliteEventStore(str(target), create_tables=False)
    assert "pipeline_runs" in str(caught.value)
    assert "queue_items" in str(caught.value)


def test_an_events_table_missing_columns_raises_schema_error_naming_them(tmp_path: Path) -> None:
    target = tmp_path / "partial.db"
    present = [c for c in EVENT_COLUMNS if c not in ("source_handler", "schema_version")]
    make_sqlite_file(target, f"CREATE TABLE events ({', '.join(present)})")
    with pytest.raises(SchemaError, match="lacks columns") as caught:
        SqliteEventStore(str(target), create_tables=False)
    message = str(caught.value)
    assert "source_handler" in message
    assert "schema_version" in message


def test_opening_the_engine_database_without_create_leaves_it_byte_identical(
    real_db_copy: Path,
) -> None:
    # A private copy of fixtures/real-small.db: the same bytes, and the fixture stays safe.
    assert sha256(real_db_copy) == sha256(REAL_DB)
    before = sha256(real_db_copy)
    with SqliteEventStore(str(real_db_copy), create_tables=False) as opened:
        assert sum(1 for _ in opened.get_events(EventQuery(limit=UNLIMITED))) == 189
        assert opened.count_events() == 189
    assert sha256(real_db_copy) == before
    assert os.listdir(real_db_copy.parent) == [real_db_copy.name]


# ---------------------------------------------------------------------------------------
# Appending
# ---------------------------------------------------------------------------------------


def test_append_assigns_consecutive_sequences_starting_at_one(store: SqliteEventStore) -> None:
    assert [store.append(e).sequence for e in make_events(3)] == [1, 2, 3]


def test_append_batch_assigns_consecutive_sequences_in_list_order(store: SqliteEventStore) -> None:
    store.append(make_event())
    batch = make_events(5, start=1)
    stored = store.append_batch(batch)
    assert seqs(stored) == [2, 3, 4, 5, 6]
    assert ids(stored) == ids(batch)
    read = list(store.get_events(EventQuery(from_sequence=1)))
    assert [(e.event_id, e.sequence) for e in read] == [(e.event_id, e.sequence) for e in stored]


def test_appended_events_are_returned_as_copies_carrying_their_sequence(
    store: SqliteEventStore,
) -> None:
    batch = make_events(2)
    stored = store.append_batch(batch)
    assert stored == [batch[0].with_sequence(1), batch[1].with_sequence(2)]
    assert seqs(batch) == [0, 0]


def test_events_are_frozen(store: SqliteEventStore) -> None:
    stored = store.append(make_event())
    with pytest.raises(dataclasses.FrozenInstanceError):
        stored.sequence = 99  # type: ignore[misc]


def test_appending_an_empty_batch_returns_nothing_and_stores_nothing(
    store: SqliteEventStore,
) -> None:
    assert store.append_batch([]) == []
    assert store.get_current_sequence() == 0


def test_a_batch_with_an_already_stored_event_id_stores_none_of_the_batch(
    store: SqliteEventStore,
) -> None:
    existing = store.append(make_event(0))
    fresh = make_events(2, start=1)
    duplicate = dataclasses.replace(make_event(9), event_id=existing.event_id)
    with pytest.raises(DuplicateEventError):
        store.append_batch([fresh[0], duplicate, fresh[1]])
    assert ids(store.get_events(EventQuery())) == [existing.event_id]


def test_a_batch_repeating_an_event_id_within_itself_stores_none_of_it(
    store: SqliteEventStore,
) -> None:
    event = make_event()
    with pytest.raises(DuplicateEventError):
        store.append_batch([event, make_event(1), event])
    assert store.count_events() == 0


def test_the_store_accepts_appends_after_a_rejected_batch(store: SqliteEventStore) -> None:
    event = store.append(make_event())
    with pytest.raises(DuplicateEventError):
        store.append(dataclasses.replace(event, sequence=0))
    assert store.append(make_event(1)).sequence == 2


# ---------------------------------------------------------------------------------------
# Joining the caller's transaction (connection=...)
# ---------------------------------------------------------------------------------------


@pytest.fixture
def caller_conn(file_store: SqliteEventStore, db_path: Path) -> Iterator[sqlite3.Connection]:
    """The caller's own connection to the store's file, with a transaction open."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("BEGIN")
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


def count_rows(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def test_events_appended_on_a_callers_connection_are_visible_inside_its_transaction(
    file_store: SqliteEventStore, caller_conn: sqlite3.Connection
) -> None:
    file_store.append_batch(make_events(2), connection=caller_conn)
    assert caller_conn.in_transaction
    assert count_rows(caller_conn) == 2
    assert file_store.count_events() == 0  # not committed yet: the caller commits


def test_the_callers_rollback_discards_the_appended_events(
    file_store: SqliteEventStore, caller_conn: sqlite3.Connection
) -> None:
    file_store.append_batch(make_events(2), connection=caller_conn)
    caller_conn.execute("ROLLBACK")
    assert count_rows(caller_conn) == 0
    assert file_store.count_events() == 0


def test_the_callers_commit_makes_the_appended_events_visible_to_the_store(
    file_store: SqliteEventStore, caller_conn: sqlite3.Connection
) -> None:
    stored = file_store.append_batch(make_events(2), connection=caller_conn)
    caller_conn.execute("COMMIT")
    read = list(file_store.get_events(EventQuery()))
    assert [(e.event_id, e.sequence) for e in read] == [(e.event_id, e.sequence) for e in stored]
    assert seqs(stored) == [1, 2]


def test_a_rejected_batch_on_a_callers_connection_undoes_only_that_batch(
    file_store: SqliteEventStore, caller_conn: sqlite3.Connection
) -> None:
    kept = file_store.append_batch(make_events(2), connection=caller_conn)
    with pytest.raises(DuplicateEventError):
        file_store.append_batch([make_event(5), kept[0]], connection=caller_conn)
    assert caller_conn.in_transaction
    caller_conn.execute("COMMIT")
    assert ids(file_store.get_events(EventQuery())) == ids(kept)


# ---------------------------------------------------------------------------------------
# Concurrent appends
# ---------------------------------------------------------------------------------------


def batch_appender(
    target: SqliteEventStore, tag: str, batches: int, size: int, out: dict[str, int]
) -> Callable[[], None]:
    """A worker appending ``batches`` batches; records event_id -> returned sequence."""

    def work() -> None:
        for b in range(batches):
            batch = make_events(size, workflow_id=f"{tag}-{b}", entity_id=f"{tag}-{b}")
            stored = target.append_batch(batch)
            assert seqs(stored) == list(range(stored[0].sequence, stored[0].sequence + size))
            out.update((e.event_id, e.sequence) for e in stored)

    return work


def assert_exact_history(reader: SqliteEventStore, returned: dict[str, int], total: int) -> None:
    assert len(returned) == total
    assert sorted(returned.values()) == list(range(1, total + 1))
    stored = {e.event_id: e.sequence for e in reader.get_events(EventQuery(limit=UNLIMITED))}
    assert stored == returned
    assert reader.count_events() == total
    assert reader.get_current_sequence() == total


def test_many_threads_appending_at_once_get_unique_consecutive_sequences(
    store: SqliteEventStore,
) -> None:
    returned: dict[str, int] = {}
    workers = [batch_appender(store, f"t{i}", 50, 10, returned) for i in range(8)]
    assert run_threads(workers) == []
    assert_exact_history(store, returned, 8 * 50 * 10)


def test_two_store_instances_on_one_file_append_from_threads_at_once(db_path: Path) -> None:
    returned: dict[str, int] = {}
    with SqliteEventStore(str(db_path)) as first, SqliteEventStore(str(db_path)) as second:
        workers = [
            batch_appender(target, f"{name}{i}", 25, 10, returned)
            for name, target in (("a", first), ("b", second))
            for i in range(4)
        ]
        assert run_threads(workers) == []
        assert_exact_history(second, returned, 2 * 4 * 25 * 10)


def test_a_commit_refused_as_busy_leaves_the_store_usable(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection_module, "BUSY_TIMEOUT_SECONDS", 0.05)
    with SqliteEventStore(str(db_path)) as writer:
        writer.append(make_event(0))
        reader = sqlite3.connect(db_path, isolation_level=None, timeout=0)
        reader.execute("BEGIN")
        reader.execute("SELECT * FROM events").fetchall()  # holds a read lock
        with pytest.raises(StoreBusyError):
            writer.append(make_event(1))
        reader.execute("COMMIT")
        reader.close()
        assert writer.append(make_event(2)).sequence == 2
        assert [e.data["n"] for e in writer.get_events(EventQuery())] == [0, 2]


# ---------------------------------------------------------------------------------------
# Querying: filters
# ---------------------------------------------------------------------------------------


@pytest.fixture
def history(store: SqliteEventStore) -> list[Event]:
    return interleaved_histories(store)


def query_ids(store: SqliteEventStore, **fields: Any) -> list[str]:
    return ids(store.get_events(EventQuery(**fields)))


def test_no_filter_returns_every_event_in_sequence_order(
    store: SqliteEventStore, history: list[Event]
) -> None:
    assert query_ids(store) == ids(history)


def test_entity_type_filter_returns_only_that_kind_of_entity(
    store: SqliteEventStore, history: list[Event]
) -> None:
    expected = [e for e in history if e.entity_type is EntityType.TASK]
    assert query_ids(store, entity_type=EntityType.TASK) == ids(expected)


def test_entity_id_filter_returns_only_that_entitys_events(
    store: SqliteEventStore, history: list[Event]
) -> None:
    expected = [e for e in history if e.entity_id == "wf-b-stage"]
    assert len(expected) == 2
    assert query_ids(store, entity_id="wf-b-stage") == ids(expected)


def test_workflow_id_filter_returns_only_that_workflows_events(
    store: SqliteEventStore, history: list[Event]
) -> None:
    expected = [e for e in history if e.workflow_id == "wf-a"]
    assert len(expected) == 7
    assert query_ids(store, workflow_id="wf-a") == ids(expected)


def test_one_event_type_returns_only_events_of_that_type(
    store: SqliteEventStore, history: list[Event]
) -> None:
    expected = [e for e in history if e.event_type is EventType.TASK_RETRIED]
    assert query_ids(store, event_types=[EventType.TASK_RETRIED]) == ids(expected)


def test_several_event_types_return_events_of_any_of_them(
    store: SqliteEventStore, history: list[Event]
) -> None:
    wanted = {EventType.STAGE_STARTED, EventType.WORKFLOW_COMPLETED}
    expected = [e for e in history if e.event_type in wanted]
    assert len(expected) == 4
    assert query_ids(store, event_types=sorted(wanted)) == ids(expected)


def test_an_empty_event_type_list_returns_nothing(
    store: SqliteEventStore, history: list[Event]
) -> None:
    assert query_ids(store, event_types=[]) == []


def test_from_sequence_is_exclusive_and_to_sequence_inclusive_as_in_the_engine(
    store: SqliteEventStore, history: list[Event]
) -> None:
    assert query_ids(store, from_sequence=4, to_sequence=6) == ids(history[4:6])
    assert store.count_events(EventQuery(from_sequence=4, to_sequence=6)) == 2


def test_timestamp_bounds_are_inclusive(store: SqliteEventStore, history: list[Event]) -> None:
    found = query_ids(store, from_timestamp=history[2].timestamp, to_timestamp=history[5].timestamp)
    assert found == ids(history[2:6])


def test_filters_combine_with_and(store: SqliteEventStore, history: list[Event]) -> None:
    expected = [
        e
        for e in history
        if e.entity_type is EntityType.TASK and e.workflow_id == "wf-b" and e.sequence > 6
    ]
    assert len(expected) == 2
    found = query_ids(store, entity_type=EntityType.TASK, workflow_id="wf-b", from_sequence=6)
    assert found == ids(expected)


MIXED_OFFSET_ROWS = {
    # name: (stored text, the instant it means)
    "early-text-late-instant": ("2025-12-31T23:10:00-01:00", "2026-01-01T00:10:00+00:00"),
    "lower-bound": ("2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00+00:00"),
    "late-text-early-instant": ("2026-01-01T00:20:00+01:00", "2025-12-31T23:20:00+00:00"),
    "upper-bound-with-z": ("2026-01-01T00:30:00Z", "2026-01-01T00:30:00+00:00"),
    "just-past-upper": ("2026-01-01T00:30:00.000001+00:00", "2026-01-01T00:30:00.000001+00:00"),
}
MIXED_FROM = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
MIXED_TO = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)


@pytest.fixture
def mixed_offsets(store: SqliteEventStore) -> dict[str, int]:
    """Rows written by raw SQL with differing offsets and a trailing Z; name -> sequence."""
    return {
        name: insert_raw(store, timestamp=text, entity_id=name)
        for name, (text, _instant) in MIXED_OFFSET_ROWS.items()
    }


def test_timestamps_with_mixed_offsets_read_back_as_the_instants_they_mean(
    store: SqliteEventStore, mixed_offsets: dict[str, int]
) -> None:
    read = {e.entity_id: e.timestamp for e in store.get_events(EventQuery())}
    assert read == {
        name: datetime.fromisoformat(instant) for name, (_t, instant) in MIXED_OFFSET_ROWS.items()
    }


def test_timestamp_bounds_compare_instants_not_strings(
    store: SqliteEventStore, mixed_offsets: dict[str, int]
) -> None:
    found = store.get_events(EventQuery(from_timestamp=MIXED_FROM, to_timestamp=MIXED_TO))
    assert [e.entity_id for e in found] == [
        "early-text-late-instant",
        "lower-bound",
        "upper-bound-with-z",
    ]


def test_a_bound_given_in_another_offset_means_the_same_instant(
    store: SqliteEventStore, mixed_offsets: dict[str, int]
) -> None:
    plus_two = timezone(timedelta(hours=2))
    found = store.get_events(
        EventQuery(
            from_timestamp=MIXED_FROM.astimezone(plus_two),
            to_timestamp=MIXED_TO.astimezone(plus_two),
        )
    )
    assert len(list(found)) == 3


def test_ordering_by_timestamp_compares_instants_not_strings(
    store: SqliteEventStore, mixed_offsets: dict[str, int]
) -> None:
    found = store.get_events(EventQuery(order_by="timestamp"))
    assert [e.entity_id for e in found] == [
        "late-text-early-instant",
        "lower-bound",
        "early-text-late-instant",
        "upper-bound-with-z",
        "just-past-upper",
    ]


# ---------------------------------------------------------------------------------------
# Querying: order, limit, offset, pages
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("ascending", [True, False], ids=["ascending", "descending"])
@pytest.mark.parametrize("order_by", sorted(ORDER_KEYS))
def test_order_by_sorts_on_that_column_with_sequence_breaking_ties(
    store: SqliteEventStore, order_by: str, ascending: bool
) -> None:
    stored = store.append_batch(shuffled_events(30))
    found = store.get_events(EventQuery(order_by=order_by, ascending=ascending))
    assert ids(found) == ids(expected_order(stored, order_by, ascending))


@pytest.mark.parametrize("ascending", [True, False], ids=["ascending", "descending"])
def test_ordering_by_timestamp_separates_events_less_than_a_millisecond_apart(
    store: SqliteEventStore, ascending: bool
) -> None:
    later = store.append(make_event(timestamp=T0.replace(microsecond=400)))
    earlier = store.append(make_event(timestamp=T0.replace(microsecond=100)))
    expected = [earlier, later] if ascending else [later, earlier]
    found = store.get_events(EventQuery(order_by="timestamp", ascending=ascending))
    assert ids(found) == ids(expected)


def test_limit_returns_the_first_events(store: SqliteEventStore) -> None:
    stored = store.append_batch(make_events(10))
    assert query_ids(store, limit=3) == ids(stored[:3])


def test_limit_zero_returns_nothing(store: SqliteEventStore) -> None:
    store.append_batch(make_events(3))
    assert query_ids(store, limit=0) == []


def test_offset_skips_the_first_events(store: SqliteEventStore) -> None:
    stored = store.append_batch(make_events(10))
    assert query_ids(store, offset=7) == ids(stored[7:])


def test_limit_and_offset_apply_after_the_filters(store: SqliteEventStore) -> None:
    stored = store.append_batch(make_events(6, workflow_id="a") + make_events(6, workflow_id="b"))
    assert query_ids(store, workflow_id="b", offset=2, limit=3) == ids(stored[8:11])


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("limit", -1, "limit"),
        ("offset", -1, "offset"),
        ("order_by", "priority", "cannot order by"),
        ("order_by", "sequence; DROP TABLE events", "cannot order by"),
    ],
)
def test_invalid_query_values_raise_value_error(
    store: SqliteEventStore, field: str, value: Any, message: str
) -> None:
    store.append(make_event())
    with pytest.raises(ValueError, match=message):
        list(store.get_events(EventQuery(**{field: value})))
    assert store.count_events() == 1


@pytest.mark.parametrize(("limit", "offset"), [(10, 13), (20, 40), (100, 0), (3, 60)])
@pytest.mark.parametrize("ascending", [True, False], ids=["ascending", "descending"])
@pytest.mark.parametrize("order_by", sorted(ORDER_KEYS))
def test_limit_and_offset_across_internal_pages_give_exactly_that_slice(
    store: SqliteEventStore,
    small_pages: int,
    order_by: str,
    ascending: bool,
    limit: int,
    offset: int,
) -> None:
    stored = store.append_batch(shuffled_events(50))
    query = EventQuery(order_by=order_by, ascending=ascending, limit=limit, offset=offset)
    expected = expected_order(stored, order_by, ascending)[offset : offset + limit]
    assert ids(store.get_events(query)) == ids(expected)


@pytest.mark.parametrize("ascending", [True, False], ids=["ascending", "descending"])
@pytest.mark.parametrize("order_by", sorted(ORDER_KEYS))
def test_limit_and_offset_across_pages_count_only_events_inside_the_time_window(
    store: SqliteEventStore, small_pages: int, order_by: str, ascending: bool
) -> None:
    stored = store.append_batch(shuffled_events(60))
    low, high = T0 + timedelta(seconds=10), T0 + timedelta(seconds=49)
    inside = [e for e in stored if low <= e.timestamp <= high]
    query = EventQuery(
        from_timestamp=low,
        to_timestamp=high,
        order_by=order_by,
        ascending=ascending,
        limit=15,
        offset=9,
    )
    expected = expected_order(inside, order_by, ascending)[9:24]
    assert ids(store.get_events(query)) == ids(expected)


@pytest.fixture
def large(store: SqliteEventStore) -> list[Event]:
    """2,500 events: more than two pages of the real PAGE_SIZE."""
    assert sqlite_module.PAGE_SIZE < 2500 // 2
    return store.append_batch(make_events(2500))


def test_the_default_query_returns_at_most_1000_events(
    store: SqliteEventStore, large: list[Event]
) -> None:
    assert seqs(store.get_events(EventQuery())) == list(range(1, 1001))


def test_limit_and_offset_across_real_pages_give_exactly_that_slice(
    store: SqliteEventStore, large: list[Event]
) -> None:
    found = store.get_events(EventQuery(limit=1500, offset=700))
    assert seqs(found) == list(range(701, 2201))


def test_descending_limit_and_offset_across_real_pages_give_exactly_that_slice(
    store: SqliteEventStore, large: list[Event]
) -> None:
    found = store.get_events(EventQuery(limit=1200, offset=1100, ascending=False))
    assert seqs(found) == list(range(1400, 200, -1))


def test_get_events_for_workflow_is_not_capped_by_the_default_limit(
    store: SqliteEventStore, large: list[Event]
) -> None:
    assert seqs(store.get_events_for_workflow("wf-1")) == list(range(1, 2501))


def test_get_events_since_uses_a_default_limit_of_1000(
    store: SqliteEventStore, large: list[Event]
) -> None:
    assert seqs(store.get_events_since(100)) == list(range(101, 1101))


# ---------------------------------------------------------------------------------------
# Streaming
# ---------------------------------------------------------------------------------------


@pytest.fixture
def ten_row_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_module, "PAGE_SIZE", 10)


def test_get_events_returns_an_iterator_not_a_list(store: SqliteEventStore) -> None:
    store.append_batch(make_events(3))
    result = store.get_events(EventQuery())
    assert isinstance(result, Iterator)
    assert not isinstance(result, list | tuple)


@pytest.mark.parametrize("order_by", ["sequence", "timestamp"])
def test_taking_the_first_events_does_not_decode_the_rest(
    store: SqliteEventStore, ten_row_pages: None, order_by: str
) -> None:
    store.append_batch(make_events(49))
    bad = insert_raw(store, data="{broken", timestamp=(T0 + timedelta(seconds=49)).isoformat())
    store.append_batch(make_events(50, start=50))
    assert bad == 50
    first = list(itertools.islice(store.get_events(EventQuery(order_by=order_by)), 5))
    assert seqs(first) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("order_by", sorted(ORDER_KEYS))
def test_appending_from_the_same_thread_while_iterating_does_not_break_the_iteration(
    file_store: SqliteEventStore, ten_row_pages: None, order_by: str
) -> None:
    file_store.append_batch(make_events(100))
    iterator = file_store.get_events(EventQuery(order_by=order_by))
    first = list(itertools.islice(iterator, 5))
    file_store.append(make_event(100))
    seen = seqs(first + list(iterator))
    assert len(seen) == len(set(seen))
    assert set(range(1, 101)) <= set(seen) <= set(range(1, 102))
    assert file_store.count_events() == 101


def test_iterating_in_sequence_order_does_not_block_another_writer(
    db_path: Path, ten_row_pages: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection_module, "BUSY_TIMEOUT_SECONDS", 0.2)
    with SqliteEventStore(str(db_path)) as reader, SqliteEventStore(str(db_path)) as writer:
        writer.append_batch(make_events(100))
        iterator = reader.get_events(EventQuery())
        next(iterator)
        assert writer.append(make_event(100)).sequence == 101
        assert len(list(iterator)) == 99  # the stream ends at the head its first page saw


# ---------------------------------------------------------------------------------------
# Reading helpers
# ---------------------------------------------------------------------------------------


def test_get_events_for_entity_returns_that_entitys_events_in_sequence_order(
    store: SqliteEventStore, history: list[Event]
) -> None:
    expected = [e for e in history if e.entity_id == "wf-a-task"]
    assert len(expected) == 3
    assert ids(store.get_events_for_entity(EntityType.TASK, "wf-a-task")) == ids(expected)


def test_get_events_for_entity_returns_only_versions_above_from_version(
    store: SqliteEventStore, history: list[Event]
) -> None:
    expected = [e for e in history if e.entity_id == "wf-a-task" and e.version > 1]
    assert len(expected) == 1
    found = store.get_events_for_entity(EntityType.TASK, "wf-a-task", from_version=1)
    assert ids(found) == ids(expected)


def test_get_events_for_entity_does_not_mix_entity_types_sharing_an_id(
    store: SqliteEventStore,
) -> None:
    stage = store.append(make_event(entity_type=EntityType.STAGE, entity_id="shared"))
    store.append(make_event(entity_type=EntityType.TASK, entity_id="shared"))
    assert ids(store.get_events_for_entity(EntityType.STAGE, "shared")) == [stage.event_id]


def test_get_events_for_workflow_returns_its_events_after_from_sequence(
    store: SqliteEventStore, history: list[Event]
) -> None:
    expected = [e for e in history if e.workflow_id == "wf-b" and e.sequence > 6]
    assert ids(store.get_events_for_workflow("wf-b", from_sequence=6)) == ids(expected)


def test_get_events_since_returns_at_most_limit_events_after_the_sequence(
    store: SqliteEventStore, history: list[Event]
) -> None:
    assert ids(store.get_events_since(3, limit=4)) == ids(history[3:7])


def test_get_current_sequence_is_zero_for_an_empty_store(store: SqliteEventStore) -> None:
    assert store.get_current_sequence() == 0


def test_get_current_sequence_is_the_highest_sequence(
    store: SqliteEventStore, history: list[Event]
) -> None:
    assert store.get_current_sequence() == len(history) == 14


def test_get_event_by_id_returns_that_event(store: SqliteEventStore, history: list[Event]) -> None:
    assert store.get_event_by_id(history[4].event_id) == history[4]


def test_get_event_by_id_returns_none_when_missing(
    store: SqliteEventStore, history: list[Event]
) -> None:
    assert store.get_event_by_id(new_event_id()) is None


def test_count_events_without_a_query_counts_everything(
    store: SqliteEventStore, history: list[Event]
) -> None:
    assert store.count_events() == 14


def test_count_events_ignores_limit_and_offset(
    store: SqliteEventStore, history: list[Event]
) -> None:
    assert store.count_events(EventQuery(limit=2, offset=5)) == 14


def test_count_events_honours_the_filters(store: SqliteEventStore, history: list[Event]) -> None:
    query = EventQuery(workflow_id="wf-a", entity_type=EntityType.TASK)
    assert store.count_events(query) == 3


def test_count_events_honours_timestamp_bounds_as_instants(
    store: SqliteEventStore, mixed_offsets: dict[str, int]
) -> None:
    query = EventQuery(from_timestamp=MIXED_FROM, to_timestamp=MIXED_TO, limit=1)
    assert store.count_events(query) == 3


# ---------------------------------------------------------------------------------------
# Event types this library does not know
# ---------------------------------------------------------------------------------------


def test_an_unknown_event_type_reads_back_as_unknown_keeping_the_raw_type(
    store: SqliteEventStore,
) -> None:
    sequence = insert_raw(store, event_type="custom.thing", data='{"k": 1}')
    event = store.get_events_for_workflow("wf-raw")[0]
    assert event.sequence == sequence
    assert event.event_type is EventType.UNKNOWN
    assert event.data == {"k": 1, RAW_EVENT_TYPE_KEY: "custom.thing"}
    assert event.type_name == "custom.thing"


def test_re_appending_an_unknown_event_stores_its_raw_type_and_no_marker_key(
    store: SqliteEventStore,
) -> None:
    insert_raw(store, event_type="custom.thing", data='{"k": 1}')
    read = store.get_events_for_workflow("wf-raw")[0]
    copy = store.append(dataclasses.replace(read, event_id=new_event_id(), sequence=0))
    row = raw_row(store, copy.sequence)
    assert row["event_type"] == "custom.thing"
    assert json.loads(row["data"]) == {"k": 1}


def test_an_unknown_event_survives_a_second_round_trip(store: SqliteEventStore) -> None:
    insert_raw(store, event_type="custom.thing", data='{"k": 1}')
    read = store.get_events_for_workflow("wf-raw")[0]
    copy = store.append(dataclasses.replace(read, event_id=new_event_id(), sequence=0))
    again = store.get_event_by_id(copy.event_id)
    assert again is not None
    assert again.type_name == "custom.thing"
    assert again.data == read.data


# ---------------------------------------------------------------------------------------
# Rows that cannot be decoded
# ---------------------------------------------------------------------------------------

READERS: dict[str, Callable[[SqliteEventStore], object]] = {
    "get_events": lambda s: list(s.get_events(EventQuery())),
    "get_events-by-timestamp": lambda s: list(s.get_events(EventQuery(order_by="timestamp"))),
    "get_events-in-a-time-window": lambda s: list(
        s.get_events(EventQuery(from_timestamp=T0 - timedelta(days=30)))
    ),
    "get_events_for_workflow": lambda s: s.get_events_for_workflow("wf-raw"),
    "get_event_by_id": lambda s: s.get_event_by_id("BAD-ROW"),
    "count_events-in-a-time-window": lambda s: s.count_events(
        EventQuery(from_timestamp=T0 - timedelta(days=30))
    ),
}


def store_with_bad_row(store: SqliteEventStore, **raw: Any) -> int:
    """Two good events, then one bad row (so its sequence is 3); returns that sequence."""
    store.append_batch(make_events(2, workflow_id="wf-raw", entity_id="wf-raw"))
    return insert_raw(store, event_id="BAD-ROW", **raw)


@pytest.mark.parametrize("read", READERS.values(), ids=READERS.keys())
@pytest.mark.parametrize("data", ["{not json", "[1, 2]"])
def test_a_row_with_invalid_json_data_raises_naming_its_sequence(
    store: SqliteEventStore, read: Callable[[SqliteEventStore], object], data: str
) -> None:
    sequence = store_with_bad_row(store, data=data)
    with pytest.raises(EventDecodeError, match=f"event {sequence}:") as caught:
        read(store)
    assert caught.value.sequence == sequence
    assert caught.value.column == "data"


@pytest.mark.parametrize("read", READERS.values(), ids=READERS.keys())
@pytest.mark.parametrize("timestamp", ["yesterday", "2026-13-45T99:00:00+00:00"])
def test_a_row_with_an_unparseable_timestamp_raises_naming_its_sequence(
    store: SqliteEventStore, read: Callable[[SqliteEventStore], object], timestamp: str
) -> None:
    sequence = store_with_bad_row(store, timestamp=timestamp)
    with pytest.raises(EventDecodeError, match=f"event {sequence}:") as caught:
        read(store)
    assert caught.value.sequence == sequence
    assert caught.value.column == "timestamp"


# ---------------------------------------------------------------------------------------
# Round trip and the engine's on-disk format
# ---------------------------------------------------------------------------------------

TIMESTAMPS = {
    "microseconds": (T0, "2026-11-28T14:40:58.128463+00:00"),
    "whole-second": (T0.replace(microsecond=0), "2026-11-28T14:40:58+00:00"),
    "other-offset": (
        T0.astimezone(timezone(timedelta(hours=5, minutes=30))),
        "2026-11-28T14:40:58.128463+00:00",
    ),
}


def full_event(timestamp: datetime = T0) -> Event:
    """An event with every field set to something other than its default."""
    return Event(
        event_id=new_event_id(),
        event_type=EventType.STAGE_FAILED,
        timestamp=timestamp,
        entity_type=EntityType.STAGE,
        entity_id="stage-1",
        workflow_id="wf-1",
        version=7,
        data={"error": "boom", "nested": {"list": [1, 2.5, None, True], "text": "ünï ✓"}},
        metadata=EventMetadata(
            correlation_id="corr-1",
            causation_id="cause-1",
            actor="alice",
            source_handler="CompleteStageHandler",
        ),
        schema_version=3,
    )


@pytest.mark.parametrize(("timestamp", "on_disk"), TIMESTAMPS.values(), ids=TIMESTAMPS.keys())
def test_every_field_survives_append_and_read(
    store: SqliteEventStore, timestamp: datetime, on_disk: str
) -> None:
    event = full_event(timestamp)
    store.append(event)
    [read] = store.get_events(EventQuery())
    assert read == event.with_sequence(1)
    assert read.timestamp.utcoffset() == timedelta(0)
    assert read.timestamp.microsecond == timestamp.microsecond


@pytest.mark.parametrize(("timestamp", "on_disk"), TIMESTAMPS.values(), ids=TIMESTAMPS.keys())
def test_the_stored_row_has_the_engines_format(
    file_store: SqliteEventStore, db_path: Path, timestamp: datetime, on_disk: str
) -> None:
    event = file_store.append(full_event(timestamp))
    columns = ", ".join(f"{c}, typeof({c})" for c in EVENT_COLUMNS)
    [values] = read_file_rows(db_path, f"SELECT {columns} FROM events")
    row = dict(zip(EVENT_COLUMNS, values[0::2], strict=True))
    types = dict(zip(EVENT_COLUMNS, values[1::2], strict=True))
    assert row == {
        "sequence": 1,
        "event_id": event.event_id,
        "event_type": "stage.failed",
        "timestamp": on_disk,
        "entity_type": "stage",
        "entity_id": "stage-1",
        "workflow_id": "wf-1",
        "version": 7,
        "data": json.dumps(event.data),
        "correlation_id": "corr-1",
        "causation_id": "cause-1",
        "actor": "alice",
        "source_handler": "CompleteStageHandler",
        "schema_version": 3,
    }
    integer_columns = {"sequence", "version", "schema_version"}
    assert types == {c: "integer" if c in integer_columns else "text" for c in EVENT_COLUMNS}


def test_an_event_without_correlation_id_is_stored_with_its_workflow_id(
    store: SqliteEventStore,
) -> None:
    stored = store.append(dataclasses.replace(full_event(), metadata=EventMetadata("")))
    assert raw_row(store, stored.sequence)["correlation_id"] == "wf-1"


def test_the_engines_events_written_by_us_give_identical_rows(
    engine_store: SqliteEventStore, db_path: Path
) -> None:
    events = list(engine_store.get_events(EventQuery(limit=UNLIMITED)))
    with SqliteEventStore(str(db_path)) as ours:
        ours.append_batch([dataclasses.replace(e, sequence=0) for e in events])
    assert read_file_rows(db_path) == read_file_rows(Path(engine_store.path))


# ---------------------------------------------------------------------------------------
# The database the real engine wrote
# ---------------------------------------------------------------------------------------


def test_the_engine_database_holds_189_events_numbered_1_to_189(
    engine_store: SqliteEventStore,
) -> None:
    assert seqs(engine_store.get_events(EventQuery(limit=UNLIMITED))) == list(range(1, 190))
    assert engine_store.count_events() == 189


def test_the_engine_databases_current_sequence_is_189(engine_store: SqliteEventStore) -> None:
    assert engine_store.get_current_sequence() == 189


def test_the_engine_database_holds_14_workflows(engine_store: SqliteEventStore) -> None:
    events = engine_store.get_events(EventQuery(limit=UNLIMITED))
    assert len({e.workflow_id for e in events}) == 14


def test_every_engine_workflow_reads_back_whole_by_workflow_id(
    engine_store: SqliteEventStore,
) -> None:
    events = list(engine_store.get_events(EventQuery(limit=UNLIMITED)))
    by_workflow = {e.workflow_id for e in events}
    rebuilt = [e for w in sorted(by_workflow) for e in engine_store.get_events_for_workflow(w)]
    assert sorted(seqs(rebuilt)) == list(range(1, 190))
