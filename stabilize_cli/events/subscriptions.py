"""Durable subscriptions: consumers that resume where they stopped after a restart.

Delivery is at-least-once. A subscription's position is written to the store after
every event its handler accepted, so a restart re-delivers at most the one event that
was in flight, and never skips one. A failing handler holds its subscription at the
failing event (later events wait behind it, to keep the order) and is retried with
exponential backoff, until ``max_errors`` failures in a row disable it.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from .base import Event, EventType
from .errors import EventSourcingError, SubscriptionError
from .webhooks import deliver_webhook, validate_webhook_url

if TYPE_CHECKING:
    from .store.postgres.commit_order import FeedPage, FeedPosition

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]

_SEQUENCE = re.compile(r"[0-9]+")
_ATTRIBUTE_FILTERS = frozenset({"entity_type", "entity_id", "workflow_id"})
_MAX_BACKOFF_EXPONENT = 62


class SubscriptionBackend(Protocol):
    """What the manager needs from an event store: events by sequence, and positions."""

    def get_current_sequence(self) -> int: ...

    def get_events_since(self, sequence: int, limit: int = 1000) -> list[Event]: ...

    def save_subscription(
        self,
        subscription_id: str,
        event_types: list[EventType] | None,
        entity_filter: dict[str, Any] | None,
        last_sequence: int,
        webhook_url: str | None = None,
    ) -> None: ...

    def get_subscription(self, subscription_id: str) -> dict[str, Any] | None: ...

    def update_subscription_sequence(self, subscription_id: str, last_sequence: int) -> None: ...

    def delete_subscription(self, subscription_id: str) -> bool: ...


class CommitOrderedBackend(SubscriptionBackend, Protocol):
    """A store that reads in commit order (PostgreSQL): positions are the engine's two
    columns, ``last_sequence`` and ``last_commit_cursor``."""

    def read_feed(self, position: FeedPosition, limit: int = 1000) -> FeedPage: ...

    def head_position(self) -> FeedPosition: ...

    def update_subscription_cursor(
        self, subscription_id: str, last_sequence: int, last_commit_cursor: str
    ) -> None: ...


def commit_ordered(store: object) -> CommitOrderedBackend | None:
    """The store as a commit-ordered backend, when it is one."""
    if callable(getattr(store, "read_feed", None)) and callable(
        getattr(store, "head_position", None)
    ):
        return store  # type: ignore[return-value]
    return None


@dataclass
class DurableSubscription:
    """A consumer's filter and position; only the position and filter are persisted.

    ``enabled`` and ``error_count`` live in memory: the engine's table has no columns
    for them, so a restarted process gives a disabled subscription a fresh start.
    """

    id: str
    handler: Handler
    event_types: list[EventType] | None = None
    entity_filter: dict[str, Any] | None = None
    last_sequence: int = 0
    webhook_url: str | None = None
    enabled: bool = True
    error_count: int = 0
    max_errors: int = 10
    last_commit_cursor: str = "0"
    """Commit-ordered stores: every transaction below this xid was delivered (with
    ``last_sequence``, a position inside one; see ``store.postgres.commit_order``)."""

    def matches(self, event: Event) -> bool:
        """An empty ``event_types`` list matches nothing, as in the engine (None = all).

        ``entity_type``, ``entity_id`` and ``workflow_id`` filter on the event itself
        (an enum member or its string both work); any other key is looked up in
        ``event.data`` and compared by equality.
        """
        if self.event_types is not None and event.event_type not in self.event_types:
            return False
        for key, expected in (self.entity_filter or {}).items():
            if key in _ATTRIBUTE_FILTERS:
                actual = getattr(event, key)
                if _text(actual) != _text(expected):
                    return False
            elif event.data.get(key) != expected:
                return False
        return True


def _text(value: object) -> str:
    return str(value.value) if isinstance(value, Enum) else str(value)


@dataclass
class _Progress:
    """Per-subscription bookkeeping that is not part of the public dataclass."""

    retry_at: float = 0.0
    persisted: int = 0
    persisted_cursor: str = "0"
    last_error: str | None = None


@dataclass
class _Batch:
    """Events with the ``(last_sequence, last_commit_cursor)`` after each; ``end``: the
    position once all were handled (a commit-ordered read moves on to its frontier)."""

    items: list[tuple[Event, tuple[int, str]]]
    end: tuple[int, str] | None

    def __iter__(self) -> Iterator[tuple[Event, tuple[int, str]]]:
        return iter(self.items)


class SubscriptionManager:
    """Runs durable subscriptions against a store, by hand or from a polling thread."""

    def __init__(
        self,
        event_store: SubscriptionBackend,
        poll_interval: float = 1.0,
        batch_size: int = 100,
        *,
        webhook_timeout: float = 5.0,
        allow_private_webhooks: bool = False,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_errors: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive (got {poll_interval})")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1 (got {batch_size})")
        if webhook_timeout <= 0:
            raise ValueError(f"webhook_timeout must be positive (got {webhook_timeout})")
        if max_errors < 1:
            raise ValueError(f"max_errors must be at least 1 (got {max_errors})")
        if backoff_base < 0 or backoff_max < 0:
            raise ValueError("backoff_base and backoff_max must not be negative")
        self._store = event_store
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._webhook_timeout = webhook_timeout
        self._allow_private = allow_private_webhooks
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._max_errors = max_errors
        self._clock = clock
        self._subscriptions: dict[str, DurableSubscription] = {}
        self._progress: dict[str, _Progress] = {}
        self._lock = threading.RLock()
        self._processing = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle of subscriptions -----------------------------------------------------

    def create_subscription(
        self,
        subscription_id: str,
        handler: Handler,
        event_types: list[EventType] | None = None,
        entity_filter: dict[str, Any] | None = None,
        webhook_url: str | None = None,
        start_from: str = "latest",
    ) -> None:
        """Create (or replace) a subscription and persist it before it can deliver.

        ``start_from`` is ``"latest"`` (only events appended from now on),
        ``"beginning"`` (every event), or a sequence number as a decimal string:
        delivery starts with the event after it.
        """
        if not subscription_id:
            raise ValueError("subscription id must not be empty")
        start, cursor = self._start_position(start_from)
        if webhook_url is not None:
            validate_webhook_url(webhook_url, allow_private=self._allow_private)
        types = None if event_types is None else [EventType(t) for t in event_types]
        filt = None if entity_filter is None else dict(entity_filter)
        if commit_ordered(self._store) is not None:
            self._store.save_subscription(  # type: ignore[call-arg]
                subscription_id, types, filt, start, webhook_url, last_commit_cursor=cursor
            )
        else:
            self._store.save_subscription(subscription_id, types, filt, start, webhook_url)
        self._register(
            DurableSubscription(
                id=subscription_id,
                handler=handler,
                event_types=types,
                entity_filter=filt,
                last_sequence=start,
                webhook_url=webhook_url,
                max_errors=self._max_errors,
                last_commit_cursor=cursor,
            )
        )

    def load_subscription(self, subscription_id: str, handler: Handler) -> bool:
        """Re-attach a handler to a persisted subscription, at its persisted position."""
        try:
            row = self._store.get_subscription(subscription_id)
        except ValueError as exc:
            raise SubscriptionError(
                f"subscription {subscription_id!r} is unreadable: {exc}"
            ) from exc
        if row is None:
            return False
        raw_types = row.get("event_types")
        raw_filter = row.get("entity_filter")
        if raw_types is not None and not (
            isinstance(raw_types, list) and all(isinstance(t, str) for t in raw_types)
        ):
            raise SubscriptionError(
                f"subscription {subscription_id!r}: event_types is not a list of strings"
            )
        if raw_filter is not None and not isinstance(raw_filter, dict):
            raise SubscriptionError(
                f"subscription {subscription_id!r}: entity_filter is not an object"
            )
        try:
            last_sequence = int(row.get("last_sequence") or 0)
        except (TypeError, ValueError) as exc:
            raise SubscriptionError(
                f"subscription {subscription_id!r}: last_sequence is not a number"
            ) from exc
        webhook_url = row.get("webhook_url")
        if webhook_url is not None:
            validate_webhook_url(str(webhook_url), allow_private=self._allow_private)
        self._register(
            DurableSubscription(
                id=subscription_id,
                handler=handler,
                event_types=None if raw_types is None else [EventType.parse(t) for t in raw_types],
                entity_filter=raw_filter,
                last_sequence=last_sequence,
                webhook_url=None if webhook_url is None else str(webhook_url),
                max_errors=self._max_errors,
                last_commit_cursor=str(row.get("last_commit_cursor") or "0"),
            )
        )
        return True

    def delete_subscription(self, subscription_id: str) -> bool:
        """Forget the subscription in the store and here; True if either knew it."""
        with self._lock:
            known = self._subscriptions.pop(subscription_id, None) is not None
            self._progress.pop(subscription_id, None)
        stored = self._store.delete_subscription(subscription_id)
        return known or stored

    def _register(self, subscription: DurableSubscription) -> None:
        with self._lock:
            self._subscriptions[subscription.id] = subscription
            self._progress[subscription.id] = _Progress(
                persisted=subscription.last_sequence,
                persisted_cursor=subscription.last_commit_cursor,
            )

    def _start_position(self, start_from: str) -> tuple[int, str]:
        """``(last_sequence, last_commit_cursor)`` to start from."""
        ordered = commit_ordered(self._store)
        if start_from == "latest":
            if ordered is not None:
                head = ordered.head_position()
                return head.last_sequence, head.commit_cursor
            return self._store.get_current_sequence(), "0"
        if start_from == "beginning":
            return 0, "0"
        text = start_from.strip() if isinstance(start_from, str) else ""
        if text.startswith("-") and _SEQUENCE.fullmatch(text[1:]):
            raise ValueError(f"start_from must not be negative (got {start_from!r})")
        if not _SEQUENCE.fullmatch(text):
            raise ValueError(
                f"start_from must be 'latest', 'beginning' or a sequence number "
                f"(got {start_from!r})"
            )
        if ordered is not None:
            raise ValueError(
                "this store delivers in commit order: start_from must be 'latest' or "
                "'beginning' (a sequence number does not say which transactions came before)"
            )
        return int(text), "0"

    # -- delivery -------------------------------------------------------------------------

    def process_once(self) -> int:
        """Deliver up to one batch to every due subscription; returns events delivered."""
        return self._process(None)

    def _process(self, stop: threading.Event | None) -> int:
        with self._processing:
            with self._lock:
                due = [s for s in self._subscriptions.values() if s.enabled]
            delivered = 0
            for subscription in due:
                if stop is not None and stop.is_set():
                    break
                delivered += self._process_subscription(subscription, stop)
            return delivered

    def _process_subscription(self, sub: DurableSubscription, stop: threading.Event | None) -> int:
        progress = self._progress_of(sub)
        if progress is None or self._clock() < progress.retry_at:
            return 0
        try:
            page = self._read(sub)
        except EventSourcingError as exc:
            logger.warning(
                "subscription %s: cannot read events after %d: %s", sub.id, sub.last_sequence, exc
            )
            return 0
        delivered = 0
        finished = True
        for event, (sequence, cursor) in page:
            if (stop is not None and stop.is_set()) or self._progress_of(sub) is not progress:
                finished = False
                break
            if not sub.matches(event):
                sub.last_sequence, sub.last_commit_cursor = sequence, cursor
                continue
            try:
                self._deliver(sub, event)
            except Exception as exc:
                self._record_failure(sub, progress, event, exc)
                finished = False
                break
            sub.last_sequence, sub.last_commit_cursor = sequence, cursor
            sub.error_count = 0
            progress.retry_at = 0.0
            progress.last_error = None
            delivered += 1
            self._persist(sub, progress)
        if finished and page.end is not None:
            sub.last_sequence, sub.last_commit_cursor = page.end
        self._persist(sub, progress)
        return delivered

    def _read(self, sub: DurableSubscription) -> _Batch:
        """The next batch and the position after each event: commit order where the
        store has it (a page cut by its limit resumes inside it), else by sequence."""
        ordered = commit_ordered(self._store)
        if ordered is None:
            events = self._store.get_events_since(sub.last_sequence, limit=self._batch_size)
            return _Batch([(e, (e.sequence, sub.last_commit_cursor)) for e in events], None)
        from .store.postgres.commit_order import FeedPosition  # noqa: PLC0415 - PG only

        page = ordered.read_feed(
            FeedPosition(sub.last_sequence, sub.last_commit_cursor), self._batch_size
        )
        positions = [(p.last_sequence, p.commit_cursor) for p in page.positions]
        return _Batch(
            list(zip(page.events, positions, strict=True)),
            (page.end.last_sequence, page.end.commit_cursor),
        )

    def _progress_of(self, sub: DurableSubscription) -> _Progress | None:
        """None once the subscription was deleted or replaced, so delivery stops."""
        with self._lock:
            if self._subscriptions.get(sub.id) is not sub:
                return None
            return self._progress.get(sub.id)

    def _deliver(self, sub: DurableSubscription, event: Event) -> None:
        """One unit: if the webhook fails, the retry calls the handler again too."""
        sub.handler(event)
        if sub.webhook_url is not None:
            deliver_webhook(
                sub.webhook_url,
                event,
                timeout=self._webhook_timeout,
                allow_private=self._allow_private,
                delivery_id=f"{sub.id}:{event.event_id}",
            )

    def _record_failure(
        self, sub: DurableSubscription, progress: _Progress, event: Event, exc: Exception
    ) -> None:
        sub.error_count += 1
        exponent = min(sub.error_count - 1, _MAX_BACKOFF_EXPONENT)
        delay = min(self._backoff_max, self._backoff_base * 2**exponent)
        progress.retry_at = self._clock() + delay
        progress.last_error = f"{type(exc).__name__}: {exc}"
        if sub.error_count >= sub.max_errors:
            sub.enabled = False
            logger.warning(
                "subscription %s disabled after %d consecutive failures; held at event %d (%s)",
                sub.id,
                sub.error_count,
                event.sequence,
                progress.last_error,
            )
            return
        logger.warning(
            "subscription %s failed on event %d (failure %d of %d, retry in %.3gs): %s",
            sub.id,
            event.sequence,
            sub.error_count,
            sub.max_errors,
            delay,
            progress.last_error,
        )

    def _persist(self, sub: DurableSubscription, progress: _Progress) -> None:
        """Write the position if it moved; a failed write is retried on the next call.

        The in-memory position still advances, so this process does not redeliver;
        only a restart before the next successful write would, which at-least-once allows.
        """
        position = (sub.last_sequence, sub.last_commit_cursor)
        if position == (progress.persisted, progress.persisted_cursor):
            return
        if self._progress_of(sub) is not progress:
            return
        ordered = commit_ordered(self._store)
        try:
            if ordered is not None:
                ordered.update_subscription_cursor(sub.id, *position)
            else:
                self._store.update_subscription_sequence(sub.id, sub.last_sequence)
        except EventSourcingError as exc:
            logger.warning(
                "subscription %s: cannot save position %d: %s", sub.id, sub.last_sequence, exc
            )
            return
        progress.persisted, progress.persisted_cursor = position

    # -- background polling ---------------------------------------------------------------

    def start(self) -> None:
        """Poll in a daemon thread; a second call while it runs does nothing."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._poll_loop,
                args=(self._stop,),
                name="stabilize-subscriptions",
                daemon=True,
            )
            self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop polling and wait for the thread; the event in flight is finished first."""
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _poll_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self._process(stop)
            except Exception:
                logger.exception("subscription polling failed; retrying")
            stop.wait(self._poll_interval)

    # -- status -----------------------------------------------------------------------------

    def get_subscription_status(self, subscription_id: str) -> dict[str, Any] | None:
        with self._lock:
            sub = self._subscriptions.get(subscription_id)
        if sub is None:
            return None
        return self._status(sub, self._store.get_current_sequence())

    def get_all_subscription_status(self) -> list[dict[str, Any]]:
        with self._lock:
            subs = sorted(self._subscriptions.values(), key=lambda s: s.id)
        current = self._store.get_current_sequence()
        return [self._status(s, current) for s in subs]

    def _status(self, sub: DurableSubscription, current: int) -> dict[str, Any]:
        with self._lock:
            progress = self._progress.get(sub.id) or _Progress()
        return {
            "id": sub.id,
            "last_sequence": sub.last_sequence,
            "current_sequence": current,
            "lag": max(0, current - sub.last_sequence),
            "enabled": sub.enabled,
            "error_count": sub.error_count,
            "max_errors": sub.max_errors,
            "last_error": progress.last_error,
            "retry_in": max(0.0, progress.retry_at - self._clock()) if sub.enabled else None,
            "webhook_url": sub.webhook_url,
            "event_types": (
                None if sub.event_types is None else [t.value for t in sub.event_types]
            ),
            "entity_filter": sub.entity_filter,
        }
