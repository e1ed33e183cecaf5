"""Stage and task metrics over many workflows: the library's projection, fed by a stream.

Events are streamed from the store into :class:`StageMetricsProjection`, never gathered
in a list, so memory follows the number of stage types and durations, not of events.

Filters, and what they mean:

- ``since``/``until`` select runs by their start: every event of a stage or task whose
  run opened (``*.started``, or ``stage.skipped``) within the window counts, its outcome
  and duration too, even if it ended after ``until``; a run opened before ``since`` counts
  not at all. So RUNS always equals OK + FAILED + runs with another outcome (canceled,
  still running). Feeding the engine's projection the events stamped within the window
  would count a late run's completion without its start, and a start without its end.
- ``application`` keeps the events of that application's workflows (from the catalog).
- ``stage_types`` keeps those stage types, and the tasks of stages of those types (a
  task is tied to its stage by ``task.started``'s ``stage_id``).
- ``top`` keeps the N slowest rows (by average) of stages and of tasks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..audit import read_models_for
from ..audit.contracts import CacheSubject, FastPathUnavailable, MetricsFigures, in_thread, joined
from ..audit.metrics_cache import CachedFigures, MetricsCache
from ..events.base import EntityType, Event, EventType
from ..events.errors import StoreCorruptError
from ..events.projections.metrics import (
    UNKNOWN_STAGE_TYPE,
    StageMetrics,
    StageMetricsProjection,
    TaskMetrics,
)
from ..events.store import UNLIMITED, AuditableStore, EventQuery
from ..redaction import DECLARATION_KEY, NO_SECRETS, Redactor
from .errors import InvalidInputError
from .redacting import EventRedaction, WorkflowSecrets

DEFAULT_TOP = 10
"""How many slowest stage types the JSON lists when ``--top`` is not given."""

STAGE_AND_TASK_TYPES = frozenset(t for t in EventType if t.value.startswith(("stage.", "task.")))
"""Every stage and task event type: the projection learns a stage type from any of them.

They are picked in Python, not with ``EventQuery.event_types``: they are most of a store,
and SQLite then walks the ``event_type`` index and sorts every match again for each
page (42 ms a page at 300,000 events: quadratic), where a plain sequence scan is linear.
"""

Track = Callable[[Iterator[Event], Callable[[], int]], Iterator[Event]]
"""Wraps the raw event stream (e.g. in a progress bar); the callable gives its length."""


def untracked(events: Iterator[Event], total: Callable[[], int]) -> Iterator[Event]:
    """The stream as it is; ``total`` is never called (counting can cost a scan)."""
    return events


def check_range(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since > until:
        raise InvalidInputError("--since is after --until")


def check_count(option: str, value: int | None) -> None:
    if value is not None and value < 0:
        raise InvalidInputError(f"{option} must not be negative (got {value})")


def workflows_of_app(store: AuditableStore, application: str) -> frozenset[str]:
    """The ids of every workflow whose ``workflow.created`` names this application."""
    return read_models_for(store).newest.workflows_of_application(application)


def scoped_events(
    store: AuditableStore,
    query: EventQuery,
    application: str | None,
    track: Track,
) -> Iterator[Event]:
    """The query's events, streamed through ``track``, then kept to one application.

    Read past damaged pages: what they held is noted in the store's notes (exit 4)."""
    events = track(store.readable_events(query), lambda: _count(store, query))
    if application is None:
        return events
    wanted = workflows_of_app(store, application)
    return (e for e in events if e.workflow_id in wanted)


def _count(store: AuditableStore, query: EventQuery) -> int:
    """For the progress bar only: on a damaged page the bar just cannot tell the end."""
    try:
        return store.count_events(query)
    except StoreCorruptError:
        return 0


@dataclass(frozen=True)
class MetricsFilter:
    application: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    stage_types: frozenset[str] = frozenset()
    top: int | None = None

    def validate(self) -> None:
        check_range(self.since, self.until)
        check_count("--top", self.top)

    def query(self) -> EventQuery:
        """Events from ``since`` on: a run opened in the window has no event before it."""
        return EventQuery(from_timestamp=self.since, limit=UNLIMITED)

    @property
    def streamed(self) -> bool:
        """Whether the events must be read one by one (SQL's figures cannot say it)."""
        return self.since is not None or self.until is not None or bool(self.stage_types)

    def keeps(self, stage_type: str) -> bool:
        return not self.stage_types or stage_type in self.stage_types


OPENING = frozenset({EventType.STAGE_STARTED, EventType.STAGE_SKIPPED, EventType.TASK_STARTED})
"""The event that opens a stage's or a task's run: where ``--since/--until`` look."""


def runs_opened_between(
    events: Iterable[Event], since: datetime | None, until: datetime | None
) -> Iterator[Event]:
    """The events of the stages and tasks whose first event opens their run within
    [since, until]; every other run is left out whole."""
    decided: dict[str, bool] = {}
    for event in events:
        keep = decided.get(event.entity_id)
        if keep is None:
            moment = event.timestamp
            keep = event.event_type in OPENING
            keep = (
                keep and (since is None or moment >= since) and (until is None or moment <= until)
            )
            decided[event.entity_id] = keep
        if keep:
            yield event


def of_stage_types(events: Iterable[Event], types: frozenset[str]) -> Iterator[Event]:
    """Stage events of those types, and the events of tasks of such stages."""
    stage_type: dict[str, str] = {}
    task_stage: dict[str, str] = {}
    for event in events:
        if event.entity_type is EntityType.STAGE:
            named = event.data.get("type")
            known = stage_type.get(event.entity_id)
            kind = str(named) if named else known or UNKNOWN_STAGE_TYPE
            stage_type[event.entity_id] = kind
            if kind in types:
                yield event
            continue
        if event.event_type is EventType.TASK_STARTED:
            task_stage[event.entity_id] = str(event.data.get("stage_id"))
        if stage_type.get(task_stage.get(event.entity_id, "")) in types:
            yield event


def _by_average(rows: Iterable[Mapping[str, Any]], key: str) -> list[dict[str, Any]]:
    """Slowest first; equal averages in name order, so output is stable."""
    ordered = sorted(rows, key=lambda r: str(r[key]))
    return [dict(r) for r in sorted(ordered, key=lambda r: -float(r["avg_duration_ms"]))]


@dataclass(frozen=True)
class MetricsResult:
    """Stage and task figures in the engine's StageMetrics / TaskMetrics forms."""

    stages: Mapping[str, Mapping[str, Any]]
    tasks: Mapping[str, Mapping[str, Any]]
    top_slowest: tuple[tuple[str, float], ...]
    top: int | None = None
    """What ``--top`` asked for (None: not asked; the table then shows no slowest list)."""
    stage_types: frozenset[str] = field(default_factory=frozenset)

    def records(self) -> Iterable[dict[str, Any]]:
        """One row per stage type, slowest average first (``top`` of them)."""
        return _by_average(self.stages.values(), "stage_type")[: self.top]

    def task_records(self) -> Iterable[dict[str, Any]]:
        return _by_average(self.tasks.values(), "task_name")[: self.top]

    def rows(self) -> Iterable[dict[str, Any]]:
        """Stages then tasks, each with ``kind`` and ``name``: CSV, NDJSON and Markdown."""
        for row in self.records():
            yield {"kind": "stage", "name": row["stage_type"], **row}
        for row in self.task_records():
            yield {"kind": "task", "name": row["task_name"], **row}

    def to_json(self) -> dict[str, Any]:
        return {
            "stages": {r["stage_type"]: r for r in self.records()},
            "tasks": {r["task_name"]: r for r in self.task_records()},
            "top_slowest": [[name, avg] for name, avg in self.top_slowest],
        }


def project(events: Iterable[Event], wanted: MetricsFilter) -> MetricsResult:
    """Fold the events into the library's projection and keep what the filter asks for."""
    projection = StageMetricsProjection()
    projection.apply_all(events)
    return summarise(projection.get_state(), projection.get_task_state(), wanted)


def summarise(
    stage_state: Mapping[str, StageMetrics],
    task_state: Mapping[str, TaskMetrics],
    wanted: MetricsFilter,
) -> MetricsResult:
    """The result from the projection's state (in its creation order, which breaks ties
    among equal averages exactly as ``get_top_slowest_stages`` does)."""
    stages = {t: m.to_dict() for t, m in stage_state.items() if wanted.keeps(t)}
    timed = [(t, m.avg_duration_ms) for t, m in stage_state.items() if m.durations]
    ranked = sorted(timed, key=lambda item: item[1], reverse=True)
    top_n = DEFAULT_TOP if wanted.top is None else wanted.top
    slowest = tuple((t, avg) for t, avg in ranked if wanted.keeps(t))[:top_n]
    tasks = {n: m.to_dict() for n, m in task_state.items()}
    return MetricsResult(stages, tasks, slowest, wanted.top, wanted.stage_types)


NEW_EVENTS_LIMIT = 100_000
"""Beyond this many events since the cached figures, computing afresh in SQL is faster
than decoding the new events one by one."""


def stage_metrics(
    store: AuditableStore,
    wanted: MetricsFilter,
    track: Track = untracked,
    cache: MetricsCache | None = None,
) -> MetricsResult:
    """Metrics over every stage and task event the filter admits.

    Without ``--since``/``--until`` (which test each event's parsed timestamp), SQL gives
    the same figures without decoding every event (``audit``'s analytics); when it
    cannot be sure of that, the events are streamed through the projection. With a
    ``cache`` and no filter, figures computed before are reused and brought up to date.
    """
    wanted.validate()
    if not wanted.streamed:
        try:
            figures = _fast_figures(store, wanted, cache)
        except StoreCorruptError:  # a damaged page fails a whole aggregate: fold what reads
            figures = None
        if figures is not None:
            return summarise(figures.stages, figures.tasks, wanted)
    events = scoped_events(store, wanted.query(), wanted.application, track)
    chosen: Iterable[Event] = (e for e in events if e.event_type in STAGE_AND_TASK_TYPES)
    if wanted.since is not None or wanted.until is not None:
        chosen = runs_opened_between(chosen, wanted.since, wanted.until)
    if wanted.stage_types:
        chosen = of_stage_types(chosen, wanted.stage_types)
    return project(chosen, wanted)


Found = tuple[MetricsFigures, frozenset[str | None]]
"""The figures, and the workflows that declare secrets (for the redaction check)."""


def _fast_figures(
    store: AuditableStore, wanted: MetricsFilter, cache: MetricsCache | None
) -> MetricsFigures | None:
    """The SQL figures, when they are exactly what the projection over the (redacted)
    events would give; None sends the caller to the projection."""
    redaction = store.event_filter
    if redaction is not None and not isinstance(redaction, EventRedaction):
        return None
    secrets = WorkflowSecrets(store) if redaction is None else redaction.secrets
    subject = read_models_for(store).cache
    if cache is not None and wanted.application is None and subject is not None:
        found = _through_cache(store, cache, subject, secrets)
    else:
        scope = None if wanted.application is None else workflows_of_app(store, wanted.application)
        found = _computed(store, scope, declaring=redaction is not None)
    if found is None:
        return None
    figures, declared = found
    if redaction is not None and _redacts_a_key(figures, secrets, declared):
        return None
    return figures


def _computed(
    store: AuditableStore,
    scope: frozenset[str] | None,
    *,
    declaring: bool,
    upto: int | None = None,
) -> Found | None:
    """The SQL figures (None when SQL cannot be sure), with the declaring workflows
    found beside them on another thread when asked for."""
    scan = read_models_for(store).secrets

    def declared_here() -> set[str | None] | None:
        """None when a damaged page hides which workflows may declare (no fast path)."""
        try:
            return scan.workflows_declaring(DECLARATION_KEY) if declaring else set()
        except StoreCorruptError:  # the projection meets the damage itself
            return None

    found = in_thread(declared_here)
    figures = in_thread(lambda: _sql_figures(store, scope, upto))
    computed, declared = joined(figures, found)  # both joined: the caller closes the store
    if computed is None or declared is None:
        return None
    return computed, frozenset(declared)


def _sql_figures(
    store: AuditableStore, scope: frozenset[str] | None, upto: int | None
) -> MetricsFigures | None:
    try:
        return read_models_for(store).analytics.stage_and_task_figures(scope, upto=upto)
    except FastPathUnavailable:
        return None


def _through_cache(
    store: AuditableStore, cache: MetricsCache, subject: CacheSubject, secrets: WorkflowSecrets
) -> Found | None:
    """Cached figures brought up to date, else computed afresh; either is written back,
    unless a name in them looks like a secret (it would be kept unredacted on disk)."""
    models = read_models_for(store)
    cached = cache.load(subject)
    if cached is not None:
        try:
            figures, covered = models.analytics.figures_after(
                cached.figures, cached.checkpoint, limit=NEW_EVENTS_LIMIT
            )
        except FastPathUnavailable:
            pass
        else:
            if covered == cached.checkpoint:
                return figures, cached.declaring
            try:
                declared = cached.declaring | models.secrets.workflows_declaring(
                    DECLARATION_KEY, after=cached.checkpoint
                )
            except StoreCorruptError:  # which workflows declare is unknown
                return None  # the projection decides (and meets the damage itself)
            _keep(subject, cache, CachedFigures(covered, figures, declared), secrets)
            return figures, declared
    upto = subject.last_sequence()
    found = _computed(store, None, declaring=True, upto=upto)
    if found is not None:
        _keep(subject, cache, CachedFigures(upto, *found), secrets)
    return found


def _keep(
    subject: CacheSubject, cache: MetricsCache, cached: CachedFigures, secrets: WorkflowSecrets
) -> None:
    if not _redacts_a_key(cached.figures, secrets, cached.declaring):
        cache.save(subject, cached)


def _redacts_a_key(
    figures: MetricsFigures, secrets: WorkflowSecrets, declaring: frozenset[str | None]
) -> bool:
    """Whether redacting the events would change a stage type, task name or class: then
    the projection over the redacted events decides (a fresh redactor counts nothing)."""
    keys = [*figures.stages, *figures.tasks]
    keys += [t.implementing_class for t in figures.tasks.values() if t.implementing_class]
    checks = [NO_SECRETS] + [secrets.of(wf) for wf in declaring]
    probe = Redactor()
    return any(probe.redact_text(k, secrets=secrets) != k for k in keys for secrets in checks)
