"""Events read without their payload (issue 13 section 5): never a row the codec would
refuse, never a payload holding a key the caller reads, the same events otherwise, on
both backends."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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
)
from stabilize_cli.events.store import ElidedKeyError, ElidedPayload, Elision
from stabilize_cli.events.store.raw import ReadNotes

from ..postgres_support import fresh_database

WF = "01ELIDEWF00000000000000WF1"
TASK = "01ELIDETASK000000000000TK1"
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
READ = Elision.of({EventType.TASK_RETRIED}, {"name", "stage_id", "retry_count"})
Store = SqliteEventStore | PostgresEventStore


def _event(kind: EventType, entity: EntityType, at: int, data: dict[str, Any]) -> Event:
    return Event(
        event_type=kind,
        timestamp=T0 + timedelta(milliseconds=at),
        entity_type=entity,
        entity_id=TASK if entity is EntityType.TASK else WF,
        workflow_id=WF,
        version=1,
        data=data,
        metadata=EventMetadata(correlation_id=WF, actor="someone"),
    )


def _retried(at: int, **data: Any) -> Event:
    return _event(EventType.TASK_RETRIED, EntityType.TASK, at, data)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        with SqliteEventStore(str(tmp_path / "events.db")) as sqlite_store:
            yield sqlite_store
        return
    with fresh_database() as url:
        pg = PostgresEventStore(url, create_tables=True)
        try:
            yield pg
        finally:
            pg.close()


def _compare(store: Store) -> list[Event]:
    """The elided read beside the full one: same events, payloads elided only soundly."""
    full = list(store.iter_workflow_events(WF))
    elided = list(store.iter_workflow_events(WF, elide=READ))
    assert len(elided) == len(full)
    for whole, light in zip(full, elided, strict=True):
        if not isinstance(light.data, ElidedPayload):
            assert light == whole
            continue
        assert whole.event_type in READ.event_types
        assert not READ.read_keys & set(whole.data)
        same = ("event_id", "event_type", "timestamp", "sequence", "entity_type", "entity_id")
        assert [getattr(light, k) for k in same] == [getattr(whole, k) for k in same]
        assert (light.workflow_id, light.version, light.schema_version) == (
            whole.workflow_id,
            whole.version,
            whole.schema_version,
        )
    return elided


def test_the_engines_retries_come_without_their_payload(store: Store) -> None:
    store.append_batch(
        [
            _event(EventType.TASK_STARTED, EntityType.TASK, 0, {"name": "Poll", "stage_id": "s"}),
            *(_retried(i, attempt=i, last_error=f"status 503 on attempt {i}") for i in range(1, 6)),
            _retried(6, attempt=6, last_error='password=hunter22 "quoted"\n'),  # escapes
            _retried(7, attempt=7, retry_count=7),  # holds a key the caller reads
            _retried(8, attempt=8, note="ünïcode"),  # more than one byte a character
            _event(EventType.TASK_COMPLETED, EntityType.TASK, 9, {"status": "SUCCEEDED"}),
        ]
    )
    elided = _compare(store)
    light = [isinstance(e.data, ElidedPayload) for e in elided]
    assert light[:6] == [False, True, True, True, True, True]
    assert light[7] is False  # retry_count is read
    assert light[9] is False  # not a retry
    if isinstance(store, SqliteEventStore):
        assert light[6:9] == [False, False, False]  # not provable from the text: read in full
    else:
        assert light[6:9] == [True, False, True]  # JSONB: the keys themselves are known


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    payloads=st.lists(
        st.dictionaries(
            st.sampled_from(["attempt", "last_error", "name", "retry_count", "x", "Name"]),
            st.none()
            | st.integers()
            | st.text(st.characters(exclude_characters="\x00"), max_size=30)
            | st.lists(st.integers(), max_size=3),
            max_size=4,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_any_payload_is_elided_only_when_it_holds_no_read_key(
    store: Store, payloads: list[dict[str, Any]]
) -> None:
    start = store.get_current_sequence()
    store.append_batch([_retried(i, **p) for i, p in enumerate(payloads)])
    full = list(store.iter_workflow_events(WF, from_sequence=start))
    light = list(store.iter_workflow_events(WF, from_sequence=start, elide=READ))
    assert [e.sequence for e in light] == [e.sequence for e in full]
    for whole, event in zip(full, light, strict=True):
        assert isinstance(event.data, ElidedPayload) <= (not READ.read_keys & set(whole.data))


def test_an_elided_payload_answers_only_for_the_keys_named() -> None:
    payload = READ.payload()
    assert payload.get("retry_count") is None
    assert payload.get("name", 3) == 3
    assert "stage_id" not in payload
    with pytest.raises(KeyError):
        payload["name"]
    for key in ("last_error", "status", "duration_ms"):
        with pytest.raises(ElidedKeyError):
            payload.get(key)
        with pytest.raises(ElidedKeyError):
            _ = key in payload
    with pytest.raises(TypeError):
        payload["name"] = "x"
    with pytest.raises(TypeError):
        payload.update(name="x")


# -- SQLite: any stored text, any storage class ----------------------------------------------

COLUMNS = (
    "event_id, event_type, timestamp, entity_type, entity_id, workflow_id, version, data, "
    "correlation_id, causation_id, actor, source_handler, schema_version"
)
ODD_TEXT = st.text(
    alphabet=st.sampled_from(list('{}[]":,0123456789 aeNnIf.-+eE\\\x00\x01\t\n\x7fé\u2028')),
    max_size=40,
)
JSONISH = st.one_of(
    ODD_TEXT,
    st.dictionaries(st.sampled_from(["attempt", "name", "x", "a\\u006e"]), st.integers()).map(
        json.dumps
    ),
    st.sampled_from(
        [
            '{"a": NaN}',
            '{"a": 1}\x00{"name": 1}',
            '{"a": 1} ',
            ' {"a": 1}',
            '{"a": "x\ty"}',
            '{"a": 1, "a": 2}',
            '{"n\\u0061me": 1}',
            '{"a": ' + "9" * 5000 + "}",
            "[" * 600 + "]" * 600,
            "{}",
            "[]",
            '"text"',
        ]
    ),
)
STORED = st.one_of(JSONISH, st.binary(max_size=20), st.integers(-(2**63), 2**63 - 1), st.none())


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    data=st.lists(STORED, min_size=1, max_size=5),
    stamp=st.sampled_from(
        ["2026-11-28T12:00:00+00:00", "2026-11-28 12:00:00", "9999-12-31T23:59:59-01:00", "x", 5]
    ),
    entity=st.sampled_from(["task", "stage", "nope"]),
    schema=st.sampled_from([1, None, 2, "1"]),
    event_id=st.sampled_from(["01ID", b"\x01", 7]),
)
def test_no_stored_row_reads_otherwise_for_being_elided(
    tmp_path_factory: pytest.TempPathFactory,
    data: list[object],
    stamp: object,
    entity: str,
    schema: object,
    event_id: object,
) -> None:
    path = tmp_path_factory.mktemp("odd") / "events.db"
    with sqlite3.connect(path) as conn:
        # columns without a type keep every storage class as given (TEXT would turn a
        # number into text, ANY would turn numeric text into a number)
        conn.execute(f"CREATE TABLE events (sequence INTEGER PRIMARY KEY AUTOINCREMENT, {COLUMNS})")
        for n, payload in enumerate(data):
            raw = payload.encode() if isinstance(payload, str) and "é" in payload else payload
            conn.execute(
                f"INSERT INTO events ({COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, NULL, ?, NULL, ?)",
                (
                    event_id if n == 0 else f"01ID{n}",
                    "task.retried",
                    stamp,
                    entity,
                    TASK,
                    WF,
                    raw,
                    WF,
                    "actor",
                    schema,
                ),
            )
    reads = []
    for elide in (None, READ):
        notes = ReadNotes()
        with SqliteEventStore(str(path), create_tables=False, read_only=True, notes=notes) as s:
            events = list(s.iter_workflow_events(WF, elide=elide))
        reads.append((events, notes))
    (full, full_notes), (light, light_notes) = reads
    assert set(light_notes.unreadable) == set(full_notes.unreadable)
    assert light_notes.newer_schema == full_notes.newer_schema
    assert light_notes.naive_timestamps == full_notes.naive_timestamps
    assert [e.sequence for e in light] == [e.sequence for e in full]
    for whole, event in zip(full, light, strict=True):
        if isinstance(event.data, ElidedPayload):
            assert not READ.read_keys & set(whole.data)
            assert (event.timestamp, event.entity_type) == (whole.timestamp, whole.entity_type)
        else:
            assert event == whole
