"""Views folded from events: stage metrics and workflow timelines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from .base import Projection
    from .metrics import StageMetrics, StageMetricsProjection, TaskMetrics
    from .timeline import TimelineEntry, WorkflowTimeline, WorkflowTimelineProjection

_HOME = {
    "Projection": ".base",
    "StageMetrics": ".metrics",
    "StageMetricsProjection": ".metrics",
    "TaskMetrics": ".metrics",
    "TimelineEntry": ".timeline",
    "WorkflowTimeline": ".timeline",
    "WorkflowTimelineProjection": ".timeline",
}


__getattr__ = lazy_getattr(__name__, _HOME, globals())
"""A timeline need not load the metrics projection."""


__all__ = [
    "Projection",
    "StageMetrics",
    "StageMetricsProjection",
    "TaskMetrics",
    "TimelineEntry",
    "WorkflowTimeline",
    "WorkflowTimelineProjection",
]
