"""The engine's PostgreSQL tables, statement for statement as it creates them.

``create_tables=True`` runs these in the engine's order: the three tables, then the two
migrations (``last_commit_cursor``; ``commit_xid`` in two steps so the ADD is instant
and older rows keep NULL, then its index). ``commit_xid`` needs PostgreSQL 13 (xid8).
"""

from __future__ import annotations

from ..columns import EVENT_COLUMNS

CREATE_EVENTS = """
CREATE TABLE IF NOT EXISTS events (
    sequence BIGSERIAL PRIMARY KEY,
    event_id VARCHAR(26) NOT NULL UNIQUE,
    event_type VARCHAR(100) NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    entity_type VARCHAR(50) NOT NULL,
    entity_id VARCHAR(26) NOT NULL,
    workflow_id VARCHAR(26) NOT NULL,
    version INTEGER NOT NULL,
    data JSONB NOT NULL DEFAULT '{}',
    correlation_id VARCHAR(36) NOT NULL,
    causation_id VARCHAR(26),
    actor VARCHAR(255) DEFAULT 'system',
    source_handler VARCHAR(100),
    schema_version INTEGER DEFAULT 1
)"""

EVENT_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_events_entity ON events(entity_type, entity_id, sequence)",
    "CREATE INDEX IF NOT EXISTS idx_events_workflow ON events(workflow_id, sequence)",
    "CREATE INDEX IF NOT EXISTS idx_events_type ON events(event_type, timestamp)",
    "CREATE INDEX IF NOT EXISTS idx_events_correlation ON events(correlation_id)",
    "CREATE INDEX IF NOT EXISTS idx_events_timestamp ON events(timestamp)",
)

CREATE_SNAPSHOTS = """
CREATE TABLE IF NOT EXISTS snapshots (
    id SERIAL PRIMARY KEY,
    entity_type VARCHAR(50) NOT NULL,
    entity_id VARCHAR(26) NOT NULL,
    workflow_id VARCHAR(26) NOT NULL,
    version INTEGER NOT NULL,
    sequence BIGINT NOT NULL,
    state JSONB NOT NULL,
    state_hash VARCHAR(64),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    UNIQUE(entity_type, entity_id, version)
)"""

CREATE_SUBSCRIPTIONS = """
CREATE TABLE IF NOT EXISTS event_subscriptions (
    id VARCHAR(100) PRIMARY KEY,
    event_types TEXT[],
    entity_filter JSONB,
    last_sequence BIGINT DEFAULT 0,
    webhook_url VARCHAR(500),
    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    last_commit_cursor TEXT DEFAULT '0'
)"""

SUBSCRIPTIONS_CURSOR_MIGRATION = (
    "ALTER TABLE event_subscriptions ADD COLUMN IF NOT EXISTS last_commit_cursor TEXT DEFAULT '0'",
)
COMMIT_XID_MIGRATION = (
    "ALTER TABLE events ADD COLUMN IF NOT EXISTS commit_xid xid8",
    "ALTER TABLE events ALTER COLUMN commit_xid SET DEFAULT pg_current_xact_id()",
    "CREATE INDEX IF NOT EXISTS idx_events_commit ON events(commit_xid, sequence)",
)
MIN_COMMIT_XID_VERSION = 130000
"""``server_version_num`` from which xid8, ``pg_current_xact_id`` and snapshots exist."""

DDL = (
    CREATE_EVENTS,
    *EVENT_INDEXES,
    CREATE_SNAPSHOTS,
    "CREATE INDEX IF NOT EXISTS idx_snapshots_entity ON snapshots(entity_type, entity_id)",
    CREATE_SUBSCRIPTIONS,
    *SUBSCRIPTIONS_CURSOR_MIGRATION,
)
"""Everything but the commit_xid migration, which depends on the server's version."""

REQUIRED_TABLES = ("events", "snapshots", "event_subscriptions")
READ_COLUMNS = ", ".join(EVENT_COLUMNS)
SELECT_EVENTS = f"SELECT {READ_COLUMNS} FROM events"
