"""Behaviour of the in-process event bus: filtering, delivery, errors, threads, lifecycle."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from stabilize_cli.events.base import EntityType, Event, EventType
from stabilize_cli.events.bus import (
    EventBus,
    EventBusStats,
    Subscription,
    SubscriptionMode,
    configure_event_bus,
    get_event_bus,
    reset_event_bus,
)

TIMEOUT = 2.0
"""Upper bound for waiting on another thread; only reached when a test is failing."""


def make_event(
    event_type: EventType = EventType.WORKFLOW_STARTED,
    entity_type: EntityType = EntityType.WORKFLOW,
    workflow_id: str = "wf-1",
) -> Event:
    return Event(event_type=event_type, entity_type=entity_type, workflow_id=workflow_id)


class Recorder:
    """A thread-safe handler that remembers the events and threads it was called with."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[Event] = []
        self.threads: list[threading.Thread] = []
        self.called = threading.Event()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)
            self.threads.append(threading.current_thread())
        self.called.set()


def run_in_thread(target: Callable[[], Any]) -> threading.Thread:
    """Run ``target`` on a helper thread; a test that deadlocks then fails instead of hanging."""
    errors: list[BaseException] = []

    def guarded() -> None:
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=guarded, daemon=True)
    thread.start()
    thread.join(TIMEOUT)
    assert not thread.is_alive(), "deadlock: the call did not return"
    assert not errors, errors
    return thread


@pytest.fixture
def bus() -> Iterator[EventBus]:
    event_bus = EventBus()
    yield event_bus
    event_bus.shutdown(wait=True)


@pytest.fixture
def sync_bus() -> EventBus:
    """A bus used only synchronously: it has no pool, so there is nothing to shut down.

    The re-entrancy tests use it because a shutdown in teardown would itself hang
    on a deadlocked bus, turning one failing test into a hung run.
    """
    return EventBus()


@pytest.fixture(autouse=True)
def _fresh_global_bus() -> Iterator[None]:
    yield
    reset_event_bus()


# -- filtering ---------------------------------------------------------------


def test_a_subscription_without_filters_receives_every_event(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("all", received)
    events = [
        make_event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, "wf-1"),
        make_event(EventType.STAGE_FAILED, EntityType.STAGE, "wf-2"),
        make_event(EventType.TASK_COMPLETED, EntityType.TASK, ""),
    ]

    for event in events:
        bus.publish(event)

    assert received.events == events


def test_an_event_type_filter_delivers_only_those_types(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe(
        "done", received, event_types={EventType.WORKFLOW_COMPLETED, EventType.WORKFLOW_FAILED}
    )
    completed = make_event(EventType.WORKFLOW_COMPLETED)
    failed = make_event(EventType.WORKFLOW_FAILED)

    bus.publish(make_event(EventType.WORKFLOW_STARTED))
    bus.publish(completed)
    bus.publish(make_event(EventType.STAGE_COMPLETED))
    bus.publish(failed)

    assert received.events == [completed, failed]


def test_an_entity_type_filter_delivers_only_those_entities(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("stages", received, entity_types={EntityType.STAGE})
    stage_event = make_event(EventType.STAGE_STARTED, EntityType.STAGE)

    bus.publish(make_event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW))
    bus.publish(stage_event)
    bus.publish(make_event(EventType.TASK_STARTED, EntityType.TASK))

    assert received.events == [stage_event]


def test_a_workflow_filter_delivers_only_that_workflows_events(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("one-run", received, workflow_filter="wf-1")
    mine = make_event(workflow_id="wf-1")

    bus.publish(make_event(workflow_id="wf-2"))
    bus.publish(mine)
    bus.publish(make_event(workflow_id=""))

    assert received.events == [mine]


def test_combined_filters_deliver_an_event_that_satisfies_all_of_them(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe(
        "narrow",
        received,
        event_types={EventType.STAGE_FAILED},
        entity_types={EntityType.STAGE},
        workflow_filter="wf-1",
    )
    event = make_event(EventType.STAGE_FAILED, EntityType.STAGE, "wf-1")

    bus.publish(event)

    assert received.events == [event]


@pytest.mark.parametrize(
    ("event_type", "entity_type", "workflow_id"),
    [
        pytest.param(EventType.STAGE_COMPLETED, EntityType.STAGE, "wf-1", id="wrong-type"),
        pytest.param(EventType.STAGE_FAILED, EntityType.TASK, "wf-1", id="wrong-entity"),
        pytest.param(EventType.STAGE_FAILED, EntityType.STAGE, "wf-2", id="wrong-workflow"),
    ],
)
def test_combined_filters_reject_an_event_that_fails_any_one_of_them(
    bus: EventBus, event_type: EventType, entity_type: EntityType, workflow_id: str
) -> None:
    received = Recorder()
    bus.subscribe(
        "narrow",
        received,
        event_types={EventType.STAGE_FAILED},
        entity_types={EntityType.STAGE},
        workflow_filter="wf-1",
    )

    bus.publish(make_event(event_type, entity_type, workflow_id))

    assert received.events == []


def test_an_empty_event_type_set_matches_nothing(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("none", received, event_types=set())

    bus.publish(make_event())

    assert received.events == []


def test_changing_the_callers_filter_set_after_subscribing_has_no_effect(bus: EventBus) -> None:
    received = Recorder()
    wanted = {EventType.WORKFLOW_STARTED}
    bus.subscribe("copy", received, event_types=wanted)

    wanted.add(EventType.WORKFLOW_FAILED)
    bus.publish(make_event(EventType.WORKFLOW_FAILED))

    assert received.events == []


def test_a_disabled_subscription_object_matches_nothing() -> None:
    subscription = Subscription(id="s", handler=lambda event: None, enabled=False)

    assert not subscription.matches(make_event())


def test_subscription_mode_values_are_the_engines_strings() -> None:
    assert SubscriptionMode.SYNC.value == "sync"
    assert SubscriptionMode.ASYNC.value == "async"
    assert SubscriptionMode("async") is SubscriptionMode.ASYNC


# -- synchronous delivery ----------------------------------------------------


def test_sync_handlers_run_in_subscription_order(bus: EventBus) -> None:
    calls: list[str] = []

    def recorder_for(name: str) -> Callable[[Event], None]:
        return lambda event: calls.append(name)

    for name in ("first", "second", "third"):
        bus.subscribe(name, recorder_for(name))

    bus.publish(make_event())

    assert calls == ["first", "second", "third"]


def test_sync_handlers_run_in_the_publishing_thread(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("sync", received)

    bus.publish(make_event())

    assert received.threads == [threading.current_thread()]


def test_a_bus_with_only_sync_subscriptions_starts_no_threads(bus: EventBus) -> None:
    before = set(threading.enumerate())
    bus.subscribe("sync", Recorder())

    bus.publish(make_event())

    assert set(threading.enumerate()) - before == set()


# -- asynchronous delivery ---------------------------------------------------


def test_async_handlers_run_on_another_thread(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("async", received, mode=SubscriptionMode.ASYNC)
    event = make_event()

    bus.publish(event)

    assert received.called.wait(TIMEOUT)
    assert received.events == [event]
    assert received.threads[0] is not threading.current_thread()


def test_publish_does_not_wait_for_async_handlers(bus: EventBus) -> None:
    release = threading.Event()
    finished = threading.Event()

    def slow(event: Event) -> None:
        release.wait(TIMEOUT)
        finished.set()

    bus.subscribe("slow", slow, mode=SubscriptionMode.ASYNC)

    bus.publish(make_event())

    assert not finished.is_set()
    release.set()
    assert finished.wait(TIMEOUT)


def test_async_handlers_run_concurrently_up_to_max_workers() -> None:
    both_running = threading.Barrier(2, timeout=TIMEOUT)
    failures: list[BaseException] = []

    def meet(event: Event) -> None:
        both_running.wait()

    with EventBus(max_workers=2, error_handler=lambda sid, ev, exc: failures.append(exc)) as bus:
        bus.subscribe("a", meet, mode=SubscriptionMode.ASYNC)
        bus.subscribe("b", meet, mode=SubscriptionMode.ASYNC)
        bus.publish(make_event())

    assert failures == []
    assert bus.stats.events_delivered == 2


def test_a_bus_needs_at_least_one_worker() -> None:
    with pytest.raises(ValueError, match="max_workers"):
        EventBus(max_workers=0)


# -- errors ------------------------------------------------------------------


def test_a_failing_handler_does_not_stop_the_others(bus: EventBus) -> None:
    before, after = Recorder(), Recorder()
    bus.subscribe("before", before)
    bus.subscribe("broken", lambda event: 1 / 0)
    bus.subscribe("after", after)
    event = make_event()

    bus.publish(event)

    assert before.events == [event]
    assert after.events == [event]


def test_the_error_handler_receives_the_subscription_id_event_and_exception() -> None:
    reported: list[tuple[str, Event, Exception]] = []
    boom = RuntimeError("boom")

    def broken(event: Event) -> None:
        raise boom

    with EventBus(error_handler=lambda *args: reported.append(args)) as bus:
        bus.subscribe("broken", broken)
        event = make_event()
        bus.publish(event)

    assert reported == [("broken", event, boom)]


def test_on_error_sets_the_error_handler_and_works_as_a_decorator(bus: EventBus) -> None:
    reported: list[str] = []

    @bus.on_error
    def remember(subscription_id: str, event: Event, exc: Exception) -> None:
        reported.append(subscription_id)

    bus.subscribe("broken", lambda event: 1 / 0)
    bus.publish(make_event())

    assert callable(remember)
    assert remember.__name__ == "remember"
    assert reported == ["broken"]


def test_a_failure_counts_as_an_error_and_not_as_a_delivery(bus: EventBus) -> None:
    bus.subscribe("broken", lambda event: 1 / 0)
    bus.subscribe("fine", Recorder())

    bus.publish(make_event())

    assert bus.stats.errors == 1
    assert bus.stats.events_delivered == 1


def test_an_error_handler_that_raises_does_not_stop_delivery(bus: EventBus) -> None:
    after = Recorder()

    def broken_error_handler(subscription_id: str, event: Event, exc: Exception) -> None:
        raise ValueError("error handler broke")

    bus.on_error(broken_error_handler)
    bus.subscribe("broken", lambda event: 1 / 0)
    bus.subscribe("after", after)

    bus.publish(make_event())

    assert len(after.events) == 1
    assert bus.stats.errors == 1


def test_an_error_handler_that_raises_is_logged_as_a_warning(
    bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_error_handler(subscription_id: str, event: Event, exc: Exception) -> None:
        raise ValueError("error handler broke")

    bus.on_error(broken_error_handler)
    bus.subscribe("broken", lambda event: 1 / 0)

    with caplog.at_level(logging.WARNING, logger="stabilize_cli.events.bus"):
        bus.publish(make_event())

    [record] = caplog.records
    assert record.name == "stabilize_cli.events.bus"
    assert record.levelno == logging.WARNING
    assert "broken" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ValueError)


def test_a_failing_handler_without_an_error_handler_is_logged_as_a_warning(
    bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    bus.subscribe("broken", lambda event: 1 / 0)

    with caplog.at_level(logging.WARNING, logger="stabilize_cli.events.bus"):
        bus.publish(make_event())

    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "broken" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], ZeroDivisionError)


def test_a_failing_handler_with_an_error_handler_is_not_logged_as_well(
    bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    bus.on_error(lambda subscription_id, event, exc: None)
    bus.subscribe("broken", lambda event: 1 / 0)

    with caplog.at_level(logging.DEBUG, logger="stabilize_cli.events.bus"):
        bus.publish(make_event())

    assert caplog.records == []


def test_a_failing_async_handler_reaches_the_error_handler() -> None:
    reported: list[tuple[str, Event, Exception]] = []
    reached = threading.Event()

    def remember(subscription_id: str, event: Event, exc: Exception) -> None:
        reported.append((subscription_id, event, exc))
        reached.set()

    with EventBus(error_handler=remember) as bus:
        bus.subscribe("broken", lambda event: 1 / 0, mode=SubscriptionMode.ASYNC)
        event = make_event()
        bus.publish(event)
        assert reached.wait(TIMEOUT)

    [(subscription_id, reported_event, exc)] = reported
    assert (subscription_id, reported_event) == ("broken", event)
    assert isinstance(exc, ZeroDivisionError)
    assert bus.stats.errors == 1
    assert bus.stats.events_delivered == 0


# -- managing subscriptions --------------------------------------------------


def test_unsubscribe_returns_true_then_false(bus: EventBus) -> None:
    bus.subscribe("s", Recorder())

    assert bus.unsubscribe("s") is True
    assert bus.unsubscribe("s") is False


def test_an_unsubscribed_handler_receives_nothing(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("s", received)
    bus.unsubscribe("s")

    bus.publish(make_event())

    assert received.events == []
    assert bus.get_subscriptions() == []


def test_a_disabled_subscription_receives_nothing_until_enabled_again(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("s", received)
    skipped, wanted = make_event(), make_event()

    bus.disable_subscription("s")
    bus.publish(skipped)
    bus.enable_subscription("s")
    bus.publish(wanted)

    assert received.events == [wanted]


@pytest.mark.parametrize("method", ["enable_subscription", "disable_subscription"])
def test_enabling_or_disabling_an_unknown_subscription_raises_key_error(
    bus: EventBus, method: str
) -> None:
    with pytest.raises(KeyError, match="no-such-id"):
        getattr(bus, method)("no-such-id")


def test_resubscribing_with_the_same_id_replaces_the_handler(bus: EventBus) -> None:
    old, new = Recorder(), Recorder()
    bus.subscribe("s", old)
    bus.subscribe("s", new)

    bus.publish(make_event())

    assert old.events == []
    assert len(new.events) == 1
    assert bus.get_subscriptions() == ["s"]


def test_resubscribing_replaces_the_filters_too(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("s", received, event_types={EventType.WORKFLOW_STARTED})
    bus.subscribe("s", received, event_types={EventType.WORKFLOW_FAILED})

    bus.publish(make_event(EventType.WORKFLOW_STARTED))

    assert received.events == []


def test_resubscribing_keeps_the_subscriptions_place_in_the_order(bus: EventBus) -> None:
    calls: list[str] = []
    bus.subscribe("a", lambda event: calls.append("a"))
    bus.subscribe("b", lambda event: calls.append("b"))
    bus.subscribe("a", lambda event: calls.append("a2"))

    bus.publish(make_event())

    assert calls == ["a2", "b"]


def test_get_subscriptions_lists_every_id_including_disabled_ones(bus: EventBus) -> None:
    bus.subscribe("a", Recorder())
    bus.subscribe("b", Recorder())
    bus.disable_subscription("a")

    assert bus.get_subscriptions() == ["a", "b"]


# -- publish_batch -----------------------------------------------------------


def test_publish_batch_delivers_each_event_in_order(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("s", received)
    events = [make_event(workflow_id=f"wf-{n}") for n in range(5)]

    bus.publish_batch(events)

    assert received.events == events
    assert bus.stats.events_published == 5


def test_publish_batch_applies_filters_to_each_event(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("s", received, workflow_filter="wf-1")
    events = [make_event(workflow_id="wf-1"), make_event(workflow_id="wf-2")]

    bus.publish_batch(events)

    assert received.events == events[:1]


# -- statistics --------------------------------------------------------------


def test_a_new_bus_has_zero_stats(bus: EventBus) -> None:
    assert bus.stats == EventBusStats()


def test_stats_count_published_delivered_and_errors_exactly(bus: EventBus) -> None:
    bus.subscribe("all", Recorder())
    bus.subscribe("stages", Recorder(), entity_types={EntityType.STAGE})
    bus.subscribe("broken", lambda event: 1 / 0)

    bus.publish(make_event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW))
    bus.publish(make_event(EventType.STAGE_STARTED, EntityType.STAGE))
    bus.publish(make_event(EventType.STAGE_COMPLETED, EntityType.STAGE))

    assert bus.stats == EventBusStats(
        events_published=3,
        events_delivered=5,
        errors=3,
        subscriptions_active=3,
        async_fallbacks=0,
    )


def test_events_without_subscribers_still_count_as_published(bus: EventBus) -> None:
    bus.publish(make_event())

    assert bus.stats.events_published == 1
    assert bus.stats.events_delivered == 0


def test_subscriptions_active_counts_only_enabled_subscriptions(bus: EventBus) -> None:
    for name in ("a", "b", "c"):
        bus.subscribe(name, Recorder())
    bus.disable_subscription("b")

    assert bus.stats.subscriptions_active == 2


def test_stats_is_a_snapshot_not_a_live_view(bus: EventBus) -> None:
    bus.subscribe("s", Recorder())
    before = bus.stats

    bus.publish(make_event())

    assert before.events_published == 0
    assert bus.stats.events_published == 1


def test_reset_drops_subscriptions_and_zeroes_stats(bus: EventBus) -> None:
    received = Recorder()
    bus.subscribe("s", received)
    bus.publish(make_event())

    bus.reset()
    bus.publish(make_event())

    assert bus.get_subscriptions() == []
    assert len(received.events) == 1
    assert bus.stats == EventBusStats(events_published=1)


# -- shutdown ----------------------------------------------------------------


def test_shutdown_waits_for_in_flight_async_handlers(bus: EventBus) -> None:
    started = threading.Event()
    finished = threading.Event()

    def slow(event: Event) -> None:
        started.set()
        # Long enough that a shutdown which does not wait returns well before this ends.
        threading.Event().wait(0.1)
        finished.set()

    bus.subscribe("slow", slow, mode=SubscriptionMode.ASYNC)
    bus.publish(make_event())
    assert started.wait(TIMEOUT)

    bus.shutdown(wait=True)

    assert finished.is_set()
    assert bus.stats.events_delivered == 1


def test_shutdown_without_wait_returns_while_async_handlers_still_run(bus: EventBus) -> None:
    started = threading.Event()
    release = threading.Event()
    finished = threading.Event()

    def blocked(event: Event) -> None:
        started.set()
        release.wait(TIMEOUT)
        finished.set()

    bus.subscribe("blocked", blocked, mode=SubscriptionMode.ASYNC)
    bus.publish(make_event())
    assert started.wait(TIMEOUT)

    bus.shutdown(wait=False)

    assert not finished.is_set()
    release.set()
    assert finished.wait(TIMEOUT)


def test_publishing_after_shutdown_is_ignored_counted_and_logged_once(
    bus: EventBus, caplog: pytest.LogCaptureFixture
) -> None:
    sync, asynchronous = Recorder(), Recorder()
    bus.subscribe("sync", sync)
    bus.subscribe("async", asynchronous, mode=SubscriptionMode.ASYNC)
    bus.shutdown()

    with caplog.at_level(logging.WARNING, logger="stabilize_cli.events.bus"):
        for _ in range(3):
            bus.publish(make_event())
        bus.publish_batch([make_event(), make_event()])

    assert sync.events == []
    assert asynchronous.events == []
    assert bus.stats == EventBusStats(subscriptions_active=2, events_ignored=5)
    ignored = [r for r in caplog.records if "shut down" in r.getMessage()]
    assert len(ignored) == 1


def test_reset_after_shutdown_accepts_events_again_as_in_the_engine(bus: EventBus) -> None:
    bus.shutdown()
    bus.publish(make_event())
    bus.reset()
    received = Recorder()
    bus.subscribe("async", received, mode=SubscriptionMode.ASYNC)

    bus.publish(make_event())

    assert received.called.wait(TIMEOUT)
    assert bus.stats.events_ignored == 0
    assert bus.stats.events_published == 1


def test_an_async_delivery_the_pool_refuses_is_made_inline_and_counted(
    bus: EventBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At interpreter exit the pool refuses new work; the event is delivered, not lost."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("cannot schedule new futures after interpreter shutdown")

    monkeypatch.setattr(ThreadPoolExecutor, "submit", refuse)
    received = Recorder()
    bus.subscribe("async", received, mode=SubscriptionMode.ASYNC)

    bus.publish(make_event())
    bus.publish(make_event())

    assert received.threads == [threading.current_thread()] * 2
    assert bus.stats.async_fallbacks == 2
    assert bus.stats.events_delivered == 2


def test_shutting_down_twice_is_harmless(bus: EventBus) -> None:
    bus.subscribe("async", Recorder(), mode=SubscriptionMode.ASYNC)
    bus.publish(make_event())

    bus.shutdown()
    bus.shutdown()

    assert bus.stats.events_delivered == 1


def test_leaving_the_context_manager_shuts_the_bus_down() -> None:
    received = Recorder()
    with EventBus() as bus:
        bus.subscribe("async", received, mode=SubscriptionMode.ASYNC)

    bus.publish(make_event())

    assert received.events == []
    assert bus.stats.events_ignored == 1


def test_leaving_the_context_manager_waits_for_async_handlers() -> None:
    finished = threading.Event()

    def slow(event: Event) -> None:
        threading.Event().wait(0.1)
        finished.set()

    with EventBus() as bus:
        bus.subscribe("slow", slow, mode=SubscriptionMode.ASYNC)
        bus.publish(make_event())

    assert finished.is_set()


def test_an_async_handler_can_shut_down_its_own_bus(bus: EventBus) -> None:
    reported: list[Exception] = []
    done = threading.Event()

    def stop_the_bus(event: Event) -> None:
        bus.shutdown()
        done.set()

    bus.on_error(lambda subscription_id, event, exc: reported.append(exc))
    bus.subscribe("stopper", stop_the_bus, mode=SubscriptionMode.ASYNC)

    bus.publish(make_event())

    assert done.wait(TIMEOUT)
    assert reported == []


# -- re-entrancy -------------------------------------------------------------


def test_a_handler_can_unsubscribe_itself_during_delivery(sync_bus: EventBus) -> None:
    bus = sync_bus
    calls: list[Event] = []

    def once(event: Event) -> None:
        calls.append(event)
        bus.unsubscribe("once")

    bus.subscribe("once", once)

    run_in_thread(lambda: bus.publish(make_event()))
    bus.publish(make_event())

    assert len(calls) == 1
    assert bus.get_subscriptions() == []


def test_a_handler_can_publish_another_event_during_delivery(sync_bus: EventBus) -> None:
    bus = sync_bus
    received = Recorder()
    follow_up = make_event(EventType.WORKFLOW_COMPLETED)
    bus.subscribe(
        "chain", lambda event: bus.publish(follow_up), event_types={EventType.WORKFLOW_STARTED}
    )
    bus.subscribe("done", received, event_types={EventType.WORKFLOW_COMPLETED})

    run_in_thread(lambda: bus.publish(make_event(EventType.WORKFLOW_STARTED)))

    assert received.events == [follow_up]


def test_a_subscription_added_during_delivery_receives_the_next_event(sync_bus: EventBus) -> None:
    bus = sync_bus
    late = Recorder()
    bus.subscribe("adder", lambda event: bus.subscribe("late", late))
    first, second = make_event(), make_event()

    run_in_thread(lambda: bus.publish(first))
    bus.publish(second)

    assert late.events == [second]


def test_stats_and_subscriptions_can_be_read_from_inside_a_handler(sync_bus: EventBus) -> None:
    bus = sync_bus
    seen: list[tuple[int, list[str]]] = []
    bus.subscribe(
        "reader", lambda event: seen.append((bus.stats.events_published, bus.get_subscriptions()))
    )

    run_in_thread(lambda: bus.publish(make_event()))

    assert seen == [(1, ["reader"])]


def test_a_running_handler_does_not_block_other_threads_from_subscribing(
    sync_bus: EventBus,
) -> None:
    bus = sync_bus
    other_thread_done = threading.Event()
    outcome: list[bool] = []

    def subscribe_elsewhere(event: Event) -> None:
        def subscribe() -> None:
            bus.subscribe("elsewhere", Recorder())
            other_thread_done.set()

        threading.Thread(target=subscribe, daemon=True).start()
        outcome.append(other_thread_done.wait(TIMEOUT))

    bus.subscribe("waiter", subscribe_elsewhere)

    bus.publish(make_event())

    assert outcome == [True]


# -- concurrency -------------------------------------------------------------


def test_many_threads_publishing_at_once_give_exact_counts() -> None:
    publishers, per_publisher = 8, 250
    start = threading.Barrier(publishers, timeout=TIMEOUT)
    sync_seen = Recorder()
    async_seen = Recorder()
    bus = EventBus(max_workers=4)

    def publish_many() -> None:
        start.wait()
        for _ in range(per_publisher):
            bus.publish(make_event())

    with bus:
        bus.subscribe("sync", sync_seen)
        bus.subscribe("async", async_seen, mode=SubscriptionMode.ASYNC)
        threads = [threading.Thread(target=publish_many) for _ in range(publishers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        assert not any(thread.is_alive() for thread in threads)

    total = publishers * per_publisher
    assert len(sync_seen.events) == total
    assert len(async_seen.events) == total
    assert bus.stats == EventBusStats(
        events_published=total, events_delivered=2 * total, subscriptions_active=2
    )


def test_subscribing_while_other_threads_publish_is_safe(bus: EventBus) -> None:
    reported: list[Exception] = []
    bus.on_error(lambda subscription_id, event, exc: reported.append(exc))
    stop = threading.Event()
    failures: list[BaseException] = []

    def churn() -> None:
        try:
            n = 0
            while not stop.is_set():
                bus.subscribe(f"tmp-{n % 50}", lambda event: None)
                bus.unsubscribe(f"tmp-{(n + 25) % 50}")
                n += 1
        except BaseException as exc:
            failures.append(exc)

    churner = threading.Thread(target=churn)
    churner.start()
    try:
        for _ in range(2000):
            bus.publish(make_event())
    finally:
        stop.set()
        churner.join(TIMEOUT)

    assert failures == []
    assert reported == []
    assert bus.stats.events_published == 2000


# -- the process-wide bus ----------------------------------------------------


def test_get_event_bus_returns_the_same_bus_every_time() -> None:
    assert get_event_bus() is get_event_bus()


def test_configure_event_bus_installs_the_bus_get_event_bus_returns() -> None:
    reported: list[str] = []

    configured = configure_event_bus(
        max_workers=2,
        error_handler=lambda subscription_id, event, exc: reported.append(subscription_id),
    )
    configured.subscribe("broken", lambda event: 1 / 0)
    get_event_bus().publish(make_event())

    assert get_event_bus() is configured
    assert reported == ["broken"]


def test_configure_event_bus_shuts_down_the_bus_it_replaces() -> None:
    old = get_event_bus()
    old.subscribe("async", Recorder(), mode=SubscriptionMode.ASYNC)

    new = configure_event_bus()
    old.publish(make_event())

    assert new is not old
    assert old.stats.events_ignored == 1


def test_reset_event_bus_shuts_down_and_forgets_the_global_bus() -> None:
    old = get_event_bus()
    old.subscribe("async", Recorder(), mode=SubscriptionMode.ASYNC)

    reset_event_bus()
    old.publish(make_event())

    assert get_event_bus() is not old
    assert old.stats.events_ignored == 1


def test_reset_event_bus_without_a_global_bus_does_nothing() -> None:
    reset_event_bus()
    reset_event_bus()

    assert isinstance(get_event_bus(), EventBus)


# -- ASYNC ordering and parallelism -----------------------------------------


def test_async_delivery_keeps_each_subscribers_events_in_publish_order_under_load() -> None:
    """Many publisher threads, many ASYNC subscribers, a pool smaller than either: every
    subscriber gets every event once, and each publisher's events in the order published."""
    publishers, subscribers, per_publisher = 6, 9, 150
    received: dict[str, list[tuple[int, int]]] = {f"sub-{i}": [] for i in range(subscribers)}
    start = threading.Barrier(publishers, timeout=TIMEOUT)

    def handler_for(name: str) -> Callable[[Event], None]:
        def handle(event: Event) -> None:
            if event.version % 7 == 0:
                threading.Event().wait(0.0005)  # jitter: let other deliveries overtake
            received[name].append((event.data["publisher"], event.version))

        return handle

    def publish_all(publisher: int) -> None:
        start.wait()
        for n in range(per_publisher):
            bus.publish(Event(version=n, data={"publisher": publisher}))

    with EventBus(max_workers=3) as bus:
        for name in received:
            bus.subscribe(name, handler_for(name), mode=SubscriptionMode.ASYNC)
        threads = [threading.Thread(target=publish_all, args=(p,)) for p in range(publishers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    for name, got in received.items():
        assert len(got) == publishers * per_publisher, name
        for publisher in range(publishers):
            mine = [version for who, version in got if who == publisher]
            assert mine == list(range(per_publisher)), (name, publisher)
    assert bus.stats.events_delivered == subscribers * publishers * per_publisher


def test_a_slow_async_subscriber_does_not_delay_another() -> None:
    release = threading.Event()
    fast = Recorder()
    slow_calls: list[Event] = []

    def slow(event: Event) -> None:
        slow_calls.append(event)
        release.wait(TIMEOUT)

    with EventBus(max_workers=2) as bus:
        bus.subscribe("slow", slow, mode=SubscriptionMode.ASYNC)
        bus.subscribe("fast", fast, mode=SubscriptionMode.ASYNC)
        events = [make_event() for _ in range(5)]
        bus.publish_batch(events)

        deadline = threading.Event()
        for _ in range(200):
            if len(fast.events) == 5:
                break
            deadline.wait(0.01)
        assert fast.events == events
        assert len(slow_calls) == 1  # still stuck on its first event
        release.set()

    assert [e.event_id for e in slow_calls] == [e.event_id for e in events]


def test_a_busy_subscriber_yields_the_pool_after_a_batch() -> None:
    """One worker, two subscribers: the second is served after at most one batch of the
    first's backlog, not after all of it."""
    from stabilize_cli.events.bus import DRAIN_BATCH  # noqa: PLC0415

    backlog = DRAIN_BATCH * 4
    gate = threading.Event()
    busy_count = 0
    seen_by_other: list[int] = []

    def busy(event: Event) -> None:
        nonlocal busy_count
        gate.wait(TIMEOUT)
        busy_count += 1

    def other(event: Event) -> None:
        seen_by_other.append(busy_count)

    done = threading.Event()
    with EventBus(max_workers=1) as bus:
        bus.subscribe("busy", busy, mode=SubscriptionMode.ASYNC)
        bus.subscribe("other", other, mode=SubscriptionMode.ASYNC)
        for _ in range(backlog):
            bus.publish(make_event())
        bus.subscribe("done", lambda event: done.set(), mode=SubscriptionMode.ASYNC)
        bus.publish(make_event())
        gate.set()
        # Shutting down drains what is left inline; wait until the pool did it all.
        assert done.wait(TIMEOUT * 5)
        for _ in range(500):
            if busy_count == backlog + 1 and len(seen_by_other) == backlog + 1:
                break
            threading.Event().wait(0.01)

    assert (busy_count, len(seen_by_other)) == (backlog + 1, backlog + 1)
    assert seen_by_other[0] <= DRAIN_BATCH
