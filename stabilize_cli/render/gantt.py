"""The exported chart's model: rows of time segments and markers, built from a timeline.

One builder turns a :class:`TimelineResult` into plain frozen values in milliseconds from
the workflow's start; the SVG and HTML writers only draw them. Every text here is already
inert (control characters as visible escapes) but not yet XML-escaped: escaping belongs to
the writer of each format. No Rich import: exporting must not need the terminal stack.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from ..events.projections.timeline import TimelineEntry
from ..queries.timeline import FAILED_STATUSES, StageLine, TaskLine, TimelineResult
from ..runs.cause import Cause
from ..runs.model import instant
from .durations import seconds
from .sanitize import NULL_MARK, clean

SegmentKind = Literal["run", "attempt", "retry", "pause"]
MarkerKind = Literal["failure", "retry", "restart", "cancel", "pause"]
RowKind = Literal["workflow", "stage", "task"]

RETRIED = "RETRIED"
"""The status of a try that failed and was retried (not an engine status: ours, for the chart)."""
NOT_STARTED = "NOT_STARTED"
_STARTS = frozenset({"stage.started", "task.started"})
_ENDS = {
    "stage.completed": "SUCCEEDED",
    "stage.failed": "TERMINAL",
    "stage.canceled": "CANCELED",
    "stage.skipped": "SKIPPED",
    "task.completed": "SUCCEEDED",
    "task.failed": "TERMINAL",
}
"""The events that end a run, with the status each means when its payload names none."""


@dataclass(frozen=True)
class Segment:
    """A stretch of one row's time: a run, an earlier attempt, a retried try or a pause."""

    start_ms: int
    end_ms: int
    status: str
    kind: SegmentKind
    open_end: bool = False
    """No event ended it: it was still going when the chart's span ends."""
    note: str = ""
    """What the segment was, for its tooltip."""


@dataclass(frozen=True)
class Marker:
    """A moment on a row: a failure (with the first line of its cause), a retry, a restart."""

    at_ms: int
    kind: MarkerKind
    short: str
    full: str


@dataclass(frozen=True)
class ChartRow:
    label: str
    depth: int
    kind: RowKind
    status: str
    duration: str
    segments: tuple[Segment, ...] = ()
    markers: tuple[Marker, ...] = ()
    detail: str = ""
    """Short facts after the duration: ``2 retries``, ``2 attempts``."""

    @property
    def notes(self) -> tuple[Marker, ...]:
        """The markers whose text is shown under the row (failures, cancels, pauses)."""
        shown = ("failure", "cancel", "pause")
        return tuple(m for m in self.markers if m.kind in shown and m.short)


@dataclass(frozen=True)
class Chart:
    workflow_id: str
    name: str
    application: str
    status: str
    started: str
    """The workflow's start as stored (ISO 8601), or the null mark."""
    total: str
    """``2.78s total``, ``1.20s so far`` or empty when the span is unknown."""
    span_ms: int
    rows: tuple[ChartRow, ...]
    sequences: str = ""
    notes: tuple[str, ...] = field(default=())
    """Lines under the header: what the chart leaves out or cannot place."""
    bands: tuple[Segment, ...] = ()
    """Stretches of the whole run drawn across every row: pauses, silences with no event."""

    @property
    def statuses(self) -> tuple[str, ...]:
        """Every segment status drawn, in first-seen order (what the legend explains)."""
        seen: dict[str, None] = {}
        for row in self.rows:
            for segment in row.segments:
                if segment.kind != "pause":
                    seen.setdefault(segment.status, None)
        return tuple(seen)

    @property
    def marker_kinds(self) -> tuple[MarkerKind, ...]:
        seen: dict[MarkerKind, None] = {}
        for row in self.rows:
            for marker in row.markers:
                seen.setdefault(marker.kind, None)
        return tuple(seen)


def text(value: Any, *, multiline: bool = False) -> str:
    """An untrusted value as inert text: strings as they are, other values as JSON."""
    if value is None:
        return NULL_MARK
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    return clean(value, multiline=multiline)


def first_line(value: Any) -> str:
    """The line that names a failure: the first, or a traceback's last (the exception)."""
    lines = [line.strip() for line in text(value, multiline=True).splitlines() if line.strip()]
    if not lines:
        return ""
    if lines[0].startswith("Traceback (most recent call last)"):
        return lines[-1]
    return clean(lines[0].replace("\t", " "))


def _offset(at_ms: int) -> str:
    return "+" + seconds(at_ms)


@dataclass(frozen=True)
class _Clock:
    origin: datetime | None
    end: datetime | None

    def ms(self, when: datetime | None) -> int | None:
        if self.origin is None or when is None:
            return None
        return round((when - self.origin).total_seconds() * 1000)

    @property
    def span_ms(self) -> int:
        span = self.ms(self.end)
        return max(0, span) if span is not None else 0

    def place(self, when: datetime | None) -> int | None:
        """A moment on the chart: times before the start or after the end (a skewed clock
        in the data) are drawn at the edge, never outside it."""
        at = self.ms(when)
        return None if at is None else min(max(at, 0), self.span_ms)


@dataclass(frozen=True)
class _Attempt:
    start: datetime | None
    end: datetime | None
    status: Any
    error: Any
    retries: tuple[datetime, ...]
    summary: str | None = None
    """The cause's one line, when the engine's tables gave the real cause."""


def _attempts(entries: Sequence[TimelineEntry]) -> list[_Attempt]:
    """One entity's runs from its events: each start opens one, the next end closes it."""
    attempts: list[_Attempt] = []
    start: datetime | None = None
    retries: list[datetime] = []
    opened = False
    for entry in entries:
        if entry.event_type in _STARTS:
            if opened:  # started again without an end: the earlier run is open-ended
                attempts.append(_Attempt(start, None, None, None, tuple(retries)))
            start, retries, opened = entry.timestamp, [], True
        elif entry.event_type == "task.retried":
            retries.append(entry.timestamp)
        elif entry.event_type in _ENDS:
            error = entry.details.get("error") or entry.details.get("reason")
            status = entry.status or _ENDS[entry.event_type]
            attempts.append(_Attempt(start, entry.timestamp, status, error, tuple(retries)))
            start, retries, opened = None, [], False
    if opened:
        attempts.append(_Attempt(start, None, None, None, tuple(retries)))
    return attempts


def _final(line: StageLine | TaskLine, found: list[_Attempt]) -> list[_Attempt]:
    """The attempts, the last one as the rebuilt state tells it (what the tree shows)."""
    retries = found[-1].retries if found else ()
    start = found[-1].start if len(found) > 1 and found[-1].start else line.start
    last = _Attempt(start, line.end, line.status, line.error, retries)
    return [*found[:-1], last]


def _failed(status: Any) -> bool:
    """Failed, not canceled: a cancel gets its own marker and no error line."""
    return str(status) in FAILED_STATUSES and status != "CANCELED"


def _segments_and_markers(
    attempts: list[_Attempt], clock: _Clock, running: bool, limit: datetime | None = None
) -> tuple[list[Segment], list[Marker]]:
    """``limit``: where a run no event ended stops being drawn (its stage's end), else the
    end of the chart; a task cannot have gone on after its stage ended."""
    segments: list[Segment] = []
    markers: list[Marker] = []
    many = len(attempts) > 1
    for number, attempt in enumerate(attempts, start=1):
        begin = clock.place(attempt.start)
        if begin is None:
            end_only = clock.place(attempt.end)
            if end_only is not None and _failed(attempt.status):
                markers.append(_failure(end_only, attempt, number if many else 0))
            elif end_only is not None and attempt.status == "CANCELED":
                markers.append(Marker(end_only, "cancel", "", f"canceled at {_offset(end_only)}"))
            continue
        end = clock.place(attempt.end)
        open_end = end is None
        status = text(attempt.status)
        if end is None:
            end = clock.place(limit) if limit is not None else None
        end = max(begin, clock.span_ms if end is None else end)
        last_kind: SegmentKind = "run" if number == len(attempts) else "attempt"
        if number > 1:
            markers.append(
                Marker(
                    begin,
                    "restart",
                    f"attempt {number}",
                    f"attempt {number} started at {_offset(begin)}, after the workflow had ended",
                )
            )
        cursor = begin
        for tries, retried_at in enumerate(attempt.retries, start=1):
            at = min(max(cursor, clock.place(retried_at) or cursor), end)
            segments.append(
                Segment(cursor, at, RETRIED, "retry", note=f"try {tries} failed; retried")
            )
            markers.append(
                Marker(
                    at,
                    "retry",
                    f"retry {tries}",
                    f"try {tries} failed at {_offset(at)}; the engine retried the task",
                )
            )
            cursor = at
        what = f"attempt {number}: " if many else ""
        still = "still running" if running and limit is None else "no event ended it"
        note = f"{what}{status}" + (f" ({still})" if open_end else "")
        segments.append(Segment(cursor, end, status, last_kind, open_end, note))
        if _failed(attempt.status):
            markers.append(_failure(end, attempt, number if many else 0))
        elif attempt.status == "CANCELED":
            markers.append(Marker(end, "cancel", "", f"canceled at {_offset(end)}"))
    return segments, markers


def _failure(at: int, attempt: _Attempt, number: int) -> Marker:
    status = text(attempt.status)
    prefix = f"attempt {number} " if number else ""
    if attempt.error is None:
        return Marker(at, "failure", f"{prefix}{status}", f"{prefix}{status} at {_offset(at)}")
    summary = first_line(attempt.error) if attempt.summary is None else clean(attempt.summary)
    return Marker(
        at,
        "failure",
        f"{prefix}{status}: {summary}",
        f"{prefix}{status} at {_offset(at)}:\n{text(attempt.error, multiline=True)}",
    )


def _duration(line: StageLine | TaskLine, running: bool) -> str:
    if line.start is not None and line.end is not None:
        return seconds((line.end - line.start).total_seconds() * 1000)
    if line.status == "RUNNING":
        return "running" if running else "no end"
    return ""


def _row(
    line: StageLine | TaskLine,
    kind: RowKind,
    depth: int,
    entries: Sequence[TimelineEntry],
    clock: _Clock,
    running: bool,
    limit: datetime | None = None,
) -> ChartRow:
    attempts = _with_causes(line, _final(line, _attempts(entries)))
    segments, markers = _segments_and_markers(attempts, clock, running, limit)
    facts = []
    if len(attempts) > 1:
        facts.append(f"{len(attempts)} attempts")
    retries = sum(len(a.retries) for a in attempts)
    if isinstance(line, TaskLine):
        retries = max(retries, line.retry_count)
    if retries:
        facts.append(f"{retries} {'retry' if retries == 1 else 'retries'}")
    if isinstance(line, StageLine) and line.status == "SKIPPED":
        reason = "no reason given" if line.skip_reason is None else first_line(line.skip_reason)
        facts.append(f"skipped: {reason}")
    return ChartRow(
        label=text(line.name),
        depth=depth,
        kind=kind,
        status=text(line.status),
        duration=_duration(line, running),
        segments=tuple(segments),
        markers=tuple(markers),
        detail=", ".join(facts),
    )


def cause_text(cause: Cause) -> str:
    """The whole cause for a tooltip: message, exit code, outputs, where it was found."""
    parts = [] if cause.message is None else [text(cause.message, multiline=True)]
    if cause.exit_code is not None:
        parts.append(f"exit code {text(cause.exit_code)}")
    for key in ("stderr", "stdout"):
        value = cause.fields.get(key)
        if isinstance(value, str) and value.strip():
            parts.append(f"{key}:\n{text(value.rstrip(), multiline=True)}")
    parts.append(f"(from {text(cause.source)})")
    return "\n".join(parts)


def _caused(attempt: _Attempt, cause: Cause, note: str = "") -> _Attempt:
    return replace(attempt, error=cause_text(cause) + note, summary=cause.summary)


def _with_causes(line: StageLine | TaskLine, attempts: list[_Attempt]) -> list[_Attempt]:
    """Failures told by their real cause where the engine's tables hold one: the final
    attempt's from the row, a restarted stage's earlier failure from what it left."""
    if line.cause is not None and attempts and _failed(attempts[-1].status):
        attempts[-1] = _caused(attempts[-1], line.cause)
    earlier = line.earlier_cause if isinstance(line, StageLine) else None
    for index in reversed(range(len(attempts) - 1)):
        if earlier is not None and _failed(attempts[index].status):
            note = "\n(left in the stage's context by this earlier run)"
            attempts[index] = _caused(attempts[index], earlier, note)
            break
    return attempts


def _by_entity(entries: Iterable[TimelineEntry]) -> dict[str, list[TimelineEntry]]:
    grouped: dict[str, list[TimelineEntry]] = {}
    for entry in entries:
        grouped.setdefault(entry.entity_id, []).append(entry)
    return grouped


def _workflow_row(result: TimelineResult, clock: _Clock, running: bool) -> ChartRow:
    state = result.state
    status = text(state.get("status"))
    segments: list[Segment] = []
    markers: list[Marker] = []
    span = max(0, clock.ms(result.span_end) or 0)
    if clock.origin is not None and result.span_end is not None:
        note = status + (" (still running)" if running else "")
        segments.append(Segment(0, span, status, "run", running, note))
    ending = result.ending
    if ending.error is not None:
        failure = _failure(span, _Attempt(None, None, state.get("status"), ending.error, ()), 0)
        if ending.error == f"Workflow ended with status {state.get('status')}":
            failure = replace(failure, short="")  # the engine's stock text: the badge says it
        markers.append(failure)
    elif state.get("status") == "CANCELED":
        facts = result.facts
        who = ending.canceled_by if ending.canceled_by is not None else facts.canceled_by
        why = ending.reason if ending.reason is not None else facts.cancel_reason
        by = "" if who is None else f" by {text(who)}"
        reason = "" if why is None else f": {first_line(why)}"
        full = "" if why is None else f":\n{text(why, multiline=True)}"
        markers.append(Marker(span, "cancel", f"canceled{by}{reason}", f"canceled{by}{full}"))
    pause = result.facts.pause
    paused_at = None if pause is None else clock.place(instant(pause.pause_time))
    if pause is not None and paused_at is not None:
        by = "" if pause.paused_by is None else f" by {text(pause.paused_by)}"
        resumed = "" if pause.resume_time is not None else " (the engine records no resume time)"
        said = f"paused{by} at {_offset(paused_at)}{resumed}"
        markers.append(Marker(paused_at, "pause", said, said))
    for restart in result.facts.restarts:
        at = clock.place(restart.at) or 0
        ended = f"{text(restart.status)} at seq {restart.sequence}"
        markers.append(
            Marker(
                at,
                "restart",
                f"{ended}, restarted",
                f"the workflow ended {ended} "
                f"({_offset(at)}), then its stages started again: a restart",
            )
        )
    total = seconds(span) if segments else ""
    return ChartRow(
        label=text(state.get("name") if state.get("name") is not None else result.workflow_id),
        depth=0,
        kind="workflow",
        status=status,
        duration=total,
        segments=tuple(segments),
        markers=tuple(markers),
    )


def build_chart(result: TimelineResult) -> Chart:
    """The chart of one workflow: a row for it, one per stage and one per task under it."""
    entries = result.timeline.entries
    origin = result.start or (entries[0].timestamp if entries else None)
    ends = [t for t in (result.span_end, result.last_event_at) if t is not None]
    clock = _Clock(origin, max(ends) if ends else None)  # a cancel may follow the end
    running = result.state.get("status") == "RUNNING"
    grouped = _by_entity(entries)
    rows = [_workflow_row(result, clock, running)]
    for stage in result.stages:
        rows.append(_row(stage, "stage", 1, grouped.get(stage.id, []), clock, running))
        for task in stage.tasks:
            rows.append(_row(task, "task", 2, grouped.get(task.id, []), clock, running, stage.end))
    for task in result.loose_tasks:
        rows.append(_row(task, "task", 1, grouped.get(task.id, []), clock, running))
    notes = []
    silent = result.facts.stages_without_events
    if silent:
        of = "" if result.facts.stage_count is None else f" of {result.facts.stage_count}"
        notes.append(f"{silent}{of} stages left no event (not drawn: no workflow tables here)")
    if result.failures_only:
        notes.append("only the failing path (--failures)")
    if clock.origin is None:
        notes.append("the workflow has no start time: nothing can be placed on the time axis")
    state = result.state
    total = ""
    if result.start is not None and result.span_end is not None:
        own = (result.span_end - result.start).total_seconds() * 1000
        total = f"{seconds(own)} total" if result.end else f"{seconds(own)} so far"
    first, last = result.sequences or (None, None)
    sequences = "" if first is None else f"seq {first}-{last}"
    return Chart(
        workflow_id=text(result.workflow_id),
        name=text(state.get("name")),
        application=text(state.get("application")),
        status=text(state.get("status")),
        started=text(state.get("start_time")),
        total=total,
        span_ms=clock.span_ms,
        rows=tuple(rows),
        sequences=sequences,
        notes=tuple(notes),
        bands=_bands(result, clock),
    )


def _bands(result: TimelineResult, clock: _Clock) -> tuple[Segment, ...]:
    """Silences in the run: a pause (the engine writes no event for one) or a stretch no
    event explains. A long task's silence is not one: its own bar shows it."""
    pause = result.facts.pause
    bands = []
    for gap in result.facts.gaps:
        if gap.explanation == "task running":
            continue
        start, end = clock.place(gap.start) or 0, clock.place(gap.end) or 0
        quiet = f"no event for {seconds(gap.ms)} (seq {gap.after_sequence}-{gap.before_sequence})"
        if gap.explanation == "paused":
            by = "" if pause is None or pause.paused_by is None else f" by {text(pause.paused_by)}"
            note = f"paused{by}: {quiet}"
        else:
            note = f"unexplained: {quiet}"
        bands.append(Segment(start, end, "PAUSED", "pause", note=note))
    return tuple(bands)


# -- the time axis --------------------------------------------------------------------------

_SECOND, _MINUTE, _HOUR, _DAY = 1000, 60_000, 3_600_000, 86_400_000
_STEPS = (
    1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500,
    _SECOND, 2 * _SECOND, 5 * _SECOND, 10 * _SECOND, 15 * _SECOND, 30 * _SECOND,
    _MINUTE, 2 * _MINUTE, 5 * _MINUTE, 10 * _MINUTE, 15 * _MINUTE, 30 * _MINUTE,
    _HOUR, 2 * _HOUR, 3 * _HOUR, 6 * _HOUR, 12 * _HOUR, _DAY,
)  # fmt: skip


@dataclass(frozen=True)
class Axis:
    """Ticks at a round step (ms, s, min, h, days) covering the span, with their labels."""

    step_ms: int
    end_ms: int
    ticks: tuple[int, ...]
    labels: tuple[str, ...]

    @property
    def scale(self) -> str:
        return f"grid every {duration_label(self.step_ms)}"


def tick_step(span_ms: int, most: int = 10) -> int:
    """The smallest round step that covers ``span_ms`` in at most ``most`` intervals."""
    for step in _STEPS:
        if span_ms <= step * most:
            return step
    days = -(-span_ms // (_DAY * most))
    return days * _DAY


def axis(span_ms: int, most: int = 10) -> Axis:
    span = max(1, span_ms)
    step = tick_step(span, most)
    count = -(-span // step)
    ticks = tuple(step * i for i in range(count + 1))
    return Axis(step, ticks[-1], ticks, tuple(tick_label(t, step, ticks[-1]) for t in ticks))


def duration_label(ms: int) -> str:
    """A round duration: ``250 ms``, ``5 s``, ``15 min``, ``6 h``, ``2 days``."""
    if ms < _SECOND:
        return f"{ms} ms"
    if ms < _MINUTE:
        return f"{ms / _SECOND:g} s"
    if ms < _HOUR:
        return f"{ms / _MINUTE:g} min"
    if ms < _DAY:
        return f"{ms / _HOUR:g} h"
    days = ms / _DAY
    return f"{days:g} day" if days == 1 else f"{days:g} days"


def tick_label(ms: int, step: int, last: int) -> str:
    """A tick's offset in the unit its step reads best in; ms only when every tick is."""
    if ms == 0:
        return "0"
    if step < _SECOND:
        if last < _SECOND:
            return f"{ms} ms"
        decimals = 1 if step % 100 == 0 else 2 if step % 10 == 0 else 3
        return f"{ms / _SECOND:.{decimals}f} s"
    if ms < _MINUTE:
        return f"{ms // _SECOND} s"
    if ms < _HOUR:
        minutes, rest = divmod(ms // _SECOND, 60)
        return f"{minutes} min" if rest == 0 else f"{minutes}m{rest:02d}s"
    if ms < _DAY or step < _DAY:
        hours, rest = divmod(ms // _MINUTE, 60)
        days, hours = divmod(hours, 24)
        if days:
            return f"{days}d{hours:02d}h" if rest == 0 else f"{days}d{hours:02d}h{rest:02d}m"
        return f"{hours} h" if rest == 0 else f"{hours}h{rest:02d}m"
    return f"{ms // _DAY} d"
