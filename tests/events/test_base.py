"""Events: immutable, ULID-identified, UTC, and round-tripping the engine's JSON form."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta, timezone

import pytest

from stabilize_cli.events import EntityType, Event, EventMetadata, EventType
from stabilize_cli.events.base import RAW_EVENT_TYPE_KEY

CROCKFORD = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


def sample_event() -> Event:
    return Event(
        event_type=EventType.STAGE_FAILED,
        timestamp=datetime(2026, 11, 28, 14, 40, 58, 128463, tzinfo=UTC),
        sequence=42,
        entity_type=EntityType.STAGE,
        entity_id="S1",
        workflow_id="W1",
        version=3,
        data={"error": "boom", "nested": {"a": [1, 2]}},
        metadata=EventMetadata("W1", causation_id="E0", actor="alice", source_handler="H"),
        schema_version=1,
    )


def test_the_seeds_event_types_and_the_engines_newer_ones_all_exist() -> None:
    values = {t.value for t in EventType}
    assert {"workflow.created", "stage.skipped", "task.retried", "jump.executed"} <= values
    assert {"stage.suspended", "stage.resumed", "task.suspended", "custom.progress"} <= values
    assert EventType.UNKNOWN.value == "unknown.event"


def test_an_unknown_type_string_parses_to_unknown_without_raising() -> None:
    assert EventType.parse("custom.deployed") is EventType.UNKNOWN
    assert EventType.parse("stage.failed") is EventType.STAGE_FAILED


def test_the_constructor_stays_strict_about_type_strings() -> None:
    with pytest.raises(ValueError, match=r"custom\.deployed"):
        EventType("custom.deployed")


def test_events_are_immutable() -> None:
    event = sample_event()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.sequence = 7  # type: ignore[misc]


def test_with_sequence_copies_and_leaves_the_original_alone() -> None:
    event = sample_event()
    stored = event.with_sequence(99)
    assert (stored.sequence, event.sequence) == (99, 42)
    assert dataclasses.replace(stored, sequence=42) == event


def test_event_ids_are_time_ordered_ulids() -> None:
    first = Event()
    time.sleep(0.002)
    second = Event()
    assert len(first.event_id) == 26
    assert set(first.event_id) <= CROCKFORD
    assert first.event_id < second.event_id


def test_default_timestamp_is_utc_aware_and_now() -> None:
    before = datetime.now(UTC)
    event = Event()
    assert event.timestamp.tzinfo is not None
    assert before <= event.timestamp <= datetime.now(UTC)


def test_a_naive_timestamp_is_taken_as_utc() -> None:
    event = Event(timestamp=datetime(2026, 1, 1, 12, 0))
    assert event.timestamp == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_an_offset_timestamp_is_normalised_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    event = Event(timestamp=datetime(2026, 1, 1, 14, 0, tzinfo=plus_two))
    assert event.timestamp.utcoffset() == timedelta(0)
    assert event.timestamp.hour == 12


def test_to_dict_is_the_engines_json_form() -> None:
    event = sample_event()
    assert event.to_dict() == {
        "event_id": event.event_id,
        "event_type": "stage.failed",
        "timestamp": "2026-11-28T14:40:58.128463+00:00",
        "sequence": 42,
        "entity_type": "stage",
        "entity_id": "S1",
        "workflow_id": "W1",
        "version": 3,
        "data": {"error": "boom", "nested": {"a": [1, 2]}},
        "metadata": {
            "correlation_id": "W1",
            "causation_id": "E0",
            "actor": "alice",
            "source_handler": "H",
        },
        "schema_version": 1,
    }


def test_from_dict_round_trips_to_dict() -> None:
    event = sample_event()
    assert Event.from_dict(event.to_dict()) == event


def test_from_dict_accepts_a_trailing_z() -> None:
    raw = sample_event().to_dict() | {"timestamp": "2026-11-28T14:40:58Z"}
    assert Event.from_dict(raw).timestamp == datetime(2026, 11, 28, 14, 40, 58, tzinfo=UTC)


def test_from_dict_keeps_an_unknown_type_and_shows_it_raw() -> None:
    event = Event.from_dict(sample_event().to_dict() | {"event_type": "custom.deployed"})
    assert event.event_type is EventType.UNKNOWN
    assert event.data[RAW_EVENT_TYPE_KEY] == "custom.deployed"
    assert event.type_name == "custom.deployed"


def test_from_dict_rejects_a_timestamp_that_is_not_one() -> None:
    with pytest.raises(ValueError, match="yesterday"):
        Event.from_dict(sample_event().to_dict() | {"timestamp": "yesterday"})


def test_metadata_round_trips_and_defaults_actor_to_system() -> None:
    meta = EventMetadata("c")
    assert (meta.causation_id, meta.actor, meta.source_handler) == (None, "system", None)
    assert EventMetadata.from_dict(meta.to_dict()) == meta
