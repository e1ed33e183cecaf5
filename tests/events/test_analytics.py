"""The SQL metrics path gives exactly the projection's figures, in the projection's order."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.audit.sqlite.analytics import (
    FastPathUnavailable,
    MetricsFigures,
    figures_after,
    stage_and_task_figures,
)
from stabilize_cli.audit.sqlite.cache_key import last_sequence
from stabilize_cli.audit.sqlite.metrics_sql import COUNTED_TYPES
from stabilize_cli.events.errors import EventDecodeError, StoreError
from stabilize_cli.events.projections.metrics import StageMetricsProjection
from stabilize_cli.events.store import UNLIMITED, EventQuery, SqliteEventStore
from stabilize_cli.events.store.sqlite.schema import DDL, EVENT_COLUMNS
from stabilize_cli.queries.metrics import MetricsFilter, project, stage_metrics

from ..benchmarks.generate_store import ordinary_rows, write_rows
from ..conftest import FIXTURES, REAL_DB

INSERT = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS[1:])}) "
    f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS[1:])})"
)
TS = "2026-11-28T15:04:44.991242+00:00"


def projected(
    store: SqliteEventStore,
    workflows: frozenset[str] | None = None,
    upto: int | None = None,
) -> MetricsFigures:
    projection = StageMetricsProjection()
    for event in store.get_events(EventQuery(limit=UNLIMITED)):
        if upto is not None and event.sequence > upto:
            break
        if event.event_type.value in COUNTED_TYPES and (
            workflows is None or event.workflow_id in workflows
        ):
            projection.apply(event)
    return MetricsFigures(projection.get_state(), projection.get_task_state())


def as_dicts(figures: MetricsFigures) -> tuple[list[Any], list[Any]]:
    """Figures and their order (the order decides ties among equal averages)."""
    return (
        [(k, m.to_dict()) for k, m in figures.stages.items()],
        [(k, m.to_dict()) for k, m in figures.tasks.items()],
    )


def assert_same(path: Path, workflows: frozenset[str] | None = None) -> None:
    """The SQL figures equal the projection's; without a workflow filter, so do the figures
    up to every split point, and those brought up to date with the events after it."""
    with SqliteEventStore(str(path), create_tables=False, read_only=True) as store:
        expected = as_dicts(projected(store, workflows))
        assert as_dicts(stage_and_task_figures(store, workflows)) == expected
        if workflows is None:
            assert_every_split_brought_up_to_date(store, expected)


def assert_every_split_brought_up_to_date(
    store: SqliteEventStore, expected: tuple[list[Any], list[Any]]
) -> None:
    last = last_sequence(store)
    splits = range(last + 1) if last <= 40 else sorted({last * i // 20 for i in range(21)})
    for split in splits:
        base = stage_and_task_figures(store, upto=split)
        assert as_dicts(base) == as_dicts(projected(store, upto=split)), split
        later, covered = figures_after(store, base, split, limit=10**9)
        assert covered == last
        assert as_dicts(later) == expected, split


class Rows:
    """A store written row by row, so that payloads can be what no encoder writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path, isolation_level=None)
        for statement in DDL:
            self.conn.execute(statement)
        self.count = 0

    def add(
        self,
        kind: str,
        entity_id: str,
        data: dict[str, Any] | str,
        *,
        version: Any = 1,
        entity: str | None = None,
        workflow: str = "wf-1",
        timestamp: str = TS,
    ) -> None:
        self.count += 1
        payload = data if isinstance(data, str) else json.dumps(data)
        entity = entity or kind.split(".", maxsplit=1)[0]
        row = (f"ev-{self.count}", kind, timestamp, entity, entity_id, workflow, version, payload)
        self.conn.execute(INSERT, (*row, workflow, None, "system", "Handler", 1))

    def stage(self, entity_id: str, kind: str, stage_type: Any, **data: Any) -> None:
        self.add(f"stage.{kind}", entity_id, {"type": stage_type, "name": "S", **data})

    def task(self, entity_id: str, kind: str, name: Any, **data: Any) -> None:
        self.add(f"task.{kind}", entity_id, {"name": name, **data})


@pytest.fixture
def rows(tmp_path: Path) -> Rows:
    return Rows(tmp_path / "edge.db")


@pytest.mark.parametrize("db", [REAL_DB, FIXTURES / "demo.db"], ids=["real-small", "demo"])
def test_sql_figures_equal_the_projection_on_the_fixtures(db: Path) -> None:
    assert_same(db)


def test_sql_figures_equal_the_projection_for_one_application() -> None:
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as store:
        ids = frozenset(e.workflow_id for e in store.get_events(EventQuery(limit=UNLIMITED)))
    assert_same(REAL_DB, frozenset(sorted(ids)[:5]))


def test_repeated_retries_and_completions_count_once_as_the_engine_dedups(rows: Rows) -> None:
    rows.stage("s1", "started", "python")
    rows.task("t1", "started", "Run", implementing_class="python")
    for attempt in (1, 2, 3):
        rows.task("t1", "retried", "Run", attempt=attempt)
    rows.add("task.completed", "t1", {"name": "Run", "duration_ms": 10}, version=2)
    rows.add("task.completed", "t1", {"name": "Run", "duration_ms": 99}, version=2)
    rows.add("stage.completed", "s1", {"type": "python", "duration_ms": 7}, version=6)
    rows.add("stage.completed", "s1", {"type": "python", "duration_ms": 8}, version=6)
    assert_same(rows.path)


def test_version_zero_falls_back_to_the_sequence_so_repeats_count(rows: Rows) -> None:
    for _ in range(3):
        rows.add("task.retried", "t1", {"name": "Run"}, version=0)
    rows.add("stage.completed", "s1", {"type": "x", "duration_ms": 3}, version=0)
    rows.add("stage.completed", "s1", {"type": "x", "duration_ms": 4}, version=0)
    assert_same(rows.path)


def test_missing_empty_and_null_types_and_names_are_unknown(rows: Rows) -> None:
    rows.add("stage.started", "s1", {})
    rows.stage("s2", "started", "")
    rows.stage("s3", "started", None)
    rows.stage("s4", "started", "unknown")
    rows.task("t1", "started", None, implementing_class=None)
    rows.add("task.completed", "t2", {"duration_ms": 5}, version=2)
    assert_same(rows.path)


def test_durations_of_every_json_kind_are_read_as_python_reads_them(rows: Rows) -> None:
    for n, value in enumerate([12.9, -2.7, True, "15", None, [1], {"a": 1}, 0, 10**15]):
        rows.add("stage.completed", f"s{n}", {"type": "t", "duration_ms": value}, version=6)
    rows.add("stage.completed", "s99", '{"type": "t", "duration_ms": 1e999}', version=6)
    assert_same(rows.path)


def test_the_last_implementing_class_wins_and_null_never_replaces_one(rows: Rows) -> None:
    rows.task("t1", "started", "Run", implementing_class="A")
    rows.task("t2", "started", "Run", implementing_class="B")
    rows.task("t3", "started", "Run", implementing_class=None)
    rows.task("t4", "started", "Other")
    assert_same(rows.path)


def test_first_appearance_decides_the_order_of_equal_averages(rows: Rows) -> None:
    for entity, stage_type in (("s1", "zeta"), ("s2", "alpha"), ("s3", "mid")):
        rows.stage(entity, "started", stage_type)
    for entity, stage_type in (("s3", "mid"), ("s1", "zeta"), ("s2", "alpha")):
        rows.add("stage.completed", entity, {"type": stage_type, "duration_ms": 5}, version=6)
    assert_same(rows.path)


@pytest.mark.parametrize(
    "payload",
    [
        '{"type": "first", "type": "last", "duration_ms": 3}',
        '{"typ\\u0065": "escaped", "duration_ms": 4}',
        '{"type": "outer", "outputs": {"type": "nested"}, "duration_ms": 5}',
        ' {"type": "spaced", "duration_ms": 6}',
    ],
    ids=["duplicate-key", "escaped-key", "nested-key", "leading-space"],
)
def test_payloads_json1_may_read_otherwise_are_folded_by_python(rows: Rows, payload: str) -> None:
    rows.stage("s1", "started", "outer")
    rows.add("stage.completed", "s1", payload, version=6)
    rows.add("stage.completed", "s2", payload, version=6)
    assert_same(rows.path)


def test_keys_python_would_spell_otherwise_leave_it_to_the_projection(rows: Rows) -> None:
    rows.stage("s1", "started", 5)
    rows.stage("s2", "started", {"a": 1})
    with (
        SqliteEventStore(str(rows.path), create_tables=False, read_only=True) as store,
        pytest.raises(FastPathUnavailable),
    ):
        stage_and_task_figures(store)


def test_unknown_types_and_crossed_entities_count_as_the_projection_counts_them(
    rows: Rows,
) -> None:
    rows.add("custom.progress", "s1", {"type": "python"}, entity="stage")
    rows.add("stage.started", "x1", {"type": "python", "name": "n"}, entity="task")
    rows.add("task.started", "x1", {"type": "python", "name": "n"}, entity="stage")
    rows.add("stage.started", "w1", {"type": "python"}, entity="workflow")
    rows.stage("s1", "suspended", "python")
    assert_same(rows.path)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("data", "[1, 2]"),
        ("data", "{not json"),
        ("timestamp", "2026-02-30T10:00:00+00:00"),
        ("timestamp", "yesterday"),
        ("entity_type", "robot"),
        ("version", "one"),
    ],
)
def test_an_unreadable_row_fails_both_paths_alike(rows: Rows, column: str, value: str) -> None:
    rows.stage("s1", "started", "python")
    rows.add("workflow.created", "wf-1", {"application": "a"}, entity="workflow")
    rows.conn.execute(f"UPDATE events SET {column} = ? WHERE sequence = 2", (value,))
    wanted = MetricsFilter()
    with SqliteEventStore(str(rows.path), create_tables=False, read_only=True) as store:
        with pytest.raises(FastPathUnavailable):
            stage_and_task_figures(store)
        with pytest.raises((EventDecodeError, StoreError)) as slow:
            project(store.get_events(EventQuery(limit=UNLIMITED)), wanted)
        with pytest.raises(type(slow.value)):
            stage_metrics(store, wanted)


def test_an_unusual_but_valid_timestamp_is_checked_by_the_decoder_and_kept(rows: Rows) -> None:
    rows.stage("s1", "started", "python")
    rows.add(
        "stage.completed",
        "s1",
        {"type": "python", "duration_ms": 1},
        timestamp="2026-11-28T15:04:44Z",
    )
    assert_same(rows.path)


def test_generated_store_with_many_workflows_equals_the_projection(tmp_path: Path) -> None:
    path = tmp_path / "generated.db"
    write_rows(path, ordinary_rows(300, seed=7))
    assert_same(path)
