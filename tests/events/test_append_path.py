"""The append path's shortcuts give exactly what their plain forms give."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from stabilize_cli.events import (
    DuplicateEventError,
    EntityType,
    Event,
    EventMetadata,
    EventQuery,
    EventType,
    SqliteEventStore,
)
from stabilize_cli.events.base import RAW_EVENT_TYPE_KEY
from stabilize_cli.events.store import UNLIMITED
from stabilize_cli.events.store.codec import encode_payload, event_to_params
from stabilize_cli.events.store.sequenced import with_sequences
from stabilize_cli.events.timeutil import format_timestamp

WHEN = datetime(2026, 11, 28, 17, 30, 5, 123456, tzinfo=UTC)


def every_field_set(n: int, **changes: object) -> Event:
    event = Event(
        event_id=f"01JEVENT{n:018d}",
        event_type=EventType.TASK_RETRIED,
        timestamp=WHEN + timedelta(seconds=n),
        sequence=0,
        entity_type=EntityType.TASK,
        entity_id=f"task-{n}",
        workflow_id="wf-9",
        version=7 + n,
        data={"name": "Run", "attempt": n, "outputs": {"ok": True}},
        metadata=EventMetadata("corr", "cause", "someone", "Handler"),
        schema_version=3,
    )
    return dataclasses.replace(event, **changes)


def test_sequenced_copies_equal_dataclasses_replace_field_by_field() -> None:
    events = [every_field_set(n) for n in range(5)]
    copies = with_sequences(events, 41)
    assert copies == [dataclasses.replace(e, sequence=41 + i) for i, e in enumerate(events)]
    for copy, event in zip(copies, events, strict=True):
        for field in dataclasses.fields(Event):
            if field.name != "sequence":
                assert getattr(copy, field.name) is getattr(event, field.name), field.name
    assert [e.sequence for e in events] == [0] * 5


@pytest.mark.parametrize(
    "zone",
    [
        UTC,
        timezone(timedelta(0), "Z"),
        ZoneInfo("UTC"),
        timezone(timedelta(hours=5, minutes=30)),
    ],
    ids=["UTC", "zero-offset", "zoneinfo-UTC", "plus-0530"],
)
def test_timestamps_are_written_in_the_engine_form_whatever_the_zone(zone: object) -> None:
    local = WHEN.astimezone(zone)  # type: ignore[arg-type]
    params = event_to_params(every_field_set(1, timestamp=local))
    assert params[2] == format_timestamp(local) == "2026-11-28T17:30:05.123456+00:00"


def test_unknown_types_are_written_by_their_raw_name_without_the_marker() -> None:
    event = every_field_set(
        2, event_type=EventType.UNKNOWN, data={RAW_EVENT_TYPE_KEY: "custom.thing", "a": 1}
    )
    params = event_to_params(event)
    assert params[1] == "custom.thing"
    assert json.loads(params[7]) == {"a": 1}


def test_the_payload_encoding_is_json_dumps_with_str_for_the_rest() -> None:
    value = {"n": 1.5, "when": WHEN, "nested": {"é": [1, None, True]}, "nan": float("nan")}
    assert encode_payload(value) == json.dumps(value, default=str)


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqliteEventStore]:
    url = ":memory:" if request.param == "memory" else str(tmp_path / "append.db")
    with SqliteEventStore(url) as opened:
        yield opened


@pytest.mark.parametrize("size", [1, 49, 50, 51, 137, 1000])
def test_batches_of_any_size_are_stored_in_order_with_their_sequences(
    store: SqliteEventStore, size: int
) -> None:
    store.append(every_field_set(0, event_id="01JFIRST000000000000000000"))
    events = [every_field_set(n, event_id=f"01JBATCH{n:018d}") for n in range(size)]
    stored = store.append_batch(events)
    assert [e.sequence for e in stored] == list(range(2, size + 2))
    assert stored == [dataclasses.replace(e, sequence=2 + i) for i, e in enumerate(events)]
    read = list(store.get_events(EventQuery(limit=UNLIMITED)))
    assert read[1:] == stored


def test_a_duplicate_in_a_long_batch_stores_none_of_it(store: SqliteEventStore) -> None:
    events = [every_field_set(n, event_id=f"01JBATCH{n:018d}") for n in range(120)]
    events[77] = every_field_set(77, event_id=events[3].event_id)
    with pytest.raises(DuplicateEventError):
        store.append_batch(events)
    assert list(store.get_events(EventQuery(limit=UNLIMITED))) == []


@pytest.mark.parametrize("size", [49, 120])
def test_a_batch_joins_the_callers_transaction_whole(store: SqliteEventStore, size: int) -> None:
    events = [every_field_set(n, event_id=f"01JBATCH{n:018d}") for n in range(size)]
    with store.transaction() as conn:
        stored = store.append_batch(events, connection=conn)
    assert [e.sequence for e in stored] == list(range(1, size + 1))
    assert list(store.get_events(EventQuery(limit=UNLIMITED))) == stored


def test_a_failed_batch_in_the_callers_transaction_leaves_the_rest_of_it(
    store: SqliteEventStore,
) -> None:
    first = every_field_set(0, event_id="01JFIRST000000000000000000")
    events = [every_field_set(n, event_id=f"01JBATCH{n:018d}") for n in range(120)]
    events[99] = every_field_set(99, event_id=first.event_id)
    with store.transaction() as conn:
        store.append_batch([first], connection=conn)
        with pytest.raises(DuplicateEventError):
            store.append_batch(events, connection=conn)
    assert [e.event_id for e in store.get_events(EventQuery(limit=UNLIMITED))] == [first.event_id]
