"""The recorder writes the engine's format: its columns, its payload keys, its semantics."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path

import pytest

from stabilize_cli.events import (
    EntityType,
    Event,
    EventRecorder,
    EventReplayer,
    EventType,
    SqliteEventStore,
    StageMetricsProjection,
    StageRecord,
    TaskRecord,
    WorkflowRecord,
    WorkflowTimelineProjection,
    configure_event_sourcing,
    event_context,
    get_event_bus,
    get_event_recorder,
    set_event_context,
)
from stabilize_cli.events.recorder.context import clear_event_context

# The engine's payload keys per event type (../shared/stabilize-format.md).
ENGINE_PAYLOAD_KEYS = {
    "workflow.created": {
        "application",
        "name",
        "type",
        "trigger_type",
        "stage_count",
        "initial_stage_count",
    },
    "workflow.started": {"start_time", "initial_stage_ids", "context"},
    "workflow.completed": {"status", "end_time", "duration_ms"},
    "workflow.failed": {"status", "error", "end_time"},
    "workflow.canceled": {"canceled_by", "reason", "end_time"},
    "workflow.paused": {"paused_by", "pause_time"},
    "workflow.resumed": {"resume_time", "paused_ms"},
    "stage.started": {
        "ref_id",
        "type",
        "name",
        "start_time",
        "is_synthetic",
        "parent_stage_id",
        "task_count",
    },
    "stage.completed": {"ref_id", "type", "name", "status", "end_time", "duration_ms", "outputs"},
    "stage.failed": {"ref_id", "type", "name", "status", "error", "end_time"},
    "stage.skipped": {"ref_id", "type", "name", "reason"},
    "stage.suspended": {"ref_id", "type", "name"},
    "stage.resumed": {"ref_id", "type", "name", "signal_name"},
    "stage.canceled": {"ref_id", "type", "name"},
    "task.started": {"name", "implementing_class", "start_time", "stage_id"},
    "task.completed": {"name", "status", "end_time", "duration_ms", "outputs"},
    "task.failed": {"name", "status", "error", "end_time", "exception_details"},
    "task.retried": {"name", "attempt", "last_error"},
    "status.changed": {"old_status", "new_status"},
    "context.updated": {"context"},
    "outputs.updated": {"outputs"},
    "jump.executed": {"from_stage_id", "to_stage_id", "jump_type"},
}
T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves, so durations are known without sleeping."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += timedelta(milliseconds=ms)
        return int(self.now.timestamp() * 1000)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "recorded.db"


@pytest.fixture
def store(db: Path) -> Iterator[SqliteEventStore]:
    with SqliteEventStore(str(db)) as opened:
        yield opened


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def recorder(store: SqliteEventStore, clock: Clock) -> EventRecorder:
    clear_event_context()
    return EventRecorder(store, publish_to_bus=False, clock=clock)


def record_every_type(recorder: EventRecorder, clock: Clock) -> WorkflowRecord:
    """One workflow that passes through every event type the engine writes."""
    task = TaskRecord(id="T1", name="Run Build", stage_id="S1", implementing_class="shell")
    stage = StageRecord(
        id="S1", ref_id="build", name="Build", type="shell", workflow_id="W1", tasks=[task]
    )
    other = StageRecord(
        id="S2",
        ref_id="deploy",
        name="Deploy",
        type="deploy",
        workflow_id="W1",
        requisite_stage_ref_ids=["build"],
    )
    wf = WorkflowRecord(
        id="W1", application="shop", name="release", stages=[stage, other], context={"region": "eu"}
    )
    recorder.record_workflow_created(wf, source_handler="StartWorkflowHandler")
    wf.start_time = clock.advance(5)
    recorder.record_workflow_started(wf)
    stage.start_time = clock.advance(10)
    recorder.record_stage_started(stage)
    task.start_time = clock.advance(10)
    recorder.record_task_started(task, "W1")
    task.last_error = "connection reset"
    recorder.record_task_retried(task, "W1", attempt=1)
    task.end_time, task.status = clock.advance(250), "SUCCEEDED"
    recorder.record_task_completed(task, "W1", outputs={"artifact": "app.tar"})
    recorder.record_outputs_updated(EntityType.STAGE, "S1", "W1", {"artifact": "app.tar"})
    recorder.record_status_change(EntityType.STAGE, "S1", "W1", "RUNNING", "SUCCEEDED")
    stage.end_time, stage.status = clock.advance(20), "SUCCEEDED"
    recorder.record_stage_completed(stage)
    recorder.record_context_updated(EntityType.WORKFLOW, "W1", "W1", {"build": "ok"})
    wf.paused_by, wf.pause_time = "alice", clock.advance(5)
    recorder.record_workflow_paused(wf)
    clock.advance(1000)
    wf.paused_ms = 1000
    recorder.record_workflow_resumed(wf)
    recorder.record_jump_executed("W1", "S1", "S2", "retry")
    recorder.record_stage_suspended(other)
    recorder.record_stage_resumed(other, signal_name="approve")
    clock.advance(5)
    recorder.record_stage_skipped(other, reason="no approval needed")
    recorder.record_stage_canceled(
        StageRecord(id="S3", ref_id="x", name="X", type="noop", workflow_id="W1")
    )
    recorder.record_task_failed(
        TaskRecord(id="T2", name="Lint", stage_id="S1"), "W1", error="lint failed"
    )
    recorder.record_stage_failed(
        StageRecord(id="S4", ref_id="y", name="Y", type="shell", workflow_id="W1"), error="boom"
    )
    wf.end_time = clock.advance(30)
    recorder.record_workflow_failed(wf, error="stage Y failed")
    return wf


def stored_rows(db: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT * FROM events ORDER BY sequence").fetchall()


def test_every_record_method_writes_exactly_the_engines_payload_keys(
    recorder: EventRecorder, clock: Clock, db: Path
) -> None:
    record_every_type(recorder, clock)
    recorder.record_workflow_completed(WorkflowRecord(id="W2", application="a", name="b"))
    recorder.record_workflow_canceled(
        WorkflowRecord(
            id="W3", application="a", name="c", canceled_by="bob", cancellation_reason="r"
        )
    )
    seen = {row["event_type"]: set(json.loads(row["data"])) for row in stored_rows(db)}
    assert seen == ENGINE_PAYLOAD_KEYS


def test_stored_rows_have_the_engines_column_formats(
    recorder: EventRecorder, clock: Clock, db: Path
) -> None:
    record_every_type(recorder, clock)
    first = stored_rows(db)[0]
    assert first["timestamp"] == "2026-11-28T03:00:00+00:00"
    assert first["entity_type"] == "workflow"
    assert first["workflow_id"] == first["entity_id"] == "W1"
    assert first["correlation_id"] == "W1"
    assert first["actor"] == "system"
    assert first["source_handler"] == "StartWorkflowHandler"
    assert first["schema_version"] == 1
    assert len(first["event_id"]) == 26
    with sqlite3.connect(db) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(events)")]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert columns[:3] == ["sequence", "event_id", "event_type"]
    assert {"events", "snapshots", "event_subscriptions"} <= tables


def test_payload_times_are_epoch_milliseconds_and_durations_follow_them(
    recorder: EventRecorder, clock: Clock, db: Path
) -> None:
    record_every_type(recorder, clock)
    data = {row["event_type"]: json.loads(row["data"]) for row in stored_rows(db)}
    started = data["task.started"]["start_time"]
    assert started == int((T0 + timedelta(milliseconds=25)).timestamp() * 1000)
    assert data["task.completed"]["duration_ms"] == 250
    assert data["stage.completed"]["duration_ms"] == 280
    assert data["workflow.created"]["initial_stage_count"] == 1
    assert data["workflow.started"]["initial_stage_ids"] == ["S1"]


def test_every_method_returns_the_stored_event_with_its_sequence(
    recorder: EventRecorder, store: SqliteEventStore
) -> None:
    wf = WorkflowRecord(id="W9", application="a", name="n")
    created = recorder.record_workflow_created(wf)
    started = recorder.record_workflow_started(wf)
    assert (created.sequence, started.sequence) == (1, 2)
    assert store.get_event_by_id(started.event_id) == started


def test_versions_count_up_per_entity_when_the_object_has_none(recorder: EventRecorder) -> None:
    wf = WorkflowRecord(id="W", application="a", name="n")
    stage = StageRecord(id="S", ref_id="s", name="S", type="t", workflow_id="W")
    versions = [
        recorder.record_workflow_created(wf).version,
        recorder.record_stage_started(stage).version,
        recorder.record_workflow_started(wf).version,
        recorder.record_stage_completed(stage).version,
    ]
    assert versions == [1, 1, 2, 2]


def test_an_objects_own_version_is_recorded_as_is(recorder: EventRecorder) -> None:
    wf = WorkflowRecord(id="W", application="a", name="n", version=7)
    assert recorder.record_workflow_created(wf).version == 7


def test_projections_over_recorded_events_give_the_expected_story(
    recorder: EventRecorder, clock: Clock, store: SqliteEventStore
) -> None:
    record_every_type(recorder, clock)
    state = EventReplayer(store).rebuild_workflow_state("W1")
    assert state["status"] == "TERMINAL"
    assert state["context"] == {"region": "eu", "build": "ok"}
    assert state["stages"]["S1"]["status"] == "SUCCEEDED"
    assert state["stages"]["S2"]["skip_reason"] == "no approval needed"
    assert state["tasks"]["T1"]["retry_count"] == 1
    timeline = WorkflowTimelineProjection("W1")
    timeline.apply_all(store.get_events_for_workflow("W1"))
    assert timeline.get_state().status == "TERMINAL"
    assert [f.event_type for f in timeline.get_failures()] == [
        "task.failed",
        "stage.failed",
        "workflow.failed",
    ]
    metrics = StageMetricsProjection()
    metrics.apply_all(store.get_events_for_workflow("W1"))
    assert metrics.get_state()["shell"].durations == [280]
    assert metrics.get_task_state()["Run Build"].retry_count == 1


def test_event_context_stamps_correlation_causation_and_actor(recorder: EventRecorder) -> None:
    set_event_context("corr-1", causation_id="cause-9", actor="alice")
    event = recorder.record_workflow_created(WorkflowRecord(id="W", application="a", name="n"))
    assert (event.metadata.correlation_id, event.metadata.causation_id, event.metadata.actor) == (
        "corr-1",
        "cause-9",
        "alice",
    )


def test_a_scoped_context_is_restored_on_exit(recorder: EventRecorder) -> None:
    wf = WorkflowRecord(id="W", application="a", name="n")
    with event_context("inner", actor="bob"):
        inner = recorder.record_workflow_created(wf)
    outer = recorder.record_workflow_started(wf)
    assert inner.metadata.actor == "bob"
    assert (outer.metadata.correlation_id, outer.metadata.actor) == ("W", "system")


def test_threads_never_see_each_others_context(recorder: EventRecorder) -> None:
    barrier = threading.Barrier(2)
    results: dict[str, Event] = {}

    def run(name: str) -> None:
        set_event_context(f"corr-{name}", actor=name)
        barrier.wait()
        results[name] = recorder.record_workflow_created(
            WorkflowRecord(id=f"W-{name}", application="a", name=name)
        )

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {n: (e.metadata.correlation_id, e.metadata.actor) for n, e in results.items()} == {
        "a": ("corr-a", "a"),
        "b": ("corr-b", "b"),
    }


def test_async_tasks_never_see_each_others_context(recorder: EventRecorder) -> None:
    async def run(name: str, gate: asyncio.Event, other: asyncio.Event) -> Event:
        set_event_context(f"corr-{name}", actor=name)
        gate.set()
        await other.wait()
        return recorder.record_workflow_created(
            WorkflowRecord(id=f"W-{name}", application="a", name=name)
        )

    async def main() -> list[Event]:
        a, b = asyncio.Event(), asyncio.Event()
        return await asyncio.gather(run("a", a, b), run("b", b, a))

    first, second = asyncio.run(main())
    assert (first.metadata.actor, second.metadata.actor) == ("a", "b")


def test_events_are_published_only_after_they_are_stored(store: SqliteEventStore) -> None:
    recorder = configure_event_sourcing(store, publish_to_bus=True)
    seen: list[tuple[int, bool]] = []
    get_event_bus().subscribe(
        "probe", lambda e: seen.append((e.sequence, store.get_event_by_id(e.event_id) is not None))
    )
    recorder.record_workflow_created(WorkflowRecord(id="W", application="a", name="n"))
    assert seen == [(1, True)]
    assert get_event_recorder() is recorder


def test_nothing_is_published_when_publish_to_bus_is_off(store: SqliteEventStore) -> None:
    seen: list[Event] = []
    get_event_bus().subscribe("probe", seen.append)
    EventRecorder(store, publish_to_bus=False).record_workflow_created(
        WorkflowRecord(id="W", application="a", name="n")
    )
    assert seen == []
    assert store.count_events() == 1


def test_recording_joins_a_callers_transaction(store: SqliteEventStore, db: Path) -> None:
    recorder = EventRecorder(store, publish_to_bus=False)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    recorder.record_workflow_created(
        WorkflowRecord(id="W", application="a", name="n"), connection=conn
    )
    conn.execute("ROLLBACK")
    conn.close()
    assert store.count_events() == 0


def test_enum_statuses_are_recorded_by_name(recorder: EventRecorder) -> None:
    class Status(Enum):
        SUCCEEDED = 1

    stage = StageRecord(id="S", ref_id="s", name="S", type="t", workflow_id="W")
    stage.status = Status.SUCCEEDED  # type: ignore[assignment]  # the engine passes enums
    assert recorder.record_stage_completed(stage).data["status"] == "SUCCEEDED"


def test_a_generic_record_covers_types_newer_than_the_seed(recorder: EventRecorder) -> None:
    event = recorder.record(EventType.CUSTOM_PROGRESS, EntityType.TASK, "T", "W", {"pct": 50})
    assert (event.type_name, event.data, event.sequence) == ("custom.progress", {"pct": 50}, 1)


def test_an_id_factory_makes_event_ids_deterministic(store: SqliteEventStore) -> None:
    ids = iter(["01J0000000000000000000000A", "01J0000000000000000000000B"])
    recorder = EventRecorder(store, publish_to_bus=False, id_factory=lambda: next(ids))
    wf = WorkflowRecord(id="W", application="a", name="n")
    recorded = [recorder.record_workflow_created(wf), recorder.record_workflow_started(wf)]
    assert [e.event_id for e in recorded] == [
        "01J0000000000000000000000A",
        "01J0000000000000000000000B",
    ]
