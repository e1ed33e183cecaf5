"""Stage and task metrics over a whole store in SQL, exactly as the projection computes them.

Decoding 1.4 million events to fold them into :class:`StageMetricsProjection` takes tens
of seconds; the figures need three values per event. So (SQL in :mod:`metrics_sql`):

- one scan groups the stage and task events by stage type / task name and event type:
  counts, every duration (median and p95 stay exact), the last implementing class;
- beside it, on a second connection and thread, a narrow scan finds the rows the
  projection would skip as repeated transitions (same entity, event type and version;
  version 0 falls back to the sequence) and the *odd* rows, whose payload JSON1 might
  read otherwise than Python (escaped or repeated keys) or the decoder might reject;
- on a third, the timestamps are checked in their index, and so are the storage
  classes of every text column an index leads, at the index's two ends (NULL and
  numbers sort before text, BLOBs after it): the scan tests only the other columns;
- the skipped rows' contributions are subtracted, and each odd transition is taken out
  and folded in again after decoding, by the projection itself.

What this cannot settle exactly (a row the decoder rejects, unusual version types, a
key that Python would spell otherwise, a skipped row that carried a first or last value)
raises :class:`FastPathUnavailable`: the caller then folds every event, as before.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ...events.base import EntityType, Event
from ...events.errors import EventDecodeError
from ...events.projections.metrics import StageMetrics, StageMetricsProjection, TaskMetrics
from ...events.store.codec import event_from_row
from ...events.store.sqlite.store import SELECT_EVENTS, SqliteEventStore
from ..contracts import FastPathUnavailable, MetricsFigures, in_thread, joined
from .metrics_sql import (
    ALL_WORKFLOWS,
    COUNTED_TYPES,
    ENDINGS,
    IMPL_WIDTH,
    IN_WORKFLOWS,
    LEADING_COLUMNS,
    NEXT_DAY,
    STARTS,
    UNUSUAL_TIMESTAMPS,
    checks_sql,
    figures_sql,
    group_parts,
    rows_sql,
    seekable,
    storage_seeks,
)

PAGE = 500
Metrics = StageMetrics | TaskMetrics


@dataclass
class _Group:
    """One stage type or task name, and what the output order and class depend on."""

    metrics: Metrics
    first: int
    rows: int = 0
    impl_seq: int = -1
    lost: set[int] = field(default_factory=set)
    """A first or last sequence taken out that a decoded event must bring back."""


def stage_and_task_figures(
    store: SqliteEventStore,
    workflow_ids: frozenset[str] | None = None,
    *,
    upto: int | None = None,
) -> MetricsFigures:
    """What ``StageMetricsProjection`` gives over every stage and task event (of these
    workflows, up to sequence ``upto``) of a known type; raises
    :class:`FastPathUnavailable` when unsure."""
    if workflow_ids is not None and not all(isinstance(w, str) for w in workflow_ids):
        raise FastPathUnavailable("workflow ids that are not text")
    scope = ALL_WORKFLOWS if workflow_ids is None else IN_WORKFLOWS
    params: dict[str, Any] = {}
    if workflow_ids is not None:
        params["workflows"] = json.dumps(sorted(workflow_ids))
    if upto is not None:
        scope = f"{scope} AND sequence <= :upto"
        params["upto"] = upto
    seeked = seekable({str(r[0]) for r in _fetch(store, LEADING_COLUMNS, ())})
    side = in_thread(lambda: _fetch(store, checks_sql(scope, seeked), params))
    timestamps = in_thread(lambda: _row_checks(store, seeked))
    groups: dict[tuple[str, str], _Group] = {}
    try:
        for row in _fetch(store, figures_sql(scope), params):
            _add_sql_row(groups, row)
    except BaseException:
        with contextlib.suppress(BaseException):
            joined(side, timestamps)
        raise
    checks, unusual = joined(side, timestamps)
    redo, again = _plan(checks)
    firsts = {group[0] for group in again}
    _subtract(store, groups, redo, firsts, scope, params)
    every = [seq for group in again for seq in group]
    for event in _decoded(store, sorted({*every, *unusual})):
        within = upto is None or event.sequence <= upto
        if within and event.sequence in firsts and _counted(event, workflow_ids):
            _fold(groups, event)
    if any(group.lost for group in groups.values()):
        raise FastPathUnavailable("a first or last value went with a skipped event")
    return _ordered(groups)


def figures_after(
    store: SqliteEventStore, figures: MetricsFigures, after: int, *, limit: int
) -> tuple[MetricsFigures, int]:
    """``figures`` (of every event up to sequence ``after``) with the events appended
    since folded in, and the last sequence they cover.

    The new events go through the decoder and the projection itself; one that repeats a
    transition already counted (same entity, event type and version) is skipped, as the
    projection would. More than ``limit`` new events, or one the decoder refuses, raises
    :class:`FastPathUnavailable`: the caller computes afresh.
    """
    beyond = "SELECT sequence FROM events WHERE sequence > ? ORDER BY sequence LIMIT 1 OFFSET ?"
    if _fetch(store, beyond, (after, limit)):
        raise FastPathUnavailable(f"more than {limit} new events")
    projection = StageMetricsProjection()
    covered, read = after, 0
    page = f"{SELECT_EVENTS} WHERE sequence > ? ORDER BY sequence LIMIT ?"
    while read < limit and (rows := _fetch(store, page, (covered, min(PAGE, limit - read)))):
        for row in rows:
            try:
                event = event_from_row(row)
            except EventDecodeError as exc:
                raise FastPathUnavailable(str(exc)) from exc
            if _counted(event, None) and not _counted_before(store, row, after):
                projection.apply(event)
        covered, read = int(rows[-1][0]), read + len(rows)
    return _merged(figures, projection), covered


_COUNTED_BEFORE = (
    "SELECT 1 FROM events WHERE entity_type IN ('stage', 'task') AND entity_id = ? "
    "AND sequence <= ? AND event_type = ? AND version = ? LIMIT 1"
)


def _counted_before(store: SqliteEventStore, row: tuple[Any, ...], after: int) -> bool:
    """Whether the projection saw this row's transition among the events up to ``after``
    (version 0 stands for the sequence: never)."""
    _, _, event_type, _, _, entity_id, _, version = row[:8]
    if type(version) is not int or type(entity_id) is not str:
        raise FastPathUnavailable("versions or entity ids of unusual types")
    if version == 0:
        return False
    return bool(_fetch(store, _COUNTED_BEFORE, (entity_id, after, event_type, version)))


def _merged(figures: MetricsFigures, projection: StageMetricsProjection) -> MetricsFigures:
    """The projection's figures added to ``figures``; new names come after the old, in
    the order the projection met them, as one projection over all events would order."""
    merged = MetricsFigures(dict(figures.stages), dict(figures.tasks))
    for name, stage in projection.get_state().items():
        old = merged.stages.get(name)
        merged.stages[name] = stage if old is None else _stage_sum(old, stage)
    for name, task in projection.get_task_state().items():
        old_task = merged.tasks.get(name)
        merged.tasks[name] = task if old_task is None else _task_sum(old_task, task)
    return merged


def _stage_sum(old: StageMetrics, new: StageMetrics) -> StageMetrics:
    return StageMetrics(
        old.stage_type,
        old.execution_count + new.execution_count,
        old.success_count + new.success_count,
        old.failure_count + new.failure_count,
        old.skip_count + new.skip_count,
        [*old.durations, *new.durations],
    )


def _task_sum(old: TaskMetrics, new: TaskMetrics) -> TaskMetrics:
    """The later implementing class wins, as in the projection."""
    implementing = (
        old.implementing_class if new.implementing_class is None else new.implementing_class
    )
    return TaskMetrics(
        old.task_name,
        implementing,
        old.execution_count + new.execution_count,
        old.success_count + new.success_count,
        old.failure_count + new.failure_count,
        old.retry_count + new.retry_count,
        [*old.durations, *new.durations],
    )


def _fetch(store: SqliteEventStore, sql: str, params: Any) -> list[tuple[Any, ...]]:

    def rows(conn: sqlite3.Connection) -> list[Any]:
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "JSON" in str(exc):  # malformed JSON: the decoder decides what it means
                raise FastPathUnavailable(str(exc)) from exc
            raise

    return store.read(rows)


def _row_checks(store: SqliteEventStore, seeked: frozenset[str]) -> list[int]:
    """Rows whose timestamps or indexed text columns need the decoder's eye (it refuses
    a value of the wrong storage class); raises if a day is not a date."""
    unusual = [int(r[0]) for r in _fetch(store, UNUSUAL_TIMESTAMPS, ())]
    for sql, nullable in storage_seeks(seeked):
        for sequence, value in _fetch(store, sql, ()):
            if not (type(value) is str or (value is None and nullable)):
                unusual.append(int(sequence))
    _check_days(store)
    return unusual


def _check_days(store: SqliteEventStore) -> None:
    """Every day a timestamp starts with is a real date: one index seek per distinct day."""
    after = ""
    while (found := _fetch(store, NEXT_DAY, (after,))[0][0]) is not None:
        if not _real_day(found) or ord(found[-1]) >= 0xD7FF:
            raise FastPathUnavailable(f"timestamps starting {found!r}")
        after = found[:-1] + chr(ord(found[-1]) + 1)


EDGE_DAYS = ("0001-01-01", "9999-12-31")
"""Days where an offset can carry the instant outside datetime's range: the decoder
judges those rows (one such day in a store only costs the fast path)."""


def _real_day(text: str) -> bool:
    if len(text) != 10 or not text.isascii() or text[4] != "-" or text[7] != "-":
        return False
    if text in EDGE_DAYS:
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _add_sql_row(groups: dict[tuple[str, str], _Group], row: tuple[Any, ...]) -> None:
    name, bad, count, first, durations, impl = row
    entity, kind, key = group_parts(name)
    if bad or key is None:
        raise FastPathUnavailable("a stage type, task name or class Python would spell otherwise")
    group = groups.get((entity, key))
    if group is None:
        metrics: Metrics = StageMetrics(key) if entity == "stage" else TaskMetrics(key)
        group = groups[(entity, key)] = _Group(metrics, first)
    group.first = min(group.first, first)
    group.rows += count
    values = [int(v) for v in durations.split(",")] if durations else []
    _count(group.metrics, kind, count, values)
    if impl is not None and isinstance(group.metrics, TaskMetrics):
        group.impl_seq = int(impl[:IMPL_WIDTH])
        group.metrics.implementing_class = impl[IMPL_WIDTH:]


def _count(metrics: Metrics, kind: str, count: int, durations: list[int]) -> None:
    """Add (or, with a negative count, take back) ``count`` events of one kind; as in the
    projection, a stage counts only stage events and a task only task events."""
    if not kind.startswith("stage." if isinstance(metrics, StageMetrics) else "task."):
        return
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
        if count > 0:
            metrics.durations.extend(durations)
        for value in durations if count < 0 else ():
            metrics.durations.remove(value)


def _plan(checks: Iterable[tuple[Any, ...]]) -> tuple[list[int], list[list[int]]]:
    """Rows whose SQL contribution is taken back, and the odd transitions to fold again
    (all their rows are decoded, the first is folded)."""
    redo: list[int] = []
    again: list[list[int]] = []
    for listed, odd, weird in checks:
        if weird:
            raise FastPathUnavailable("versions, entity ids or sequences of unusual types")
        sequences = sorted(int(s) for s in str(listed).split(","))
        if odd:
            redo.extend(sequences)
            again.append(sequences)
        else:
            redo.extend(sequences[1:])
    return redo, again


def _subtract(
    store: SqliteEventStore,
    groups: dict[tuple[str, str], _Group],
    redo: list[int],
    firsts: set[int],
    scope: str,
    params: dict[str, Any],
) -> None:
    """Take these rows' contributions back out of the SQL figures."""
    if not redo:
        return
    extra = "AND sequence IN (SELECT value FROM json_each(:redo))"
    sql = f"SELECT seq, et, kind, key, d FROM ({rows_sql(scope, extra)})"
    for seq, entity, kind, key, duration in _fetch(
        store, sql, {**params, "redo": json.dumps(redo)}
    ):
        group = groups[(entity, key)]
        if seq in (group.first, group.impl_seq):
            if seq not in firsts:
                raise FastPathUnavailable(f"skipped event {seq} carried a first or last value")
            group.lost.add(seq)  # folded again below, from its decoded form
        _count(group.metrics, kind, -1, [] if duration is None else [duration])
        group.rows -= 1
        if group.rows == 0:
            del groups[(entity, key)]


def _decoded(store: SqliteEventStore, sequences: list[int]) -> Iterator[Event]:
    """These rows through the decoder, in order; one it rejects ends the fast path."""
    sql = f"{SELECT_EVENTS} WHERE sequence IN (SELECT value FROM json_each(?))"
    for start in range(0, len(sequences), PAGE):
        page = json.dumps(sequences[start : start + PAGE])
        for row in sorted(_fetch(store, sql, (page,))):
            try:
                yield event_from_row(row)
            except EventDecodeError as exc:
                raise FastPathUnavailable(str(exc)) from exc


def _counted(event: Event, workflow_ids: frozenset[str] | None) -> bool:
    if workflow_ids is not None and event.workflow_id not in workflow_ids:
        return False
    return event.entity_type in (EntityType.STAGE, EntityType.TASK) and (
        event.event_type.value in COUNTED_TYPES
    )


def _fold(groups: dict[tuple[str, str], _Group], event: Event) -> None:
    """One decoded event, through the projection, into the figures."""
    projection = StageMetricsProjection()
    projection.apply(event)
    parts: dict[str, Metrics] = {**projection.get_state(), **projection.get_task_state()}
    for key, part in parts.items():
        entity = "stage" if isinstance(part, StageMetrics) else "task"
        group = groups.get((entity, key))
        if group is None:
            empty: Metrics = StageMetrics(key) if entity == "stage" else TaskMetrics(key)
            group = groups[(entity, key)] = _Group(empty, event.sequence)
        _merge(group, part, event.sequence)


def _merge(group: _Group, part: Metrics, sequence: int) -> None:
    mine = group.metrics
    group.first = min(group.first, sequence)
    group.rows += 1
    impl = part.implementing_class if isinstance(part, TaskMetrics) else None
    if not (sequence == group.impl_seq and impl is None):
        group.lost.discard(sequence)
    mine.execution_count += part.execution_count
    mine.success_count += part.success_count
    mine.failure_count += part.failure_count
    mine.durations.extend(part.durations)
    if isinstance(mine, StageMetrics) and isinstance(part, StageMetrics):
        mine.skip_count += part.skip_count
    if isinstance(mine, TaskMetrics) and isinstance(part, TaskMetrics):
        mine.retry_count += part.retry_count
        if part.implementing_class is not None and sequence >= group.impl_seq:
            mine.implementing_class = part.implementing_class
            group.impl_seq = sequence


def _ordered(groups: dict[tuple[str, str], _Group]) -> MetricsFigures:
    figures = MetricsFigures()
    for group in sorted(groups.values(), key=lambda g: g.first):
        if isinstance(group.metrics, StageMetrics):
            figures.stages[group.metrics.stage_type] = group.metrics
        else:
            figures.tasks[group.metrics.task_name] = group.metrics
    return figures
