"""Durable subscriptions against a real SQLite store on disk."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events.base import EntityType, Event, EventType
from stabilize_cli.events.errors import SubscriptionError
from stabilize_cli.events.store import SqliteEventStore
from stabilize_cli.events.subscriptions import DurableSubscription, SubscriptionManager


class FakeClock:
    """Monotonic time that only moves when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Recorder:
    """A handler that records the sequences it accepted and can fail on demand."""

    def __init__(self, fail_on: Callable[[Event], bool] | None = None) -> None:
        self.sequences: list[int] = []
        self.calls = 0
        self.fail_on = fail_on

    def __call__(self, event: Event) -> None:
        self.calls += 1
        if self.fail_on is not None and self.fail_on(event):
            raise RuntimeError(f"handler rejects event {event.sequence}")
        self.sequences.append(event.sequence)


def make_event(
    event_type: EventType = EventType.WORKFLOW_STARTED,
    entity_type: EntityType = EntityType.WORKFLOW,
    entity_id: str = "wf-1",
    workflow_id: str = "wf-1",
    **data: Any,
) -> Event:
    return Event(
        event_type=event_type,
        entity_type=entity_type,
        entity_id=entity_id,
        workflow_id=workflow_id,
        version=1,
        data=dict(data),
    )


def stage_event(stage_id: str = "st-1", workflow_id: str = "wf-1", **data: Any) -> Event:
    return make_event(EventType.STAGE_STARTED, EntityType.STAGE, stage_id, workflow_id, **data)


def append(
    store: SqliteEventStore, count: int, factory: Callable[[], Event] = make_event
) -> list[int]:
    return [e.sequence for e in store.append_batch([factory() for _ in range(count)])]


def persisted(store: SqliteEventStore, subscription_id: str) -> int:
    row = store.get_subscription(subscription_id)
    assert row is not None
    return int(row["last_sequence"])


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteEventStore]:
    s = SqliteEventStore(str(db_path))
    yield s
    s.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def manager(store: SqliteEventStore, clock: FakeClock) -> Iterator[SubscriptionManager]:
    m = SubscriptionManager(store, poll_interval=0.01, backoff_base=1.0, clock=clock)
    yield m
    m.stop()


# -- start_from ----------------------------------------------------------------------------


def test_start_from_latest_skips_existing_events_and_delivers_new_ones(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    append(store, 3)
    handler = Recorder()
    manager.create_subscription("sub", handler)
    assert persisted(store, "sub") == 3
    assert manager.process_once() == 0
    new = append(store, 2)
    assert manager.process_once() == 2
    assert handler.sequences == new == [4, 5]


def test_start_from_beginning_delivers_every_existing_event(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    existing = append(store, 3)
    handler = Recorder()
    manager.create_subscription("sub", handler, start_from="beginning")
    assert manager.process_once() == 3
    assert handler.sequences == existing


def test_start_from_a_sequence_string_delivers_the_events_after_it(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    append(store, 8)
    handler = Recorder()
    manager.create_subscription("sub", handler, start_from="5")
    manager.process_once()
    assert handler.sequences == [6, 7, 8]


@pytest.mark.parametrize("start_from", ["abc", "", " ", "1.5", "0x10", "5e3", "\u0663", "Latest"])
def test_start_from_that_is_not_a_sequence_is_refused_and_nothing_is_saved(
    store: SqliteEventStore, manager: SubscriptionManager, start_from: str
) -> None:
    with pytest.raises(ValueError, match="start_from must be 'latest', 'beginning' or a sequence"):
        manager.create_subscription("sub", Recorder(), start_from=start_from)
    assert store.get_subscription("sub") is None
    assert manager.get_subscription_status("sub") is None


def test_start_from_a_negative_sequence_is_refused(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        manager.create_subscription("sub", Recorder(), start_from="-1")
    assert store.get_subscription("sub") is None


# -- matching --------------------------------------------------------------------------------


def test_event_types_filter_delivers_only_those_types(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    seqs = [e.sequence for e in store.append_batch([make_event(), stage_event(), make_event()])]
    handler = Recorder()
    manager.create_subscription(
        "sub", handler, event_types=[EventType.STAGE_STARTED], start_from="beginning"
    )
    assert manager.process_once() == 1
    assert handler.sequences == [seqs[1]]


def test_an_empty_event_types_list_matches_nothing_as_in_the_engine() -> None:
    sub = DurableSubscription(id="s", handler=Recorder(), event_types=[])
    assert not sub.matches(make_event())


def test_no_event_types_matches_every_type() -> None:
    sub = DurableSubscription(id="s", handler=Recorder())
    assert sub.matches(make_event())
    assert sub.matches(stage_event())


@pytest.mark.parametrize("expected", ["stage", EntityType.STAGE])
def test_entity_type_filter_accepts_the_enum_or_its_string(expected: object) -> None:
    sub = DurableSubscription(id="s", handler=Recorder(), entity_filter={"entity_type": expected})
    assert sub.matches(stage_event())
    assert not sub.matches(make_event())


def test_entity_id_and_workflow_id_filters_compare_with_the_event() -> None:
    sub = DurableSubscription(
        id="s", handler=Recorder(), entity_filter={"entity_id": "st-2", "workflow_id": "wf-9"}
    )
    assert sub.matches(stage_event("st-2", "wf-9"))
    assert not sub.matches(stage_event("st-2", "wf-1"))
    assert not sub.matches(stage_event("st-1", "wf-9"))


def test_any_other_filter_key_compares_with_the_event_data() -> None:
    sub = DurableSubscription(id="s", handler=Recorder(), entity_filter={"ref_id": "deploy"})
    assert sub.matches(stage_event(ref_id="deploy"))
    assert not sub.matches(stage_event(ref_id="build"))
    assert not sub.matches(stage_event())


def test_data_filter_compares_values_by_equality_not_as_strings() -> None:
    sub = DurableSubscription(id="s", handler=Recorder(), entity_filter={"task_count": 2})
    assert sub.matches(stage_event(task_count=2))
    assert not sub.matches(stage_event(task_count="2"))


def test_event_types_and_entity_filter_must_both_match() -> None:
    sub = DurableSubscription(
        id="s",
        handler=Recorder(),
        event_types=[EventType.STAGE_STARTED],
        entity_filter={"workflow_id": "wf-1"},
    )
    assert sub.matches(stage_event(workflow_id="wf-1"))
    assert not sub.matches(stage_event(workflow_id="wf-2"))
    assert not sub.matches(make_event(workflow_id="wf-1"))


def test_entity_filter_is_applied_by_the_manager(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    events = store.append_batch([stage_event(workflow_id="wf-1"), stage_event(workflow_id="wf-2")])
    handler = Recorder()
    manager.create_subscription(
        "sub", handler, entity_filter={"workflow_id": "wf-2"}, start_from="beginning"
    )
    manager.process_once()
    assert handler.sequences == [events[1].sequence]


# -- positions -------------------------------------------------------------------------------


def test_process_once_persists_the_position_after_each_delivery(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    append(store, 4)
    seen: list[int] = []
    manager.create_subscription(
        "sub", lambda e: seen.append(persisted(store, "sub")), start_from="beginning"
    )
    manager.process_once()
    assert seen == [0, 1, 2, 3]
    assert persisted(store, "sub") == 4


def test_skipped_events_advance_the_persisted_position(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    store.append_batch([stage_event(), make_event(), make_event()])
    manager.create_subscription(
        "sub", Recorder(), event_types=[EventType.STAGE_STARTED], start_from="beginning"
    )
    manager.process_once()
    assert persisted(store, "sub") == 3


def test_persisted_position_never_passes_an_undelivered_matching_event(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    store.append_batch([make_event(), stage_event(), make_event()])
    handler = Recorder(fail_on=lambda e: True)
    manager.create_subscription(
        "sub", handler, event_types=[EventType.STAGE_STARTED], start_from="beginning"
    )
    assert manager.process_once() == 0
    assert persisted(store, "sub") == 1
    assert manager.get_subscription_status("sub")["last_sequence"] == 1  # type: ignore[index]


def test_a_batch_is_at_most_batch_size_events(store: SqliteEventStore, clock: FakeClock) -> None:
    append(store, 5)
    handler = Recorder()
    manager = SubscriptionManager(store, batch_size=2, clock=clock)
    manager.create_subscription("sub", handler, start_from="beginning")
    assert [manager.process_once() for _ in range(4)] == [2, 2, 1, 0]
    assert handler.sequences == [1, 2, 3, 4, 5]


# -- restarts ----------------------------------------------------------------------------------


def test_a_new_manager_on_the_same_file_resumes_after_the_last_delivered_event(
    db_path: Path, clock: FakeClock
) -> None:
    with SqliteEventStore(str(db_path)) as first_store:
        all_seqs = append(first_store, 10)
        first = Recorder()
        first_manager = SubscriptionManager(first_store, batch_size=4, clock=clock)
        first_manager.create_subscription("sub", first, start_from="beginning")
        first_manager.process_once()
    with SqliteEventStore(str(db_path)) as second_store:
        second = Recorder()
        second_manager = SubscriptionManager(second_store, batch_size=4, clock=clock)
        assert second_manager.load_subscription("sub", second)
        while second_manager.process_once():
            pass
    assert first.sequences == [1, 2, 3, 4]
    assert second.sequences == [5, 6, 7, 8, 9, 10]
    assert first.sequences + second.sequences == all_seqs


def test_a_handler_failing_mid_batch_then_a_restart_delivers_each_remaining_event_once(
    db_path: Path, clock: FakeClock
) -> None:
    with SqliteEventStore(str(db_path)) as first_store:
        all_seqs = append(first_store, 10)
        first = Recorder(fail_on=lambda e: e.sequence == 4)
        first_manager = SubscriptionManager(first_store, clock=clock)
        first_manager.create_subscription("sub", first, start_from="beginning")
        first_manager.process_once()
    with SqliteEventStore(str(db_path)) as second_store:
        second = Recorder()
        second_manager = SubscriptionManager(second_store, clock=clock)
        assert second_manager.load_subscription("sub", second)
        second_manager.process_once()
    assert first.sequences == [1, 2, 3]
    assert second.sequences == [4, 5, 6, 7, 8, 9, 10]
    assert first.sequences + second.sequences == all_seqs


def test_a_process_killed_inside_a_handler_redelivers_only_the_event_in_flight(
    db_path: Path, clock: FakeClock
) -> None:
    def die_on_sixth(event: Event) -> None:
        if event.sequence == 6:
            raise KeyboardInterrupt
        delivered_first.append(event.sequence)

    delivered_first: list[int] = []
    with SqliteEventStore(str(db_path)) as first_store:
        append(first_store, 8)
        first_manager = SubscriptionManager(first_store, clock=clock)
        first_manager.create_subscription("sub", die_on_sixth, start_from="beginning")
        with pytest.raises(KeyboardInterrupt):
            first_manager.process_once()
    with SqliteEventStore(str(db_path)) as second_store:
        second = Recorder()
        second_manager = SubscriptionManager(second_store, clock=clock)
        second_manager.load_subscription("sub", second)
        second_manager.process_once()
    assert delivered_first == [1, 2, 3, 4, 5]
    assert second.sequences == [6, 7, 8]


def test_load_subscription_restores_filters_types_and_webhook(
    store: SqliteEventStore, manager: SubscriptionManager, clock: FakeClock
) -> None:
    manager.create_subscription(
        "sub",
        Recorder(),
        event_types=[EventType.STAGE_STARTED, EventType.TASK_FAILED],
        entity_filter={"workflow_id": "wf-1"},
        webhook_url="https://hooks.example.com/x",
        start_from="beginning",
    )
    fresh = SubscriptionManager(store, clock=clock)
    assert fresh.load_subscription("sub", Recorder())
    status = fresh.get_subscription_status("sub")
    assert status is not None
    assert status["event_types"] == ["stage.started", "task.failed"]
    assert status["entity_filter"] == {"workflow_id": "wf-1"}
    assert status["webhook_url"] == "https://hooks.example.com/x"


def test_load_subscription_maps_an_unknown_stored_type_to_unknown(
    store: SqliteEventStore, manager: SubscriptionManager, db_path: Path
) -> None:
    manager.create_subscription("sub", Recorder(), event_types=[EventType.STAGE_STARTED])
    with sqlite3.connect(db_path) as raw:
        raw.execute(
            "UPDATE event_subscriptions SET event_types = ? WHERE id = 'sub'",
            ('["stage.started", "future.thing"]',),
        )
    raw.close()
    fresh = SubscriptionManager(store)
    assert fresh.load_subscription("sub", Recorder())
    status = fresh.get_subscription_status("sub")
    assert status is not None
    assert status["event_types"] == ["stage.started", "unknown.event"]


def test_load_subscription_of_an_unknown_id_returns_false(manager: SubscriptionManager) -> None:
    assert manager.load_subscription("nope", Recorder()) is False
    assert manager.get_subscription_status("nope") is None


# -- failures, backoff, disabling -----------------------------------------------------------------


def test_a_failing_handler_does_not_raise_out_of_process_once(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    append(store, 1)
    manager.create_subscription("sub", Recorder(fail_on=lambda e: True), start_from="beginning")
    assert manager.process_once() == 0
    status = manager.get_subscription_status("sub")
    assert status is not None
    assert status["error_count"] == 1
    assert "handler rejects event 1" in status["last_error"]


def test_a_failed_event_is_retried_only_after_the_backoff(
    store: SqliteEventStore, manager: SubscriptionManager, clock: FakeClock
) -> None:
    append(store, 2)
    failures = iter([True])
    handler = Recorder(fail_on=lambda e: next(failures, False))
    manager.create_subscription("sub", handler, start_from="beginning")
    assert manager.process_once() == 0
    clock.advance(0.99)
    assert manager.process_once() == 0
    assert handler.calls == 1
    clock.advance(0.01)
    assert manager.process_once() == 2
    assert handler.sequences == [1, 2]


def test_backoff_doubles_with_each_failure_up_to_backoff_max(
    store: SqliteEventStore, clock: FakeClock
) -> None:
    append(store, 1)
    manager = SubscriptionManager(store, backoff_base=1.0, backoff_max=3.0, clock=clock)
    manager.create_subscription("sub", Recorder(fail_on=lambda e: True), start_from="beginning")
    delays = []
    for _ in range(4):
        manager.process_once()
        status = manager.get_subscription_status("sub")
        assert status is not None
        delays.append(status["retry_in"])
        clock.advance(status["retry_in"])
    assert delays == [1.0, 2.0, 3.0, 3.0]


def test_a_failing_subscription_does_not_hold_up_the_others(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    append(store, 2)
    healthy = Recorder()
    manager.create_subscription("a-bad", Recorder(fail_on=lambda e: True), start_from="beginning")
    manager.create_subscription("b-good", healthy, start_from="beginning")
    assert manager.process_once() == 2
    assert healthy.sequences == [1, 2]


def test_a_subscription_is_disabled_after_max_errors_consecutive_failures(
    store: SqliteEventStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    append(store, 1)
    handler = Recorder(fail_on=lambda e: True)
    manager = SubscriptionManager(store, max_errors=3, clock=clock)
    manager.create_subscription("sub", handler, start_from="beginning")
    with caplog.at_level(logging.WARNING, logger="stabilize_cli.events.subscriptions"):
        for _ in range(5):
            manager.process_once()
            clock.advance(60)
    status = manager.get_subscription_status("sub")
    assert status is not None
    assert status["enabled"] is False
    assert status["error_count"] == 3
    assert handler.calls == 3
    assert persisted(store, "sub") == 0
    assert any("disabled after 3" in r.getMessage() for r in caplog.records)


def test_a_success_resets_the_error_count(
    store: SqliteEventStore, manager: SubscriptionManager, clock: FakeClock
) -> None:
    append(store, 1)
    failures = iter([True, True])
    manager.create_subscription(
        "sub", Recorder(fail_on=lambda e: next(failures, False)), start_from="beginning"
    )
    for _ in range(2):
        manager.process_once()
        clock.advance(60)
    assert manager.get_subscription_status("sub")["error_count"] == 2  # type: ignore[index]
    assert manager.process_once() == 1
    status = manager.get_subscription_status("sub")
    assert status is not None
    assert status["error_count"] == 0
    assert status["retry_in"] == 0.0
    assert status["last_error"] is None


# -- delete, status ----------------------------------------------------------------------------


def test_delete_removes_the_subscription_from_store_and_manager(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    append(store, 2)
    handler = Recorder()
    manager.create_subscription("sub", handler, start_from="beginning")
    assert manager.delete_subscription("sub") is True
    assert store.get_subscription("sub") is None
    assert manager.get_subscription_status("sub") is None
    assert manager.process_once() == 0
    assert handler.calls == 0


def test_delete_of_an_unknown_subscription_returns_false(manager: SubscriptionManager) -> None:
    assert manager.delete_subscription("nope") is False


def test_deleting_from_inside_a_handler_stops_the_batch(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    append(store, 3)
    handler = Recorder()

    def delete_after_first(event: Event) -> None:
        handler(event)
        manager.delete_subscription("sub")

    manager.create_subscription("sub", delete_after_first, start_from="beginning")
    manager.process_once()
    assert handler.sequences == [1]
    assert store.get_subscription("sub") is None


def test_status_reports_position_and_lag(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    append(store, 5)
    manager.create_subscription(
        "sub",
        Recorder(),
        event_types=[EventType.WORKFLOW_STARTED],
        entity_filter={"workflow_id": "wf-1"},
        start_from="2",
    )
    status = manager.get_subscription_status("sub")
    assert status is not None
    assert {
        k: status[k]
        for k in (
            "id",
            "last_sequence",
            "enabled",
            "error_count",
            "max_errors",
            "webhook_url",
            "event_types",
            "entity_filter",
            "lag",
        )
    } == {
        "id": "sub",
        "last_sequence": 2,
        "enabled": True,
        "error_count": 0,
        "max_errors": 10,
        "webhook_url": None,
        "event_types": ["workflow.started"],
        "entity_filter": {"workflow_id": "wf-1"},
        "lag": 3,
    }
    manager.process_once()
    assert manager.get_subscription_status("sub")["lag"] == 0  # type: ignore[index]


def test_all_statuses_are_listed_by_id(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    append(store, 1)
    manager.create_subscription("b", Recorder())
    manager.create_subscription("a", Recorder(), start_from="beginning")
    statuses = manager.get_all_subscription_status()
    assert [(s["id"], s["lag"]) for s in statuses] == [("a", 1), ("b", 0)]


# -- creation ---------------------------------------------------------------------------------


def test_creating_with_an_unsupported_webhook_scheme_is_refused_and_not_saved(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    with pytest.raises(SubscriptionError, match="http or https"):
        manager.create_subscription("sub", Recorder(), webhook_url="ftp://example.com/x")
    assert store.get_subscription("sub") is None


def test_creating_an_existing_id_replaces_it(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    append(store, 3)
    manager.create_subscription("sub", Recorder(), start_from="beginning")
    manager.create_subscription("sub", Recorder(), start_from="latest")
    assert persisted(store, "sub") == 3
    assert len(manager.get_all_subscription_status()) == 1


# -- background thread ---------------------------------------------------------------------------


def wait_until(condition: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return condition()


def test_the_background_thread_delivers_events_appended_after_start(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    handler = Recorder()
    manager.create_subscription("sub", handler)
    manager.start()
    seqs = append(store, 3)
    assert wait_until(lambda: handler.sequences == seqs)
    assert wait_until(lambda: persisted(store, "sub") == seqs[-1])


def test_stop_returns_promptly_even_with_a_long_poll_interval(store: SqliteEventStore) -> None:
    append(store, 2)
    handler = Recorder()
    manager = SubscriptionManager(store, poll_interval=30.0)
    manager.create_subscription("sub", handler, start_from="beginning")
    manager.start()
    assert wait_until(lambda: handler.sequences == [1, 2])
    began = time.monotonic()
    manager.stop()
    assert time.monotonic() - began < 1.0
    assert not manager.running


def test_no_delivery_happens_after_stop(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    handler = Recorder()
    manager.create_subscription("sub", handler)
    manager.start()
    manager.stop()
    append(store, 2)
    time.sleep(0.05)
    assert handler.calls == 0


def test_starting_twice_runs_a_single_thread(manager: SubscriptionManager) -> None:
    manager.start()
    manager.start()
    names = [t.name for t in threading.enumerate()]
    assert names.count("stabilize-subscriptions") == 1


def test_the_manager_can_be_started_again_after_stop(
    store: SqliteEventStore, manager: SubscriptionManager
) -> None:
    handler = Recorder()
    manager.create_subscription("sub", handler)
    manager.start()
    manager.stop()
    manager.start()
    seqs = append(store, 1)
    assert wait_until(lambda: handler.sequences == seqs)


def test_a_failing_handler_does_not_kill_the_background_thread(
    store: SqliteEventStore,
) -> None:
    manager = SubscriptionManager(store, poll_interval=0.01, backoff_base=0.0)
    failures = iter([True, True])
    handler = Recorder(fail_on=lambda e: next(failures, False))
    manager.create_subscription("sub", handler)
    manager.start()
    try:
        seqs = append(store, 2)
        assert wait_until(lambda: handler.sequences == seqs)
        assert manager.running
    finally:
        manager.stop()
