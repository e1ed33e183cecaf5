"""The chart model: what the builder makes of real runs, and the time axis."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stabilize_cli.cli.run import open_for_audit
from stabilize_cli.events.base import EntityType, EventType
from stabilize_cli.queries.timeline import TimelineResult, workflow_timeline
from stabilize_cli.queries.workflows import WorkflowFilter, list_workflows
from stabilize_cli.render.gantt import (
    RETRIED,
    Chart,
    ChartRow,
    axis,
    build_chart,
    first_line,
    tick_step,
)

from ..cli.conftest import make_event
from ..cli.test_timeline import WF, started, write_db
from ..conftest import FIXTURES, REAL_DB

SHAPES_DB = FIXTURES / "real-shapes.db"
DEMO_DB = FIXTURES / "demo.db"
RESTARTED_ONCE = "01M95DEWMCA8EY8J33AA7W4TBP"  # cert-rotate: Deploy cert fails, restarted
CANCELED = "01M95DEZMPRV2H0X3H66ZKS906"  # canary-rollout, canceled with a reason
PARALLEL_FAILED = "01M95DEVEMNE0G47GXFC4RYVPY"  # shard-rebalance
FLAKY = "01M8HAZVN51R0GZ2NVTT2DCYFJ"  # flaky-api: one retry


def timeline(db: Path, workflow: str, **options: bool) -> TimelineResult:
    with open_for_audit(str(db)) as store:
        return workflow_timeline(store, workflow, **options)


def chart_of(db: Path, workflow: str, **options: bool) -> Chart:
    return build_chart(timeline(db, workflow, **options))


def row(chart: Chart, label: str, kind: str) -> ChartRow:
    return next(r for r in chart.rows if r.label == label and r.kind == kind)


def test_a_restarted_stage_shows_both_attempts_and_the_first_ones_error() -> None:
    chart = chart_of(SHAPES_DB, RESTARTED_ONCE)
    stage = row(chart, "Deploy cert", "stage")
    assert [(s.kind, s.status) for s in stage.segments] == [
        ("attempt", "TERMINAL"),
        ("run", "SUCCEEDED"),
    ]
    first, second = stage.segments
    assert first.end_ms <= second.start_ms
    kinds = [m.kind for m in stage.markers]
    assert kinds.count("restart") == 1
    assert kinds.count("failure") == 1
    assert [n.short for n in stage.notes] == [
        "attempt 1 TERMINAL: ACME order pending: rate limited"
    ]
    assert stage.detail == "2 attempts"
    task = row(chart, "Deploy cert", "task")
    assert [s.status for s in task.segments] == ["TERMINAL", "SUCCEEDED"]


def test_the_stale_error_of_a_stage_that_later_succeeded_is_not_its_final_failure() -> None:
    stage = row(chart_of(SHAPES_DB, RESTARTED_ONCE), "Deploy cert", "stage")
    failures = [m for m in stage.markers if m.kind == "failure"]
    assert [m.at_ms for m in failures] == [stage.segments[0].end_ms]


def test_retries_split_the_task_bar_at_the_time_of_each_retry() -> None:
    result = timeline(REAL_DB, FLAKY)
    chart = build_chart(result)
    task = row(chart, "Call Call API", "task")
    retries = [m for m in task.markers if m.kind == "retry"]
    assert len(retries) == result.stages[1].tasks[0].retry_count == 1
    assert [s.status for s in task.segments] == [RETRIED, "SUCCEEDED"]
    assert task.segments[0].end_ms == retries[0].at_ms == task.segments[1].start_ms
    assert task.detail == "1 retry"


def test_a_cancel_is_marked_as_a_cancel_with_who_and_why_never_as_a_failure() -> None:
    chart = chart_of(SHAPES_DB, CANCELED)
    assert all(m.kind != "failure" for r in chart.rows for m in r.markers)
    workflow = chart.rows[0]
    assert [n.short for n in workflow.notes] == [
        "canceled by oncall@example.com: error budget burn on canary (5xx 3.1%)"
    ]
    never_ran = row(chart, "Bake", "stage")
    assert never_ran.segments == ()
    assert [m.kind for m in never_ran.markers] == ["cancel"]


def test_a_task_without_an_end_event_is_drawn_open_ended_to_its_stages_end() -> None:
    chart = chart_of(SHAPES_DB, PARALLEL_FAILED)
    stage, task = row(chart, "Move shard 1", "stage"), row(chart, "Move shard 1", "task")
    (segment,) = task.segments
    assert segment.open_end
    assert segment.end_ms == stage.segments[-1].end_ms
    assert task.duration == "no end"


def test_a_skipped_task_left_open_by_the_engine_stops_where_its_stage_ended() -> None:
    """real-small's release: the optional task decides to skip, and no event ends it."""
    chart = chart_of(REAL_DB, "01M8HB07W5GCNVDAVY6YB568Q8")
    stage, task = row(chart, "Publish Docs", "stage"), row(chart, "Check Publish Docs", "task")
    (segment,) = task.segments
    assert segment.open_end
    assert segment.end_ms == stage.segments[-1].end_ms < chart.span_ms
    assert "no event ended it" in segment.note


def all_workflows(db: Path) -> list[str]:
    with open_for_audit(str(db)) as store:
        listed = list_workflows(store, WorkflowFilter(limit=1000))
    return [w.workflow_id for w in listed.workflows]


@pytest.mark.parametrize("db", [REAL_DB, SHAPES_DB, DEMO_DB], ids=lambda p: p.name)
def test_every_bar_and_marker_lies_in_the_span_and_every_failure_is_marked(db: Path) -> None:
    workflows = all_workflows(db)
    assert len(workflows) >= 10
    for workflow in workflows:
        result = timeline(db, workflow)
        chart = build_chart(result)
        assert len(chart.rows) == 1 + sum(1 + len(s.tasks) for s in result.stages) + len(
            result.loose_tasks
        )
        for r in chart.rows:
            for segment in r.segments:
                assert 0 <= segment.start_ms <= segment.end_ms <= chart.span_ms, (workflow, r)
            for marker in r.markers:
                assert 0 <= marker.at_ms <= chart.span_ms, (workflow, r)
            if r.status in ("TERMINAL", "FAILED_CONTINUE") and r.segments:
                assert r.segments[-1].status == r.status
                assert any(m.kind == "failure" for m in r.markers), (workflow, r)


def test_the_failing_path_says_so_under_the_header() -> None:
    chart = chart_of(SHAPES_DB, PARALLEL_FAILED, failures_only=True)
    assert "only the failing path (--failures)" in chart.notes
    assert {r.status for r in chart.rows[1:]} <= {"TERMINAL", "CANCELED", "RUNNING"}


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("boom\nsecond line", "boom"),
        ("\n\n  padded  \nnext", "padded"),
        (
            'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad input',
            "ValueError: bad input",
        ),
        ("tab\there \x1b[31m", "tab here \\x1b[31m"),
        ({"code": 3}, '{"code": 3}'),
        ("", ""),
    ],
)
def test_first_line_names_the_failure(error: object, expected: str) -> None:
    assert first_line(error) == expected


@pytest.mark.parametrize(
    ("span", "step", "labels"),
    [
        (950, 100, ["0", "0.1 s", "0.2 s"]),
        (450, 50, ["0", "50 ms", "100 ms"]),
        (2780, 500, ["0", "0.5 s", "1.0 s"]),
        (244_621, 30_000, ["0", "30 s", "1 min", "1m30s"]),
        (3 * 3_600_000 + 1, 30 * 60_000, ["0", "30 min", "1 h", "1h30m"]),
        (0, 1, ["0", "1 ms"]),
    ],
)
def test_axis_steps_are_round_and_labelled_in_one_unit(
    span: int, step: int, labels: list[str]
) -> None:
    ax = axis(span)
    assert ax.step_ms == step
    assert list(ax.labels[: len(labels)]) == labels


@given(st.integers(min_value=0, max_value=40 * 86_400_000))
def test_axis_covers_the_span_in_at_most_ten_round_steps(span: int) -> None:
    ax = axis(span)
    assert ax.ticks[0] == 0
    assert ax.end_ms >= span
    assert len(ax.ticks) <= 11
    assert ax.end_ms - ax.step_ms < max(span, 1)
    assert all(b - a == ax.step_ms for a, b in zip(ax.ticks, ax.ticks[1:], strict=False))
    assert len(set(ax.labels)) == len(ax.labels)
    assert tick_step(span) == ax.step_ms


def test_a_running_workflow_is_drawn_so_far_with_open_ends(tmp_path: Path) -> None:
    stage = make_event(
        EventType.STAGE_STARTED, EntityType.STAGE, "st-1", 0.5, workflow_id=WF, name="Build"
    )
    db = write_db(tmp_path / "running.db", [*started(), stage])
    chart = chart_of(db, WF)
    assert chart.total.endswith("so far")
    workflow, build = chart.rows
    assert workflow.segments[0].open_end
    assert build.segments[0].open_end
    assert build.segments[0].end_ms == chart.span_ms == 400  # started at 0.1 s, seen at 0.5 s
    assert build.duration == "running"


KINDS = [
    (EventType.WORKFLOW_CREATED, EntityType.WORKFLOW, WF, {"name": "w"}),
    (EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, WF, {}),
    (EventType.STAGE_STARTED, EntityType.STAGE, "st", {"name": "s"}),
    (EventType.TASK_STARTED, EntityType.TASK, "tk", {"name": "t", "stage_id": "st"}),
    (EventType.TASK_RETRIED, EntityType.TASK, "tk", {"attempt": 1}),
    (EventType.TASK_FAILED, EntityType.TASK, "tk", {"status": "TERMINAL", "error": "e"}),
    (EventType.STAGE_FAILED, EntityType.STAGE, "st", {"status": "TERMINAL", "error": "e"}),
    (EventType.STAGE_STARTED, EntityType.STAGE, "st", {"name": "s"}),
    (EventType.STAGE_COMPLETED, EntityType.STAGE, "st", {"status": "SUCCEEDED"}),
    (EventType.WORKFLOW_FAILED, EntityType.WORKFLOW, WF, {"status": "TERMINAL"}),
]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.floats(min_value=0, max_value=500, allow_nan=False),
        min_size=len(KINDS),
        max_size=len(KINDS),
    ),
    st.integers(min_value=2, max_value=len(KINDS)),
)
def test_any_clock_skew_keeps_every_bar_and_marker_on_the_chart(
    tmp_path_factory: pytest.TempPathFactory, times: list[float], count: int
) -> None:
    """Events in sequence order but with times in any order (a skewed engine clock)."""
    events = [
        make_event(kind, entity, entity_id, at, workflow_id=WF, **data)
        for (kind, entity, entity_id, data), at in zip(KINDS[:count], times, strict=False)
    ]
    db = write_db(tmp_path_factory.mktemp("skew") / "skew.db", events)
    chart = chart_of(db, WF)
    for r in chart.rows:
        for segment in r.segments:
            assert 0 <= segment.start_ms <= segment.end_ms <= chart.span_ms
        for marker in r.markers:
            assert 0 <= marker.at_ms <= chart.span_ms
    assert axis(chart.span_ms).end_ms >= chart.span_ms


def test_an_earlier_attempt_ended_by_an_event_without_a_status_takes_the_events_meaning(
    tmp_path: Path,
) -> None:
    """stage.canceled names no status: the earlier attempt is CANCELED, not unknown."""
    s = EntityType.STAGE
    events = [
        *started(),
        make_event(EventType.STAGE_STARTED, s, "st", 1, workflow_id=WF, name="Deploy"),
        make_event(EventType.STAGE_CANCELED, s, "st", 2, workflow_id=WF, name="Deploy"),
        make_event(
            EventType.WORKFLOW_FAILED,
            EntityType.WORKFLOW,
            WF,
            2.1,
            workflow_id=WF,
            status="TERMINAL",
        ),
        make_event(EventType.STAGE_STARTED, s, "st", 3, workflow_id=WF, name="Deploy"),
        make_event(EventType.STAGE_COMPLETED, s, "st", 4, workflow_id=WF, status="SUCCEEDED"),
    ]
    chart = chart_of(write_db(tmp_path / "restart.db", events), WF)
    deploy = row(chart, "Deploy", "stage")
    assert [(s.kind, s.status) for s in deploy.segments] == [
        ("attempt", "CANCELED"),
        ("run", "SUCCEEDED"),
    ]
    assert [m.kind for m in deploy.markers] == ["cancel", "restart"]


def test_with_the_engines_tables_failures_carry_their_real_cause() -> None:
    """ledger-migrate's script failed: the events say 'Unknown error', the row the traceback."""
    chart = chart_of(SHAPES_DB, "01M95DESV22RWQMEG5BR3XQ53M")
    stage = row(chart, "Apply migration 0042", "stage")
    (note,) = stage.notes
    assert note.short == (
        "TERMINAL: RuntimeError: column 'amount_minor' already exists (migration 0042)"
    )
    assert "exit code 1" in note.full
    assert "Traceback (most recent call last)" in note.full
    assert "(from stage_executions.context)" in note.full
    assert [r.label for r in chart.rows if r.status == "NOT_STARTED" and not r.segments] == [
        "Verify schema",
        "Verify schema",
        "Notify #payments",
        "Notify #payments",
    ]


def test_a_pause_and_a_restart_are_marked_on_the_workflow_row() -> None:
    paused = chart_of(SHAPES_DB, "01M95DEXR6MKE1PV6SYS1CW5E4").rows[0]
    assert [n.short for n in paused.notes] == [
        "paused by ops@example.com at +0.18s (the engine records no resume time)"
    ]
    restarted = chart_of(SHAPES_DB, "01M95DF1695BNH768VKFZXAGJS").rows[0]
    restarts = [m for m in restarted.markers if m.kind == "restart"]
    assert [m.short for m in restarts] == [
        "TERMINAL at seq 167, restarted",
        "TERMINAL at seq 172, restarted",
    ]


def test_an_unexplained_silence_is_a_band_across_the_chart(tmp_path: Path) -> None:
    events = [
        *started(),
        make_event(EventType.STAGE_STARTED, EntityType.STAGE, "st", 1, workflow_id=WF, name="a"),
        make_event(
            EventType.STAGE_COMPLETED,
            EntityType.STAGE,
            "st",
            40,
            workflow_id=WF,
            status="SUCCEEDED",
        ),
    ]
    chart = chart_of(write_db(tmp_path / "quiet.db", events), WF)
    (band,) = chart.bands
    assert (band.start_ms, band.end_ms, band.kind) == (900, 39_900, "pause")
    assert band.note == "unexplained: no event for 39.00s (seq 3-4)"
