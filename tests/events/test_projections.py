"""Stage metrics arithmetic and projection idempotence, one rule per test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stabilize_cli.events import (
    EntityType,
    Event,
    EventType,
    StageMetrics,
    StageMetricsProjection,
    WorkflowTimelineProjection,
)
from stabilize_cli.events.projections.metrics import median, p95

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_sequence = iter(range(1, 1_000_000))


def event(
    kind: EventType,
    entity: EntityType,
    entity_id: str,
    data: dict[str, Any],
    *,
    version: int = 1,
    seconds: float = 0,
    workflow_id: str = "W",
) -> Event:
    return Event(
        event_type=kind,
        entity_type=entity,
        entity_id=entity_id,
        workflow_id=workflow_id,
        version=version,
        data=data,
        sequence=next(_sequence),
        timestamp=T0 + timedelta(seconds=seconds),
    )


def stage_run(
    stage_id: str, stage_type: str, outcome: EventType, duration: int | None
) -> list[Event]:
    end: dict[str, Any] = {"type": stage_type}
    if duration is not None:
        end["duration_ms"] = duration
    return [
        event(EventType.STAGE_STARTED, EntityType.STAGE, stage_id, {"type": stage_type}),
        event(outcome, EntityType.STAGE, stage_id, end, version=2),
    ]


def test_median_of_an_odd_count_is_the_middle_value() -> None:
    assert median([5, 1, 3]) == 3


def test_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert median([4, 1, 3, 2]) == 2.5


def test_p95_below_twenty_samples_is_the_maximum() -> None:
    assert p95(list(range(1, 20))) == 19


def test_p95_from_twenty_samples_is_the_value_at_index_int_n_times_095() -> None:
    values = list(range(100, 0, -1))  # 1..100 unsorted
    assert p95(values) == 96  # sorted[int(100 * 0.95)] == sorted[95] == 96


def test_rates_are_percentages_of_decided_runs_only() -> None:
    metrics = StageMetrics("t", execution_count=10, success_count=3, failure_count=1, skip_count=6)
    assert (metrics.success_rate, metrics.failure_rate) == (75.0, 25.0)


def test_rates_and_durations_are_zero_with_nothing_decided() -> None:
    metrics = StageMetrics("t", execution_count=2)
    assert (metrics.success_rate, metrics.failure_rate) == (0.0, 0.0)
    assert (metrics.avg_duration_ms, metrics.min_duration_ms, metrics.max_duration_ms) == (0, 0, 0)


def test_to_dict_rounds_the_five_derived_figures_to_two_places() -> None:
    metrics = StageMetrics("t", success_count=2, failure_count=1, durations=[1, 2, 2])
    assert metrics.to_dict()["avg_duration_ms"] == 1.67
    assert metrics.to_dict()["success_rate"] == 66.67


def test_stage_outcomes_and_durations_are_counted_per_type() -> None:
    projection = StageMetricsProjection()
    projection.apply_all(stage_run("a", "deploy", EventType.STAGE_COMPLETED, 100))
    projection.apply_all(stage_run("b", "deploy", EventType.STAGE_FAILED, 300))
    projection.apply_all(stage_run("c", "deploy", EventType.STAGE_SKIPPED, None))
    deploy = projection.get_metrics_for_type("deploy")
    assert deploy is not None
    assert (deploy.execution_count, deploy.success_count, deploy.failure_count) == (3, 1, 1)
    assert (deploy.skip_count, deploy.durations) == (1, [100, 300])


def test_the_same_event_applied_twice_counts_once() -> None:
    projection = StageMetricsProjection()
    events = stage_run("a", "deploy", EventType.STAGE_COMPLETED, 100)
    projection.apply_all(events + events)
    deploy = projection.get_metrics_for_type("deploy")
    assert deploy is not None
    assert (deploy.execution_count, deploy.durations) == (1, [100])


def test_top_slowest_skips_types_without_durations_and_sorts_by_average() -> None:
    projection = StageMetricsProjection()
    projection.apply_all(stage_run("a", "fast", EventType.STAGE_COMPLETED, 10))
    projection.apply_all(stage_run("b", "slow", EventType.STAGE_COMPLETED, 900))
    projection.apply_all(stage_run("c", "never-ends", EventType.STAGE_SKIPPED, None))
    assert projection.get_top_slowest_stages(10) == [("slow", 900), ("fast", 10)]
    assert projection.get_top_slowest_stages(1) == [("slow", 900)]


def test_task_retries_and_implementing_class_are_tracked_per_name() -> None:
    projection = StageMetricsProjection()
    projection.apply_all(
        [
            event(
                EventType.TASK_STARTED,
                EntityType.TASK,
                "t",
                {"name": "Call", "implementing_class": "http"},
            ),
            event(
                EventType.TASK_RETRIED,
                EntityType.TASK,
                "t",
                {"name": "Call", "attempt": 1},
                version=2,
            ),
            event(
                EventType.TASK_COMPLETED,
                EntityType.TASK,
                "t",
                {"name": "Call", "duration_ms": 40},
                version=3,
            ),
        ]
    )
    task = projection.get_task_metrics_for_name("Call")
    assert task is not None
    assert (task.implementing_class, task.retry_count, task.success_count) == ("http", 1, 1)
    assert task.avg_duration_ms == 40


def test_reset_forgets_everything() -> None:
    projection = StageMetricsProjection()
    events = stage_run("a", "deploy", EventType.STAGE_COMPLETED, 100)
    projection.apply_all(events)
    projection.reset()
    assert projection.get_state() == {}
    projection.apply_all(events)
    assert projection.get_state()["deploy"].execution_count == 1


def test_the_timeline_ignores_other_workflows_and_repeated_events() -> None:
    projection = WorkflowTimelineProjection("W")
    mine = event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, "W", {})
    other = event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, "X", {}, workflow_id="X")
    projection.apply_all([mine, other, mine])
    assert [e.entity_id for e in projection.get_state().entries] == ["W"]


@pytest.mark.parametrize(
    "kind", [EventType.STATUS_CHANGED, EventType.CONTEXT_UPDATED, EventType.OUTPUTS_UPDATED]
)
def test_bookkeeping_events_are_not_on_the_timeline(kind: EventType) -> None:
    projection = WorkflowTimelineProjection("W")
    projection.apply(event(kind, EntityType.WORKFLOW, "W", {}))
    assert projection.get_state().entries == []


def test_an_end_without_duration_gets_the_time_since_its_start() -> None:
    projection = WorkflowTimelineProjection("W")
    projection.apply_all(
        [
            event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, "W", {}),
            event(EventType.STAGE_STARTED, EntityType.STAGE, "S", {"name": "Build"}, seconds=1),
            event(EventType.STAGE_FAILED, EntityType.STAGE, "S", {"error": "x"}, seconds=3.5),
            event(
                EventType.WORKFLOW_FAILED,
                EntityType.WORKFLOW,
                "W",
                {"status": "TERMINAL"},
                seconds=4,
            ),
        ]
    )
    timeline = projection.get_state()
    assert [e.duration_ms for e in timeline.entries] == [None, None, 2500, 4000]
    assert (timeline.status, timeline.total_duration_ms) == ("TERMINAL", 4000)
    assert [f.details for f in projection.get_failures()] == [{"error": "x"}, {}]


def test_a_canceled_workflow_has_an_end_but_no_status_as_in_the_engine() -> None:
    projection = WorkflowTimelineProjection("W")
    projection.apply_all(
        [
            event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, "W", {}),
            event(
                EventType.WORKFLOW_CANCELED, EntityType.WORKFLOW, "W", {"reason": "r"}, seconds=2
            ),
        ]
    )
    timeline = projection.get_state()
    assert (timeline.status, timeline.total_duration_ms) == (None, 2000)
