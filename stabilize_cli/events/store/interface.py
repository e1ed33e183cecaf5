"""The event store contract: append-only, globally ordered, queryable."""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..base import EntityType, Event, EventType
from .elision import Elision
from .raw import UnreadableRow

UNLIMITED = 2**63 - 1
"""A ``limit`` that never cuts (``limit=0`` returns nothing, as in the engine)."""

ORDERABLE_COLUMNS = frozenset(
    {"sequence", "timestamp", "event_type", "entity_type", "entity_id", "workflow_id", "version"}
)


@dataclass
class EventQuery:
    """Which events to fetch; unset fields do not filter.

    As in the engine, ``from_sequence`` is exclusive (events after it) and
    ``to_sequence`` inclusive; timestamps are inclusive at both ends.
    """

    entity_type: EntityType | None = None
    entity_id: str | None = None
    workflow_id: str | None = None
    event_types: list[EventType] | None = None
    from_sequence: int | None = None
    to_sequence: int | None = None
    from_timestamp: datetime | None = None
    to_timestamp: datetime | None = None
    limit: int = 1000
    offset: int = 0
    order_by: str = "sequence"
    ascending: bool = True

    def validate(self) -> None:
        """Reject values SQLite would silently reinterpret (``LIMIT -1`` means no limit)."""
        if self.limit < 0 or self.limit > UNLIMITED:
            raise ValueError(f"limit must be between 0 and 2^63-1 (got {self.limit})")
        if self.offset < 0 or self.offset > UNLIMITED:
            raise ValueError(f"offset must be between 0 and 2^63-1 (got {self.offset})")
        if self.order_by not in ORDERABLE_COLUMNS:
            allowed = ", ".join(sorted(ORDERABLE_COLUMNS))
            raise ValueError(f"cannot order by {self.order_by!r}; use one of: {allowed}")


@dataclass
class AppendResult:
    """Events as stored, with the sequence numbers the store gave them."""

    events: list[Event] = field(default_factory=list)
    sequences: list[int] = field(default_factory=list)

    @property
    def first_sequence(self) -> int:
        return self.sequences[0] if self.sequences else 0

    @property
    def last_sequence(self) -> int:
        return self.sequences[-1] if self.sequences else 0

    @classmethod
    def of(cls, events: list[Event]) -> AppendResult:
        return cls(events=list(events), sequences=[e.sequence for e in events])


class EventStore(ABC):
    """Append-only store; every event gets a unique, increasing global sequence."""

    def append(self, event: Event, connection: Any | None = None) -> Event:
        """Append one event; returns it with its sequence."""
        return self.append_batch([event], connection=connection)[0]

    @abstractmethod
    def append_batch(self, events: list[Event], connection: Any | None = None) -> list[Event]:
        """Append all events in one transaction, sequences in order.

        With ``connection``, the rows join the caller's open transaction and the
        caller commits; otherwise the store commits before returning.
        """

    @abstractmethod
    def get_events(self, query: EventQuery) -> Iterator[Event]:
        """Matching events, streamed; ordered by ``query.order_by``."""

    @abstractmethod
    def get_events_for_entity(
        self, entity_type: EntityType, entity_id: str, from_version: int = 0
    ) -> list[Event]:
        """The entity's events with a version above ``from_version``, in sequence order."""

    @abstractmethod
    def get_events_for_workflow(self, workflow_id: str, from_sequence: int = 0) -> list[Event]:
        """The workflow's events after ``from_sequence``, in sequence order."""

    @abstractmethod
    def get_current_sequence(self) -> int:
        """The highest sequence in the store, 0 when empty."""

    @abstractmethod
    def get_events_since(self, sequence: int, limit: int = 1000) -> list[Event]:
        """Up to ``limit`` events after ``sequence``, for catch-up subscriptions."""

    def get_event_by_id(self, event_id: str) -> Event | None:
        for event in self.get_events(EventQuery(limit=UNLIMITED)):
            if event.event_id == event_id:
                return event
        return None

    def count_events(self, query: EventQuery | None = None) -> int:
        """Matching events, ignoring ``limit`` and ``offset`` (as the engine does)."""
        base = query or EventQuery()
        unbounded = dataclasses.replace(base, limit=UNLIMITED, offset=0)
        return sum(1 for _ in self.get_events(unbounded))


class AuditableStore(EventStore):
    """The engine's API plus what an audit reads beyond it (ours): what a backend must
    implement for ``queries/`` and ``audit/`` to run on it, whatever its SQL.

    ``backend`` names the dialect ``audit.read_models_for`` picks (``"sqlite"``,
    ``"postgres"``). The three filters are applied to everything read back (the CLI
    redacts with them); writes are never filtered.
    """

    backend: str
    event_filter: Callable[[Event], Event] | None
    unreadable_filter: Callable[[UnreadableRow], UnreadableRow] | None
    snapshot_filter: Callable[[dict[str, Any]], dict[str, Any]] | None
    quiet_damage: bool = False
    """For a viewer that shows what it read and marks it from the notes (the explorer): a
    stream that went past damaged pages ends once it noted them in the store's notes,
    instead of raising ``DamageSkippedError`` after its rows (a screen has no "after")."""

    @property
    @abstractmethod
    def path(self) -> str:
        """Where the store is, fit to show (a file path; a URL without its password)."""

    @property
    @abstractmethod
    def is_memory(self) -> bool:
        """Nothing outlives the process: no cache may be keyed by it."""

    @abstractmethod
    def get_rows(self, query: EventQuery) -> Iterator[Event | UnreadableRow]:
        """Like ``get_events``, with each row the codec refuses as stored instead."""

    @abstractmethod
    def iter_workflow_events(
        self,
        workflow_id: str,
        from_sequence: int = 0,
        to_sequence: int | None = None,
        *,
        elide: Elision | None = None,
    ) -> Iterator[Event]:
        """The workflow's events after ``from_sequence`` up to ``to_sequence``, streamed.

        With ``elide``, an event of its types may come with an :class:`ElidedPayload`
        (see :mod:`.elision`): when the store proves from the stored row that the payload
        holds none of its keys and would decode; never for a row it cannot prove that of."""

    def readable_events(self, query: EventQuery) -> Iterator[Event]:
        """``get_events`` for reports that fold many events: a backend that can read past a
        damaged part of its storage leaves it out and notes it in the notes it was opened
        with, instead of raising (this default: ``get_events`` itself)."""
        return self.get_events(query)

    @abstractmethod
    def refresh(self) -> bool:
        """Make later appends visible to a follower; True if anything was reopened."""

    def consistent_reads(self) -> AbstractContextManager[None]:
        """Reads inside see one state of the store, where a backend gives that cheaply
        (PostgreSQL: one REPEATABLE READ READ ONLY transaction). SQLite: nothing, each
        read stays short (a long read transaction would block the engine's COMMIT in
        rollback-journal mode)."""
        return nullcontext()

    @abstractmethod
    def close(self) -> None:
        """Release connections and anything kept for reading (a private copy)."""

    # -- snapshots -----------------------------------------------------------------------

    @abstractmethod
    def has_snapshot_table(self) -> bool:
        """Whether the database keeps snapshots at all (an audit never creates the table)."""

    @abstractmethod
    def save_snapshot(
        self,
        entity_type: EntityType,
        entity_id: str,
        workflow_id: str,
        version: int,
        sequence: int,
        state: dict[str, Any],
    ) -> None: ...

    @abstractmethod
    def get_snapshots(
        self, entity_type: EntityType, entity_id: str, max_sequence: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """The entity's snapshots up to ``max_sequence``, newest first."""

    @abstractmethod
    def get_latest_snapshot(self, entity_type: EntityType, entity_id: str) -> dict[str, Any] | None:
        """The engine's shape on every backend: the highest version's snapshot as
        ``{entity_type, entity_id, workflow_id, version, sequence, state, state_hash}``
        with ``state`` decoded (``SnapshotIntegrityError`` when it is not JSON)."""

    @abstractmethod
    def list_snapshots(self, workflow_id: str | None = None) -> list[dict[str, Any]]: ...

    # -- durable subscription positions ----------------------------------------------------

    @abstractmethod
    def save_subscription(
        self,
        subscription_id: str,
        event_types: list[EventType] | None,
        entity_filter: dict[str, Any] | None,
        last_sequence: int,
        webhook_url: str | None = None,
    ) -> None: ...

    @abstractmethod
    def get_subscription(self, subscription_id: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def list_subscriptions(self) -> list[dict[str, Any]]: ...

    @abstractmethod
    def update_subscription_sequence(self, subscription_id: str, last_sequence: int) -> None: ...

    @abstractmethod
    def delete_subscription(self, subscription_id: str) -> bool: ...
