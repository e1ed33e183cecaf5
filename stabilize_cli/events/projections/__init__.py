"""Views folded from events: stage metrics and workflow timelines."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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


def __getattr__(name: str) -> Any:
    """Import on first use: a timeline need not load the metrics projection."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "Projection",
    "StageMetrics",
    "StageMetricsProjection",
    "TaskMetrics",
    "TimelineEntry",
    "WorkflowTimeline",
    "WorkflowTimelineProjection",
]
