"""The metrics cache's questions, answered by a PostgreSQL server.

A server database is named by the cluster's system identifier (and database name), never
by a URL that may hold a password; its oid tells a recreated database from the one an
entry was computed on. A role that may not call ``pg_control_system()`` names the
server by its address instead (still no user, no password).
"""

from __future__ import annotations

from typing import Any

from ...events.store.postgres import PostgresEventStore
from ..contracts import CacheIdentity
from .catalog import rows

IDENTITY = """
SELECT current_database(),
       (SELECT oid FROM pg_database WHERE datname = current_database()),
       CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE')
            THEN (SELECT system_identifier::text FROM pg_control_system()) END,
       coalesce(host(inet_server_addr()), 'local'), coalesce(inet_server_port(), 0)
"""


class PostgresCacheSubject:
    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store
        from ...events.store.postgres.connection import load_psycopg  # noqa: PLC0415

        self.driver_errors: tuple[type[Exception], ...] = (load_psycopg().Error,)
        self._identity: CacheIdentity | None = None

    def identity(self) -> CacheIdentity:
        if self._identity is None:
            database, oid, system, host, port = rows(self.store, IDENTITY)[0]
            server = f"system {system}" if system else f"{host}:{port}"
            self._identity = CacheIdentity(
                f"postgresql {server} database {database}",
                {"database_oid": int(oid), "server": str(system or f"{host}:{port}")},
            )
        return self._identity

    def last_sequence(self) -> int:
        return int(rows(self.store, "SELECT coalesce(max(sequence), 0) FROM events")[0][0])

    def sample_sequences(self, targets: list[int], checkpoint: int) -> list[int]:
        found: list[int] = []
        for target in targets:
            hit = rows(
                self.store,
                "SELECT sequence FROM events WHERE sequence >= %s AND sequence <= %s "
                "ORDER BY sequence LIMIT 1",
                (target, checkpoint),
            )
            if hit and hit[0][0] not in found:
                found.append(int(hit[0][0]))
        return found

    def prefix_rows(self, checkpoint: int, sequences: list[int]) -> tuple[int, list[Any]]:
        (count,) = rows(
            self.store, "SELECT count(*) FROM events WHERE sequence <= %s", (checkpoint,)
        )[0]
        sampled = rows(
            self.store,
            "SELECT sequence, event_id, event_type, timestamp::text, entity_type, entity_id, "
            "workflow_id, version, data::text, correlation_id, causation_id, actor, "
            "source_handler, schema_version FROM events WHERE sequence = ANY(%s) "
            "ORDER BY sequence",
            (sequences,),
        )
        return int(count), [tuple(r) for r in sampled]
