"""Per stage type and per task name: how often it ran, how it ended, how long it took."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..base import EntityType, Event, EventType
from .base import Projection, transition_key

UNKNOWN_STAGE_TYPE = "unknown"


def _rate(part: int, success: int, failure: int) -> float:
    decided = success + failure
    return part / decided * 100 if decided else 0.0


def mean(values: list[int]) -> float:
    """Arithmetic mean; an exact integer stays an integer, as the engine reports it."""
    if not values:
        return 0.0
    total = sum(values)
    return total // len(values) if total % len(values) == 0 else total / len(values)


def median(values: list[int]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def p95(values: list[int]) -> float:
    """The largest value below 20 samples, else the value at index int(n * 0.95)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    if len(ordered) < 20:
        return ordered[-1]
    return ordered[min(int(len(ordered) * 0.95), len(ordered) - 1)]


@dataclass
class StageMetrics:
    """Aggregated metrics for one stage type; rates are percentages of decided runs."""

    stage_type: str
    execution_count: int = 0
    success_count: int = 0
    failure_count: int = 0
    skip_count: int = 0
    durations: list[int] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return _rate(self.success_count, self.success_count, self.failure_count)

    @property
    def failure_rate(self) -> float:
        return _rate(self.failure_count, self.success_count, self.failure_count)

    @property
    def avg_duration_ms(self) -> float:
        return mean(self.durations)

    @property
    def median_duration_ms(self) -> float:
        return median(self.durations)

    @property
    def p95_duration_ms(self) -> float:
        return p95(self.durations)

    @property
    def min_duration_ms(self) -> int:
        return min(self.durations) if self.durations else 0

    @property
    def max_duration_ms(self) -> int:
        return max(self.durations) if self.durations else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage_type": self.stage_type,
            "execution_count": self.execution_count,
            "success_count": self.success_count,
            "failure_count": self.failure_count,
            "skip_count": self.skip_count,
            "success_rate": round(self.success_rate, 2),
            "failure_rate": round(self.failure_rate, 2),
            "avg_duration_ms": round(self.avg_duration_ms, 2),
            "median_duration_ms": round(self.median_duration_ms, 2),
            "p95_duration_ms": round(self.p95_duration_ms, 2),
            "min_duration_ms": self.min_duration_ms,
            "max_duration_ms": self.max_duration_ms,
        }


@dataclass
class TaskMetrics:
    """Aggregated metrics for one task name, retries included."""

    task_name: str
    implementing_class: str | None = None
    execution_count: int = 0
    success_count: int = 0
    failure_count: int = 0
    retry_count: int = 0
    durations: list[int] = field(default_factory=list)

    @property
    def success_rate(self) -> float:
        return _rate(self.success_count, self.success_count, self.failure_count)

    @property
    def avg_duration_ms(self) -> float:
        return mean(self.durations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_name": self.task_name,
            "implementing_class": self.implementing_class,
            "execution_count": self.execution_count,
            "success_count": self.success_count,
            "failure_count": self.failure_count,
            "retry_count": self.retry_count,
            "success_rate": round(self.success_rate, 2),
            "avg_duration_ms": round(self.avg_duration_ms, 2),
        }


MAX_DURATION_MS = 2**63 - 1
"""Beyond this a stored duration is damage, not time (and a float could not hold the mean)."""


def _duration(data: dict[str, Any]) -> int | None:
    """Whole milliseconds, truncated as the engine does; anything non-numeric is ignored,
    and so are NaN, infinities and numbers no duration can be (``1e999`` parses as inf)."""
    value = data.get("duration_ms")
    if not isinstance(value, int | float) or not -MAX_DURATION_MS <= value <= MAX_DURATION_MS:
        return None
    return int(value)


class StageMetricsProjection(Projection):
    """Execution counts, outcome rates and duration statistics per stage type and task."""

    def __init__(self) -> None:
        # Private, but named as the engine names them: its own tests read them.
        self._stage_metrics: dict[str, StageMetrics] = {}
        self._task_metrics: dict[str, TaskMetrics] = {}
        self._seen: set[tuple[str, str, int | str]] = set()

    @property
    def name(self) -> str:
        return "stage_metrics"

    def handles_event_type(self, event: Event) -> bool:
        return event.entity_type in (EntityType.STAGE, EntityType.TASK)

    def reset(self) -> None:
        self._stage_metrics.clear()
        self._task_metrics.clear()
        self._seen.clear()

    def apply(self, event: Event) -> None:
        if not self.handles_event_type(event):
            return
        key = transition_key(event)
        if key in self._seen:
            return
        self._seen.add(key)
        if event.entity_type is EntityType.STAGE:
            self._apply_stage(event)
        else:
            self._apply_task(event)

    def _apply_stage(self, event: Event) -> None:
        """Any stage event makes its type known; only lifecycle events count."""
        stage_type = str(event.data.get("type") or UNKNOWN_STAGE_TYPE)
        metrics = self._stage_metrics.get(stage_type)
        if metrics is None:
            metrics = self._stage_metrics[stage_type] = StageMetrics(stage_type)
        kind = event.event_type
        if kind is EventType.STAGE_STARTED:
            metrics.execution_count += 1
        elif kind is EventType.STAGE_SKIPPED:
            metrics.skip_count += 1
        elif kind in (EventType.STAGE_COMPLETED, EventType.STAGE_FAILED):
            if kind is EventType.STAGE_COMPLETED:
                metrics.success_count += 1
            else:
                metrics.failure_count += 1
            duration = _duration(event.data)
            if duration is not None:
                metrics.durations.append(duration)

    def _apply_task(self, event: Event) -> None:
        name = str(event.data.get("name") or UNKNOWN_STAGE_TYPE)
        metrics = self._task_metrics.get(name)
        if metrics is None:
            metrics = self._task_metrics[name] = TaskMetrics(name)
        kind = event.event_type
        if kind is EventType.TASK_STARTED:
            metrics.execution_count += 1
            implementing = event.data.get("implementing_class")
            if implementing is not None:
                metrics.implementing_class = str(implementing)
        elif kind is EventType.TASK_RETRIED:
            metrics.retry_count += 1
        elif kind in (EventType.TASK_COMPLETED, EventType.TASK_FAILED):
            if kind is EventType.TASK_COMPLETED:
                metrics.success_count += 1
            else:
                metrics.failure_count += 1
            duration = _duration(event.data)
            if duration is not None:
                metrics.durations.append(duration)

    def get_state(self) -> dict[str, StageMetrics]:
        return dict(self._stage_metrics)

    def get_task_state(self) -> dict[str, TaskMetrics]:
        return dict(self._task_metrics)

    def get_metrics_for_type(self, stage_type: str) -> StageMetrics | None:
        return self._stage_metrics.get(stage_type)

    def get_task_metrics_for_name(self, task_name: str) -> TaskMetrics | None:
        return self._task_metrics.get(task_name)

    def get_top_slowest_stages(self, n: int = 10) -> list[tuple[str, float]]:
        """Stage types that have durations, slowest average first."""
        timed = [(t, m.avg_duration_ms) for t, m in self._stage_metrics.items() if m.durations]
        return sorted(timed, key=lambda item: item[1], reverse=True)[:n]

    def get_top_failing_stages(self, n: int = 10) -> list[tuple[str, float]]:
        rates = [(t, m.failure_rate) for t, m in self._stage_metrics.items()]
        return sorted(rates, key=lambda item: item[1], reverse=True)[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": {t: m.to_dict() for t, m in self._stage_metrics.items()},
            "tasks": {n: m.to_dict() for n, m in self._task_metrics.items()},
        }
