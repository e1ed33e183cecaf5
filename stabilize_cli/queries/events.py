"""Events as they are stored: one entity's history, raw filtered queries, and following
the store as it grows (``tail -f``)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, cast

from ..audit import read_models_for
from ..events.base import RAW_EVENT_TYPE_KEY, EntityType, Event, EventType
from ..events.errors import StoreBusyError, StoreCorruptError, StoreOpenError
from ..events.store import AuditableStore
from ..events.store.interface import UNLIMITED, EventQuery
from ..events.store.raw import UnreadableRow, json_value, readable_part
from ..events.timeutil import ensure_utc, format_timestamp
from ..runs.cause import Cause
from .errors import InvalidInputError, NotFoundError
from .runs import NO_CAUSES, StageCauses, run_causes
from .workflows import resolve_workflow

EVERY_VERSION = -(2**63)
"""``from_version`` that keeps every event (the engine's default, 0, drops version 0)."""
VALID_EVENT_TYPES = tuple(t.value for t in EventType if t is not EventType.UNKNOWN)
StoredEvent = Event | UnreadableRow
"""What event reads that show every row yield: an unreadable row comes back as stored."""
RECORD_COLUMNS = (
    "sequence",
    "timestamp",
    "event_type",
    "entity_type",
    "entity_id",
    "workflow_id",
    "version",
    "actor",
    "source_handler",
    "event_id",
)
SUMMARY_FIRST = (
    "error",
    "reason",
    "status",
    "attempt",
    "last_error",
    "duration_ms",
    "name",
    "ref_id",
    "type",
)
SUMMARY_LIMIT = 400
"""Characters of summary kept per event: the full payload is in the JSON output."""
BUSY_RETRIES = 10
"""Polls in a row that may find the store locked before ``--follow`` gives up (exit 5)."""


# -- rows ---------------------------------------------------------------------------------


def summarize(data: dict[str, Any]) -> str:
    """The payload on one line, the keys a reader looks for first, as ``key=value``."""
    keys = [k for k in SUMMARY_FIRST if k in data]
    keys += [k for k in data if k not in SUMMARY_FIRST and k != RAW_EVENT_TYPE_KEY]
    parts: list[str] = []
    length = 0
    for key in keys:
        part = f"{key}={_summary_value(data[key])}"
        parts.append(part)
        length += len(part) + 1
        if length > SUMMARY_LIMIT:
            return " ".join(parts)[:SUMMARY_LIMIT] + "…"
    return " ".join(parts)


def _summary_value(value: Any) -> str:
    if isinstance(value, str):
        plain = bool(value) and not any(c.isspace() or c in "=\"'" for c in value)
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False, default=str)


def event_record(event: StoredEvent) -> dict[str, Any]:
    """One event as a flat row (type as stored, also for types this library does not know)."""
    if isinstance(event, UnreadableRow):
        return unreadable_record(event)
    return {
        "sequence": event.sequence,
        "timestamp": format_timestamp(event.timestamp),
        "event_type": event.type_name,
        "entity_type": event.entity_type.value,
        "entity_id": event.entity_id,
        "workflow_id": event.workflow_id,
        "version": event.version,
        "actor": event.metadata.actor,
        "source_handler": event.metadata.source_handler,
        "event_id": event.event_id,
        "summary": summarize(event.data),
    }


def unreadable_record(row: UnreadableRow) -> dict[str, Any]:
    """An unreadable row in the same columns, values as stored; the summary says why."""
    columns = {k: json_value(v) for k, v in row.columns.items()}
    if row.timestamp is not None:
        columns["timestamp"] = format_timestamp(row.timestamp)
    raw = "NULL" if row.raw is None else str(json_value(row.raw))
    if len(raw) > SUMMARY_LIMIT:
        raw = raw[:SUMMARY_LIMIT] + f"… ({len(raw)} characters)"
    record = {key: columns[key] for key in RECORD_COLUMNS}
    record["summary"] = f"unreadable {row.column}: {row.reason}; raw: {raw}"
    return record


# -- history ------------------------------------------------------------------------------


_FAILED_EVENTS = frozenset({"stage.failed", "task.failed"})


@dataclass(frozen=True)
class WithCause:
    """An event in the engine's form, and a failure event with its real cause beside it."""

    event: StoredEvent
    cause: Cause | None

    def to_dict(self) -> dict[str, Any]:
        document = self.event.to_dict()
        if self.cause is not None:
            document["cause"] = self.cause.to_json()
        return document


@dataclass(frozen=True)
class EntityHistory:
    """One entity's events, read lazily from the open store each time they are asked for:
    a workflow of a million events is streamed, never held (issue 13, section 5)."""

    entity_type: EntityType
    entity_id: str
    store: AuditableStore
    query: EventQuery
    count: int
    """Rows that match, unreadable ones included (they are shown in place)."""
    owner: str | None
    """The workflow the entity's events belong to, when that is another id (a stage's or
    a task's), judged by its first and last event."""
    whole_workflow: bool = False
    """True with ``--all``: every event of the workflow, its stages' and tasks' too."""
    causes: StageCauses = field(default_factory=lambda: NO_CAUSES)
    """Real causes from the engine's tables for the run the entity belongs to."""

    def events(self) -> Iterator[StoredEvent]:
        return self.store.get_rows(self.query)

    def records(self) -> Iterator[dict[str, Any]]:
        return (event_record(e) for e in self.events())

    def with_causes(self) -> Iterator[WithCause]:
        """The events, each failure event with its real cause beside it (streamed)."""
        for event in self.events():
            cause = None
            if isinstance(event, Event) and event.type_name in _FAILED_EVENTS:
                cause = self.causes.of(event.entity_type.value, event.entity_id)
            yield WithCause(event, cause)

    def to_json(self) -> Iterator[dict[str, Any]]:
        return (e.to_dict() for e in self.with_causes())

    def shown_causes(self) -> list[tuple[str, Cause]]:
        """The causes the table lists after the events: the entity's own, or with ``--all``
        every failed stage's of the workflow."""
        if self.whole_workflow:
            return list(self.causes.by_stage.items())
        found = self.causes.of(self.entity_type.value, self.entity_id)
        return [] if found is None else [(self.entity_id, found)]


def entity_history(
    store: AuditableStore,
    entity_id: str,
    entity_type: str | None = None,
    *,
    whole_workflow: bool = False,
) -> EntityHistory:
    entity_id = _workflow_reference(store, entity_id, entity_type)
    kind = _entity_kind(store, entity_id, entity_type)
    if whole_workflow:
        if kind is not EntityType.WORKFLOW:
            raise InvalidInputError(f"--all is for workflows; '{entity_id}' is a {kind.value}")
        query = EventQuery(workflow_id=entity_id, limit=UNLIMITED)
    else:
        query = EventQuery(entity_type=kind, entity_id=entity_id, limit=UNLIMITED)
    ends = [
        *readable_part(store.get_rows(dataclasses.replace(query, limit=1))),
        *readable_part(store.get_rows(dataclasses.replace(query, limit=1, ascending=False))),
    ]
    owners = {e.workflow_id for e in ends} - {entity_id}
    owner = owners.pop() if len(owners) == 1 else None
    try:
        count = store.count_events(query)
    except StoreCorruptError:  # a damaged page: the rows that can be read (said after them)
        count = sum(1 for _ in readable_part(store.get_rows(query)))
    run = owner if owner is not None else entity_id if kind is EntityType.WORKFLOW else None
    causes = (
        NO_CAUSES
        if run is None or (kind is EntityType.WORKFLOW and not whole_workflow)
        else (run_causes(store, run))
    )
    return EntityHistory(kind, entity_id, store, query, count, owner, whole_workflow, causes)


def _workflow_reference(store: AuditableStore, entity_id: str, wanted: str | None) -> str:
    """``latest``, a workflow prefix or a lower-case id, when no entity has that exact id."""
    if wanted not in (None, EntityType.WORKFLOW.value) or read_models_for(
        store
    ).catalog.entity_types(entity_id):
        return entity_id
    try:
        return resolve_workflow(store, entity_id)
    except NotFoundError:
        return entity_id  # reported below as no workflow, stage or task


def _entity_kind(store: AuditableStore, entity_id: str, wanted: str | None) -> EntityType:
    """The entity type that has this id: the one asked for, or the only one there is."""
    if not entity_id:
        raise InvalidInputError("empty entity id")
    known = {t.value for t in EntityType}
    found = [
        EntityType(t) for t in read_models_for(store).catalog.entity_types(entity_id) if t in known
    ]
    if wanted is not None:
        kind = parse_entity_type(wanted)
        if kind not in found:
            hint = f" (it is the id of a {' and a '.join(found)})" if found else ""
            raise NotFoundError(f"no {kind.value} '{entity_id}' in the store{hint}")
        return kind
    if not found:
        raise NotFoundError(f"no workflow, stage or task '{entity_id}' in the store")
    if len(found) > 1:
        both = " and a ".join(found)
        raise InvalidInputError(f"'{entity_id}' is the id of a {both}: say which with --type")
    return found[0]


def parse_entity_type(text: str) -> EntityType:
    try:
        return EntityType(text.lower())
    except ValueError:
        valid = ", ".join(t.value for t in EntityType)
        raise InvalidInputError(f"unknown entity type '{text}' (use one of: {valid})") from None


# -- raw queries --------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """What ``stabilize events`` asks for, as typed (validated by :func:`build_query`)."""

    workflow: str | None = None
    event_types: tuple[str, ...] = ()
    entity_type: str | None = None
    from_sequence: int | None = None
    to_sequence: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    reverse: bool = False


def build_query(store: AuditableStore, wanted: EventFilter) -> EventQuery:
    """The library query for a filter; every value a user can get wrong is refused here."""
    _check_count("--limit", wanted.limit)
    _check_count("--from-seq", wanted.from_sequence)
    _check_count("--to-seq", wanted.to_sequence)
    low, high = wanted.from_sequence, wanted.to_sequence
    if low is not None and high is not None and low > high:
        raise InvalidInputError(f"--from-seq {low} is after --to-seq {high}")
    if wanted.since and wanted.until and wanted.since > wanted.until:
        raise InvalidInputError("--since is after --until")
    return EventQuery(
        entity_type=None if wanted.entity_type is None else parse_entity_type(wanted.entity_type),
        workflow_id=None if wanted.workflow is None else resolve_workflow(store, wanted.workflow),
        event_types=parse_event_types(wanted.event_types) or None,
        from_sequence=None if low is None else low - 1,  # --from-seq N includes N
        to_sequence=high,
        from_timestamp=wanted.since,
        to_timestamp=wanted.until,
        limit=wanted.limit,
        ascending=not wanted.reverse,
    )


def _check_count(option: str, value: int | None) -> None:
    if value is None:
        return
    if value < 0:
        raise InvalidInputError(f"{option} must not be negative (got {value})")
    if value > UNLIMITED:
        raise InvalidInputError(f"{option} must be at most 2^63-1 (got {value})")


def parse_event_types(texts: tuple[str, ...]) -> list[EventType]:
    types: list[EventType] = []
    for text in texts:
        if text.lower() not in VALID_EVENT_TYPES:
            valid = ", ".join(VALID_EVENT_TYPES)
            raise InvalidInputError(f"unknown event type '{text}' (valid types: {valid})")
        types.append(EventType(text.lower()))
    return types


@dataclass(frozen=True)
class EventStream:
    """A query's events, read lazily in keyset pages: nothing is held as a whole list."""

    store: AuditableStore
    query: EventQuery
    _shown: list[int] = field(default_factory=list)
    """How many rows the last read gave, and the sequence of its last one."""

    def events(self) -> Iterator[StoredEvent]:
        """Every matching row: an unreadable one as an :class:`UnreadableRow`, in place."""
        self._shown[:] = [0, 0]
        for row in self.store.get_rows(self.query):
            self._shown[:] = [self._shown[0] + 1, row.sequence]
            yield row

    def full_page(self) -> bool:
        """Whether the last read stopped at ``--limit`` with more rows matching: then the
        caller says so (a page that ends silently looks like the whole answer)."""
        if not self._shown or self._shown[0] < self.query.limit or self.query.limit == 0:
            return False
        last = self._shown[1]
        low, high = self.query.from_sequence, self.query.to_sequence
        if self.query.ascending:
            after = dataclasses.replace(self.query, from_sequence=max(low or 0, last), limit=1)
        else:
            below = last - 1 if high is None else min(high, last - 1)
            after = dataclasses.replace(self.query, to_sequence=below, limit=1)
        return next(iter(self.store.get_rows(after)), None) is not None

    def records(self) -> Iterator[dict[str, Any]]:
        return (event_record(e) for e in self.events())

    def to_json(self) -> Iterator[dict[str, Any]]:
        return (e.to_dict() for e in self.events())


def query_events(store: AuditableStore, wanted: EventFilter) -> EventStream:
    return EventStream(store, build_query(store, wanted))


# -- following ----------------------------------------------------------------------------


MAX_INTERVAL = 86_400.0
"""A day between polls: beyond it ``--follow`` would look dead (and ``time.sleep`` fails
past the platform's time_t)."""


def check_interval(seconds: float) -> None:
    if not math.isfinite(seconds) or seconds <= 0:
        raise InvalidInputError(f"--interval must be a positive number of seconds (got {seconds})")
    if seconds > MAX_INTERVAL:
        raise InvalidInputError(
            f"--interval must be at most {MAX_INTERVAL:g} seconds (got {seconds:g})"
        )


def follow_events(
    store: AuditableStore,
    query: EventQuery,
    *,
    interval: float,
    sleep: Callable[[float], None],
    stop: Callable[[], bool],
    warn: Callable[[str], object] = lambda message: None,
) -> Iterator[StoredEvent]:
    """The last ``query.limit`` matching events, then each new match as it is appended.

    Tracks the last sequence seen, never an "expected next" one: gaps are normal (a
    rolled-back insert), and SQLite commits in sequence order, so nothing is skipped.
    Each poll is a short keyset read; ``stop`` is asked after every poll, ``sleep`` between.
    A poll that finds the store locked past the busy timeout is retried after ``interval``
    (``warn`` is told the first time), up to ``BUSY_RETRIES`` in a row.
    """
    if not query.ascending:
        raise InvalidInputError("--reverse cannot be combined with --follow")
    check_interval(interval)
    ordered = _commit_ordered(store)
    if ordered is not None:
        problem = ordered.commit_order_problem()
        if problem is None:
            return _poll_commit_order(ordered, store, query, interval, sleep, stop, warn)
        warn(problem)
    return _poll(store, query, interval, sleep, stop, warn)


class _CommitOrdered(Protocol):
    """A store whose rows become visible in commit order, not sequence order (PostgreSQL):
    a follower polling ``sequence > last`` could step past a row committed late."""

    def commit_order_problem(self) -> str | None: ...
    def follow_start(self) -> tuple[Any, int, frozenset[int]]: ...
    def read_feed(self, position: Any, limit: int = 1000) -> Any: ...


def _commit_ordered(store: AuditableStore) -> _CommitOrdered | None:
    has = all(callable(getattr(store, name, None)) for name in ("follow_start", "read_feed"))
    return cast("_CommitOrdered", store) if has else None


FEED_PAGE = 1000


def _poll_commit_order(
    ordered: _CommitOrdered,
    store: AuditableStore,
    query: EventQuery,
    interval: float,
    sleep: Callable[[float], None],
    stop: Callable[[], bool],
    warn: Callable[[str], object],
) -> Iterator[StoredEvent]:
    """The backlog by sequence up to the head visible at the start, then every row in
    commit order: each once, also one whose transaction took a lower sequence and
    committed later, and nothing lost when a page is cut by its limit."""
    position, head, seen_at_start = ordered.follow_start()
    bounded = dataclasses.replace(query, to_sequence=_lower(query.to_sequence, head))
    last = _backlog_start(store, bounded)
    shown = set(seen_at_start)
    for row in store.get_rows(_after(bounded, last)):
        shown.add(row.sequence)  # a transaction open at the start may commit meanwhile
        yield row
    if query.to_sequence is not None and head >= query.to_sequence:
        return
    busy_in_a_row = 0
    while True:
        try:
            page = ordered.read_feed(position, FEED_PAGE)
            busy_in_a_row = 0
        except StoreBusyError as error:
            busy_in_a_row += 1
            if busy_in_a_row > BUSY_RETRIES:
                raise
            if busy_in_a_row == 1:
                warn(f"{error}; retrying every {interval:g}s")
        else:
            for row in page.rows:
                if row.sequence not in shown and _matches(query, row):
                    yield row
            position = page.end
            if len(page.rows) == FEED_PAGE:
                continue  # more is waiting: no sleep
        if stop():
            return
        sleep(interval)


def _lower(limit: int | None, head: int) -> int:
    return head if limit is None else min(limit, head)


def _matches(query: EventQuery, row: StoredEvent) -> bool:
    """The query's filters, on a row the feed read (it reads every row in commit order)."""
    if query.from_sequence is not None and row.sequence <= query.from_sequence:
        return False
    if query.to_sequence is not None and row.sequence > query.to_sequence:
        return False
    if isinstance(row, UnreadableRow):
        moment = row.timestamp
        columns = row.columns
        entity_type, entity_id = columns.get("entity_type"), columns.get("entity_id")
        workflow_id, event_type = columns.get("workflow_id"), columns.get("event_type")
    else:
        moment = row.timestamp
        entity_type, entity_id = row.entity_type.value, row.entity_id
        workflow_id, event_type = row.workflow_id, row.type_name
    if query.entity_type is not None and entity_type != EntityType(query.entity_type).value:
        return False
    if query.entity_id is not None and entity_id != query.entity_id:
        return False
    if query.workflow_id is not None and workflow_id != query.workflow_id:
        return False
    if query.event_types is not None and event_type not in {
        EventType(t).value for t in query.event_types
    }:
        return False
    if (
        moment is not None
        and query.from_timestamp is not None
        and moment < ensure_utc(query.from_timestamp)
    ):
        return False
    return not (
        moment is not None
        and query.to_timestamp is not None
        and moment > ensure_utc(query.to_timestamp)
    )


def _poll(
    store: AuditableStore,
    query: EventQuery,
    interval: float,
    sleep: Callable[[float], None],
    stop: Callable[[], bool],
    warn: Callable[[str], object],
) -> Iterator[StoredEvent]:
    last = _backlog_start(store, query)
    same = SameDatabase(store)
    busy_in_a_row = 0
    while True:
        done = False
        try:
            same.check_file()
            store.refresh()
            head = same.check_contents()
            for event in store.get_rows(_after(query, last)):
                last = event.sequence
                same.shown(event)
                yield event
            done = head is not None and query.to_sequence is not None and head >= query.to_sequence
            busy_in_a_row = 0
        except StoreBusyError as error:
            busy_in_a_row += 1
            if busy_in_a_row > BUSY_RETRIES:
                raise
            if busy_in_a_row == 1:
                warn(f"{error}; retrying every {interval:g}s")
        if done or stop():
            return
        sleep(interval)


class SameDatabase:
    """Whether a followed database is still the one the stream started on.

    Renamed or copied over, or deleted, it must not splice another database's events into
    the stream, nor be followed forever once unlinked: the file's identity (device and
    inode), its head sequence (never going back) and the last event shown (still there,
    with the same id) are checked before each poll's read.
    """

    def __init__(self, store: AuditableStore) -> None:
        self.store = store
        self.on_file = store.backend == "sqlite" and not store.is_memory
        """Only a file has an identity to check; a server's database is judged by content."""
        self.identity = self._identity() if self.on_file else None
        self.head = store.get_current_sequence()
        self.anchor: tuple[int, object] | None = None

    def _identity(self) -> tuple[int, int]:
        try:
            info = os.stat(self.store.path)
        except FileNotFoundError:
            raise StoreOpenError(
                f"{self.store.path}: the database was deleted while being followed"
            ) from None
        return info.st_dev, info.st_ino

    def check_file(self) -> None:
        if self.on_file and self._identity() != self.identity:
            raise StoreOpenError(
                f"{self.store.path}: another file was put in the database's place "
                "while it was followed; stopping (its events would be another database's)"
            )

    def check_contents(self) -> int:
        """The head sequence, after checking nothing the stream showed has gone."""
        head = self.store.get_current_sequence()
        if head < self.head:
            self._replaced(f"its last sequence went back from {self.head} to {head}")
        self.head = head
        if self.anchor is not None:
            sequence, event_id = self.anchor
            probe = EventQuery(from_sequence=sequence - 1, to_sequence=sequence, limit=1)
            found = [_event_id(row) for row in self.store.get_rows(probe)]
            if found != [event_id]:
                self._replaced(f"event {sequence}, already shown, is gone or has another id")
        return head

    def shown(self, event: StoredEvent) -> None:
        self.anchor = (event.sequence, _event_id(event))

    def _replaced(self, why: str) -> None:
        raise StoreOpenError(
            f"{self.store.path}: the database changed into another while it was followed "
            f"({why}); stopping"
        )


def _event_id(row: StoredEvent) -> object:
    return row.event_id if isinstance(row, Event) else row.columns.get("event_id")


def _backlog_start(store: AuditableStore, query: EventQuery) -> int:
    """The sequence after which printing starts, so that ``query.limit`` matches come first."""
    if query.limit == 0:
        return store.get_current_sequence()
    newest_first = dataclasses.replace(query, ascending=False, offset=0)
    oldest_shown: int | None = None
    for event in store.get_rows(newest_first):
        oldest_shown = event.sequence
    return 0 if oldest_shown is None else oldest_shown - 1


def _after(query: EventQuery, last: int) -> EventQuery:
    start = max(last, query.from_sequence or 0)
    return dataclasses.replace(query, from_sequence=start, limit=UNLIMITED, offset=0)
