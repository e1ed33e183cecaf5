"""Our library against the real engine's answers on a database the engine wrote.

``fixtures/real-small.engine.json`` was produced by ``tests/oracle/engine_oracle.py``
running the engine itself; nothing here compares against numbers we typed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from stabilize_cli.events import (
    EntityType,
    EventQuery,
    EventReplayer,
    SqliteEventStore,
    StageMetricsProjection,
    WorkflowTimelineProjection,
)
from stabilize_cli.events.store import UNLIMITED
from stabilize_cli.events.timeutil import parse_timestamp

from ..conftest import ENGINE_STATUSES, REAL_DB, sha256


@pytest.fixture(scope="module")
def store() -> Iterator[SqliteEventStore]:
    before = sha256(REAL_DB)
    with SqliteEventStore(str(REAL_DB), create_tables=False) as opened:
        yield opened
    assert sha256(REAL_DB) == before, "reading the engine's database changed it"


def engine_statuses() -> dict[str, str]:
    rows = (line.split() for line in ENGINE_STATUSES.read_text().splitlines() if line.strip())
    return {wf: status for wf, _name, status in rows}


WORKFLOWS = sorted(engine_statuses())


def test_every_event_reads_back_in_the_engines_json_form(
    store: SqliteEventStore, engine_report: dict[str, Any]
) -> None:
    events = [e.to_dict() for e in store.get_events(EventQuery(limit=UNLIMITED))]
    assert events == engine_report["events"]


def test_counts_and_current_sequence_match_the_engine(
    store: SqliteEventStore, engine_report: dict[str, Any]
) -> None:
    assert store.count_events() == engine_report["count_events"]
    assert store.get_current_sequence() == engine_report["current_sequence"]


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_rebuilt_status_is_the_one_the_engine_reported(
    store: SqliteEventStore, workflow_id: str
) -> None:
    state = EventReplayer(store).rebuild_workflow_state(workflow_id)
    assert state["status"] == engine_statuses()[workflow_id]


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_rebuilt_state_equals_the_engines(
    store: SqliteEventStore, engine_report: dict[str, Any], workflow_id: str
) -> None:
    expected = engine_report["workflows"][workflow_id]
    replayer = EventReplayer(store)
    assert replayer.rebuild_workflow_state(workflow_id) == expected["state"]
    for sequence, state in expected["states_as_of"].items():
        assert replayer.rebuild_workflow_state(workflow_id, int(sequence)) == state, sequence


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_time_travel_equals_the_engines(
    store: SqliteEventStore, engine_report: dict[str, Any], workflow_id: str
) -> None:
    replayer = EventReplayer(store)
    for when, state in engine_report["workflows"][workflow_id]["time_travel"].items():
        assert replayer.time_travel_query(workflow_id, parse_timestamp(when)) == state


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_timeline_equals_the_engines(
    store: SqliteEventStore, engine_report: dict[str, Any], workflow_id: str
) -> None:
    expected = engine_report["workflows"][workflow_id]
    projection = WorkflowTimelineProjection(workflow_id)
    projection.apply_all(store.get_events_for_workflow(workflow_id))
    assert projection.get_state().to_dict() == expected["timeline"]
    assert [e.to_dict() for e in projection.get_stages()] == expected["timeline_stages"]
    assert [e.to_dict() for e in projection.get_tasks()] == expected["timeline_tasks"]
    assert [e.to_dict() for e in projection.get_failures()] == expected["timeline_failures"]


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_compare_states_returns_the_engines_before_and_after(
    store: SqliteEventStore, engine_report: dict[str, Any], workflow_id: str
) -> None:
    expected = engine_report["workflows"][workflow_id]
    sequences = expected["sequences"]
    result = EventReplayer(store).compare_states(workflow_id, sequences[2], sequences[-2])
    changes = result.pop("changes")
    assert result == expected["compare"]
    assert changes, "the states differ, so there must be changes"


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_entity_histories_equal_the_engines(
    store: SqliteEventStore, engine_report: dict[str, Any], workflow_id: str
) -> None:
    replayer = EventReplayer(store)
    for key, history in engine_report["workflows"][workflow_id]["entity_histories"].items():
        entity_type, entity_id = key.split(":")
        assert replayer.get_entity_history(EntityType(entity_type), entity_id) == history


def test_stage_and_task_metrics_equal_the_engines(
    store: SqliteEventStore, engine_report: dict[str, Any]
) -> None:
    projection = StageMetricsProjection()
    projection.apply_all(store.get_events(EventQuery(limit=UNLIMITED)))
    assert projection.to_dict() == engine_report["stage_metrics"]
    assert [list(p) for p in projection.get_top_slowest_stages(10)] == engine_report["top_slowest"]
    assert [list(p) for p in projection.get_top_failing_stages(10)] == engine_report["top_failing"]


def test_metrics_do_not_change_when_every_event_is_applied_twice(
    store: SqliteEventStore, engine_report: dict[str, Any]
) -> None:
    projection = StageMetricsProjection()
    projection.apply_all(store.get_events(EventQuery(limit=UNLIMITED)))
    projection.apply_all(store.get_events(EventQuery(limit=UNLIMITED)))
    assert projection.to_dict() == engine_report["stage_metrics_idempotent"]
