"""Views folded from events: stage metrics and workflow timelines."""

from .base import Projection
from .metrics import StageMetrics, StageMetricsProjection, TaskMetrics
from .timeline import TimelineEntry, WorkflowTimeline, WorkflowTimelineProjection

__all__ = [
    "Projection",
    "StageMetrics",
    "StageMetricsProjection",
    "TaskMetrics",
    "TimelineEntry",
    "WorkflowTimeline",
    "WorkflowTimelineProjection",
]
