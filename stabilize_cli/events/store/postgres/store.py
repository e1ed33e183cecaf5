"""PostgreSQL event store in the engine's own table layout (``stabilize[postgres]``).

Same API as :class:`SqliteEventStore`; rows are exactly the engine's, so each side reads
what the other writes. One autocommit session per thread; writes run in explicit
transactions, and :meth:`consistent_reads` makes several reads share one snapshot.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ...base import EntityType, Event, EventType
from ...errors import EventDecodeError, SchemaError, StoreError
from ..columns import EVENT_COLUMNS
from ..elision import Elision
from ..interface import UNLIMITED, AuditableStore, EventQuery
from ..raw import ReadNotes, UnreadableRow
from .codec import elided_event_from_pg_row, event_columns, event_from_pg_row
from .commit_order import MIN_SEQUENCE, CommitCursor, FeedPage, FeedPosition
from .connection import Server, resolve_busy_timeout
from .schema import (
    COMMIT_XID_MIGRATION,
    DDL,
    MIN_COMMIT_XID_VERSION,
    READ_COLUMNS,
    REQUIRED_TABLES,
    SELECT_EVENTS,
)
from .side_tables import PostgresSideTablesMixin

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)
PAGE_SIZE = 1000
_CAST = (
    "varchar[]",
    "varchar[]",
    "timestamptz[]",
    "varchar[]",
    "varchar[]",
    "varchar[]",
    "int[]",
    "jsonb[]",
    "varchar[]",
    "varchar[]",
    "varchar[]",
    "varchar[]",
    "int[]",
)
INSERT_BATCH = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS[1:])}) "
    f"SELECT * FROM unnest({', '.join(f'%s::{cast}' for cast in _CAST)}) "
    "RETURNING sequence, event_id"
)
"""The whole batch in one statement, where the sequence column has no sequence of its own."""
COPY_EVENTS = f"COPY events ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
_ORDER_SQL = {
    "sequence": "sequence",
    "timestamp": "timestamp",
    "version": "version",
    "event_type": 'event_type COLLATE "C"',
    "entity_type": 'entity_type COLLATE "C"',
    "entity_id": 'entity_id COLLATE "C"',
    "workflow_id": 'workflow_id COLLATE "C"',
}
"""Text sorts by code point, as on SQLite, whatever the database's collation."""


def _select_eliding(elide: Elision) -> tuple[str, tuple[Any, ...]]:
    """The columns with ``data`` NULL where the payload need not be read (an object with
    none of the keys the caller reads: JSONB keeps one value per key, the last, as
    Python's decoder does), and a 15th, whether the stored ``data`` is not NULL."""
    light = (
        "event_type = ANY(%s) AND jsonb_typeof(data) = 'object' AND NOT jsonb_exists_any(data, %s)"
    )
    columns = ", ".join(
        f"CASE WHEN {light} THEN NULL ELSE data END" if c == "data" else c for c in EVENT_COLUMNS
    )
    types = sorted(t.value for t in elide.event_types)
    return f"SELECT {columns}, data IS NOT NULL FROM events", (types, sorted(elide.read_keys))


class PostgresEventStore(PostgresSideTablesMixin, AuditableStore):
    """Events in PostgreSQL; sequences from the ``BIGSERIAL``, commit order from
    ``commit_xid`` where the server has it (13 and later)."""

    backend = "postgres"

    def __init__(
        self,
        connection_string: str,
        create_tables: bool = False,
        schema: str | None = None,
        *,
        read_only: bool = False,
        busy_timeout: float | None = None,
        event_filter: Callable[[Event], Event] | None = None,
        notes: ReadNotes | None = None,
    ) -> None:
        """``create_tables`` (the engine's default: off) runs the engine's DDL.

        ``schema`` (the engine's): the schema holding the event tables; every session
        puts it first on its ``search_path``, and a table that resolves elsewhere is
        refused (:meth:`resolved_schema` says where they resolved).

        ``read_only=True`` (ours): every session refuses writes
        (``default_transaction_read_only``); the real guard is a SELECT-only role,
        with which every read here works. ``busy_timeout`` (ours): seconds a statement
        may wait for a lock before :class:`StoreBusyError` (default 30).
        ``event_filter`` and ``notes``: as for :class:`SqliteEventStore`.
        """
        if read_only and create_tables:
            raise ValueError("read_only needs create_tables=False")
        self._notes = notes
        self.event_filter = event_filter
        self.unreadable_filter: Callable[[UnreadableRow], UnreadableRow] | None = None
        self.snapshot_filter: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self._server = Server(
            connection_string.strip(), read_only, resolve_busy_timeout(busy_timeout), schema
        )
        self._resolved_schema: str | None = None
        self._local = threading.local()
        self._all: list[psycopg.Connection[Any]] = []
        self._all_lock = threading.Lock()
        self.commit_order_note: str | None = None
        """Why commit-ordered reads fall back to sequence order (None: they do not)."""
        try:
            conn = self._conn()
            with self._server.translate():
                self.server_version = int(conn.info.server_version)
                if create_tables:
                    self._create_tables(conn)
                self._check_tables(conn)
                self._commit_xid = self._has_commit_xid(conn)
                if notes is not None:
                    notes.extra_columns = self._extra_columns(conn)
        except BaseException:
            self.close()
            raise

    # -- sessions ----------------------------------------------------------------------

    @property
    def location(self) -> str:
        """The connection string with its password masked, for messages."""
        return self._server.shown

    @property
    def path(self) -> str:
        """The connection string with its password masked (what messages show)."""
        return self._server.shown

    @property
    def is_memory(self) -> bool:
        return False

    @property
    def read_only(self) -> bool:
        return self._server.read_only

    def refresh(self) -> bool:
        """Nothing to reopen: every statement outside :meth:`consistent_reads` sees the
        latest commits."""
        return False

    def _conn(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = self._server.connect()
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def reading(self) -> Iterator[psycopg.Connection[Any]]:
        """This thread's session, inside :meth:`consistent_reads` if one is open."""
        with self._server.translate():
            yield self._conn()

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """A write transaction (a savepoint inside :meth:`consistent_reads`: refused
        there by a read-only snapshot)."""
        with self._server.translate():
            conn = self._conn()
            with conn.transaction():
                yield conn

    @contextmanager
    def consistent_reads(self) -> Iterator[None]:
        """Every read inside sees one snapshot (REPEATABLE READ READ ONLY), so several
        queries of one report agree with each other while writers go on."""
        conn = self._conn()
        if getattr(self._local, "snapshot_depth", 0):
            self._local.snapshot_depth += 1
            try:
                yield
            finally:
                self._local.snapshot_depth -= 1
            return
        with self._server.translate():
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        self._local.snapshot_depth = 1
        try:
            yield
        finally:
            self._local.snapshot_depth = 0
            try:
                conn.execute("ROLLBACK")  # read-only: nothing to keep
            except Exception:  # a session gone meanwhile has already said so
                logger.debug("ending a read-only snapshot failed", exc_info=True)

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except Exception:  # closing a dead session must not raise
                logger.debug("closing a PostgreSQL session failed", exc_info=True)
        self._local = threading.local()

    def __enter__(self) -> PostgresEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ------------------------------------------------------------------------

    def _create_tables(self, conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            for statement in DDL:
                conn.execute(statement)
            if self.server_version >= MIN_COMMIT_XID_VERSION:
                for statement in COMMIT_XID_MIGRATION:
                    conn.execute(statement)

    def resolved_schema(self) -> str | None:
        """The schema the event tables resolved to when the store was opened."""
        return self._resolved_schema

    def _check_tables(self, conn: psycopg.Connection[Any]) -> None:
        """Name what is missing: the engine's tables, or columns of ``events``."""
        spaces = {
            str(row[0])
            for row in conn.execute(
                "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.oid = ANY(ARRAY[to_regclass('events'), to_regclass('snapshots'), "
                "to_regclass('event_subscriptions')])"
            ).fetchall()
        }
        wanted = self._server.schema
        if wanted is not None and spaces - {wanted}:
            raise SchemaError(
                f"{self.location}: the event tables resolve to schema "
                f"{', '.join(sorted(spaces))}, not {wanted}"
            )
        if len(spaces) > 1:
            raise SchemaError(
                f"{self.location}: the event tables resolve to more than one schema "
                f"({', '.join(sorted(spaces))}): a shadow copy on the search_path?"
            )
        self._resolved_schema = next(iter(spaces), None)
        present = {
            name
            for name in REQUIRED_TABLES
            if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None  # type: ignore[index]
        }
        if "events" not in present:
            missing = ", ".join(t for t in REQUIRED_TABLES if t not in present)
            raise SchemaError(
                f"{self.location}: not a Stabilize event store (missing tables: {missing})"
            )
        columns = set(self._event_columns(conn))
        absent = [c for c in EVENT_COLUMNS if c not in columns]
        if absent:
            raise SchemaError(f"{self.location}: events table lacks columns: {', '.join(absent)}")

    @staticmethod
    def _event_columns(conn: psycopg.Connection[Any]) -> list[str]:
        rows = conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass('events') "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def _extra_columns(self, conn: psycopg.Connection[Any]) -> tuple[str, ...]:
        known = {*EVENT_COLUMNS, "commit_xid"}
        return tuple(c for c in self._event_columns(conn) if c not in known)

    def _has_commit_xid(self, conn: psycopg.Connection[Any]) -> bool:
        if self.server_version < MIN_COMMIT_XID_VERSION:
            self.commit_order_note = (
                f"PostgreSQL {self.server_version // 10000} has no commit_xid: "
                "following in sequence order"
            )
            return False
        if "commit_xid" not in self._event_columns(conn):
            self.commit_order_note = "events has no commit_xid column: following in sequence order"
            return False
        return True

    # -- appending ---------------------------------------------------------------------

    def append_batch(self, events: list[Event], connection: Any | None = None) -> list[Event]:
        """Every row in one COPY (sequences taken first from the table's own sequence),
        in one transaction: the engine sends one INSERT per event, five times slower.

        An event PostgreSQL cannot hold (a NUL character) is refused before anything is
        sent, naming it. With ``connection`` (a psycopg connection) the rows join the
        caller's transaction inside a savepoint, and the caller commits.
        """
        if not events:
            return []
        columns = event_columns(events)
        if connection is not None:
            with self._server.translate():
                sequences = self._insert_in(connection, columns, len(events))
        else:
            with self.transaction() as conn:
                sequences = self._insert(conn, columns, len(events))
        return [e.with_sequence(seq) for e, seq in zip(events, sequences, strict=True)]

    def _insert_in(
        self, conn: psycopg.Connection[Any], columns: tuple[list[Any], ...], count: int
    ) -> list[int]:
        """Join the caller's transaction (psycopg opens one at the first statement) and
        leave the commit to it; a savepoint keeps the batch all-or-nothing. An autocommit
        connection has no transaction to join: the batch gets one of its own."""
        if conn.autocommit:
            with conn.transaction():
                return self._insert(conn, columns, count)
        conn.execute("SAVEPOINT stabilize_append_batch")
        try:
            sequences = self._insert(conn, columns, count)
        except BaseException:
            if not conn.closed:
                conn.execute("ROLLBACK TO SAVEPOINT stabilize_append_batch")
                conn.execute("RELEASE SAVEPOINT stabilize_append_batch")
            raise
        conn.execute("RELEASE SAVEPOINT stabilize_append_batch")
        return sequences

    def _insert(
        self, conn: psycopg.Connection[Any], columns: tuple[list[Any], ...], count: int
    ) -> list[int]:
        sequence_name = self._sequence_name(conn)
        if sequence_name is None:  # no sequence owned by the column: let the default run
            rows = conn.execute(INSERT_BATCH, columns).fetchall()
            by_id = {event_id: sequence for sequence, event_id in rows}
            return [by_id[event_id] for event_id in columns[0]]
        sequences = [
            int(row[0])
            for row in conn.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", (sequence_name, count)
            ).fetchall()
        ]
        with conn.cursor().copy(COPY_EVENTS) as copy:
            for row in zip(sequences, *columns, strict=True):
                copy.write_row(row)
        return sequences

    def _sequence_name(self, conn: psycopg.Connection[Any]) -> str | None:
        """The sequence behind ``events.sequence`` (the BIGSERIAL's, or a restored dump's)."""
        if not hasattr(self, "_sequence"):
            row = conn.execute("SELECT pg_get_serial_sequence('events', 'sequence')").fetchone()
            self._sequence: str | None = None if row is None else row[0]
        return self._sequence

    # -- reading -----------------------------------------------------------------------

    def get_events(self, query: EventQuery) -> Iterator[Event]:
        return self._events_only(self.get_rows(query))

    def get_rows(self, query: EventQuery) -> Iterator[Event | UnreadableRow]:
        """Ours: :meth:`get_events`, with an :class:`UnreadableRow` in the place of each
        row the codec refuses (it counts towards ``limit``)."""
        query.validate()
        where, params = _compile(query)
        if query.order_by == "sequence":
            return self._stream_by_sequence(where, params, query)
        return self._stream_ordered(where, params, query)

    def _events_only(self, rows: Iterator[Event | UnreadableRow]) -> Iterator[Event]:
        for row in rows:
            if isinstance(row, Event):
                yield row
            elif self._notes is None:
                raise row.error

    def _stream_by_sequence(
        self, where: str, params: tuple[Any, ...], query: EventQuery, elide: Elision | None = None
    ) -> Iterator[Event | UnreadableRow]:
        """Keyset pages by sequence, each a short statement; an ascending stream stops at
        the head it saw after its first page (it must not chase a busy writer)."""
        ascending = query.ascending
        direction = "ASC" if ascending else "DESC"
        keyset = "sequence > %s AND sequence <= %s" if ascending else "sequence < %s"
        cursor_seq = MIN_SEQUENCE if ascending else UNLIMITED
        ceiling = UNLIMITED
        to_skip = query.offset
        remaining = query.limit
        select = SELECT_EVENTS
        if elide is not None:
            select, light = _select_eliding(elide)
            params = (*light, *params)
        sql = f"{select} WHERE {where} AND {keyset} ORDER BY sequence {direction} LIMIT %s"
        while remaining > 0:
            page_size = min(PAGE_SIZE, remaining + to_skip)
            bounds = (cursor_seq, ceiling) if ascending else (cursor_seq,)
            rows = self._fetch(sql, (*params, *bounds, page_size))
            if not rows:
                return
            if ascending and ceiling == UNLIMITED and len(rows) == page_size:
                ceiling = self.get_current_sequence()
            cursor_seq = rows[-1][0]
            decoded = self._decode(rows) if elide is None else self._elided(rows, elide)
            for event in decoded:
                if to_skip:
                    to_skip -= 1
                    continue
                yield event
                remaining -= 1
                if remaining == 0:
                    return
            if len(rows) < page_size:
                return

    def _stream_ordered(
        self, where: str, params: tuple[Any, ...], query: EventQuery
    ) -> Iterator[Event | UnreadableRow]:
        """Other orders: the matching sequences in one statement, then rows by page."""
        direction = "ASC" if query.ascending else "DESC"
        order = _ORDER_SQL[query.order_by]
        sequences = [
            row[0]
            for row in self._fetch(
                f"SELECT sequence FROM events WHERE {where} "
                f"ORDER BY {order} {direction}, sequence {direction} LIMIT %s OFFSET %s",
                (*params, query.limit, query.offset),
            )
        ]
        for start in range(0, len(sequences), PAGE_SIZE):
            page = sequences[start : start + PAGE_SIZE]
            rows = {
                r[0]: r for r in self._fetch(f"{SELECT_EVENTS} WHERE sequence = ANY(%s)", (page,))
            }
            yield from self._decode([rows[seq] for seq in page if seq in rows])

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self.reading() as conn:
            return conn.execute(sql, params).fetchall()

    def _decode(self, rows: list[tuple[Any, ...]]) -> Iterator[Event | UnreadableRow]:
        notes = self._notes
        event_filter = self.event_filter
        for row in rows:
            try:
                event = event_from_pg_row(row)
            except EventDecodeError as error:
                unreadable = UnreadableRow.of(row, error)
                if notes is not None:
                    notes.met_unreadable(unreadable)
                filt = self.unreadable_filter
                yield unreadable if filt is None else filt(unreadable)
                continue
            if notes is not None:
                notes.met_event((*row[:3], event.timestamp.isoformat(), *row[4:]), event)
            yield event if event_filter is None else event_filter(event)

    def _elided(
        self, rows: list[tuple[Any, ...]], elide: Elision
    ) -> Iterator[Event | UnreadableRow]:
        """Rows of :func:`_select_eliding`: as the SQLite store's ``_elided``."""
        notes = self._notes
        payload = elide.payload()
        for row in rows:
            if row[8] is not None or not row[14]:
                yield from self._decode([row[:14]])
                continue
            event = elided_event_from_pg_row(row, payload)
            if event is None:
                again = self._fetch(f"{SELECT_EVENTS} WHERE sequence = %s", (row[0],))
                yield from self._decode(again)
                continue
            if notes is not None:
                notes.met_event((*row[:3], event.timestamp.isoformat(), *row[4:14]), event)
            yield event

    def _all_where(self, where: str, params: tuple[Any, ...]) -> list[Event]:
        return list(
            self._events_only(self._stream_by_sequence(where, params, EventQuery(limit=UNLIMITED)))
        )

    def get_events_for_entity(
        self, entity_type: EntityType, entity_id: str, from_version: int = 0
    ) -> list[Event]:
        return self._all_where(
            "entity_type = %s AND entity_id = %s AND version > %s",
            (EntityType(entity_type).value, entity_id, from_version),
        )

    def get_events_for_workflow(self, workflow_id: str, from_sequence: int = 0) -> list[Event]:
        return self._all_where("workflow_id = %s AND sequence > %s", (workflow_id, from_sequence))

    def iter_workflow_events(
        self,
        workflow_id: str,
        from_sequence: int = 0,
        to_sequence: int | None = None,
        *,
        elide: Elision | None = None,
    ) -> Iterator[Event]:
        """Like :meth:`get_events_for_workflow`, streamed and optionally bounded above."""
        upper = UNLIMITED if to_sequence is None else to_sequence
        return self._events_only(
            self._stream_by_sequence(
                "workflow_id = %s AND sequence > %s AND sequence <= %s",
                (workflow_id, from_sequence, upper),
                EventQuery(limit=UNLIMITED),
                elide,
            )
        )

    def get_current_sequence(self) -> int:
        value = self._fetch("SELECT MAX(sequence) FROM events", ())[0][0]
        return int(value or 0)

    def get_events_since(self, sequence: int, limit: int = 1000) -> list[Event]:
        """In sequence order, as the engine's; commit order: :meth:`read_feed`."""
        return list(self.get_events(EventQuery(from_sequence=sequence, limit=limit)))

    def get_event_by_id(self, event_id: str) -> Event | None:
        rows = self._fetch(f"{SELECT_EVENTS} WHERE event_id = %s", (event_id,))
        if not rows:
            return None
        event = event_from_pg_row(rows[0])
        return event if self.event_filter is None else self.event_filter(event)

    def count_events(self, query: EventQuery | None = None) -> int:
        where, params = _compile(query or EventQuery())
        return int(self._fetch(f"SELECT COUNT(*) FROM events WHERE {where}", params)[0][0])

    # -- commit order ------------------------------------------------------------------

    def supports_commit_cursor(self) -> bool:
        """The engine's name: whether this server and table can give commit order."""
        return self._commit_xid

    def commit_order_problem(self) -> str | None:
        """Why commit order cannot be trusted right now, or None.

        A visible row whose ``commit_xid`` is at or past the snapshot's xmax cannot
        have been committed by this cluster: the rows came from a restored dump of
        another, and a frontier-based reader would hide them until this cluster's
        counter passes them. Sequence order shows them all.
        """
        if not self._commit_xid:
            return self.commit_order_note
        row = self._fetch(
            "SELECT (SELECT max(commit_xid) FROM events)::text, "
            "pg_snapshot_xmax(pg_current_snapshot())::text",
            (),
        )[0]
        if row[0] is not None and int(row[0]) >= int(row[1]):
            return (
                f"events carry commit_xid values up to {row[0]}, ahead of this server's "
                f"transaction counter ({row[1]}; a dump restored from another cluster?): "
                "following in sequence order"
            )
        return None

    def head_position(self) -> FeedPosition:
        """Where a reader starts that takes everything written so far as history
        (``start_from="latest"``): the highest sequence, and the snapshot's xmax.

        Not xmin: a transaction open elsewhere on the server holds xmin below rows that
        are already visible, and a reader starting there would replay them. Everything
        below xmax is committed or in flight, and in-flight rows took their sequences
        before now: history too, as on SQLite, where ``latest`` is the highest sequence.
        """
        sequence = self.get_current_sequence()
        if not self._commit_xid:
            return FeedPosition(sequence, "0")
        xmax = self._fetch("SELECT pg_snapshot_xmax(pg_current_snapshot())::text", ())
        return FeedPosition(sequence, str(xmax[0][0]))

    def follow_start(self) -> tuple[FeedPosition, int, frozenset[int]]:
        """Where a follower starts: the frontier (xmin), the highest sequence visible, and
        the visible rows at or above the frontier (committed while an older transaction
        was still open). A follower shows its backlog up to that sequence, then reads the
        feed from the frontier, passing over those rows: nothing twice, and a transaction
        still open now is shown when it commits, even with a lower sequence."""
        row = self._fetch(
            "WITH s AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin) "
            "SELECT s.xmin::text, (SELECT max(sequence) FROM events), "
            "(SELECT array_agg(sequence) FROM events WHERE commit_xid >= s.xmin) FROM s",
            (),
        )[0]
        head = int(row[1] or 0)
        return FeedPosition(MIN_SEQUENCE, str(row[0])), head, frozenset(row[2] or ())

    def read_feed(self, position: FeedPosition, limit: int = 1000) -> FeedPage:
        """Up to ``limit`` events after ``position``, in commit order where it can be
        trusted (else in sequence order, saying why), with the position after each."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1 (got {limit})")
        problem = self.commit_order_problem()
        if problem is not None:
            return self._read_by_sequence(position, limit, problem)
        cursor = self._resolve(position)
        page = FeedPage()
        if cursor.xid == 0:
            rows = self._fetch(
                f"{SELECT_EVENTS} WHERE commit_xid IS NULL AND sequence > %s "
                "ORDER BY sequence LIMIT %s",
                (MIN_SEQUENCE if cursor.sequence is None else cursor.sequence, limit),
            )
            self._add(page, [(0, row) for row in rows])
            if len(rows) == limit:
                page.end = page.positions[-1]
                return page
            cursor = CommitCursor(0, MIN_SEQUENCE)
        remaining = limit - len(page.events)
        after = MIN_SEQUENCE if cursor.sequence is None else cursor.sequence
        result = self._fetch(
            "WITH w AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS wm) "
            f"SELECT w.wm::text, e.* FROM w LEFT JOIN LATERAL ("
            f"SELECT commit_xid::text AS xid, {READ_COLUMNS} FROM events "
            "WHERE commit_xid < w.wm AND (commit_xid, sequence) > (%s::text::xid8, %s) "
            "ORDER BY commit_xid, sequence LIMIT %s) e ON true",
            (str(cursor.xid), after, remaining),
        )
        frontier = int(result[0][0])
        rows = [(int(r[1]), r[2:]) for r in result if r[1] is not None]
        self._add(page, rows)
        if len(rows) == remaining:
            page.end = page.positions[-1]
        else:
            last = page.positions[-1] if page.positions else position
            known = CommitCursor.parse(position.commit_cursor).xid
            page.end = FeedPosition(last.last_sequence, str(max(frontier, known)))
        return page

    def _resolve(self, position: FeedPosition) -> CommitCursor:
        """The engine's two columns as a cursor: inside a transaction when the row
        ``last_sequence`` itself carries the cursor's xid."""
        cursor = CommitCursor.parse(position.commit_cursor)
        rows = self._fetch(
            "SELECT coalesce(commit_xid, '0'::xid8)::text FROM events WHERE sequence = %s",
            (position.last_sequence,),
        )
        if rows and int(rows[0][0]) == cursor.xid:
            return CommitCursor(cursor.xid, position.last_sequence)
        return cursor

    def _add(self, page: FeedPage, rows: list[tuple[int, tuple[Any, ...]]]) -> None:
        """Decoded events with the position after each (an unreadable row is skipped
        past when notes are kept, as a tolerant read leaves it out; else it raises)."""
        for xid, row in rows:
            decoded = next(self._decode([row]))
            position = FeedPosition(int(row[0]), str(xid))
            if isinstance(decoded, Event):
                page.events.append(decoded)
                page.positions.append(position)
            elif self._notes is None:
                raise decoded.error
            page.rows.append(decoded)

    def _read_by_sequence(self, position: FeedPosition, limit: int, reason: str) -> FeedPage:
        events = self.get_events_since(position.last_sequence, limit)
        positions = [FeedPosition(e.sequence, position.commit_cursor) for e in events]
        end = positions[-1] if positions else position
        return FeedPage(
            events=events,
            positions=positions,
            rows=list(events),
            end=end,
            commit_ordered=False,
            fallback_reason=reason,
        )

    def get_events_since_committed(self, cursor: str, limit: int = 1000) -> tuple[list[Event], str]:
        """The engine's commit-ordered read, without its skip: a page cut by ``limit``
        returns ``"xid:sequence"`` (ours) as the next cursor, never the frontier."""
        parsed = CommitCursor.parse(cursor)
        if parsed.sequence is None:
            position = FeedPosition(MIN_SEQUENCE, str(parsed.xid))
        else:
            position = FeedPosition(parsed.sequence, str(parsed.xid))
        page = self.read_feed(position, limit)
        if not page.commit_ordered:
            raise StoreError(f"{self.location}: {page.fallback_reason}")
        end = page.end
        inside = page.positions and end == page.positions[-1]
        next_cursor = f"{end.commit_cursor}:{end.last_sequence}" if inside else end.commit_cursor
        return page.events, next_cursor


def _compile(query: EventQuery) -> tuple[str, tuple[Any, ...]]:
    """The WHERE clause; timestamps compare as instants (``timestamptz``), exactly."""
    clauses = ["TRUE"]
    params: list[Any] = []
    if query.entity_type is not None:
        clauses.append("entity_type = %s")
        params.append(EntityType(query.entity_type).value)
    if query.entity_id is not None:
        clauses.append("entity_id = %s")
        params.append(query.entity_id)
    if query.workflow_id is not None:
        clauses.append("workflow_id = %s")
        params.append(query.workflow_id)
    if query.event_types is not None:
        clauses.append("event_type = ANY(%s)")
        params.append([EventType(t).value for t in query.event_types])
    if query.from_sequence is not None:
        clauses.append("sequence > %s")
        params.append(query.from_sequence)
    if query.to_sequence is not None:
        clauses.append("sequence <= %s")
        params.append(query.to_sequence)
    if query.from_timestamp is not None:
        clauses.append("timestamp >= %s")
        params.append(query.from_timestamp)
    if query.to_timestamp is not None:
        clauses.append("timestamp <= %s")
        params.append(query.to_timestamp)
    return " AND ".join(clauses), tuple(params)
