"""Snapshots: their stored form and checksum, when they are trusted, and replay through them."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stabilize_cli.events import snapshots as snapshots_module
from stabilize_cli.events.base import EntityType, Event, EventMetadata, EventType
from stabilize_cli.events.replay import EventReplayer
from stabilize_cli.events.snapshots import (
    Snapshot,
    SnapshotPolicy,
    SnapshotStore,
    check_snapshot_row,
)
from stabilize_cli.events.store.sqlite import SqliteEventStore

WF = "wf-1"
OTHER_WF = "wf-2"
T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
SNAPSHOT_LOGGER = "stabilize_cli.events.snapshots"


def engine_hash(state: dict[str, Any]) -> str:
    """The engine's checksum, computed here independently of the library."""
    text = json.dumps(state, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make(
    kind: EventType,
    entity_type: EntityType = EntityType.WORKFLOW,
    entity_id: str = WF,
    data: dict[str, Any] | None = None,
    *,
    workflow_id: str = WF,
    seconds: float = 0,
    schema_version: int = 1,
) -> Event:
    return Event(
        event_type=kind,
        timestamp=T0 + timedelta(seconds=seconds),
        entity_type=entity_type,
        entity_id=entity_id,
        workflow_id=workflow_id,
        version=1,
        data=data or {},
        metadata=EventMetadata(correlation_id=workflow_id),
        schema_version=schema_version,
    )


def story() -> list[Event]:
    """Ten events of WF: created, started, a stage with a retried task, completed."""
    return [
        make(EventType.WORKFLOW_CREATED, data={"application": "shop", "name": "deploy"}),
        make(EventType.WORKFLOW_STARTED, data={"context": {"env": "prod"}}, seconds=1),
        make(EventType.STAGE_STARTED, EntityType.STAGE, "s1", {"ref_id": "build"}, seconds=2),
        make(EventType.TASK_STARTED, EntityType.TASK, "t1", {"name": "run"}, seconds=3),
        make(EventType.TASK_RETRIED, EntityType.TASK, "t1", seconds=4),
        make(EventType.CONTEXT_UPDATED, data={"context": {"step": 1}}, seconds=5),
        make(EventType.TASK_COMPLETED, EntityType.TASK, "t1", {"outputs": {"rc": 0}}, seconds=6),
        make(EventType.STAGE_COMPLETED, EntityType.STAGE, "s1", {"status": "SUCCEEDED"}, seconds=7),
        make(EventType.CONTEXT_UPDATED, data={"context": {"step": 2}}, seconds=8),
        make(EventType.WORKFLOW_COMPLETED, data={"status": "SUCCEEDED"}, seconds=9),
    ]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "e.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteEventStore]:
    with SqliteEventStore(str(db_path)) as opened:
        yield opened


@pytest.fixture
def snapshots(store: SqliteEventStore) -> SnapshotStore:
    return SnapshotStore(store)


@pytest.fixture
def sequences(store: SqliteEventStore) -> list[int]:
    """The story, stored; its sequences in order (1 to 10)."""
    return [e.sequence for e in store.append_batch(story())]


def full_state(store: SqliteEventStore, as_of: int | None = None) -> dict[str, Any]:
    return EventReplayer(store).rebuild_workflow_state(WF, as_of)


def marked(state: dict[str, Any], mark: str) -> dict[str, Any]:
    """A copy whose context says which snapshot it came from, to see which one was used."""
    result = copy.deepcopy(state)
    result["context"]["snapshot"] = mark
    return result


def snapshot_at(
    store: SqliteEventStore, snapshots: SnapshotStore, sequence: int, mark: str
) -> Snapshot:
    """A marked snapshot of the full-replay state at ``sequence``, saved."""
    state = marked(full_state(store, sequence), mark)
    return snapshots.create_workflow_snapshot(state, WF, version=sequence, sequence=sequence)


def tamper(db_path: Path, sequence: int, **columns: str) -> None:
    """Overwrite columns of the snapshot row at ``sequence``, behind the library's back."""
    assignments = ", ".join(f"{name} = ?" for name in columns)
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            f"UPDATE snapshots SET {assignments} WHERE sequence = ?",
            (*columns.values(), sequence),
        )
    conn.close()


def snapshot_rows(db_path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(
            "SELECT entity_type, entity_id, workflow_id, version, sequence, state, state_hash "
            "FROM snapshots ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


# -- Snapshot as a dict ----------------------------------------------------------------


def example_snapshot() -> Snapshot:
    return Snapshot(
        entity_type=EntityType.WORKFLOW,
        entity_id=WF,
        workflow_id=WF,
        version=3,
        sequence=42,
        state={"workflow_id": WF, "context": {"a": [1, 2]}},
        created_at=datetime(2026, 11, 28, 14, 40, 58, 128463, tzinfo=UTC),
    )


def test_a_snapshot_as_a_dict_holds_plain_json_values() -> None:
    assert example_snapshot().to_dict() == {
        "entity_type": "workflow",
        "entity_id": WF,
        "workflow_id": WF,
        "version": 3,
        "sequence": 42,
        "state": {"workflow_id": WF, "context": {"a": [1, 2]}},
        "state_hash": engine_hash({"workflow_id": WF, "context": {"a": [1, 2]}}),
        "created_at": "2026-11-28T14:40:58.128463+00:00",
    }


def test_a_snapshot_dict_whose_hash_does_not_match_its_state_is_refused() -> None:
    data = {**example_snapshot().to_dict(), "state": {"workflow_id": "tampered"}}

    with pytest.raises(ValueError, match="integrity check failed"):
        Snapshot.from_dict(data)
    without_hash = {k: v for k, v in data.items() if k != "state_hash"}
    assert Snapshot.from_dict(without_hash).state == {"workflow_id": "tampered"}


def test_a_snapshot_survives_a_round_trip_through_its_dict_form() -> None:
    snapshot = example_snapshot()

    assert Snapshot.from_dict(snapshot.to_dict()) == snapshot


def test_a_snapshot_dict_with_sqlites_created_at_form_is_read_as_utc() -> None:
    data = {**example_snapshot().to_dict(), "created_at": "2026-11-28 14:40:58"}

    created = Snapshot.from_dict(data).created_at

    assert created == datetime(2026, 11, 28, 14, 40, 58, tzinfo=UTC)


def test_a_snapshots_state_hash_is_the_engines_checksum_of_its_state() -> None:
    snapshot = example_snapshot()

    assert snapshot.state_hash == engine_hash(snapshot.state)


# -- what save_snapshot writes ---------------------------------------------------------


def test_a_saved_snapshot_row_holds_the_sha256_of_the_sorted_key_json_of_the_state(
    db_path: Path, store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    state = full_state(store)
    snapshots.create_workflow_snapshot(state, WF, version=10, sequence=10)

    ((*_, stored_hash),) = snapshot_rows(db_path)

    assert stored_hash == engine_hash(state)


def test_a_saved_snapshot_row_holds_the_state_as_json_and_its_identity(
    db_path: Path, store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    state = full_state(store)
    snapshots.create_workflow_snapshot(state, WF, version=7, sequence=10)

    ((entity_type, entity_id, workflow_id, version, sequence, text, _),) = snapshot_rows(db_path)

    assert (entity_type, entity_id, workflow_id, version, sequence, json.loads(text)) == (
        "workflow",
        WF,
        WF,
        7,
        10,
        state,
    )


def test_the_stored_hash_matches_the_stored_state_text_after_reading_it_back(
    db_path: Path, snapshots: SnapshotStore
) -> None:
    state = {"workflow_id": WF, "when": T0, "b": {"z": 1, "a": [True, None, 1.5]}}
    snapshots.create_workflow_snapshot(state, WF, version=1, sequence=1)

    ((*_, text, stored_hash),) = snapshot_rows(db_path)

    assert engine_hash(json.loads(text)) == stored_hash


# -- get_latest_snapshot ---------------------------------------------------------------


def test_the_latest_snapshot_is_the_newest_one(
    store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 3, "old")
    newest = snapshot_at(store, snapshots, 7, "new")

    latest = snapshots.get_latest_snapshot(EntityType.WORKFLOW, WF)

    assert latest is not None
    assert (latest.sequence, latest.version, latest.state) == (7, 7, newest.state)


def test_an_entity_without_snapshots_has_no_latest_snapshot(snapshots: SnapshotStore) -> None:
    assert snapshots.get_latest_snapshot(EntityType.WORKFLOW, WF) is None


def test_the_latest_snapshot_is_that_of_the_entity_asked_for(
    store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 3, "mine")
    snapshots.create_workflow_snapshot({"workflow_id": OTHER_WF}, OTHER_WF, version=9, sequence=9)

    latest = snapshots.get_latest_snapshot(EntityType.WORKFLOW, WF)

    assert latest is not None
    assert latest.state["context"]["snapshot"] == "mine"


def test_a_latest_snapshot_with_a_tampered_hash_gives_way_to_the_older_sound_one(
    db_path: Path, store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 3, "old")
    snapshot_at(store, snapshots, 7, "new")
    tamper(db_path, 7, state_hash="0" * 64)

    latest = snapshots.get_latest_snapshot(EntityType.WORKFLOW, WF)

    assert latest is not None
    assert latest.sequence == 3


# -- unsound snapshots are never used --------------------------------------------------


def test_replay_falls_back_to_an_older_sound_snapshot_when_the_newer_hash_was_tampered(
    db_path: Path, store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 3, "old")
    snapshot_at(store, snapshots, 7, "new")
    tamper(db_path, 7, state_hash=engine_hash({"forged": True}))

    result = EventReplayer(store, snapshots).replay_workflow(WF)

    assert (result.from_snapshot, result.snapshot_sequence) == (True, 3)
    assert result.final_state == marked(full_state(store), "old")


def test_replay_falls_back_to_full_replay_when_the_only_snapshot_was_tampered(
    db_path: Path, store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 7, "forged")
    tamper(db_path, 7, state_hash="0" * 64)

    result = EventReplayer(store, snapshots).replay_workflow(WF)

    assert (result.from_snapshot, result.events_replayed) == (False, len(sequences))
    assert result.final_state == full_state(store)


def test_a_tampered_snapshot_is_reported_in_a_warning(
    db_path: Path,
    store: SqliteEventStore,
    sequences: list[int],
    snapshots: SnapshotStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    snapshot_at(store, snapshots, 7, "forged")
    tamper(db_path, 7, state_hash="0" * 64)
    caplog.set_level(logging.WARNING, logger=SNAPSHOT_LOGGER)

    EventReplayer(store, snapshots).rebuild_workflow_state(WF)

    (record,) = [r for r in caplog.records if r.name == SNAPSHOT_LOGGER]
    assert record.levelno == logging.WARNING
    assert "state_hash does not match" in record.getMessage()


def test_a_snapshot_whose_state_was_edited_under_its_hash_is_not_used(
    db_path: Path, store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 7, "edited")
    forged = marked(full_state(store, 7), "edited")
    forged["status"] = "SUCCEEDED"
    tamper(db_path, 7, state=json.dumps(forged))

    result = EventReplayer(store, snapshots).replay_workflow(WF, as_of_sequence=8)

    assert result.from_snapshot is False
    assert result.final_state == full_state(store, 8)


def test_a_snapshot_whose_state_is_not_json_is_not_used_and_is_reported(
    db_path: Path,
    store: SqliteEventStore,
    sequences: list[int],
    snapshots: SnapshotStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    snapshot_at(store, snapshots, 3, "old")
    snapshot_at(store, snapshots, 7, "broken")
    tamper(db_path, 7, state="{not json", state_hash=hashlib.sha256(b"{not json").hexdigest())
    caplog.set_level(logging.WARNING, logger=SNAPSHOT_LOGGER)

    result = EventReplayer(store, snapshots).replay_workflow(WF)

    assert result.final_state == marked(full_state(store), "old")
    assert ["not valid JSON" in r.getMessage() for r in caplog.records] == [True]


def test_a_snapshot_whose_state_has_duplicate_keys_is_not_used_even_with_a_matching_hash(
    db_path: Path, store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 7, "twice")
    state = marked(full_state(store, 7), "twice")
    text = '{"status": "SUCCEEDED", ' + json.dumps(state)[1:]
    tamper(db_path, 7, state=text, state_hash=engine_hash(json.loads(text)))

    result = EventReplayer(store, snapshots).replay_workflow(WF)

    assert result.from_snapshot is False
    assert result.final_state == full_state(store)


# -- check_snapshot_row ----------------------------------------------------------------


def sound_row(state: dict[str, Any]) -> dict[str, Any]:
    return {"state": json.dumps(state), "state_hash": engine_hash(state)}


def test_check_snapshot_row_accepts_a_row_whose_hash_matches() -> None:
    assert check_snapshot_row(sound_row({"workflow_id": WF, "context": {"a": 1}})) is None


def test_check_snapshot_row_gives_a_reason_for_a_hash_that_does_not_match() -> None:
    row = {**sound_row({"workflow_id": WF}), "state_hash": engine_hash({"workflow_id": "x"})}

    assert "does not match" in (check_snapshot_row(row) or "")


def test_check_snapshot_row_gives_a_reason_for_a_missing_hash() -> None:
    row = {**sound_row({"workflow_id": WF}), "state_hash": None}

    assert "missing" in (check_snapshot_row(row) or "")


def test_check_snapshot_row_gives_a_reason_for_state_that_is_not_json() -> None:
    row = {"state": "{'single': 'quotes'}", "state_hash": "0" * 64}

    assert "not valid JSON" in (check_snapshot_row(row) or "")


def test_check_snapshot_row_gives_a_reason_for_duplicate_keys() -> None:
    text = '{"workflow_id": "a", "workflow_id": "b"}'
    row = {"state": text, "state_hash": engine_hash({"workflow_id": "b"})}

    assert "duplicate keys" in (check_snapshot_row(row) or "")


def test_check_snapshot_row_gives_a_reason_for_duplicate_keys_in_a_nested_object() -> None:
    text = '{"workflow_id": "a", "context": {"k": 1, "k": 2}}'
    row = {"state": text, "state_hash": engine_hash({"workflow_id": "a", "context": {"k": 2}})}

    assert "duplicate keys" in (check_snapshot_row(row) or "")


def test_check_snapshot_row_gives_a_reason_for_json_that_is_not_an_object() -> None:
    row = {"state": "[1, 2]", "state_hash": hashlib.sha256(b"[1, 2]").hexdigest()}

    assert "not a JSON object" in (check_snapshot_row(row) or "")


# -- replay through a snapshot ---------------------------------------------------------


def test_replay_from_a_snapshot_says_so_and_counts_only_the_events_after_it(
    store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 6, "six")

    result = EventReplayer(store, snapshots).replay_workflow(WF)

    assert (result.from_snapshot, result.snapshot_sequence, result.events_replayed) == (
        True,
        6,
        4,
    )


def test_replay_from_a_snapshot_continues_from_the_snapshots_state(
    store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 6, "six")

    state = EventReplayer(store, snapshots).rebuild_workflow_state(WF)

    assert state == marked(full_state(store), "six")


def test_replay_without_a_snapshot_store_counts_every_event_of_the_workflow(
    store: SqliteEventStore, sequences: list[int]
) -> None:
    store.append(make(EventType.WORKFLOW_CREATED, workflow_id=OTHER_WF, entity_id=OTHER_WF))

    result = EventReplayer(store).replay_workflow(WF)

    assert (result.from_snapshot, result.snapshot_sequence, result.events_replayed) == (
        False,
        0,
        10,
    )


def test_replay_as_of_the_snapshots_own_sequence_uses_it_and_folds_nothing(
    store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 6, "six")

    result = EventReplayer(store, snapshots).replay_workflow(WF, as_of_sequence=6)

    assert (result.from_snapshot, result.events_replayed) == (True, 0)
    assert result.final_state == marked(full_state(store, 6), "six")


def test_replay_as_of_a_sequence_before_the_snapshot_ignores_it(
    store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 6, "six")

    result = EventReplayer(store, snapshots).replay_workflow(WF, as_of_sequence=5)

    assert result.from_snapshot is False
    assert result.final_state == full_state(store, 5)


def test_replay_as_of_a_sequence_between_two_snapshots_uses_the_older_one(
    store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 3, "three")
    snapshot_at(store, snapshots, 8, "eight")

    result = EventReplayer(store, snapshots).replay_workflow(WF, as_of_sequence=5)

    assert (result.snapshot_sequence, result.events_replayed) == (3, 2)
    assert result.final_state == marked(full_state(store, 5), "three")


def test_replay_from_a_snapshot_does_not_count_skipped_newer_schema_events(
    store: SqliteEventStore, sequences: list[int], snapshots: SnapshotStore
) -> None:
    snapshot_at(store, snapshots, 10, "ten")
    store.append(make(EventType.WORKFLOW_PAUSED, schema_version=2))
    store.append(make(EventType.WORKFLOW_RESUMED))

    result = EventReplayer(store, snapshots).replay_workflow(WF)

    assert result.events_replayed == 1


# -- SnapshotPolicy --------------------------------------------------------------------


class Clock:
    """A stand-in for ``time.monotonic`` that moves only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(snapshots_module, "time", SimpleNamespace(monotonic=fake.monotonic))
    return fake


def test_the_policy_snapshots_once_the_event_interval_is_reached() -> None:
    policy = SnapshotPolicy(event_interval=100)

    assert [policy.should_snapshot(WF, n) for n in (99, 100, 250)] == [False, True, True]


def test_the_policy_snapshots_when_the_time_interval_has_passed_since_the_last_snapshot(
    clock: Clock,
) -> None:
    policy = SnapshotPolicy(event_interval=100, time_interval_seconds=60)
    policy.record_snapshot(WF)

    clock.now += 60

    assert policy.should_snapshot(WF, 1) is True


def test_the_policy_waits_while_the_time_interval_has_not_passed(clock: Clock) -> None:
    policy = SnapshotPolicy(event_interval=100, time_interval_seconds=60)
    policy.record_snapshot(WF)

    clock.now += 59.9

    assert policy.should_snapshot(WF, 1) is False


def test_the_policy_times_each_entity_from_its_own_last_snapshot(clock: Clock) -> None:
    policy = SnapshotPolicy(event_interval=100, time_interval_seconds=60)
    policy.record_snapshot(WF)
    clock.now += 50
    policy.record_snapshot(OTHER_WF)

    clock.now += 20

    assert (policy.should_snapshot(WF, 1), policy.should_snapshot(OTHER_WF, 1)) == (True, False)


def test_saving_a_snapshot_restarts_the_policys_clock_for_that_entity(
    clock: Clock, snapshots: SnapshotStore
) -> None:
    snapshots.policy = SnapshotPolicy(event_interval=100, time_interval_seconds=60)
    snapshots.create_workflow_snapshot({"workflow_id": WF}, WF, version=1, sequence=1)
    clock.now += 90
    snapshots.create_workflow_snapshot({"workflow_id": WF}, WF, version=2, sequence=2)

    clock.now += 30

    assert snapshots.should_snapshot(WF, 1) is False


def test_a_policy_with_an_event_interval_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="event_interval"):
        SnapshotPolicy(event_interval=0)


# -- create_workflow_snapshot ----------------------------------------------------------


def test_create_workflow_snapshot_returns_the_snapshot_it_made(snapshots: SnapshotStore) -> None:
    state = {"workflow_id": WF, "status": "RUNNING"}

    snapshot = snapshots.create_workflow_snapshot(state, WF, version=4, sequence=12)

    assert (
        snapshot.entity_type,
        snapshot.entity_id,
        snapshot.workflow_id,
        snapshot.version,
        snapshot.sequence,
        snapshot.state,
    ) == (EntityType.WORKFLOW, WF, WF, 4, 12, state)


def test_create_workflow_snapshot_persists_the_snapshot(
    db_path: Path, snapshots: SnapshotStore
) -> None:
    state = {"workflow_id": WF, "status": "RUNNING"}

    snapshots.create_workflow_snapshot(state, WF, version=4, sequence=12)

    ((*identity, text, stored_hash),) = snapshot_rows(db_path)

    assert (identity, json.loads(text), stored_hash) == (
        ["workflow", WF, WF, 4, 12],
        state,
        engine_hash(state),
    )


def test_a_created_snapshot_is_found_again_as_the_latest(snapshots: SnapshotStore) -> None:
    made = snapshots.create_workflow_snapshot({"workflow_id": WF}, WF, version=4, sequence=12)

    found = snapshots.get_latest_snapshot(EntityType.WORKFLOW, WF)

    assert found is not None
    assert (found.version, found.sequence, found.state) == (made.version, 12, made.state)


# -- property: replay through a snapshot equals full replay ----------------------------

STATUSES = [
    "NOT_STARTED",
    "RUNNING",
    "PAUSED",
    "SUSPENDED",
    "SUCCEEDED",
    "FAILED_CONTINUE",
    "TERMINAL",
    "CANCELED",
    "SKIPPED",
]
GENERIC_TYPES = [t for t in EventType if not t.value.startswith(("workflow.", "stage.", "task."))]
TYPES_BY_ENTITY = {
    entity: [t for t in EventType if t.value.startswith(f"{entity.value}.")] + GENERIC_TYPES
    for entity in EntityType
}
TYPES_BY_ENTITY[EntityType.TASK] += [EventType.TASK_RETRIED] * 4
"""Retries without a retry_count are the one fold step that is not idempotent, so they
expose a replay that folds the snapshot's last event a second time."""
ENTITIES = [EntityType.WORKFLOW, EntityType.STAGE, EntityType.TASK, EntityType.TASK]
IDS_BY_ENTITY = {
    EntityType.WORKFLOW: [WF, WF, OTHER_WF],
    EntityType.STAGE: ["s1", "s2", "s3"],
    EntityType.TASK: ["t1", "t2", "t3"],
}

names = st.text(alphabet="abcxyz-_ ", max_size=6)
json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=6)
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=6,
)
json_dicts = st.dictionaries(names, json_values, max_size=3)
payloads = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from([*STATUSES, None]),
        "outputs": json_dicts,
        "context": json_dicts,
        "name": names,
        "ref_id": names,
        "type": names,
        "application": names,
        "stage_id": st.sampled_from(IDS_BY_ENTITY[EntityType.STAGE]),
        "error": names,
        "reason": names,
        "attempt": st.integers(1, 5),
        "new_status": st.sampled_from(STATUSES),
    },
)
retry_counts = st.sampled_from([None, None, None, 0, 2, 5])


@st.composite
def events(draw: st.DrawFn) -> Event:
    entity = draw(st.sampled_from(ENTITIES))
    entity_id = draw(st.sampled_from(IDS_BY_ENTITY[entity]))
    workflow_ids = IDS_BY_ENTITY[EntityType.WORKFLOW]
    workflow_id = (
        entity_id if entity is EntityType.WORKFLOW else draw(st.sampled_from(workflow_ids))
    )
    data = draw(payloads)
    retry_count = draw(retry_counts)
    if retry_count is not None:
        data["retry_count"] = retry_count
    return Event(
        event_type=draw(st.sampled_from(TYPES_BY_ENTITY[entity])),
        timestamp=T0 + timedelta(milliseconds=draw(st.integers(0, 10**7))),
        entity_type=entity,
        entity_id=entity_id,
        workflow_id=workflow_id,
        version=draw(st.integers(1, 5)),
        data=data,
        schema_version=draw(st.sampled_from([1, 1, 1, 1, 1, 1, 2])),
    )


@st.composite
def snapshotted_stores(draw: st.DrawFn, min_k: int = 0) -> tuple[list[Event], int]:
    """Random events of two workflows, and a snapshot point k >= ``min_k``: any sequence
    (0 is before the first event), or often the sequence of one of WF's own events."""
    drawn = draw(st.lists(events(), min_size=min_k, max_size=40))
    own = [i for i, e in enumerate(drawn, start=1) if e.workflow_id == WF and i >= min_k]
    anywhere = st.integers(min_k, len(drawn))
    return drawn, draw(anywhere | st.sampled_from(own) if own else anywhere)


def folded_count(drawn: list[Event], after: int, as_of: int | None) -> int:
    """WF's events the fold applies (schema v1) with sequences in (after, as_of]."""
    upper = len(drawn) if as_of is None else as_of
    return sum(
        1
        for sequence, e in enumerate(drawn, start=1)
        if after < sequence <= upper and e.workflow_id == WF and e.schema_version == 1
    )


def check_replay_through_snapshot(
    drawn: list[Event], k: int, as_of_values: list[int | None], expect_snapshot: bool
) -> None:
    """Replay via a snapshot of the full-replay state at k gives full replay's state,
    folding only the events after the snapshot (or, when it is ignored, after 0)."""
    with SqliteEventStore("sqlite:///:memory:") as store:
        store.append_batch(drawn)
        full = EventReplayer(store)
        snapshots = SnapshotStore(store)
        snapshots.create_workflow_snapshot(full.rebuild_workflow_state(WF, k), WF, k, k)
        through = EventReplayer(store, snapshots)
        for as_of in as_of_values:
            result = through.replay_workflow(WF, as_of)
            assert result.final_state == full.rebuild_workflow_state(WF, as_of), as_of
            assert result.from_snapshot is expect_snapshot, as_of
            start = k if expect_snapshot else 0
            assert result.events_replayed == folded_count(drawn, start, as_of), as_of


@settings(max_examples=60, deadline=None)
@given(scenario=snapshotted_stores(), data=st.data())
def test_replay_through_a_snapshot_as_of_a_later_sequence_matches_full_replay(
    scenario: tuple[list[Event], int], data: st.DataObject
) -> None:
    drawn, k = scenario
    later = data.draw(st.lists(st.integers(k, len(drawn) + 2), min_size=1, max_size=4))

    check_replay_through_snapshot(drawn, k, [*later, None], expect_snapshot=True)


@settings(max_examples=60, deadline=None)
@given(scenario=snapshotted_stores(min_k=1), data=st.data())
def test_replay_as_of_a_sequence_before_the_snapshot_ignores_it_and_matches_full_replay(
    scenario: tuple[list[Event], int], data: st.DataObject
) -> None:
    drawn, k = scenario
    earlier = data.draw(st.lists(st.integers(-1, k - 1), min_size=1, max_size=4))

    check_replay_through_snapshot(drawn, k, earlier, expect_snapshot=False)


# -- the store's own get_latest_snapshot: the engine's shape --------------------------


def test_store_latest_snapshot_has_the_engines_keys_and_a_decoded_state(
    store: SqliteEventStore,
) -> None:
    state = {"status": "RUNNING", "stages": ["s1", "s2"], "context": {"n": 1}}
    store.save_snapshot(EntityType.WORKFLOW, WF, WF, 5, 100, state)

    latest = store.get_latest_snapshot(EntityType.WORKFLOW, WF)

    assert latest == {
        "entity_type": "workflow",
        "entity_id": WF,
        "workflow_id": WF,
        "version": 5,
        "sequence": 100,
        "state": state,
        "state_hash": engine_hash(state),
    }


def test_store_latest_snapshot_is_the_highest_version_not_the_highest_sequence(
    store: SqliteEventStore,
) -> None:
    store.save_snapshot(EntityType.WORKFLOW, WF, WF, 7, 10, {"v": 7})
    store.save_snapshot(EntityType.WORKFLOW, WF, WF, 5, 100, {"v": 5})
    store.save_snapshot(EntityType.WORKFLOW, OTHER_WF, OTHER_WF, 9, 200, {"v": 9})

    latest = store.get_latest_snapshot(EntityType.WORKFLOW, WF)

    assert latest is not None
    assert (latest["version"], latest["state"]) == (7, {"v": 7})
    assert store.get_latest_snapshot(EntityType.STAGE, WF) is None


def test_store_latest_snapshot_with_a_state_that_is_not_json_raises(
    store: SqliteEventStore, db_path: Path
) -> None:
    from stabilize_cli.events.errors import SnapshotIntegrityError  # noqa: PLC0415

    store.save_snapshot(EntityType.WORKFLOW, WF, WF, 1, 1, {"v": 1})
    with sqlite3.connect(db_path) as raw:
        raw.execute("UPDATE snapshots SET state = 'not json'")
    raw.close()

    with pytest.raises(SnapshotIntegrityError, match="state is not JSON"):
        store.get_latest_snapshot(EntityType.WORKFLOW, WF)


def test_store_latest_snapshot_passes_through_the_snapshot_filter(
    store: SqliteEventStore,
) -> None:
    store.save_snapshot(EntityType.WORKFLOW, WF, WF, 1, 1, {"token": "s3cret"})
    store.snapshot_filter = lambda row: {**row, "state": json.dumps({"token": "***"})}

    latest = store.get_latest_snapshot(EntityType.WORKFLOW, WF)

    assert latest is not None
    assert latest["state"] == {"token": "***"}
