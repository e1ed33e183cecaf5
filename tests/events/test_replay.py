"""Rebuilding workflow state from events: the fold rules, time travel, history and diffs."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events import replay
from stabilize_cli.events.base import EntityType, Event, EventMetadata, EventType
from stabilize_cli.events.diff import Change, diff_values
from stabilize_cli.events.replay import EventReplayer
from stabilize_cli.events.store import UNLIMITED, EventQuery
from stabilize_cli.events.store.sqlite import SqliteEventStore

from ..conftest import REAL_DB

WF = "wf-1"
OTHER_WF = "wf-2"
T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)
BIG = 10_500
"""Events in the large workflow: more than ten pages of the store's 1000-row reads."""


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(seconds: float) -> str:
    """How the state writes the time of an event stamped ``at(seconds)``."""
    return at(seconds).isoformat()


def make(
    kind: EventType,
    entity_type: EntityType,
    entity_id: str,
    data: dict[str, Any] | None = None,
    *,
    workflow_id: str = WF,
    when: datetime = T0,
    version: int = 1,
    schema_version: int = 1,
) -> Event:
    return Event(
        event_type=kind,
        timestamp=when,
        entity_type=entity_type,
        entity_id=entity_id,
        workflow_id=workflow_id,
        version=version,
        data=data or {},
        metadata=EventMetadata(correlation_id=workflow_id),
        schema_version=schema_version,
    )


def wf(
    kind: EventType,
    data: dict[str, Any] | None = None,
    *,
    workflow_id: str = WF,
    when: datetime = T0,
    schema_version: int = 1,
) -> Event:
    return make(
        kind,
        EntityType.WORKFLOW,
        workflow_id,
        data,
        workflow_id=workflow_id,
        when=when,
        schema_version=schema_version,
    )


def stage(
    stage_id: str,
    kind: EventType,
    data: dict[str, Any] | None = None,
    *,
    when: datetime = T0,
    schema_version: int = 1,
) -> Event:
    return make(kind, EntityType.STAGE, stage_id, data, when=when, schema_version=schema_version)


def task(
    task_id: str,
    kind: EventType,
    data: dict[str, Any] | None = None,
    *,
    when: datetime = T0,
    version: int = 1,
) -> Event:
    return make(kind, EntityType.TASK, task_id, data, when=when, version=version)


def save(store: SqliteEventStore, *events: Event) -> list[int]:
    """Append in one batch; the sequences the store gave, in order."""
    return [e.sequence for e in store.append_batch(list(events))]


def empty(workflow_id: str = WF) -> dict[str, Any]:
    return {
        "workflow_id": workflow_id,
        "status": None,
        "application": None,
        "name": None,
        "start_time": None,
        "end_time": None,
        "context": {},
        "stages": {},
        "tasks": {},
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    with SqliteEventStore(str(tmp_path / "e.db")) as opened:
        yield opened


@pytest.fixture
def replayer(store: SqliteEventStore) -> EventReplayer:
    return EventReplayer(store)


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteEventStore]:
    """One workflow of BIG task retries, one millisecond apart, after an event of another."""
    path = tmp_path_factory.mktemp("big") / "e.db"
    with SqliteEventStore(str(path)) as opened:
        opened.append(wf(EventType.WORKFLOW_CREATED, workflow_id=OTHER_WF))
        retries = [
            task("t1", EventType.TASK_RETRIED, when=T0 + timedelta(milliseconds=i))
            for i in range(BIG)
        ]
        opened.append_batch(retries)
        yield opened


# -- rebuild_workflow_state: whole workflow --------------------------------------------


def test_a_workflow_without_events_rebuilds_to_the_empty_state(replayer: EventReplayer) -> None:
    assert replayer.rebuild_workflow_state(WF) == empty()


def test_a_finished_workflow_rebuilds_to_the_engines_state_form(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        wf(EventType.WORKFLOW_CREATED, {"application": "shop", "name": "deploy"}),
        wf(EventType.WORKFLOW_STARTED, {"context": {"env": "prod"}}, when=at(1)),
        stage(
            "s1",
            EventType.STAGE_STARTED,
            {"ref_id": "build", "type": "shell", "name": "Build"},
            when=at(2),
        ),
        task("t1", EventType.TASK_STARTED, {"name": "run", "stage_id": "s1"}, when=at(3)),
        task(
            "t1",
            EventType.TASK_COMPLETED,
            {"status": "SUCCEEDED", "outputs": {"rc": 0}},
            when=at(4),
        ),
        stage(
            "s1",
            EventType.STAGE_COMPLETED,
            {"status": "SUCCEEDED", "outputs": {"a": 1}},
            when=at(5),
        ),
        wf(EventType.WORKFLOW_COMPLETED, {"status": "SUCCEEDED"}, when=at(6)),
    )

    assert replayer.rebuild_workflow_state(WF) == {
        "workflow_id": WF,
        "status": "SUCCEEDED",
        "application": "shop",
        "name": "deploy",
        "start_time": iso(1),
        "end_time": iso(6),
        "context": {"env": "prod"},
        "stages": {
            "s1": {
                "id": "s1",
                "ref_id": "build",
                "type": "shell",
                "name": "Build",
                "status": "SUCCEEDED",
                "start_time": iso(2),
                "end_time": iso(5),
                "outputs": {"a": 1},
            }
        },
        "tasks": {
            "t1": {
                "id": "t1",
                "name": "run",
                "stage_id": "s1",
                "status": "SUCCEEDED",
                "start_time": iso(3),
                "end_time": iso(4),
                "outputs": {"rc": 0},
            }
        },
    }


def test_events_of_other_workflows_do_not_enter_the_state(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        wf(EventType.WORKFLOW_CREATED, {"application": "other"}, workflow_id=OTHER_WF),
        make(EventType.STAGE_STARTED, EntityType.STAGE, "s9", workflow_id=OTHER_WF),
        wf(EventType.WORKFLOW_CREATED, {"application": "mine"}),
    )

    state = replayer.rebuild_workflow_state(WF)

    assert (state["application"], state["stages"]) == ("mine", {})


def test_state_times_are_utc_iso_strings_of_the_event_timestamps(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    two_hours_east = timezone(timedelta(hours=2))
    save(
        store,
        wf(EventType.WORKFLOW_STARTED, when=datetime(2026, 1, 2, 5, 0, tzinfo=two_hours_east)),
    )

    assert replayer.rebuild_workflow_state(WF)["start_time"] == "2026-01-02T03:00:00+00:00"


# -- rebuild_workflow_state: as of a sequence ------------------------------------------


def test_as_of_a_sequence_includes_that_event_and_none_after_it(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    _, started, _ = save(
        store,
        wf(EventType.WORKFLOW_CREATED, {"name": "deploy"}),
        wf(EventType.WORKFLOW_STARTED, when=at(1)),
        wf(EventType.WORKFLOW_PAUSED, when=at(2)),
    )

    state = replayer.rebuild_workflow_state(WF, as_of_sequence=started)

    assert (state["status"], state["start_time"]) == ("RUNNING", iso(1))


def test_as_of_a_sequence_between_the_workflows_events_counts_other_workflows_sequences(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    created, _, between, _ = save(
        store,
        wf(EventType.WORKFLOW_CREATED, {"name": "deploy"}),
        wf(EventType.WORKFLOW_CREATED, workflow_id=OTHER_WF),
        wf(EventType.WORKFLOW_CREATED, workflow_id=OTHER_WF),
        wf(EventType.WORKFLOW_STARTED),
    )

    assert replayer.rebuild_workflow_state(WF, between) == replayer.rebuild_workflow_state(
        WF, created
    )


def test_as_of_a_sequence_before_the_workflows_first_event_gives_the_empty_state(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    other, _ = save(
        store,
        wf(EventType.WORKFLOW_CREATED, workflow_id=OTHER_WF),
        wf(EventType.WORKFLOW_CREATED, {"application": "shop", "name": "deploy"}),
    )

    assert replayer.rebuild_workflow_state(WF, as_of_sequence=other) == empty()


def test_as_of_sequence_zero_gives_the_empty_state(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, wf(EventType.WORKFLOW_CREATED, {"application": "shop"}))

    assert replayer.rebuild_workflow_state(WF, as_of_sequence=0) == empty()


def test_as_of_a_sequence_past_the_last_event_gives_the_whole_state(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    (last,) = save(store, wf(EventType.WORKFLOW_CREATED, {"application": "shop"}))

    assert replayer.rebuild_workflow_state(WF, last + 100) == replayer.rebuild_workflow_state(WF)


# -- the fold: workflow events -----------------------------------------------------------


def test_workflow_created_sets_application_and_name(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, wf(EventType.WORKFLOW_CREATED, {"application": "shop", "name": "deploy"}))

    state = replayer.rebuild_workflow_state(WF)

    assert (state["application"], state["name"]) == ("shop", "deploy")


def test_workflow_started_sets_running_start_time_and_merges_its_context(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, wf(EventType.WORKFLOW_STARTED, {"context": {"env": "prod"}}, when=at(7)))

    state = replayer.rebuild_workflow_state(WF)

    assert (state["status"], state["start_time"], state["context"]) == (
        "RUNNING",
        iso(7),
        {"env": "prod"},
    )


@pytest.mark.parametrize(
    ("kind", "default"),
    [(EventType.WORKFLOW_COMPLETED, "SUCCEEDED"), (EventType.WORKFLOW_FAILED, "TERMINAL")],
)
def test_a_workflow_ending_without_a_status_gets_the_default_status_and_end_time(
    store: SqliteEventStore, replayer: EventReplayer, kind: EventType, default: str
) -> None:
    save(store, wf(EventType.WORKFLOW_STARTED), wf(kind, when=at(9)))

    state = replayer.rebuild_workflow_state(WF)

    assert (state["status"], state["end_time"]) == (default, iso(9))


def test_a_workflow_ending_with_a_status_takes_that_status(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, wf(EventType.WORKFLOW_FAILED, {"status": "CANCELED"}))

    assert replayer.rebuild_workflow_state(WF)["status"] == "CANCELED"


def test_workflow_canceled_sets_canceled_and_end_time(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, wf(EventType.WORKFLOW_STARTED), wf(EventType.WORKFLOW_CANCELED, when=at(4)))

    state = replayer.rebuild_workflow_state(WF)

    assert (state["status"], state["end_time"]) == ("CANCELED", iso(4))


@pytest.mark.parametrize(
    ("kind", "status"),
    [(EventType.WORKFLOW_PAUSED, "PAUSED"), (EventType.WORKFLOW_RESUMED, "RUNNING")],
)
def test_pause_and_resume_set_the_workflow_status_without_an_end_time(
    store: SqliteEventStore, replayer: EventReplayer, kind: EventType, status: str
) -> None:
    save(store, wf(EventType.WORKFLOW_CREATED), wf(kind, when=at(3)))

    state = replayer.rebuild_workflow_state(WF)

    assert (state["status"], state["end_time"]) == (status, None)


def test_context_updated_merges_into_the_workflow_context(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        wf(EventType.WORKFLOW_STARTED, {"context": {"a": 1, "b": 1}}),
        wf(EventType.CONTEXT_UPDATED, {"context": {"b": 2, "c": 3}}),
    )

    assert replayer.rebuild_workflow_state(WF)["context"] == {"a": 1, "b": 2, "c": 3}


def test_context_updated_of_a_stage_leaves_the_workflow_context_alone(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        wf(EventType.WORKFLOW_STARTED, {"context": {"a": 1}}),
        stage("s1", EventType.CONTEXT_UPDATED, {"context": {"a": 2, "b": 2}}),
    )

    assert replayer.rebuild_workflow_state(WF)["context"] == {"a": 1}


def test_context_updated_of_a_task_leaves_the_workflow_context_alone(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, task("t1", EventType.CONTEXT_UPDATED, {"context": {"b": 2}}))

    assert replayer.rebuild_workflow_state(WF)["context"] == {}


# -- the fold: stage events ------------------------------------------------------------


def test_a_stages_first_event_of_any_type_creates_its_entry_from_that_events_data(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        stage(
            "s1",
            EventType.STATUS_CHANGED,
            {"ref_id": "build", "type": "shell", "name": "Build", "new_status": "RUNNING"},
        ),
    )

    assert replayer.rebuild_workflow_state(WF)["stages"] == {
        "s1": {"id": "s1", "ref_id": "build", "type": "shell", "name": "Build"}
    }


def test_later_stage_events_do_not_overwrite_ref_id_type_or_name(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        stage("s1", EventType.STAGE_STARTED, {"ref_id": "build", "type": "shell", "name": "Build"}),
        stage("s1", EventType.STAGE_COMPLETED, {"ref_id": "x", "type": "y", "name": "Z"}),
    )

    entry = replayer.rebuild_workflow_state(WF)["stages"]["s1"]

    assert (entry["ref_id"], entry["type"], entry["name"]) == ("build", "shell", "Build")


def test_a_stage_first_seen_without_identity_keeps_it_null_when_later_events_carry_it(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        stage(
            "s1", EventType.STATUS_CHANGED, {"old_status": "NOT_STARTED", "new_status": "RUNNING"}
        ),
        stage("s1", EventType.STAGE_STARTED, {"ref_id": "build", "type": "shell", "name": "Build"}),
    )

    entry = replayer.rebuild_workflow_state(WF)["stages"]["s1"]

    assert (entry["ref_id"], entry["type"], entry["name"]) == (None, None, None)


def test_stage_started_sets_running_and_start_time(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, stage("s1", EventType.STAGE_STARTED, when=at(2)))

    entry = replayer.rebuild_workflow_state(WF)["stages"]["s1"]

    assert (entry["status"], entry["start_time"]) == ("RUNNING", iso(2))


def test_stage_completed_without_a_status_key_defaults_to_succeeded(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        stage("s1", EventType.STAGE_STARTED),
        stage("s1", EventType.STAGE_COMPLETED, when=at(5)),
    )

    entry = replayer.rebuild_workflow_state(WF)["stages"]["s1"]

    assert (entry["status"], entry["end_time"]) == ("SUCCEEDED", iso(5))


def test_stage_completed_with_a_null_status_leaves_the_status_null(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        stage("s1", EventType.STAGE_STARTED),
        stage("s1", EventType.STAGE_COMPLETED, {"status": None}),
    )

    assert replayer.rebuild_workflow_state(WF)["stages"]["s1"]["status"] is None


def test_stage_completed_with_a_status_takes_that_status(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, stage("s1", EventType.STAGE_COMPLETED, {"status": "FAILED_CONTINUE"}))

    assert replayer.rebuild_workflow_state(WF)["stages"]["s1"]["status"] == "FAILED_CONTINUE"


def test_stage_completed_records_outputs_when_the_payload_has_them(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, stage("s1", EventType.STAGE_COMPLETED, {"outputs": {"artifact": "a.tgz"}}))

    assert replayer.rebuild_workflow_state(WF)["stages"]["s1"]["outputs"] == {"artifact": "a.tgz"}


def test_stage_completed_without_outputs_adds_no_outputs_key(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, stage("s1", EventType.STAGE_COMPLETED, {"status": "SUCCEEDED"}))

    assert "outputs" not in replayer.rebuild_workflow_state(WF)["stages"]["s1"]


def test_stage_failed_defaults_to_terminal_and_records_end_time_and_error(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, stage("s1", EventType.STAGE_FAILED, {"error": "boom"}, when=at(3)))

    entry = replayer.rebuild_workflow_state(WF)["stages"]["s1"]

    assert (entry["status"], entry["end_time"], entry["error"]) == ("TERMINAL", iso(3), "boom")


def test_stage_skipped_sets_skipped_and_the_skip_reason(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, stage("s1", EventType.STAGE_SKIPPED, {"reason": "condition false"}))

    entry = replayer.rebuild_workflow_state(WF)["stages"]["s1"]

    assert (entry["status"], entry["skip_reason"]) == ("SKIPPED", "condition false")


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (EventType.STAGE_SUSPENDED, "SUSPENDED"),
        (EventType.STAGE_RESUMED, "RUNNING"),
        (EventType.STAGE_CANCELED, "CANCELED"),
    ],
)
def test_stage_lifecycle_events_set_the_stage_status(
    store: SqliteEventStore, replayer: EventReplayer, kind: EventType, status: str
) -> None:
    save(store, stage("s1", EventType.STAGE_STARTED), stage("s1", kind))

    assert replayer.rebuild_workflow_state(WF)["stages"]["s1"]["status"] == status


# -- the fold: task events -------------------------------------------------------------


def test_a_tasks_first_event_of_any_type_creates_its_entry_with_name_and_stage_id(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, task("t1", EventType.STATUS_CHANGED, {"name": "run", "stage_id": "s1"}))

    assert replayer.rebuild_workflow_state(WF)["tasks"] == {
        "t1": {"id": "t1", "name": "run", "stage_id": "s1"}
    }


def test_later_task_events_do_not_overwrite_name_or_stage_id(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        task("t1", EventType.TASK_STARTED, {"name": "run", "stage_id": "s1"}),
        task("t1", EventType.TASK_COMPLETED, {"name": "other", "stage_id": "s2"}),
    )

    entry = replayer.rebuild_workflow_state(WF)["tasks"]["t1"]

    assert (entry["name"], entry["stage_id"]) == ("run", "s1")


def test_task_started_sets_running_and_start_time(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, task("t1", EventType.TASK_STARTED, when=at(8)))

    entry = replayer.rebuild_workflow_state(WF)["tasks"]["t1"]

    assert (entry["status"], entry["start_time"]) == ("RUNNING", iso(8))


def test_task_completed_defaults_to_succeeded_and_records_outputs(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, task("t1", EventType.TASK_COMPLETED, {"outputs": {"rc": 0}}, when=at(2)))

    entry = replayer.rebuild_workflow_state(WF)["tasks"]["t1"]

    assert (entry["status"], entry["end_time"], entry["outputs"]) == (
        "SUCCEEDED",
        iso(2),
        {"rc": 0},
    )


def test_task_completed_with_a_null_status_leaves_the_status_null(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        task("t1", EventType.TASK_STARTED),
        task("t1", EventType.TASK_COMPLETED, {"status": None}),
    )

    assert replayer.rebuild_workflow_state(WF)["tasks"]["t1"]["status"] is None


def test_task_failed_defaults_to_terminal_and_records_end_time_and_error(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, task("t1", EventType.TASK_FAILED, {"error": "exit 1"}, when=at(6)))

    entry = replayer.rebuild_workflow_state(WF)["tasks"]["t1"]

    assert (entry["status"], entry["end_time"], entry["error"]) == ("TERMINAL", iso(6), "exit 1")


def test_task_retried_without_retry_count_counts_up_from_zero(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, task("t1", EventType.TASK_RETRIED), task("t1", EventType.TASK_RETRIED))

    assert replayer.rebuild_workflow_state(WF)["tasks"]["t1"]["retry_count"] == 2


def test_task_retried_takes_retry_count_from_the_payload_when_present(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        task("t1", EventType.TASK_RETRIED),
        task("t1", EventType.TASK_RETRIED, {"retry_count": 7}),
    )

    assert replayer.rebuild_workflow_state(WF)["tasks"]["t1"]["retry_count"] == 7


def test_task_retried_without_retry_count_counts_on_from_the_payloads_last_value(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        task("t1", EventType.TASK_RETRIED, {"retry_count": 5}),
        task("t1", EventType.TASK_RETRIED, {"attempt": 2}),
    )

    assert replayer.rebuild_workflow_state(WF)["tasks"]["t1"]["retry_count"] == 6


# -- the fold: schema versions ---------------------------------------------------------


def test_an_event_of_schema_version_2_is_skipped_by_the_fold(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        wf(EventType.WORKFLOW_CREATED, {"application": "shop"}),
        wf(EventType.WORKFLOW_CREATED, {"application": "future"}, schema_version=2),
    )

    assert replayer.rebuild_workflow_state(WF)["application"] == "shop"


def test_skipping_an_event_of_schema_version_2_logs_a_warning(
    store: SqliteEventStore, replayer: EventReplayer, caplog: pytest.LogCaptureFixture
) -> None:
    (sequence,) = save(store, wf(EventType.WORKFLOW_PAUSED, schema_version=2))
    caplog.set_level(logging.WARNING, logger="stabilize_cli.events")

    replayer.rebuild_workflow_state(WF)

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert f"sequence {sequence}" in warnings[0].getMessage()


def test_a_skipped_schema_version_2_event_does_not_create_the_stage_entry(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        stage("s1", EventType.STAGE_STARTED, {"ref_id": "future"}, schema_version=2),
        stage("s1", EventType.STAGE_COMPLETED, {"ref_id": "build"}),
    )

    assert replayer.rebuild_workflow_state(WF)["stages"]["s1"]["ref_id"] == "build"


# -- time_travel_query -----------------------------------------------------------------


def test_time_travel_includes_an_event_stamped_exactly_at_the_given_time(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, wf(EventType.WORKFLOW_CREATED), wf(EventType.WORKFLOW_STARTED, when=at(10)))

    assert replayer.time_travel_query(WF, at(10))["status"] == "RUNNING"


def test_time_travel_excludes_events_stamped_after_the_given_time(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, wf(EventType.WORKFLOW_STARTED), wf(EventType.WORKFLOW_PAUSED, when=at(10)))

    assert replayer.time_travel_query(WF, at(9.999999))["status"] == "RUNNING"


def test_time_travel_before_the_first_event_gives_the_empty_state(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, wf(EventType.WORKFLOW_CREATED, {"application": "shop"}, when=at(5)))

    assert replayer.time_travel_query(WF, at(4)) == empty()


def test_time_travel_compares_instants_across_timezones(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(
        store,
        wf(EventType.WORKFLOW_STARTED, when=at(0)),
        wf(EventType.WORKFLOW_PAUSED, when=at(60)),
    )
    one_hour_west = timezone(timedelta(hours=-1))

    state = replayer.time_travel_query(WF, at(30).astimezone(one_hour_west))

    assert state["status"] == "RUNNING"


def test_time_travel_ignores_other_workflows(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, wf(EventType.WORKFLOW_CREATED, {"application": "x"}, workflow_id=OTHER_WF))

    assert replayer.time_travel_query(WF, at(100)) == empty()


def test_time_travel_folds_more_than_1000_events(big_store: SqliteEventStore) -> None:
    state = EventReplayer(big_store).time_travel_query(WF, T0 + timedelta(milliseconds=1499))

    assert state["tasks"]["t1"]["retry_count"] == 1500


def test_time_travel_folds_more_than_10000_events(big_store: SqliteEventStore) -> None:
    state = EventReplayer(big_store).time_travel_query(WF, at(3600))

    assert state["tasks"]["t1"]["retry_count"] == BIG


def test_rebuild_folds_more_than_10000_events(big_store: SqliteEventStore) -> None:
    state = EventReplayer(big_store).rebuild_workflow_state(WF)

    assert state["tasks"]["t1"]["retry_count"] == BIG


# -- replay_workflow_from_checkpoint ---------------------------------------------------


def test_checkpoint_replay_delivers_only_events_after_the_checkpoint(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    sequences = save(store, *[wf(EventType.CONTEXT_UPDATED) for _ in range(8)])
    seen: list[Event] = []

    replayer.replay_workflow_from_checkpoint(WF, 5, seen.append)

    assert [e.sequence for e in seen] == [s for s in sequences if s > 5] == [6, 7, 8]


def test_checkpoint_replay_delivers_only_the_workflows_events_in_sequence_order(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    sequences = save(
        store,
        wf(EventType.WORKFLOW_CREATED),
        wf(EventType.WORKFLOW_CREATED, workflow_id=OTHER_WF),
        stage("s1", EventType.STAGE_STARTED),
        wf(EventType.WORKFLOW_STARTED, workflow_id=OTHER_WF),
        task("t1", EventType.TASK_STARTED),
    )
    seen: list[Event] = []

    replayer.replay_workflow_from_checkpoint(WF, 0, seen.append)

    assert [e.sequence for e in seen] == [sequences[0], sequences[2], sequences[4]]


def test_checkpoint_replay_hands_the_handler_the_stored_events(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    (stored,) = store.append_batch([stage("s1", EventType.STAGE_STARTED, {"ref_id": "build"})])
    seen: list[Event] = []

    replayer.replay_workflow_from_checkpoint(WF, 0, seen.append)

    assert seen == [stored]


def test_checkpoint_replay_past_the_last_event_delivers_nothing(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    (last,) = save(store, wf(EventType.WORKFLOW_CREATED))
    seen: list[Event] = []

    replayer.replay_workflow_from_checkpoint(WF, last, seen.append)

    assert seen == []


def test_checkpoint_replay_delivers_more_than_10000_events(big_store: SqliteEventStore) -> None:
    seen: list[Event] = []

    EventReplayer(big_store).replay_workflow_from_checkpoint(WF, 0, seen.append)

    assert len(seen) == BIG


# -- get_entity_history ----------------------------------------------------------------


def test_entity_history_gives_events_in_the_engines_dict_form(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    event = Event(
        event_id="01JDZQ7V1S0000000000000000",
        event_type=EventType.STAGE_FAILED,
        timestamp=at(3),
        entity_type=EntityType.STAGE,
        entity_id="s1",
        workflow_id=WF,
        version=4,
        data={"error": "boom", "status": "TERMINAL"},
        metadata=EventMetadata(
            correlation_id="corr", causation_id="cause", actor="alice", source_handler="H"
        ),
    )
    (sequence,) = save(store, event)

    assert replayer.get_entity_history(EntityType.STAGE, "s1") == [
        {
            "event_id": "01JDZQ7V1S0000000000000000",
            "event_type": "stage.failed",
            "timestamp": "2026-11-28T14:00:03+00:00",
            "sequence": sequence,
            "entity_type": "stage",
            "entity_id": "s1",
            "workflow_id": WF,
            "version": 4,
            "data": {"error": "boom", "status": "TERMINAL"},
            "metadata": {
                "correlation_id": "corr",
                "causation_id": "cause",
                "actor": "alice",
                "source_handler": "H",
            },
            "schema_version": 1,
        }
    ]


def test_entity_history_holds_only_that_entitys_events_in_sequence_order(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    sequences = save(
        store,
        stage("s1", EventType.STAGE_STARTED),
        stage("s2", EventType.STAGE_STARTED),
        wf(EventType.WORKFLOW_STARTED),
        stage("s1", EventType.STAGE_COMPLETED),
        stage("s1", EventType.STATUS_CHANGED),
    )

    history = replayer.get_entity_history(EntityType.STAGE, "s1")

    assert [h["sequence"] for h in history] == [sequences[0], sequences[3], sequences[4]]


def test_entity_history_keeps_entities_of_other_types_with_the_same_id_apart(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, stage("x", EventType.STAGE_STARTED), task("x", EventType.TASK_STARTED))

    history = replayer.get_entity_history(EntityType.TASK, "x")

    assert [h["event_type"] for h in history] == ["task.started"]


def test_entity_history_of_an_unknown_entity_is_empty(
    store: SqliteEventStore, replayer: EventReplayer
) -> None:
    save(store, stage("s1", EventType.STAGE_STARTED))

    assert replayer.get_entity_history(EntityType.STAGE, "nope") == []


# -- compare_states --------------------------------------------------------------------


@pytest.fixture
def stage_run(store: SqliteEventStore) -> list[int]:
    """Sequences of: workflow created, stage s1 started at 1 s, s1 completed at 2 s."""
    return save(
        store,
        wf(EventType.WORKFLOW_CREATED, {"application": "shop"}),
        stage("s1", EventType.STAGE_STARTED, {"ref_id": "build"}, when=at(1)),
        stage("s1", EventType.STAGE_COMPLETED, {"status": "SUCCEEDED"}, when=at(2)),
    )


def test_compare_states_gives_both_states_and_the_sequence_range(
    replayer: EventReplayer, stage_run: list[int]
) -> None:
    first, _, last = stage_run

    result = replayer.compare_states(WF, first, last)

    assert (result["before"], result["after"], result["sequence_range"]) == (
        replayer.rebuild_workflow_state(WF, first),
        replayer.rebuild_workflow_state(WF, last),
        {"from": first, "to": last},
    )


@pytest.mark.parametrize("within", [replay.CONTINUE_WITHIN, 0], ids=["continued", "rebuilt"])
def test_compare_states_on_the_engines_database_equals_two_rebuilds(
    within: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Folding the later state on from the earlier one gives what a second replay gives."""
    monkeypatch.setattr(replay, "CONTINUE_WITHIN", within)
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as engine_store:
        replayer = EventReplayer(engine_store)
        events = list(engine_store.get_events(EventQuery(limit=UNLIMITED)))
        for workflow_id in sorted({e.workflow_id for e in events}):
            mine = [e.sequence for e in events if e.workflow_id == workflow_id]
            points = sorted({mine[0] - 1, mine[0], mine[len(mine) // 2], mine[-1], mine[-1] + 5})
            for first, second in itertools.pairwise(points):
                result = replayer.compare_states(workflow_id, first, second)
                assert result["before"] == replayer.rebuild_workflow_state(workflow_id, first)
                assert result["after"] == replayer.rebuild_workflow_state(workflow_id, second)


def test_compare_states_returns_exactly_the_engines_keys_plus_changes(
    replayer: EventReplayer, stage_run: list[int]
) -> None:
    result = replayer.compare_states(WF, stage_run[0], stage_run[2])

    assert list(result) == ["before", "after", "sequence_range", "changes"]


def test_compare_states_reports_a_stage_finishing_as_status_changed_and_end_time_added(
    replayer: EventReplayer, stage_run: list[int]
) -> None:
    _, started, completed = stage_run

    changes = replayer.compare_states(WF, started, completed)["changes"]

    assert changes == [
        {
            "path": ["stages", "s1", "status"],
            "op": "changed",
            "before": "RUNNING",
            "after": "SUCCEEDED",
        },
        {"path": ["stages", "s1", "end_time"], "op": "added", "before": None, "after": iso(2)},
    ]


def test_compare_states_reports_a_new_stage_as_added_at_its_path(
    replayer: EventReplayer, stage_run: list[int]
) -> None:
    created, started, _ = stage_run

    changes = replayer.compare_states(WF, created, started)["changes"]

    assert changes == [
        {
            "path": ["stages", "s1"],
            "op": "added",
            "before": None,
            "after": {
                "id": "s1",
                "ref_id": "build",
                "type": None,
                "name": None,
                "status": "RUNNING",
                "start_time": iso(1),
            },
        }
    ]


def test_compare_states_backwards_reports_the_stage_as_removed(
    replayer: EventReplayer, stage_run: list[int]
) -> None:
    created, started, _ = stage_run

    changes = replayer.compare_states(WF, started, created)["changes"]

    assert [(c["path"], c["op"]) for c in changes] == [(["stages", "s1"], "removed")]


def test_compare_states_of_one_sequence_with_itself_has_no_changes(
    replayer: EventReplayer, stage_run: list[int]
) -> None:
    assert replayer.compare_states(WF, stage_run[1], stage_run[1])["changes"] == []


def test_compare_states_result_is_json_serialisable(
    replayer: EventReplayer, stage_run: list[int]
) -> None:
    result = replayer.compare_states(WF, stage_run[0], stage_run[2])

    assert json.loads(json.dumps(result)) == result


# -- diff_values -----------------------------------------------------------------------


def test_diff_of_equal_values_is_empty() -> None:
    assert diff_values({"a": {"b": [1, 2]}}, {"a": {"b": [1, 2]}}) == []


def test_diff_walks_nested_dicts_down_to_the_changed_value() -> None:
    assert diff_values({"a": {"b": {"c": 1}}}, {"a": {"b": {"c": 2}}}) == [
        Change(("a", "b", "c"), "changed", 1, 2)
    ]


def test_diff_reports_a_key_only_in_after_as_added() -> None:
    assert diff_values({"a": {}}, {"a": {"new": 1}}) == [Change(("a", "new"), "added", None, 1)]


def test_diff_reports_a_key_only_in_before_as_removed() -> None:
    assert diff_values({"a": {"old": 1}}, {"a": {}}) == [Change(("a", "old"), "removed", 1, None)]


def test_diff_compares_lists_as_whole_values() -> None:
    assert diff_values({"l": [1, 2, 3]}, {"l": [1, 9, 3]}) == [
        Change(("l",), "changed", [1, 2, 3], [1, 9, 3])
    ]


def test_diff_tells_1_from_true() -> None:
    assert diff_values({"x": 1}, {"x": True}) == [Change(("x",), "changed", 1, True)]


def test_diff_tells_1_from_true_inside_a_list() -> None:
    assert diff_values({"l": [1]}, {"l": [True]}) == [Change(("l",), "changed", [1], [True])]


def test_diff_tells_1_from_true_inside_a_dict_inside_a_list() -> None:
    assert diff_values([{"x": 0}], [{"x": False}]) == [
        Change((), "changed", [{"x": 0}], [{"x": False}])
    ]


def test_diff_reports_a_dict_replaced_by_a_scalar_as_one_change() -> None:
    assert diff_values({"a": {"b": 1}}, {"a": None}) == [Change(("a",), "changed", {"b": 1}, None)]


def test_diff_of_two_scalars_is_a_change_at_the_empty_path() -> None:
    assert diff_values("RUNNING", "SUCCEEDED") == [Change((), "changed", "RUNNING", "SUCCEEDED")]


def test_a_change_as_a_dict_gives_its_path_as_a_list() -> None:
    assert Change(("stages", "s1"), "removed", {"id": "s1"}).to_dict() == {
        "path": ["stages", "s1"],
        "op": "removed",
        "before": {"id": "s1"},
        "after": None,
    }
