"""Stage and task metrics aggregated by PostgreSQL, exactly as the projection computes them.

JSONB makes this simpler than on SQLite: a payload was parsed once, on the way in, as
Python parses it (the last of duplicate keys wins, escapes are decoded), so the server
reads the same values the decoder would. One statement extracts the three values per
event, drops transitions the projection would see again (same entity, type and version;
version 0 never repeats) with a window, and groups by stage type / task name and event
type: counts, every duration in event order, the last implementing class. Numbers are
converted as Python would: integers exactly, decimals through a double. What Python would
spell otherwise (a name that is a number or an object, a payload that is not an object)
raises :class:`FastPathUnavailable`, and the caller folds every event instead.
"""

from __future__ import annotations

from typing import Any

from ...events.base import EventType
from ...events.errors import EventDecodeError
from ...events.projections.metrics import StageMetrics, StageMetricsProjection, TaskMetrics
from ...events.store.postgres import PostgresEventStore
from ...events.store.postgres.codec import event_from_pg_row
from ...events.store.postgres.schema import SELECT_EVENTS
from ..contracts import FastPathUnavailable, MetricsFigures
from .catalog import rows

COUNTED_TYPES = tuple(t.value for t in EventType if t.value.startswith(("stage.", "task.")))
ENDINGS = ("stage.completed", "stage.failed", "task.completed", "task.failed")
STARTS = ("stage.started", "task.started")
_KINDS = ", ".join(f"'{t}'" for t in COUNTED_TYPES)
_ENDS = ", ".join(f"'{t}'" for t in ENDINGS)
Metrics = StageMetrics | TaskMetrics
WORK_MEM = "64MB"

_DURATION = """
CASE jsonb_typeof(dj)
    WHEN 'boolean' THEN (dj::boolean)::int::bigint
    WHEN 'number' THEN CASE
        WHEN scale(dj::numeric) = 0 THEN
            CASE WHEN abs(dj::numeric) <= 9223372036854775807 THEN dj::numeric::bigint END
        WHEN abs(dj::numeric) < 1 THEN 0
        WHEN abs(dj::numeric) < 1e19
             AND abs(dj::numeric::float8) < 9223372036854775808::float8
            THEN trunc(dj::numeric::float8)::bigint
    END
END"""
"""``_duration`` of the projection: an integer as it is, a decimal as the double Python
reads (JSONB prints a decimal with its fraction, so Python reads exactly those as
floats), truncated; booleans count as 0 and 1; beyond 2^63 nothing."""


def figures_sql(scope: str) -> str:
    return f"""
WITH counted AS (
    SELECT sequence AS seq, entity_type AS et, event_type AS kind, entity_id, version,
           jsonb_typeof(data) = 'object' AS obj,
           CASE entity_type WHEN 'stage' THEN data->'type' ELSE data->'name' END AS kj,
           CASE WHEN event_type IN ({_ENDS}) THEN data->'duration_ms' END AS dj,
           CASE WHEN event_type = 'task.started' THEN data->'implementing_class' END AS ij
    FROM events
    WHERE entity_type IN ('stage', 'task') AND event_type IN ({_KINDS}) AND {scope}
), ranked AS (
    SELECT seq, et, kind, obj, kj, dj, ij,
           version <> 0 AND row_number() OVER (
               PARTITION BY entity_id, kind, version ORDER BY seq
           ) > 1 AS repeated
    FROM counted
), keyed AS (
    SELECT seq, et, kind, repeated,
           CASE WHEN kj IS NULL OR jsonb_typeof(kj) = 'null' THEN 'unknown'
                WHEN jsonb_typeof(kj) = 'string' THEN coalesce(nullif(kj #>> '{{}}', ''), 'unknown')
           END AS key,
           NOT obj OR coalesce(jsonb_typeof(kj) NOT IN ('string', 'null'), false)
               OR coalesce(jsonb_typeof(ij) NOT IN ('string', 'null'), false) AS bad,
           {_DURATION} AS d,
           CASE WHEN jsonb_typeof(ij) = 'string' THEN ij #>> '{{}}' END AS impl
    FROM ranked
)
SELECT et, key, bool_or(bad),
       count(*) FILTER (WHERE NOT repeated),
       min(seq) FILTER (WHERE NOT repeated),
       count(*) FILTER (WHERE NOT repeated AND kind = et || '.started'),
       count(*) FILTER (WHERE NOT repeated AND kind = et || '.completed'),
       count(*) FILTER (WHERE NOT repeated AND kind = et || '.failed'),
       count(*) FILTER (WHERE NOT repeated AND kind IN ('stage.skipped', 'task.retried')
                        AND starts_with(kind, et || '.')),
       array_agg(d ORDER BY seq) FILTER (
           WHERE NOT repeated AND d IS NOT NULL
             AND kind IN (et || '.completed', et || '.failed')),
       (array_agg(impl ORDER BY seq DESC) FILTER (
           WHERE NOT repeated AND impl IS NOT NULL AND et = 'task'))[1]
FROM keyed GROUP BY et, key"""


class PostgresAnalytics:
    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store

    def stage_and_task_figures(
        self, workflow_ids: frozenset[str] | None = None, *, upto: int | None = None
    ) -> MetricsFigures:
        scope, params = "TRUE", list[Any]()
        if workflow_ids is not None:
            scope = "workflow_id = ANY(%s)"
            params.append(sorted(workflow_ids))
        if upto is not None:
            scope += " AND sequence <= %s"
            params.append(upto)
        with self.store.reading() as conn:
            conn.execute(f"SET work_mem = '{WORK_MEM}'")  # the window sorts in memory
            found = conn.execute(figures_sql(scope), params).fetchall()
        groups: list[tuple[int, Metrics]] = []
        for entity, key, bad, count, first, starts, ok, failed, other, durations, impl in found:
            if bad:
                raise FastPathUnavailable(f"a {entity} payload Python would read otherwise")
            if not count:
                continue
            metrics: Metrics
            if entity == "stage":
                metrics = StageMetrics(key, starts, ok, failed, other, list(durations or ()))
            else:
                metrics = TaskMetrics(key, impl, starts, ok, failed, other, list(durations or ()))
            groups.append((first, metrics))
        figures = MetricsFigures()
        for _, metrics in sorted(groups, key=lambda g: g[0]):
            if isinstance(metrics, StageMetrics):
                figures.stages[metrics.stage_type] = metrics
            else:
                figures.tasks[metrics.task_name] = metrics
        return figures

    def figures_after(
        self, figures: MetricsFigures, after: int, *, limit: int
    ) -> tuple[MetricsFigures, int]:
        """``figures`` with the events appended after ``after`` folded in by the
        projection itself (a transition already counted is skipped)."""
        beyond = (
            "SELECT sequence FROM events WHERE sequence > %s ORDER BY sequence LIMIT 1 OFFSET %s"
        )
        if rows(self.store, beyond, (after, limit)):
            raise FastPathUnavailable(f"more than {limit} new events")
        projection = StageMetricsProjection()
        covered = after
        for row in rows(
            self.store,
            f"{SELECT_EVENTS} WHERE sequence > %s ORDER BY sequence LIMIT %s",
            (after, limit),
        ):
            try:
                event = event_from_pg_row(row)
            except EventDecodeError as exc:
                raise FastPathUnavailable(str(exc)) from exc
            covered = event.sequence
            counted = event.entity_type.value in ("stage", "task") and (
                event.event_type.value in COUNTED_TYPES
            )
            if counted and not self._counted_before(
                event.entity_id, event.type_name, event.version, after
            ):
                projection.apply(event)
        return _merged(figures, projection), covered

    def _counted_before(self, entity_id: str, kind: str, version: int, after: int) -> bool:
        if version == 0:
            return False
        return bool(
            rows(
                self.store,
                "SELECT 1 FROM events WHERE entity_type IN ('stage', 'task') AND entity_id = %s "
                "AND sequence <= %s AND event_type = %s AND version = %s LIMIT 1",
                (entity_id, after, kind, version),
            )
        )


def _merged(figures: MetricsFigures, projection: StageMetricsProjection) -> MetricsFigures:
    merged = MetricsFigures(dict(figures.stages), dict(figures.tasks))
    for name, stage in projection.get_state().items():
        old = merged.stages.get(name)
        merged.stages[name] = (
            stage
            if old is None
            else StageMetrics(
                old.stage_type,
                old.execution_count + stage.execution_count,
                old.success_count + stage.success_count,
                old.failure_count + stage.failure_count,
                old.skip_count + stage.skip_count,
                [*old.durations, *stage.durations],
            )
        )
    for name, task in projection.get_task_state().items():
        old_task = merged.tasks.get(name)
        merged.tasks[name] = (
            task
            if old_task is None
            else TaskMetrics(
                old_task.task_name,
                old_task.implementing_class
                if task.implementing_class is None
                else task.implementing_class,
                old_task.execution_count + task.execution_count,
                old_task.success_count + task.success_count,
                old_task.failure_count + task.failure_count,
                old_task.retry_count + task.retry_count,
                [*old_task.durations, *task.durations],
            )
        )
    return merged
