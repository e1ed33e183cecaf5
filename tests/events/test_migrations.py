"""Schema upcasting (EventMigrator) and the event factories, as the engine defines them."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stabilize_cli.events import (
    EntityType,
    Event,
    EventMetadata,
    EventReplayer,
    EventType,
    SqliteEventStore,
    create_stage_event,
    create_task_event,
    create_workflow_event,
    get_event_migrator,
    reset_event_migrator,
)
from stabilize_cli.events import base as events_base
from stabilize_cli.events.base import (
    CURRENT_SCHEMA_VERSION,
    RAW_EVENT_TYPE,
    EventMigrator,
    parse_event_type,
)
from stabilize_cli.events.state import WorkflowState


@pytest.fixture(autouse=True)
def _fresh_migrator() -> Iterator[None]:
    reset_event_migrator()
    yield
    reset_event_migrator()


def at_version(version: int, **data: object) -> Event:
    return Event(
        event_type=EventType.WORKFLOW_COMPLETED,
        entity_type=EntityType.WORKFLOW,
        entity_id="wf",
        workflow_id="wf",
        data=dict(data),
        schema_version=version,
    )


def step_to(version: int, mark: str) -> object:
    """A migration step that records it ran and sets the new version."""

    def step(event: Event) -> Event:
        trail = [*event.data.get("trail", []), mark]
        return dataclasses.replace(
            event, data={**event.data, "trail": trail}, schema_version=version
        )

    return step


# -- EventMigrator.migrate ---------------------------------------------------


def test_same_version_returns_the_very_same_event() -> None:
    event = at_version(1)

    assert EventMigrator().migrate(event, target_version=1) is event
    assert EventMigrator().migrate(event) is event  # default target: CURRENT_SCHEMA_VERSION


def test_steps_run_one_version_at_a_time_in_order() -> None:
    migrator = EventMigrator()
    migrator.register(2, 3)(step_to(3, "2>3"))  # registration order does not matter
    migrator.register(1, 2)(step_to(2, "1>2"))

    migrated = migrator.migrate(at_version(1), target_version=3)

    assert migrated.schema_version == 3
    assert migrated.data["trail"] == ["1>2", "2>3"]
    assert migrator.registered_migrations == [(1, 2), (2, 3)]


def test_a_step_that_skips_versions_is_never_used() -> None:
    migrator = EventMigrator()
    migrator.register(1, 3)(step_to(3, "1>3"))

    with pytest.raises(ValueError, match="No migration registered from schema v1 to v2"):
        migrator.migrate(at_version(1), target_version=3)


def test_strict_raises_on_a_missing_step_and_lenient_stops_there() -> None:
    migrator = EventMigrator()
    migrator.register(1, 2)(step_to(2, "1>2"))
    event = at_version(1)

    with pytest.raises(ValueError, match="from schema v2 to v3"):
        migrator.migrate(event, target_version=4, strict=True)
    partial = migrator.migrate(event, target_version=4, strict=False)

    assert partial.schema_version == 2
    assert partial.data["trail"] == ["1>2"]


def test_lenient_without_any_step_returns_the_event_itself() -> None:
    event = at_version(1)

    assert EventMigrator().migrate(event, target_version=2, strict=False) is event


def test_an_event_newer_than_the_target_is_refused_or_passed_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    future = at_version(CURRENT_SCHEMA_VERSION + 1)

    with pytest.raises(ValueError, match="newer than this build"):
        EventMigrator().migrate(future, strict=True)
    with caplog.at_level(logging.WARNING, logger="stabilize_cli.events.base"):
        assert EventMigrator().migrate(future, strict=False) is future

    assert any("newer than this build" in r.getMessage() for r in caplog.records)


def test_registering_a_step_again_replaces_it() -> None:
    migrator = EventMigrator()
    migrator.register(1, 2)(step_to(2, "first"))
    migrator.register(1, 2)(step_to(2, "second"))

    assert migrator.migrate(at_version(1), target_version=2).data["trail"] == ["second"]


def test_register_returns_the_function_unchanged() -> None:
    def step(event: Event) -> Event:
        return event

    assert EventMigrator().register(1, 2)(step) is step


def test_an_exception_from_a_step_is_not_swallowed_even_when_lenient() -> None:
    migrator = EventMigrator()

    @migrator.register(1, 2)
    def broken(event: Event) -> Event:
        raise KeyError("legacy_status")

    with pytest.raises(KeyError):
        migrator.migrate(at_version(1), target_version=2, strict=False)


@given(
    registered=st.sets(st.integers(min_value=0, max_value=5)),
    start=st.integers(min_value=0, max_value=6),
    target=st.integers(min_value=0, max_value=6),
    strict=st.booleans(),
)
def test_migrate_reaches_the_first_gap_or_the_target(
    registered: set[int], start: int, target: int, strict: bool
) -> None:
    """For any registry of v -> v+1 steps: the walk stops at the target or the first
    missing step; strict raises there, lenient returns what it reached."""
    migrator = EventMigrator()
    for version in registered:
        migrator.register(version, version + 1)(step_to(version + 1, f"{version}"))
    event = at_version(start)

    reached = start
    while reached < target and reached in registered:
        reached += 1
    refused = start > target
    complete = reached == target or refused

    if strict and not complete:
        with pytest.raises(ValueError, match=f"from schema v{reached} to v{reached + 1}"):
            migrator.migrate(event, target_version=target, strict=True)
        return
    if strict and refused:
        with pytest.raises(ValueError, match="newer than this build"):
            migrator.migrate(event, target_version=target, strict=True)
        return
    migrated = migrator.migrate(event, target_version=target, strict=strict)
    if refused or reached == start:
        assert migrated is event
    else:
        assert migrated.schema_version == reached
        assert migrated.data["trail"] == [str(v) for v in range(start, reached)]


# -- the global migrator -----------------------------------------------------


def test_get_event_migrator_is_a_singleton_until_reset() -> None:
    first = get_event_migrator()
    first.register(1, 2)(step_to(2, "x"))

    assert get_event_migrator() is first
    reset_event_migrator()
    fresh = get_event_migrator()

    assert fresh is not first
    assert fresh.registered_migrations == []


def test_threads_racing_for_the_first_migrator_all_get_the_same_one() -> None:
    seen: list[EventMigrator] = []
    start = threading.Barrier(16)

    def grab() -> None:
        start.wait()
        seen.append(get_event_migrator())

    threads = [threading.Thread(target=grab) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(m) for m in seen}) == 1


# -- upcasting on replay -----------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    with SqliteEventStore(str(tmp_path / "events.db")) as opened:
        yield opened


def legacy_completion(event: Event) -> Event:
    data = dict(event.data)
    data["status"] = data.pop("legacy_status", None)
    return dataclasses.replace(event, data=data, schema_version=2)


def test_replay_upcasts_stored_events_with_the_global_migrator(
    store: SqliteEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.append(at_version(1, legacy_status="DONE_V1"))
    replayer = EventReplayer(store)
    # Without a step the v1 layout has no "status": the fold takes the default.
    assert replayer.rebuild_workflow_state("wf")["status"] == "SUCCEEDED"

    monkeypatch.setattr(events_base, "CURRENT_SCHEMA_VERSION", 2)
    get_event_migrator().register(1, 2)(legacy_completion)

    assert replayer.rebuild_workflow_state("wf")["status"] == "DONE_V1"
    assert replayer.compare_states("wf", 0, 1)["after"]["status"] == "DONE_V1"
    handed: list[Event] = []
    replayer.replay_workflow_from_checkpoint("wf", 0, handed.append)
    assert [(e.schema_version, e.data) for e in handed] == [(2, {"status": "DONE_V1"})]
    # The store and history stay as written: upcasting happens on the fold only.
    assert store.get_events_for_workflow("wf")[0].data == {"legacy_status": "DONE_V1"}


def test_replay_with_a_missing_step_folds_the_event_as_it_is(
    store: SqliteEventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_base, "CURRENT_SCHEMA_VERSION", 2)
    store.append(at_version(1, status="SUCCEEDED"))

    assert EventReplayer(store).rebuild_workflow_state("wf")["status"] == "SUCCEEDED"


def test_replay_skips_an_event_newer_than_this_build(store: SqliteEventStore) -> None:
    store.append(at_version(CURRENT_SCHEMA_VERSION + 1, status="FROM_THE_FUTURE"))

    assert EventReplayer(store).rebuild_workflow_state("wf")["status"] is None


class MinimalStore:
    """A store from outside this library offering only the engine's replay read."""

    def __init__(self, events: list[Event]) -> None:
        self.events = events

    def get_events_for_workflow(self, workflow_id: str, start_sequence: int = 0) -> list[Event]:
        return [
            e for e in self.events if e.workflow_id == workflow_id and e.sequence > start_sequence
        ]


def test_replay_reads_a_foreign_store_through_get_events_for_workflow_only() -> None:
    events = [
        at_version(1, status="RUNNING").with_sequence(1),
        at_version(1, status="SUCCEEDED").with_sequence(2),
    ]
    replayer = EventReplayer(MinimalStore(events))  # type: ignore[arg-type]

    assert replayer.rebuild_workflow_state("wf")["status"] == "SUCCEEDED"
    assert replayer.rebuild_workflow_state("wf", as_of_sequence=1)["status"] == "RUNNING"


def test_apply_event_folds_into_a_typed_state_like_the_engine() -> None:
    replayer = EventReplayer(None)  # type: ignore[arg-type]
    state = WorkflowState(workflow_id="wf")

    replayer._apply_event(state, at_version(CURRENT_SCHEMA_VERSION + 1, status="X"))
    assert state.status is None
    replayer._apply_event(state, at_version(CURRENT_SCHEMA_VERSION, status="SUCCEEDED"))
    assert state.status == "SUCCEEDED"
    assert state.end_time is not None


# -- base helpers ------------------------------------------------------------


def test_parse_event_type_maps_unknown_strings_to_unknown() -> None:
    assert parse_event_type("stage.failed") is EventType.STAGE_FAILED
    assert parse_event_type("stage.suspended.fromfuture") is EventType.UNKNOWN
    assert RAW_EVENT_TYPE == "_raw_event_type"


def test_custom_is_the_engines_name_for_custom_progress() -> None:
    assert EventType.CUSTOM is EventType.CUSTOM_PROGRESS
    assert EventType.CUSTOM.name == "CUSTOM"
    assert EventType("custom.progress") is EventType.CUSTOM


@pytest.mark.parametrize(
    ("factory", "entity_type", "id_name"),
    [
        (create_workflow_event, EntityType.WORKFLOW, None),
        (create_stage_event, EntityType.STAGE, "stage_id"),
        (create_task_event, EntityType.TASK, "task_id"),
    ],
)
def test_factories_fill_entity_type_and_id(
    factory: object, entity_type: EntityType, id_name: str | None
) -> None:
    metadata = EventMetadata(correlation_id="wf", actor="alice")
    kwargs: dict[str, object] = {
        "event_type": EventType.STATUS_CHANGED,
        "workflow_id": "wf",
        "version": 3,
        "data": {"k": 1},
        "metadata": metadata,
    }
    if id_name is not None:
        kwargs[id_name] = "entity-9"

    event = factory(**kwargs)  # type: ignore[operator]

    assert event.entity_type is entity_type
    assert event.entity_id == ("wf" if id_name is None else "entity-9")
    assert (event.workflow_id, event.version, event.data) == ("wf", 3, {"k": 1})
    assert event.metadata is metadata
    assert (event.sequence, event.schema_version) == (0, CURRENT_SCHEMA_VERSION)
