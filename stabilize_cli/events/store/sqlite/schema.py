"""The engine's SQLite tables, exactly as it creates them: both sides read each other's files."""

from __future__ import annotations

import sqlite3

from ..columns import EVENT_COLUMNS

__all__ = ["DDL", "EVENT_COLUMNS", "unknown_columns"]

CREATE_EVENTS = """
CREATE TABLE IF NOT EXISTS events (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL DEFAULT '{}',
    correlation_id TEXT NOT NULL,
    causation_id TEXT,
    actor TEXT DEFAULT 'system',
    source_handler TEXT,
    schema_version INTEGER DEFAULT 1
)"""

CREATE_SNAPSHOTS = """
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entity_type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    state TEXT NOT NULL,
    state_hash VARCHAR(64),
    created_at TEXT DEFAULT (datetime('now', 'utc')),
    UNIQUE(entity_type, entity_id, version)
)"""

CREATE_SUBSCRIPTIONS = """
CREATE TABLE IF NOT EXISTS event_subscriptions (
    id TEXT PRIMARY KEY,
    event_types TEXT,
    entity_filter TEXT,
    last_sequence INTEGER DEFAULT 0,
    webhook_url TEXT,
    created_at TEXT DEFAULT (datetime('now', 'utc')),
    updated_at TEXT DEFAULT (datetime('now', 'utc')),
    last_commit_cursor TEXT DEFAULT '0'
)"""

DDL = (
    CREATE_EVENTS,
    "CREATE INDEX IF NOT EXISTS idx_events_entity ON events(entity_type, entity_id, sequence)",
    "CREATE INDEX IF NOT EXISTS idx_events_workflow ON events(workflow_id, sequence)",
    "CREATE INDEX IF NOT EXISTS idx_events_type ON events(event_type, timestamp)",
    "CREATE INDEX IF NOT EXISTS idx_events_correlation ON events(correlation_id)",
    "CREATE INDEX IF NOT EXISTS idx_events_timestamp ON events(timestamp)",
    CREATE_SNAPSHOTS,
    "CREATE INDEX IF NOT EXISTS idx_snapshots_entity ON snapshots(entity_type, entity_id)",
    CREATE_SUBSCRIPTIONS,
)


def unknown_columns(conn: sqlite3.Connection) -> tuple[str, ...]:
    """The columns of ``events`` beyond the engine's, in table order."""
    known = set(EVENT_COLUMNS)
    return tuple(str(r[1]) for r in conn.execute("PRAGMA table_info(events)") if r[1] not in known)
