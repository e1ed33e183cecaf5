"""The explorer's cursor: the state as of any sequence equals a replay from the first
event, however the cursor got there (forward, back, jumps, from kept copies or snapshots)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stabilize_cli.cli.run import open_for_audit
from stabilize_cli.events.base import EntityType, Event, EventType
from stabilize_cli.events.replay import EventReplayer
from stabilize_cli.events.snapshots import SnapshotStore
from stabilize_cli.events.store.sqlite import SqliteEventStore
from stabilize_cli.queries import cursor as cursor_module
from stabilize_cli.queries.cursor import RunEvents, StateCursor
from stabilize_cli.queries.state import diff_states

from .cli.conftest import make_event

WF, OTHER = "wf-long", "wf-other"
SNAPSHOT_AT = (40, 90)
"""Positions (in the long workflow's events) after which a snapshot is taken."""


def long_run() -> list[Event]:
    """A workflow of ~130 events, another one's events interleaved (sequences have gaps)."""
    w, s, t = EntityType.WORKFLOW, EntityType.STAGE, EntityType.TASK
    events = [
        make_event(EventType.WORKFLOW_CREATED, w, WF, 0, workflow_id=WF, name="long"),
        make_event(EventType.WORKFLOW_STARTED, w, WF, 0.1, workflow_id=WF, context={}),
    ]
    at = 1.0
    for stage in range(6):
        sid, tid = f"st-{stage}", f"tk-{stage}"
        events.append(make_event(EventType.STAGE_STARTED, s, sid, at, workflow_id=WF, name=sid))
        events.append(
            make_event(EventType.TASK_STARTED, t, tid, at, workflow_id=WF, name=tid, stage_id=sid)
        )
        for attempt in range(18):
            at += 0.5
            kind, entity, ident = (
                (EventType.TASK_RETRIED, t, tid)
                if attempt % 2
                else (EventType.CONTEXT_UPDATED, w, WF)
            )
            data = {"attempt": attempt} if attempt % 2 else {"context": {f"s{stage}": attempt}}
            events.append(make_event(kind, entity, ident, at, workflow_id=WF, **data))
            if attempt % 5 == 0:
                events.append(
                    make_event(EventType.WORKFLOW_CREATED, w, OTHER, at, workflow_id=OTHER)
                )
        status = "TERMINAL" if stage == 4 else "SUCCEEDED"
        events.append(
            make_event(EventType.TASK_COMPLETED, t, tid, at, workflow_id=WF, status=status)
        )
        events.append(
            make_event(EventType.STAGE_COMPLETED, s, sid, at, workflow_id=WF, status=status)
        )
    events.append(make_event(EventType.WORKFLOW_FAILED, w, WF, at + 1, workflow_id=WF, error="x"))
    return events


@pytest.fixture(scope="module")
def long_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cursor") / "long.db"
    with SqliteEventStore(str(path)) as store:
        store.append_batch(long_run())
        replayer = EventReplayer(store)
        ours = [e.sequence for e in store.get_events_for_workflow(WF)]
        for position in SNAPSHOT_AT:
            state = replayer.rebuild_workflow_state(WF, ours[position])
            SnapshotStore(store).create_workflow_snapshot(state, WF, 0, ours[position])
    return path


@pytest.fixture
def small_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a copy every 3 events, fold forward at most 7: every path is taken often."""
    monkeypatch.setattr(cursor_module, "CHECKPOINT_EVERY", 3)
    monkeypatch.setattr(cursor_module, "FORWARD_LIMIT", 7)
    monkeypatch.setattr(cursor_module, "PAGE", 7)


def truth(store: SqliteEventStore, sequence: int) -> dict[str, object]:
    """A replay from the first event, no snapshot."""
    return EventReplayer(store).rebuild_workflow_state(WF, sequence)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=st.lists(st.integers(min_value=-1, max_value=200), min_size=1, max_size=25))
def test_every_state_equals_a_replay_from_the_first_event(
    long_db: Path, small_steps: None, moves: list[int]
) -> None:
    with open_for_audit(str(long_db)) as store:
        top = store.get_current_sequence()
        cursor = StateCursor(store, WF)
        for target in moves:
            sequence = max(0, min(top, target))  # also sequences of the other workflow
            assert cursor.state_at(sequence) == truth(store, sequence)


def test_stepping_back_folds_from_a_kept_copy_not_from_the_start(
    long_db: Path, small_steps: None
) -> None:
    with open_for_audit(str(long_db)) as store:
        events = RunEvents(store, WF)
        cursor = StateCursor(store, WF)
        for index in range(len(events)):
            cursor.state_at(events.sequences[index])
        assert cursor.folded == len(events)  # a walk forward folds each event once
        for index in reversed(range(len(events))):
            before = cursor.folded
            assert cursor.state_at(events.sequences[index]) == truth(store, events.sequences[index])
            assert cursor.folded - before <= cursor_module.CHECKPOINT_EVERY


def test_a_jump_starts_from_the_nearest_snapshot(long_db: Path) -> None:
    with open_for_audit(str(long_db)) as store:
        events = RunEvents(store, WF)
        cursor = StateCursor(store, WF)
        target = events.sequences[SNAPSHOT_AT[1] + 2]
        assert cursor.state_at(target) == truth(store, target)
        assert cursor.folded == 2


def test_the_diff_of_two_marks_is_the_diff_commands(long_db: Path) -> None:
    with open_for_audit(str(long_db)) as store:
        events = RunEvents(store, WF)
        first, second = events.sequences[10], events.sequences[100]
        ours = StateCursor(store, WF).diff(second, first)
        assert ours.to_json() == diff_states(store, WF, first, second).to_json()


def test_events_by_position_are_the_workflows_events_in_order(
    long_db: Path, small_steps: None
) -> None:
    with open_for_audit(str(long_db)) as store:
        events = RunEvents(store, WF)
        expected = store.get_events_for_workflow(WF)
        assert [events[i].sequence for i in reversed(range(len(events)))] == [
            e.sequence for e in reversed(expected)
        ]
        assert [events[i] for i in range(len(events))] == expected
        between = expected[5].sequence + 1  # the other workflow's event, or the next one
        assert events.index_of(between) in (5, 6)
        assert events.index_of(expected[5].sequence) == 5
        with pytest.raises(IndexError):
            events[len(events)]


def test_a_growing_workflow_adds_its_new_events(tmp_path: Path) -> None:
    path = tmp_path / "growing.db"
    run = long_run()
    with SqliteEventStore(str(path)) as writer:
        writer.append_batch(run[:20])
        with open_for_audit(str(path)) as store:
            events = RunEvents(store, WF)
            count = len(events)
            events[count - 1]  # the last page read while short
            writer.append_batch(run[20:40])
            assert events.grow() == len([e for e in run[20:40] if e.workflow_id == WF])
            assert [events[i].sequence for i in range(len(events))] == [
                e.sequence for e in store.get_events_for_workflow(WF)
            ]
