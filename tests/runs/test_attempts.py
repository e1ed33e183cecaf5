"""Attempts and restarts from the events alone, for any number of restarts and stages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from stabilize_cli.events.base import EntityType, Event, EventMetadata, EventType
from stabilize_cli.runs.attempts import split_attempts

T0 = datetime(2026, 12, 6, tzinfo=UTC)


def events_of(runs: list[int]) -> list[Event]:
    """Stage i runs ``runs[i]`` times: it fails each time but the last; the workflow fails
    after every round that left a stage to run again (a restart), then completes."""
    events: list[Event] = []

    def add(kind: EventType, entity: EntityType, entity_id: str, **data: object) -> None:
        events.append(
            Event(
                event_type=kind,
                timestamp=T0 + timedelta(seconds=len(events)),
                entity_type=entity,
                entity_id=entity_id,
                workflow_id="wf",
                version=1,
                data=dict(data),
                metadata=EventMetadata(correlation_id="wf"),
                sequence=len(events) + 1,
            )
        )

    add(EventType.WORKFLOW_CREATED, EntityType.WORKFLOW, "wf")
    add(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, "wf")
    for round_ in range(max(runs)):
        for index, count in enumerate(runs):
            if count <= round_:
                continue
            stage = f"st-{index}"
            add(EventType.STAGE_STARTED, EntityType.STAGE, stage, ref_id=stage)
            add(EventType.TASK_STARTED, EntityType.TASK, f"tk-{index}", stage_id=stage)
            if round_ < count - 1:
                add(EventType.TASK_FAILED, EntityType.TASK, f"tk-{index}", error="Task failed")
                add(EventType.STAGE_FAILED, EntityType.STAGE, stage, error="Unknown error")
            else:
                add(EventType.TASK_COMPLETED, EntityType.TASK, f"tk-{index}", status="SUCCEEDED")
                add(EventType.STAGE_COMPLETED, EntityType.STAGE, stage, status="SUCCEEDED")
        last = round_ == max(runs) - 1
        kind = EventType.WORKFLOW_COMPLETED if last else EventType.WORKFLOW_FAILED
        add(kind, EntityType.WORKFLOW, "wf", status="SUCCEEDED" if last else "TERMINAL")
    return events


@given(st.lists(st.integers(1, 4), min_size=1, max_size=5))
def test_each_start_is_an_attempt_and_each_undone_end_a_restart(runs: list[int]) -> None:
    found = split_attempts(events_of(runs))
    assert len(found.restarts) == max(runs) - 1
    assert all(r.status == "TERMINAL" for r in found.restarts)
    for index, count in enumerate(runs):
        for entity in (f"st-{index}", f"tk-{index}"):
            attempts = found.of(entity)
            assert [a.number for a in attempts] == list(range(1, count + 1))
            assert [a.status for a in attempts] == ["TERMINAL"] * (count - 1) + ["SUCCEEDED"]
            assert [a.before_restart for a in attempts] == [True] * (count - 1) + [False]
            assert [a.error is None for a in attempts] == [False] * (count - 1) + [True]


def test_a_task_that_fails_before_it_starts_is_one_attempt_without_a_start() -> None:
    events = events_of([1])
    task_started = next(e for e in events if e.event_type is EventType.TASK_STARTED)
    found = split_attempts([e for e in events if e is not task_started])
    (attempt,) = found.of("tk-0")
    assert attempt.start is None
    assert attempt.status == "SUCCEEDED"
