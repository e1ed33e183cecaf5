"""In-process publish/subscribe for events, so that readers react without polling the store.

Handlers are always called outside the bus's lock: a handler may subscribe,
unsubscribe or publish without deadlocking, and a slow handler never blocks
other threads from changing subscriptions.

ASYNC delivery keeps each subscription's events in publish order: every subscription
has its own queue, drained by at most one pool thread at a time, while different
subscriptions drain in parallel on the pool.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from types import TracebackType
from typing import Any

from .base import EntityType, Event, EventType

logger = logging.getLogger(__name__)

Handler = Callable[[Event], Any]
ErrorHandler = Callable[[str, Event, Exception], None]


class SubscriptionMode(StrEnum):
    """SYNC blocks the publisher until the handler returns; ASYNC hands the event to a pool."""

    SYNC = "sync"
    ASYNC = "async"


@dataclass(slots=True)
class Subscription:
    """A handler plus its filters; ``None`` means "don't filter", an empty set matches nothing."""

    id: str
    handler: Handler
    event_types: set[EventType] | None = None
    entity_types: set[EntityType] | None = None
    workflow_filter: str | None = None
    mode: SubscriptionMode = SubscriptionMode.SYNC
    enabled: bool = True

    def matches(self, event: Event) -> bool:
        """Whether this subscription wants ``event``, so the bus can skip it cheaply."""
        if not self.enabled:
            return False
        if self.event_types is not None and event.event_type not in self.event_types:
            return False
        if self.entity_types is not None and event.entity_type not in self.entity_types:
            return False
        return self.workflow_filter is None or event.workflow_id == self.workflow_filter


@dataclass(slots=True)
class EventBusStats:
    """Counters for spotting lost or failing deliveries; ``stats`` hands out copies."""

    events_published: int = 0
    events_delivered: int = 0
    errors: int = 0
    subscriptions_active: int = 0
    async_fallbacks: int = 0
    events_ignored: int = 0
    """Ours: events published after ``shutdown()``, which are dropped as in the engine."""


DRAIN_BATCH = 64
"""Events one pool task delivers for a subscription before yielding its thread, so a
busy subscription cannot starve the others queued behind it on a small pool."""


class _Mailbox:
    """One ASYNC subscription's undelivered events, in publish order."""

    __slots__ = ("events", "subscription")

    def __init__(self, subscription: Subscription) -> None:
        self.subscription = subscription
        self.events: deque[Event] = deque()


class EventBus:
    """Thread-safe bus where one failing handler never stops delivery to the others."""

    def __init__(self, max_workers: int = 4, error_handler: ErrorHandler | None = None) -> None:
        if max_workers < 1:
            raise ValueError(f"max_workers must be at least 1, got {max_workers}")
        self._max_workers = max_workers
        self._error_handler = error_handler
        self._lock = threading.Lock()
        self._subscriptions: dict[str, Subscription] = {}
        self._stats = EventBusStats()
        self._executor: ThreadPoolExecutor | None = None
        self._shutdown = False
        self._shutdown_logged = False
        self._worker_state = threading.local()
        # Keyed by id() of the Subscription object the events were matched to; the
        # mailbox holds that object, so the id cannot be reused while it is queued.
        self._mailboxes: dict[int, _Mailbox] = {}

    def __enter__(self) -> EventBus:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown(wait=True)

    # -- subscriptions -------------------------------------------------------

    def subscribe(
        self,
        subscription_id: str,
        handler: Handler,
        event_types: set[EventType] | None = None,
        entity_types: set[EntityType] | None = None,
        workflow_filter: str | None = None,
        mode: SubscriptionMode = SubscriptionMode.SYNC,
    ) -> None:
        """Register ``handler``; reusing an id replaces the old subscription in its place."""
        subscription = Subscription(
            id=subscription_id,
            handler=handler,
            event_types=set(event_types) if event_types is not None else None,
            entity_types=set(entity_types) if entity_types is not None else None,
            workflow_filter=workflow_filter,
            mode=SubscriptionMode(mode),
        )
        with self._lock:
            self._subscriptions[subscription_id] = subscription

    def unsubscribe(self, subscription_id: str) -> bool:
        """Remove a subscription; ``False`` lets callers tell it was already gone."""
        with self._lock:
            return self._subscriptions.pop(subscription_id, None) is not None

    def enable_subscription(self, subscription_id: str) -> None:
        """Resume delivery to a subscription that was disabled."""
        self._set_enabled(subscription_id, enabled=True)

    def disable_subscription(self, subscription_id: str) -> None:
        """Pause delivery without losing the subscription's filters or position."""
        self._set_enabled(subscription_id, enabled=False)

    def _set_enabled(self, subscription_id: str, *, enabled: bool) -> None:
        with self._lock:
            subscription = self._subscriptions.get(subscription_id)
            if subscription is None:
                raise KeyError(f"no subscription with id {subscription_id!r}")
            subscription.enabled = enabled

    def get_subscriptions(self) -> list[str]:
        """Ids of all subscriptions, enabled or not, in delivery order."""
        with self._lock:
            return list(self._subscriptions)

    def on_error(self, handler: ErrorHandler) -> ErrorHandler:
        """Set the error handler; returns it unchanged so this works as a decorator."""
        with self._lock:
            self._error_handler = handler
        return handler

    # -- publishing ----------------------------------------------------------

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every matching subscription.

        Matching is decided once, when publishing starts: a handler that changes
        subscriptions affects the next event, not the one being delivered. After
        ``shutdown()`` the event is ignored, as in the engine: counted in
        ``stats.events_ignored`` and logged once per bus, not once per event.
        """
        with self._lock:
            ignored = self._shutdown
            if ignored:
                self._stats.events_ignored += 1
                first, self._shutdown_logged = not self._shutdown_logged, True
                targets = []
            else:
                self._stats.events_published += 1
                targets = [s for s in self._subscriptions.values() if s.matches(event)]
        if ignored:
            if first:
                logger.warning(
                    "event bus is shut down: ignoring event %s and any published after it",
                    event.event_id,
                )
            return
        for subscription in targets:
            if subscription.mode is SubscriptionMode.ASYNC and self._enqueue(subscription, event):
                continue
            self._deliver(subscription, event)

    def publish_batch(self, events: Iterable[Event]) -> None:
        """Publish events one after another, in the order given."""
        for event in events:
            self.publish(event)

    def _enqueue(self, subscription: Subscription, event: Event) -> bool:
        """Queue an ASYNC delivery behind the subscription's earlier ones, starting a
        drain on the pool when none runs; ``False``: the caller must deliver inline."""
        with self._lock:
            mailbox = self._mailboxes.get(id(subscription))
            if mailbox is not None:
                mailbox.events.append(event)
                return True
            if not self._shutdown:
                mailbox = _Mailbox(subscription)
                mailbox.events.append(event)
                self._mailboxes[id(subscription)] = mailbox
                if self._start_drain(mailbox):
                    return True
                del self._mailboxes[id(subscription)]
            self._stats.async_fallbacks += 1
            return False

    def _start_drain(self, mailbox: _Mailbox) -> bool:
        """Submit a drain of ``mailbox`` to the pool (lock held); ``False`` if refused."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix="event-bus"
            )
        try:
            self._executor.submit(self._drain, mailbox)
        except RuntimeError:
            # The pool was shut down, or the interpreter is exiting and refuses new work.
            return False
        return True

    def _drain(self, mailbox: _Mailbox) -> None:
        """Deliver the mailbox's events in order; after a batch, hand the rest to a new
        pool task (behind other subscriptions' work) unless the pool no longer takes any."""
        self._worker_state.active = True
        delivered = 0
        while True:
            with self._lock:
                if not mailbox.events:
                    del self._mailboxes[id(mailbox.subscription)]
                    return
                if delivered >= DRAIN_BATCH:
                    delivered = 0
                    executor = self._executor
                    if executor is not None and not self._shutdown:
                        try:
                            executor.submit(self._drain, mailbox)
                        except RuntimeError:
                            pass
                        else:
                            return
                event = mailbox.events.popleft()
            self._deliver(mailbox.subscription, event)
            delivered += 1

    def _deliver(self, subscription: Subscription, event: Event) -> None:
        try:
            subscription.handler(event)
        except Exception as exc:
            self._handle_error(subscription.id, event, exc)
        else:
            with self._lock:
                self._stats.events_delivered += 1

    def _handle_error(self, subscription_id: str, event: Event, exc: Exception) -> None:
        with self._lock:
            self._stats.errors += 1
            error_handler = self._error_handler
        if error_handler is None:
            logger.warning(
                "event handler %r failed on event %s",
                subscription_id,
                event.event_id,
                exc_info=exc,
            )
            return
        try:
            error_handler(subscription_id, event, exc)
        except Exception:
            logger.warning(
                "error handler failed while handling an error from %r on event %s",
                subscription_id,
                event.event_id,
                exc_info=True,
            )

    # -- lifecycle -----------------------------------------------------------

    @property
    def stats(self) -> EventBusStats:
        """A snapshot, so callers can compare before and after without it changing under them."""
        with self._lock:
            active = sum(1 for s in self._subscriptions.values() if s.enabled)
            return dataclasses.replace(self._stats, subscriptions_active=active)

    def reset(self) -> None:
        """Forget subscriptions and counters and accept events again, as the engine's
        reset does (also after ``shutdown()``); queued ASYNC deliveries still finish."""
        with self._lock:
            self._subscriptions.clear()
            self._stats = EventBusStats()
            self._shutdown = False
            self._shutdown_logged = False

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool, letting queued ASYNC deliveries finish (waiting for them with
        ``wait``); events published afterwards are ignored."""
        with self._lock:
            self._shutdown = True
            executor, self._executor = self._executor, None
        # A pool thread cannot join itself, so an async handler shutting the bus
        # down gets the non-waiting variant instead of a RuntimeError.
        if getattr(self._worker_state, "active", False):
            wait = False
        # Outside the lock: in-flight handlers may still need it to finish.
        if executor is not None:
            executor.shutdown(wait=wait)


_global_lock = threading.Lock()
_global_bus: EventBus | None = None


def configure_event_bus(
    max_workers: int = 4, error_handler: ErrorHandler | None = None
) -> EventBus:
    """Install a fresh process-wide bus, shutting down the one it replaces."""
    global _global_bus
    bus = EventBus(max_workers=max_workers, error_handler=error_handler)
    with _global_lock:
        previous, _global_bus = _global_bus, bus
    if previous is not None:
        previous.shutdown(wait=True)
    return bus


def get_event_bus() -> EventBus:
    """The process-wide bus, created with defaults on first use."""
    global _global_bus  # noqa: PLW0603 - lazily created process-wide bus
    with _global_lock:
        if _global_bus is None:
            _global_bus = EventBus()
        return _global_bus


def reset_event_bus() -> None:
    """Shut down and forget the process-wide bus, so each test starts from nothing."""
    global _global_bus
    with _global_lock:
        previous, _global_bus = _global_bus, None
    if previous is not None:
        previous.shutdown(wait=True)
