"""Stage and task metrics aggregated by PostgreSQL, exactly as the projection computes them.

JSONB makes this simpler than on SQLite: a payload was parsed once, on the way in, as
Python parses it (the last of duplicate keys wins, escapes are decoded), so the server
reads the same values the decoder would. Two statements run at once, on two sessions:

- the figures: per stage type / task name, event type and duration, how many events,
  the first sequence and the last implementing class (a histogram of durations: every
  aggregate here is one PostgreSQL 15 can run in parallel workers, ``array_agg`` is not);
- the repeats: transitions the projection sees twice (same entity, type and version;
  version 0 never repeats), whose later events are taken back out of the figures.

Numbers are converted as Python would: integers exactly, decimals through a double.
What Python would spell otherwise (a name that is a number or an object, a payload that
is not an object), or a repeat that carried a group's first or last value, raises
:class:`FastPathUnavailable`, and the caller folds every event instead. Durations come
back grouped by value: the same numbers as the projection's, not in event order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...events.base import EventType
from ...events.errors import EventDecodeError
from ...events.projections.metrics import StageMetrics, StageMetricsProjection, TaskMetrics
from ...events.store.postgres import PostgresEventStore
from ...events.store.postgres.codec import event_from_pg_row
from ...events.store.postgres.schema import SELECT_EVENTS
from ..contracts import FastPathUnavailable, MetricsFigures, in_thread, joined
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


_EXTRACTED = f"""
    SELECT sequence AS seq, entity_type AS et, event_type AS kind, entity_id, version,
           CASE WHEN kj IS NULL OR jsonb_typeof(kj) = 'null' THEN 'unknown'
                WHEN jsonb_typeof(kj) = 'string'
                    THEN coalesce(nullif(kj #>> '{{}}', ''), 'unknown')
           END AS key,
           jsonb_typeof(data) <> 'object'
               OR coalesce(jsonb_typeof(kj) NOT IN ('string', 'null'), false)
               OR coalesce(jsonb_typeof(ij) NOT IN ('string', 'null'), false) AS bad,
           {_DURATION} AS d,
           CASE WHEN jsonb_typeof(ij) = 'string'
                THEN lpad(sequence::text, 20, '0') || (ij #>> '{{}}') END AS impl
    FROM (
        SELECT *, CASE entity_type WHEN 'stage' THEN data->'type' ELSE data->'name' END AS kj,
               CASE WHEN event_type IN ({_ENDS}) THEN data->'duration_ms' END AS dj,
               CASE WHEN event_type = 'task.started' AND entity_type = 'task'
                    THEN data->'implementing_class' END AS ij
        FROM events
        WHERE entity_type IN ('stage', 'task') AND event_type IN ({_KINDS}) AND {{scope}}
    ) AS counted"""
IMPL_WIDTH = 20


def figures_sql(scope: str) -> str:
    """Per stage type / task name and event type: whether SQL may read an event otherwise
    than Python, how many events, the first sequence, the last class, and the durations
    as two arrays (each value, and how often it occurs). The inner histogram is the heavy
    part, and runs in parallel workers; the outer arrays gather a few hundred thousand
    rows."""
    return f"""
SELECT et, key, kind, bool_or(bad), sum(n)::bigint, min(first), max(impl),
       array_agg(d) FILTER (WHERE d IS NOT NULL), array_agg(n) FILTER (WHERE d IS NOT NULL)
FROM (
    SELECT et, key, kind, d, bool_or(bad) AS bad, count(*) AS n, min(seq) AS first,
           max(impl) AS impl
    FROM ({_EXTRACTED.replace("{scope}", scope)}) AS extracted
    GROUP BY et, key, kind, d
) AS histogram
GROUP BY et, key, kind"""


def repeated_sql(scope: str) -> str:
    """Transitions seen more than once (version 0 never repeats), and their first event."""
    return f"""
SELECT entity_id, event_type, version, min(sequence)
FROM events
WHERE entity_type IN ('stage', 'task') AND event_type IN ({_KINDS}) AND version <> 0
  AND {scope}
GROUP BY entity_id, event_type, version HAVING count(*) > 1"""


def repeats_sql(scope: str) -> str:
    """The later events of those transitions, extracted as the figures are, read by
    entity through ``idx_events_entity``."""
    within = f"{scope} AND entity_id = ANY(%s)"
    return f"""
SELECT x.seq, x.et, x.key, x.kind, x.d, x.bad, x.impl
FROM ({_EXTRACTED.replace("{scope}", within)}) AS x
JOIN unnest(%s::text[], %s::text[], %s::int[], %s::bigint[]) AS r(entity_id, kind, version, first)
  ON r.entity_id = x.entity_id AND r.kind = x.kind AND r.version = x.version
WHERE x.seq > r.first"""


Key = tuple[str, str, str]
"""(entity type, stage type or task name, event type)."""


@dataclass
class _Group:
    count: int
    first: int
    impl: str | None
    durations: dict[int, int]
    """Each duration and how many events had it."""


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
        side = in_thread(lambda: self._repeats(scope, params))
        try:
            found = self._fetch(figures_sql(scope), params)
        finally:
            repeats = joined(side)[0]
        groups: dict[Key, _Group] = {}
        for entity, key, kind, bad, count, first, impl, values, times in found:
            if bad:
                raise FastPathUnavailable(f"a {entity} payload Python would read otherwise")
            durations = dict(zip(values or (), times or (), strict=True))
            groups[(entity, key, kind)] = _Group(int(count), first, impl, durations)
        firsts = _firsts(groups)
        impls = _impls(groups)
        for seq, entity, key, kind, duration, bad, impl in repeats:
            if bad:
                raise FastPathUnavailable(f"a {entity} payload Python would read otherwise")
            if seq == firsts.get((entity, key)) or (impl is not None and impl == impls.get(key)):
                raise FastPathUnavailable(f"repeated event {seq} carried a first or last value")
            group = groups[(entity, key, kind)]
            group.count -= 1
            if duration is not None:
                group.durations[duration] -= 1
            if group.count == 0:
                del groups[(entity, key, kind)]
        return _figures(groups)

    def _repeats(self, scope: str, params: list[Any]) -> list[tuple[Any, ...]]:
        repeated = self._fetch(repeated_sql(scope), params)
        if not repeated:
            return []
        ids, kinds, versions, firsts = (list(column) for column in zip(*repeated, strict=True))
        return self._fetch(
            repeats_sql(scope), [*params, sorted(set(ids)), ids, kinds, versions, firsts]
        )

    def _fetch(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        """Many small groups from a million rows: PostgreSQL's estimate is far off and
        would sort every row to disk; hashing them is what the shape asks for."""
        with self.store.reading() as conn:
            conn.execute(f"SET work_mem = '{WORK_MEM}'")
            conn.execute("SET enable_sort = off")
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.execute("RESET enable_sort")

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


def _firsts(groups: dict[Key, _Group]) -> dict[tuple[str, str], int]:
    firsts: dict[tuple[str, str], int] = {}
    for (entity, key, _), group in groups.items():
        firsts[(entity, key)] = min(group.first, firsts.get((entity, key), group.first))
    return firsts


def _impls(groups: dict[Key, _Group]) -> dict[str, str]:
    impls: dict[str, str] = {}
    for (entity, key, _), group in groups.items():
        if entity == "task" and group.impl is not None and group.impl > impls.get(key, ""):
            impls[key] = group.impl
    return impls


def _figures(groups: dict[Key, _Group]) -> MetricsFigures:
    """The projection's objects, ordered by each one's first event."""
    made: dict[tuple[str, str], Metrics] = {}
    firsts = _firsts(groups)
    impls = _impls(groups)
    for (entity, key, kind), group in groups.items():
        metrics = made.get((entity, key))
        if metrics is None:
            metrics = made[(entity, key)] = (
                StageMetrics(key)
                if entity == "stage"
                else TaskMetrics(key, (impls[key][IMPL_WIDTH:] if key in impls else None))
            )
        _count(metrics, kind, group)
    figures = MetricsFigures()
    for (_, key), metrics in sorted(made.items(), key=lambda item: firsts[item[0]]):
        if isinstance(metrics, StageMetrics):
            figures.stages[key] = metrics
        else:
            figures.tasks[key] = metrics
    return figures


def _count(metrics: Metrics, kind: str, group: _Group) -> None:
    """As the projection: a stage counts only stage events, a task only task events."""
    if not kind.startswith("stage." if isinstance(metrics, StageMetrics) else "task."):
        return
    count = group.count
    if kind in STARTS:
        metrics.execution_count += count
    elif kind == "stage.skipped" and isinstance(metrics, StageMetrics):
        metrics.skip_count += count
    elif kind == "task.retried" and isinstance(metrics, TaskMetrics):
        metrics.retry_count += count
    elif kind in ENDINGS:
        if kind.endswith(".completed"):
            metrics.success_count += count
        else:
            metrics.failure_count += count
        for duration, times in group.durations.items():
            metrics.durations.extend([duration] * times)


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
