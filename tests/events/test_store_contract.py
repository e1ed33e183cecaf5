"""The store contract, written once and run unchanged on both backends.

``store`` is an SQLite file store or a PostgreSQL store on a fresh database (skipped in
one line without a server, failed under CI=true). Whatever differs between the two is
the backend's business; what a caller sees must not.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stabilize_cli.events import (
    EntityType,
    Event,
    EventMetadata,
    EventType,
    PostgresEventStore,
    SqliteEventStore,
    SubscriptionManager,
)
from stabilize_cli.events.base import RAW_EVENT_TYPE_KEY
from stabilize_cli.events.errors import DuplicateEventError, StoreError
from stabilize_cli.events.store import UNLIMITED, EventQuery

from ..postgres_support import fresh_database, settle

T0 = datetime(2026, 11, 28, 14, 40, 58, 128463, tzinfo=UTC)
TYPES = (
    EventType.WORKFLOW_STARTED,
    EventType.STAGE_STARTED,
    EventType.TASK_STARTED,
    EventType.TASK_COMPLETED,
    EventType.STAGE_COMPLETED,
)
ENTITIES = (EntityType.WORKFLOW, EntityType.STAGE, EntityType.TASK)
Store = SqliteEventStore | PostgresEventStore
Opener = Callable[..., Store]


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the same database again (``read_only=...`` for an audit's view of it)."""
    opened: list[Store] = []
    if request.param == "sqlite":
        path = str(tmp_path / "events.db")

        def open_sqlite(*, read_only: bool = False, create: bool = True) -> Store:
            store = SqliteEventStore(
                path, create_tables=create and not read_only, read_only=read_only
            )
            opened.append(store)
            return store

        yield open_sqlite
    else:
        with fresh_database() as url:

            def open_pg(*, read_only: bool = False, create: bool = True) -> Store:
                store = PostgresEventStore(
                    url, create_tables=create and not read_only, read_only=read_only
                )
                opened.append(store)
                return store

            yield open_pg
            for store in opened:
                store.close()
            return
    for store in opened:
        store.close()


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener()


def make_event(n: int, **overrides: Any) -> Event:
    workflow = f"wf-{n % 3}"
    entity_type = ENTITIES[n % 3]
    fields: dict[str, Any] = {
        "event_type": TYPES[n % len(TYPES)],
        "timestamp": T0 + timedelta(seconds=(n * 7) % 23),
        "entity_type": entity_type,
        "entity_id": f"{entity_type.value}-{n % 4}",
        "workflow_id": workflow,
        "version": n % 5,
        "data": {"n": n, "nested": {"z": [1, 2.5, None, True], "a": "ü✓"}, "big": 2**70},
        "metadata": EventMetadata(correlation_id=workflow, causation_id=None, actor="tester"),
    }
    fields.update(overrides)
    return Event(**fields)


def as_dicts(events: list[Event]) -> list[dict[str, Any]]:
    return [e.to_dict() for e in events]


# -- appending and reading back ---------------------------------------------------------


def test_append_assigns_increasing_sequences_and_reads_back_equal(store: Store) -> None:
    written = store.append_batch([make_event(i) for i in range(30)])
    sequences = [e.sequence for e in written]
    assert sequences == sorted(sequences)
    assert len(set(sequences)) == 30
    assert all(s > 0 for s in sequences)
    single = store.append(make_event(99))
    assert single.sequence > sequences[-1]
    read = list(store.get_events(EventQuery(limit=UNLIMITED)))
    assert as_dicts(read) == as_dicts([*written, single])
    assert store.get_current_sequence() == single.sequence
    assert all(e.timestamp.tzinfo is UTC for e in read)


def test_a_batch_with_a_duplicate_writes_nothing(store: Store) -> None:
    first = store.append(make_event(0))
    with pytest.raises(DuplicateEventError):
        store.append_batch([make_event(1), dataclasses.replace(first, sequence=0)])
    assert store.count_events() == 1


def test_unknown_event_types_round_trip_verbatim(store: Store) -> None:
    odd = Event(
        event_type=EventType.UNKNOWN,
        data={RAW_EVENT_TYPE_KEY: "engine.future_thing", "x": 1},
        workflow_id="wf",
        entity_id="wf",
        metadata=EventMetadata(correlation_id="wf"),
    )
    store.append(odd)
    (back,) = store.get_events(EventQuery())
    assert back.type_name == "engine.future_thing"
    assert back.data == {"x": 1, RAW_EVENT_TYPE_KEY: "engine.future_thing"}


def test_timestamps_in_other_offsets_are_stored_as_the_same_instant(store: Store) -> None:
    zone = timezone(timedelta(hours=-5, minutes=-30))
    store.append(make_event(0, timestamp=datetime(2026, 1, 1, 3, 0, tzinfo=zone)))
    (back,) = store.get_events(EventQuery())
    assert back.timestamp == datetime(2026, 1, 1, 8, 30, tzinfo=UTC)


def test_helpers_agree_with_a_filtered_full_read(store: Store) -> None:
    written = store.append_batch([make_event(i) for i in range(40)])
    by_seq = {e.sequence: e for e in written}
    assert as_dicts(store.get_events_for_workflow("wf-1")) == as_dicts(
        [e for e in written if e.workflow_id == "wf-1"]
    )
    assert as_dicts(store.get_events_for_workflow("wf-1", from_sequence=written[10].sequence)) == (
        as_dicts(
            [e for e in written if e.workflow_id == "wf-1" and e.sequence > written[10].sequence]
        )
    )
    assert as_dicts(store.get_events_for_entity(EntityType.STAGE, "stage-1", from_version=2)) == (
        as_dicts(
            [
                e
                for e in written
                if e.entity_id == "stage-1" and e.entity_type is EntityType.STAGE and e.version > 2
            ]
        )
    )
    since = store.get_events_since(written[4].sequence, limit=7)
    assert [e.sequence for e in since] == [e.sequence for e in written[5:12]]
    target = written[17]
    found = store.get_event_by_id(target.event_id)
    assert found is not None
    assert found.to_dict() == by_seq[target.sequence].to_dict()
    assert store.get_event_by_id("01NOSUCHEVENT0000000000000") is None


# -- queries: every filter and order, against the same filter done in Python -----------

ORDER_KEYS: dict[str, Callable[[Event], Any]] = {
    "sequence": lambda e: e.sequence,
    "timestamp": lambda e: (e.timestamp, e.sequence),
    "event_type": lambda e: (e.event_type.value, e.sequence),
    "entity_type": lambda e: (e.entity_type.value, e.sequence),
    "entity_id": lambda e: (e.entity_id, e.sequence),
    "workflow_id": lambda e: (e.workflow_id, e.sequence),
    "version": lambda e: (e.version, e.sequence),
}

queries = st.builds(
    EventQuery,
    entity_type=st.none() | st.sampled_from(ENTITIES),
    entity_id=st.none() | st.sampled_from(["stage-1", "task-2", "workflow-0", "none"]),
    workflow_id=st.none() | st.sampled_from(["wf-0", "wf-1", "wf-2"]),
    event_types=st.none() | st.lists(st.sampled_from(TYPES), max_size=3),
    from_sequence=st.none() | st.integers(-2, 50),
    to_sequence=st.none() | st.integers(-2, 50),
    from_timestamp=st.none() | st.integers(-2, 25).map(lambda s: T0 + timedelta(seconds=s)),
    to_timestamp=st.none() | st.integers(-2, 25).map(lambda s: T0 + timedelta(seconds=s)),
    limit=st.integers(0, 60),
    offset=st.integers(0, 50),
    order_by=st.sampled_from(sorted(ORDER_KEYS)),
    ascending=st.booleans(),
)


def expected(events: list[Event], query: EventQuery) -> list[Event]:
    def keep(e: Event) -> bool:
        return (
            (query.entity_type is None or e.entity_type is query.entity_type)
            and (query.entity_id is None or e.entity_id == query.entity_id)
            and (query.workflow_id is None or e.workflow_id == query.workflow_id)
            and (query.event_types is None or e.event_type in query.event_types)
            and (query.from_sequence is None or e.sequence > query.from_sequence)
            and (query.to_sequence is None or e.sequence <= query.to_sequence)
            and (query.from_timestamp is None or e.timestamp >= query.from_timestamp)
            and (query.to_timestamp is None or e.timestamp <= query.to_timestamp)
        )

    chosen = sorted(
        (e for e in events if keep(e)),
        key=ORDER_KEYS[query.order_by],
        reverse=not query.ascending,
    )
    return chosen[query.offset : query.offset + query.limit]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=queries)
def test_get_events_matches_the_same_query_done_in_python(
    filled: tuple[Store, list[Event]], query: EventQuery
) -> None:
    store, written = filled
    assert as_dicts(list(store.get_events(query))) == as_dicts(expected(written, query))
    counted = dataclasses.replace(query, limit=UNLIMITED, offset=0)
    assert store.count_events(query) == len(expected(written, counted))


@pytest.fixture
def filled(store: Store) -> tuple[Store, list[Event]]:
    return store, store.append_batch([make_event(i) for i in range(45)])


def test_streams_longer_than_a_page_are_complete(store: Store) -> None:
    written = store.append_batch([make_event(i) for i in range(2_345)])
    read = list(store.get_events(EventQuery(limit=UNLIMITED, offset=1_000)))
    assert [e.sequence for e in read] == [e.sequence for e in written[1_000:]]
    backwards = list(store.get_events(EventQuery(limit=1_500, ascending=False)))
    assert [e.sequence for e in backwards] == [e.sequence for e in reversed(written)][:1_500]


# -- side tables --------------------------------------------------------------------------


def test_snapshots_are_kept_newest_first_and_replaced_per_version(store: Store) -> None:
    store.save_snapshot(EntityType.WORKFLOW, "W1", "W1", 1, 5, {"b": 1, "a": [1, 2]})
    store.save_snapshot(EntityType.WORKFLOW, "W1", "W1", 2, 9, {"status": "RUNNING"})
    store.save_snapshot(EntityType.WORKFLOW, "W1", "W1", 2, 11, {"status": "SUCCEEDED"})
    store.save_snapshot(EntityType.WORKFLOW, "W2", "W2", 1, 3, {})
    latest = store.get_latest_snapshot(EntityType.WORKFLOW, "W1")
    assert latest is not None
    assert (latest["version"], latest["sequence"]) == (2, 11)
    assert latest["state"] == {"status": "SUCCEEDED"}
    assert "id" not in latest
    before = list(store.get_snapshots(EntityType.WORKFLOW, "W1", max_sequence=10))
    assert [(r["version"], r["sequence"]) for r in before] == [(1, 5)]
    assert [r["entity_id"] for r in store.list_snapshots()] == ["W1", "W1", "W2"]
    assert [r["sequence"] for r in store.list_snapshots("W1")] == [5, 11]
    assert all(isinstance(r["created_at"], str) for r in store.list_snapshots())


def test_subscription_rows_round_trip(store: Store) -> None:
    store.save_subscription("b", [EventType.TASK_FAILED], {"workflow_id": "W1"}, 7, None)
    store.save_subscription("a", None, None, 0, "https://example.com/hook")
    row = store.get_subscription("b")
    assert row is not None
    assert (row["event_types"], row["entity_filter"], row["last_sequence"]) == (
        ["task.failed"],
        {"workflow_id": "W1"},
        7,
    )
    assert [r["id"] for r in store.list_subscriptions()] == ["a", "b"]
    store.update_subscription_sequence("b", 12)
    assert store.get_subscription("b")["last_sequence"] == 12  # type: ignore[index]
    assert store.delete_subscription("b") is True
    assert store.delete_subscription("b") is False
    assert store.get_subscription("b") is None


# -- durable subscriptions ---------------------------------------------------------------


def test_a_subscription_delivers_every_event_once_across_restarts(store: Store) -> None:
    written = store.append_batch([make_event(i) for i in range(23)])
    seen: list[int] = []
    manager = SubscriptionManager(store, batch_size=5)
    manager.create_subscription("s", lambda e: seen.append(e.sequence), start_from="beginning")
    settle(store)
    manager.process_once()
    manager.process_once()
    later = store.append_batch([make_event(i) for i in range(100, 104)])
    restarted = SubscriptionManager(store, batch_size=5)
    assert restarted.load_subscription("s", lambda e: seen.append(e.sequence))
    settle(store)
    while restarted.process_once():
        pass
    assert seen == [e.sequence for e in [*written, *later]]


def test_latest_starts_at_the_head(store: Store) -> None:
    store.append_batch([make_event(i) for i in range(12)])
    seen: list[int] = []
    manager = SubscriptionManager(store, batch_size=100)
    manager.create_subscription("s", lambda e: seen.append(e.sequence), start_from="latest")
    settle(store)
    assert manager.process_once() == 0
    new = store.append_batch([make_event(i) for i in range(50, 53)])
    reloaded = SubscriptionManager(store, batch_size=100)
    assert reloaded.load_subscription("s", lambda e: seen.append(e.sequence))
    settle(store)
    reloaded.process_once()
    assert seen == [e.sequence for e in new]


# -- read-only ---------------------------------------------------------------------------


def test_a_read_only_store_reads_and_refuses_to_write(opener: Opener) -> None:
    writer = opener()
    written = writer.append_batch([make_event(i) for i in range(5)])
    writer.save_snapshot(EntityType.WORKFLOW, "W1", "W1", 1, 1, {"a": 1})
    reader = opener(read_only=True)
    assert as_dicts(list(reader.get_events(EventQuery()))) == as_dicts(written)
    assert len(reader.list_snapshots()) == 1
    with pytest.raises(StoreError):
        reader.append(make_event(9))
    with pytest.raises(StoreError):
        reader.save_snapshot(EntityType.WORKFLOW, "W1", "W1", 2, 2, {})
    assert writer.count_events() == 5
