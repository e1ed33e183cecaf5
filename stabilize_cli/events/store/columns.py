"""The engine's ``events`` columns, in its order: the same names on every backend."""

from __future__ import annotations

EVENT_COLUMNS = (
    "sequence",
    "event_id",
    "event_type",
    "timestamp",
    "entity_type",
    "entity_id",
    "workflow_id",
    "version",
    "data",
    "correlation_id",
    "causation_id",
    "actor",
    "source_handler",
    "schema_version",
)
