"""`stabilize metrics` on the engine's own database, checked against the engine's report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from stabilize_cli.events import (
    EntityType,
    Event,
    EventMetadata,
    EventQuery,
    EventType,
    SqliteEventStore,
    StageMetricsProjection,
)
from stabilize_cli.events.store import UNLIMITED
from stabilize_cli.render import metrics as render_metrics
from stabilize_cli.render.metrics import human_ms, scan_progress

from ..conftest import REAL_DB, sha256
from .conftest import Invoke, run_process

EVIL = "[red]boom[/] \x1b[2J \u202e"


def metrics_json(invoke: Invoke, *args: str) -> dict[str, Any]:
    result = invoke("metrics", "--json", *args)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def all_events() -> Iterator[Event]:
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as store:
        yield from store.get_events(EventQuery(limit=UNLIMITED))


def projected(events: Iterator[Event]) -> dict[str, Any]:
    projection = StageMetricsProjection()
    projection.apply_all(events)
    return projection.to_dict()


def test_json_equals_what_the_engine_reported(
    invoke: Invoke, engine_report: dict[str, Any]
) -> None:
    document = metrics_json(invoke)
    assert document["stages"] == engine_report["stage_metrics"]["stages"]
    assert document["tasks"] == engine_report["stage_metrics"]["tasks"]
    assert document["top_slowest"] == engine_report["top_slowest"]


def test_top_cuts_the_slowest_list_to_n(invoke: Invoke, engine_report: dict[str, Any]) -> None:
    assert metrics_json(invoke, "--top", "2")["top_slowest"] == engine_report["top_slowest"][:2]


def test_top_zero_gives_an_empty_slowest_list(invoke: Invoke) -> None:
    assert metrics_json(invoke, "--top", "0")["top_slowest"] == []


def test_negative_top_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("metrics", "--top", "-1")
    assert result.exit_code == 2
    assert result.stderr == "error: --top must not be negative (got -1)\n"
    assert result.stdout == ""


def test_reversed_time_range_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("metrics", "--since", "2026-12-01", "--until", "2026-01-01")
    assert result.exit_code == 2
    assert result.stderr == "error: --since is after --until\n"


def test_since_after_every_event_gives_empty_metrics(invoke: Invoke) -> None:
    document = metrics_json(invoke, "--since", "2030-01-01T00:00:00Z")
    assert document == {"stages": {}, "tasks": {}, "top_slowest": []}


OPENING = {EventType.STAGE_STARTED, EventType.STAGE_SKIPPED, EventType.TASK_STARTED}


def test_a_time_window_selects_runs_by_their_start(invoke: Invoke) -> None:
    stamps = sorted(e.timestamp for e in all_events())
    low, high = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    document = metrics_json(invoke, "--since", low.isoformat(), "--until", high.isoformat())
    opened = {
        e.entity_id for e in all_events() if e.event_type in OPENING and low <= e.timestamp <= high
    }
    expected = projected(e for e in all_events() if e.entity_id in opened)
    assert document["stages"] == expected["stages"]
    assert document["tasks"] == expected["tasks"]


@pytest.mark.parametrize("quarter", [0, 1, 2, 3])
def test_in_any_window_runs_are_ok_plus_failed_plus_other_outcomes(
    invoke: Invoke, quarter: int
) -> None:
    stamps = sorted(e.timestamp for e in all_events())
    n = len(stamps)
    low, high = stamps[quarter * n // 4], stamps[min(n - 1, (quarter + 1) * n // 4)]
    document = metrics_json(invoke, "--since", low.isoformat(), "--until", high.isoformat())
    starts = [e for e in all_events() if e.event_type is EventType.STAGE_STARTED]
    inside = {e.entity_id for e in starts if low <= e.timestamp <= high}
    ends = [
        e
        for e in all_events()
        if e.entity_id in inside
        and e.event_type in (EventType.STAGE_COMPLETED, EventType.STAGE_FAILED)
    ]
    for row in document["stages"].values():
        assert row["success_count"] + row["failure_count"] <= row["execution_count"]
    assert sum(r["execution_count"] for r in document["stages"].values()) == len(inside)
    ended = sum(r["success_count"] + r["failure_count"] for r in document["stages"].values())
    assert ended == len(ends)


def test_top_keeps_the_n_slowest_rows_in_every_format(invoke: Invoke) -> None:
    document = metrics_json(invoke, "--top", "2")
    assert list(document["stages"]) == ["flaky", "python"]
    assert len(document["tasks"]) == 2
    rows = list(csv.DictReader(io.StringIO(invoke("metrics", "--top", "2", "-o", "csv").stdout)))
    assert [(r["kind"], r["name"]) for r in rows] == [
        ("stage", "flaky"),
        ("stage", "python"),
        *(("task", name) for name in document["tasks"]),
    ]
    table = invoke("metrics", "--top", "2").stdout
    assert "optional" not in table
    assert "Run Shard 1" not in table


def test_stage_type_keeps_that_stage_type_and_the_tasks_of_its_stages(
    invoke: Invoke, engine_report: dict[str, Any]
) -> None:
    document = metrics_json(invoke, "--stage-type", "flaky")
    engine = engine_report["stage_metrics"]
    assert document["stages"] == {"flaky": engine["stages"]["flaky"]}
    flaky_stages = {
        e.entity_id
        for e in all_events()
        if e.entity_type is EntityType.STAGE and e.data.get("type") == "flaky"
    }
    tasks = {
        e.entity_id
        for e in all_events()
        if e.event_type is EventType.TASK_STARTED and e.data.get("stage_id") in flaky_stages
    }
    expected = projected(e for e in all_events() if e.entity_id in tasks)
    assert document["tasks"] == expected["tasks"]
    assert set(document["tasks"]) == {"Call Call API"}
    assert document["top_slowest"] == [p for p in engine_report["top_slowest"] if p[0] == "flaky"]


def test_stage_type_is_repeatable(invoke: Invoke) -> None:
    document = metrics_json(invoke, "--stage-type", "python", "--stage-type", "flaky")
    assert set(document["stages"]) == {"python", "flaky"}


def test_unknown_stage_type_gives_empty_stage_rows_and_exit_0(invoke: Invoke) -> None:
    document = metrics_json(invoke, "--stage-type", "no-such-type")
    assert document["stages"] == {}
    assert document["top_slowest"] == []


def test_app_counts_only_that_applications_workflows(invoke: Invoke) -> None:
    app4 = {
        e.workflow_id
        for e in all_events()
        if e.event_type is EventType.WORKFLOW_CREATED and e.data.get("application") == "app-4"
    }
    document = metrics_json(invoke, "--app", "app-4")
    expected = projected(e for e in all_events() if e.workflow_id in app4)
    assert set(document["stages"]) == {"flaky", "python"}
    assert document["stages"] == expected["stages"]
    assert document["tasks"] == expected["tasks"]


def test_unknown_app_gives_empty_metrics(invoke: Invoke) -> None:
    assert metrics_json(invoke, "--app", "no-such-app")["stages"] == {}


def test_csv_has_stage_then_task_rows_with_the_engines_figures(
    invoke: Invoke, engine_report: dict[str, Any]
) -> None:
    result = invoke("metrics", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    stages = [r for r in rows if r["kind"] == "stage"]
    tasks = [r for r in rows if r["kind"] == "task"]
    assert len(stages) + len(tasks) == len(rows)
    engine = engine_report["stage_metrics"]
    assert [r["name"] for r in stages] == ["flaky", "python", "optional"]
    for row in stages:
        for key, value in engine["stages"][row["name"]].items():
            assert row.get(key, row["name"]) == str(value)
    assert {r["name"] for r in tasks} == set(engine["tasks"])
    for row in tasks:
        for key, value in engine["tasks"][row["name"]].items():
            assert row.get(key, row["name"]) == str(value)


def test_ndjson_lines_are_the_stage_then_task_metrics_objects(
    invoke: Invoke, engine_report: dict[str, Any]
) -> None:
    lines = [json.loads(line) for line in invoke("metrics", "-f", "ndjson").stdout.splitlines()]
    kinds = [(r.pop("kind"), r.pop("name"), r) for r in lines]
    assert [k for k, _, _ in kinds] == sorted(k for k, _, _ in kinds)  # stages, then tasks
    stages = {name: r for kind, name, r in kinds if kind == "stage"}
    tasks = {name: r for kind, name, r in kinds if kind == "task"}
    assert stages == engine_report["stage_metrics"]["stages"]
    assert tasks == engine_report["stage_metrics"]["tasks"]


def test_markdown_carries_the_task_figures(invoke: Invoke) -> None:
    text = invoke("metrics", "-o", "markdown").stdout
    assert text.startswith("| KIND | NAME | CLASS | RUNS |")
    assert "| task | Call Call API | flaky | 2 |" in text


def test_table_shows_the_slowest_stages_and_tasks(invoke: Invoke, snapshot: Any) -> None:
    result = invoke("metrics", "--top", "3")
    assert result.exit_code == 0
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "metrics"
    output = "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"
    snapshot.assert_match(output, "metrics_top3.txt")


def test_no_progress_bar_when_stderr_is_not_a_terminal(invoke: Invoke) -> None:
    result = invoke("metrics")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_on_a_terminal_the_progress_bar_passes_every_event_through(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    monkeypatch.setattr(render_metrics, "make_console", lambda **_: terminal)
    events = [Event(sequence=n) for n in range(1, 2501)]
    with scan_progress("Reading") as track:
        seen = list(track(iter(events), lambda: len(events)))
    assert seen == events
    assert "Reading" in screen.getvalue()


@pytest.mark.parametrize(
    ("ms", "shown"),
    [(0, "0ms"), (245.4, "245ms"), (999.6, "1.00s"), (1234, "1.23s"), (123_000, "2m 03s")],
)
def test_durations_are_humanised_in_the_table(ms: float, shown: str) -> None:
    assert human_ms(ms) == shown


def _stage_run(workflow_id: str, name: str) -> list[Event]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    meta = EventMetadata(correlation_id=workflow_id)
    common: dict[str, Any] = {"workflow_id": workflow_id, "metadata": meta}
    return [
        Event(
            event_type=EventType.STAGE_STARTED,
            entity_type=EntityType.STAGE,
            entity_id="S1",
            version=1,
            data={"type": name, "name": name},
            timestamp=start,
            **common,
        ),
        Event(
            event_type=EventType.STAGE_COMPLETED,
            entity_type=EntityType.STAGE,
            entity_id="S1",
            version=2,
            data={"type": name, "status": "SUCCEEDED", "duration_ms": 1500},
            timestamp=start + timedelta(seconds=1.5),
            **common,
        ),
        Event(
            event_type=EventType.TASK_STARTED,
            entity_type=EntityType.TASK,
            entity_id="T1",
            version=1,
            data={"name": name, "implementing_class": name, "stage_id": "S1"},
            timestamp=start,
            **common,
        ),
    ]


def test_markup_and_control_characters_in_names_are_shown_literally(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = tmp_path / "evil.db"
    with SqliteEventStore(str(db)) as store:
        store.append_batch(_stage_run("W1", EVIL))
    result = invoke("metrics", "--top", "1", db=db)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("[red]boom[/]") == 3
    assert "\x1b" not in result.stdout
    assert "\u202e" not in result.stdout


def test_missing_database_is_exit_3(invoke: Invoke, tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    result = invoke("metrics", db=missing)
    assert result.exit_code == 3
    assert result.stderr == f"error: {missing}: no such file\n"


def test_the_real_process_reports_the_engines_metrics_and_leaves_the_database_alone(
    engine_report: dict[str, Any],
) -> None:
    before = sha256(REAL_DB)
    done = run_process("metrics", "--db", str(REAL_DB), "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout)["stages"] == engine_report["stage_metrics"]["stages"]
    assert sha256(REAL_DB) == before
