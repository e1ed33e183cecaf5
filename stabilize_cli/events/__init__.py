"""The event-sourcing API of ``stabilize.events``, on the engine's SQLite and PostgreSQL formats.

Every public name of the engine's module is importable from here with the same
parameters, defaults and return types. This package imports neither Typer nor Rich.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy_exports import lazy_getattr

if TYPE_CHECKING:
    from .base import EntityType, Event, EventMetadata, EventType
    from .bus import (
        EventBus,
        EventBusStats,
        Subscription,
        SubscriptionMode,
        configure_event_bus,
        get_event_bus,
        reset_event_bus,
    )
    from .diff import Change, diff_values
    from .errors import (
        DuplicateEventError,
        EventDecodeError,
        EventSourcingError,
        SchemaError,
        SnapshotIntegrityError,
        StoreBusyError,
        StoreCorruptError,
        StoreError,
        StoreOpenError,
        SubscriptionError,
    )
    from .projections import (
        Projection,
        StageMetrics,
        StageMetricsProjection,
        TaskMetrics,
        TimelineEntry,
        WorkflowTimeline,
        WorkflowTimelineProjection,
    )
    from .recorder import (
        EventRecorder,
        StageRecord,
        TaskRecord,
        WorkflowRecord,
        configure_event_recorder,
        configure_event_sourcing,
        event_context,
        get_event_metadata,
        get_event_recorder,
        reset_event_recorder,
        set_event_context,
    )
    from .replay import EventReplayer, ReplayResult
    from .snapshots import Snapshot, SnapshotPolicy, SnapshotStore
    from .state import WorkflowState
    from .store import AppendResult, EventQuery, EventStore, SqliteEventStore
    from .store.postgres import PostgresEventStore
    from .subscriptions import DurableSubscription, SubscriptionManager

_HOME = {
    "AppendResult": ".store",
    "Change": ".diff",
    "DuplicateEventError": ".errors",
    "DurableSubscription": ".subscriptions",
    "EntityType": ".base",
    "Event": ".base",
    "EventBus": ".bus",
    "EventBusStats": ".bus",
    "EventDecodeError": ".errors",
    "EventMetadata": ".base",
    "EventQuery": ".store",
    "EventRecorder": ".recorder",
    "EventReplayer": ".replay",
    "EventSourcingError": ".errors",
    "EventStore": ".store",
    "EventType": ".base",
    "PostgresEventStore": ".store.postgres",
    "Projection": ".projections",
    "ReplayResult": ".replay",
    "SchemaError": ".errors",
    "Snapshot": ".snapshots",
    "SnapshotIntegrityError": ".errors",
    "SnapshotPolicy": ".snapshots",
    "SnapshotStore": ".snapshots",
    "SqliteEventStore": ".store",
    "StageMetrics": ".projections",
    "StageMetricsProjection": ".projections",
    "StageRecord": ".recorder",
    "StoreBusyError": ".errors",
    "StoreCorruptError": ".errors",
    "StoreError": ".errors",
    "StoreOpenError": ".errors",
    "Subscription": ".bus",
    "SubscriptionError": ".errors",
    "SubscriptionManager": ".subscriptions",
    "SubscriptionMode": ".bus",
    "TaskMetrics": ".projections",
    "TaskRecord": ".recorder",
    "TimelineEntry": ".projections",
    "WorkflowRecord": ".recorder",
    "WorkflowState": ".state",
    "WorkflowTimeline": ".projections",
    "WorkflowTimelineProjection": ".projections",
    "configure_event_bus": ".bus",
    "configure_event_recorder": ".recorder",
    "configure_event_sourcing": ".recorder",
    "diff_values": ".diff",
    "event_context": ".recorder",
    "get_event_bus": ".bus",
    "get_event_metadata": ".recorder",
    "get_event_recorder": ".recorder",
    "reset_event_bus": ".bus",
    "reset_event_recorder": ".recorder",
    "set_event_context": ".recorder",
}


__getattr__ = lazy_getattr(__name__, _HOME, globals())


__all__ = [
    "AppendResult",
    "Change",
    "DuplicateEventError",
    "DurableSubscription",
    "EntityType",
    "Event",
    "EventBus",
    "EventBusStats",
    "EventDecodeError",
    "EventMetadata",
    "EventQuery",
    "EventRecorder",
    "EventReplayer",
    "EventSourcingError",
    "EventStore",
    "EventType",
    "PostgresEventStore",
    "Projection",
    "ReplayResult",
    "SchemaError",
    "Snapshot",
    "SnapshotIntegrityError",
    "SnapshotPolicy",
    "SnapshotStore",
    "SqliteEventStore",
    "StageMetrics",
    "StageMetricsProjection",
    "StageRecord",
    "StoreBusyError",
    "StoreCorruptError",
    "StoreError",
    "StoreOpenError",
    "Subscription",
    "SubscriptionError",
    "SubscriptionManager",
    "SubscriptionMode",
    "TaskMetrics",
    "TaskRecord",
    "TimelineEntry",
    "WorkflowRecord",
    "WorkflowState",
    "WorkflowTimeline",
    "WorkflowTimelineProjection",
    "configure_event_bus",
    "configure_event_recorder",
    "configure_event_sourcing",
    "diff_values",
    "event_context",
    "get_event_bus",
    "get_event_metadata",
    "get_event_recorder",
    "reset_event_bus",
    "reset_event_recorder",
    "set_event_context",
]
