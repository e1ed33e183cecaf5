"""SQLite event store in the engine's own table layout."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from itertools import chain
from typing import Any, TypeVar

from ...base import EntityType, Event
from ...errors import DamageSkippedError, EventDecodeError, StoreCorruptError, StoreError
from ..codec import EventRow, elided_event_from_row, event_from_row, event_to_params
from ..elision import Elision
from ..interface import UNLIMITED, AuditableStore, EventQuery
from ..raw import ReadNotes, UnreadableRow, ranges_text
from ..sequenced import with_sequences
from .connection import (
    Location,
    open_connection,
    parse_connection_string,
    require_events_table,
    resolve_busy_timeout,
    translate_errors,
)
from .query_sql import CompiledQuery, compile_query
from .readonly import (
    ChangedWhileRead,
    ReadOnlyTarget,
    open_read_only_connection,
    prepare_read_only,
    require_real_events_table,
    vouched,
)
from .schema import DDL, EVENT_COLUMNS, unknown_columns
from .side_tables import SideTablesMixin
from .unindexed import AuditConnection, damaged_indexes, is_corrupt

SELECT_EVENTS = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events"
_INTO = f"INSERT INTO events ({', '.join(EVENT_COLUMNS[1:])}) VALUES "
_ROW = f"({', '.join('?' for _ in EVENT_COLUMNS[1:])})"
INSERT_EVENT = _INTO + _ROW
ROWS_PER_INSERT = 50
"""Rows per INSERT statement when appending a batch (650 parameters, under the 999 of
old SQLite builds): one statement per row costs a statement reset and an update of
``sqlite_sequence`` each, about a seventh of ``append_batch``."""
INSERT_EVENTS = _INTO + ", ".join([_ROW] * ROWS_PER_INSERT)
PAGE_SIZE = 1000
T = TypeVar("T")
ELIDABLE_LENGTH = 1000
"""Longest payload text SQL may judge: far below Python's 4300-digit integer limit and
its nesting depth (a payload of 1000 characters nests at most 500 deep)."""


def _select_eliding(elide: Elision) -> tuple[str, tuple[Any, ...]]:
    """The columns with ``data`` NULL where the payload need not be read, and a 15th,
    whether the stored ``data`` is not NULL; and the parameters of its test.

    SQL leaves the payload out only when it proves that :func:`event_from_row` would read
    it and that it holds none of the keys the caller reads: text with no NUL (``length``
    stops at one, the byte count does not; a character of more than one byte also makes
    them differ), with no backslash (so every key is spelled as stored and ``instr``
    finds it), an object (starts with ``{``), valid for SQLite's JSON, which accepts only
    RFC 8259 text (Python's decoder accepts all of it, and more; a control character in
    a string is refused by both), short (see :data:`ELIDABLE_LENGTH`), and no key of
    ``read_keys`` quoted anywhere in it.
    """
    types = sorted(t.value for t in elide.event_types)
    keys = sorted(elide.read_keys)
    light = " AND ".join(
        [
            f"event_type IN ({', '.join('?' for _ in types) or 'NULL'})",
            "typeof(data) = 'text'",
            f"length(data) <= {ELIDABLE_LENGTH}",
            "length(data) = length(CAST(data AS BLOB))",
            "data GLOB '{*'",
            "instr(data, '\\') = 0",
            "json_valid(data)",
            *("instr(data, ?) = 0" for _ in keys),
        ]
    )
    columns = ", ".join(
        f"CASE WHEN {light} THEN NULL ELSE data END" if c == "data" else c for c in EVENT_COLUMNS
    )
    params = (*types, *(f'"{k}"' for k in keys))
    return f"SELECT {columns}, data IS NOT NULL FROM events", params


def _fetch_plain_text(
    conn: sqlite3.Connection, sql: str, params: tuple[Any, ...], rows: list[EventRow]
) -> bool:
    """Rows with text decoded by sqlite3 itself (a Python text factory costs a call per
    value, a third of a row's fetch); False, with ``rows`` left empty, when a value is not
    UTF-8: the caller then reads the page again with the connection's tolerant factory."""
    factory = conn.text_factory
    if factory is str:
        return False
    conn.text_factory = str
    try:
        for row in conn.execute(sql, params):
            rows.append(row)
    except sqlite3.OperationalError as error:
        if "decode" not in str(error):
            raise
        rows.clear()
        return False
    finally:
        conn.text_factory = factory
    return True


def _after_damage(
    damage: StoreCorruptError, skipped: list[tuple[int, int | None]]
) -> StoreCorruptError:
    """What a stream that met damage raises at its end: the ranges it left out, or the
    damage itself when the rows around it were all recovered (still not a whole read)."""
    if not skipped:
        return damage
    return DamageSkippedError(f"{damage}: {ranges_text(skipped)} could not be read", skipped)


def _left_out(
    low: int, high: int, bound: int | None, ascending: bool, recovered: list[Any]
) -> tuple[int, int | None] | None:
    """The keys a damaged page kept from a window (low, high]: up to the bound past it
    (ascending) or down to it, short of the rows recovered from the other side (a seek past
    a damaged page can land on it: the next page's first rows are then read back towards
    the damage); the whole rest when nothing beyond reads (None: nothing was left out)."""
    last = None if high >= UNLIMITED else high
    keys = [int(r[0]) for r in recovered]
    if bound is None:
        first, end = low + 1, last
    elif ascending:
        first, end = low + 1, (min(keys) - 1 if keys else bound)
    else:
        first, end = (max(keys) + 1 if keys else bound + 1), last
    return None if end is not None and end < first else (first, end)


def _stream_statements(
    compiled: CompiledQuery, ascending: bool, elide: Elision | None
) -> tuple[str, str, tuple[Any, ...]]:
    """A keyset page of the query in stream order, the same page read the other way (to
    recover rows past a damaged page), and their parameters before the page's bounds."""
    select, params = SELECT_EVENTS, compiled.params
    if elide is not None:
        select, light = _select_eliding(elide)
        params = (*light, *params)
    forward, backward = ("ASC", "DESC") if ascending else ("DESC", "ASC")
    page = f"{select} WHERE {compiled.where} AND sequence > ? AND sequence <= ? ORDER BY sequence"
    return f"{page} {forward} LIMIT ?", f"{page} {backward} LIMIT ?", params


def _by_rowid(columns: str) -> tuple[str, str]:
    """A keyset page of ``events`` on its rowid, ascending and descending."""
    select = f"SELECT {columns} FROM events NOT INDEXED WHERE sequence > ? AND sequence <= ? "
    return f"{select}ORDER BY sequence LIMIT ?", f"{select}ORDER BY sequence DESC LIMIT ?"


class SqliteEventStore(SideTablesMixin, AuditableStore):
    """Events in SQLite; thread-local connections, appends serialised per store.

    Sequences come from the ``AUTOINCREMENT`` key inside an immediate transaction, so
    a batch gets consecutive numbers and concurrent writers never collide.
    """

    backend = "sqlite"

    def __init__(
        self,
        connection_string: str,
        create_tables: bool = True,
        *,
        read_only: bool = False,
        busy_timeout: float | None = None,
        event_filter: Callable[[Event], Event] | None = None,
        notes: ReadNotes | None = None,
    ) -> None:
        """``read_only=True`` (ours) opens for audit: no byte of the database changes.

        ``busy_timeout`` (ours): seconds each connection waits for another's lock before
        :class:`StoreBusyError` (default ``BUSY_TIMEOUT_SECONDS``, 30).

        ``event_filter`` (ours): applied to every event read back (the CLI redacts secrets
        with it); writes are never filtered.

        ``notes`` (ours): a row the codec refuses is then left out of ``get_events`` and
        its siblings and noted there, instead of raising :class:`EventDecodeError`.
        """
        self._notes = notes
        self._damage_map: list[tuple[int, int | None]] | None = None
        self.event_filter = event_filter
        self.unreadable_filter: Callable[[UnreadableRow], UnreadableRow] | None = None
        """Like ``event_filter``, for the rows :meth:`get_rows` yields as stored."""
        self.snapshot_filter: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        """Like ``event_filter``, for the rows :meth:`get_snapshots` gives replays; it must
        leave a row whose ``state_hash`` does not match unchanged (so it stays unused)."""
        self._location: Location = parse_connection_string(connection_string)
        if read_only and self._location.is_memory:
            raise ValueError(
                ":memory: is a new, empty database with nothing to audit "
                "(read_only needs a database file)"
            )
        if read_only and create_tables:
            raise ValueError("read_only needs create_tables=False and a database file")
        self._busy_timeout = None if busy_timeout is None else resolve_busy_timeout(busy_timeout)
        self._create = create_tables
        self._audit = read_only
        """Fixed at open: an audit store never opens a writable connection, whatever
        happens to its target while it is swapped for another."""
        self._read_only: ReadOnlyTarget | None = None
        if read_only:
            self._read_only = prepare_read_only(self._location.path, self._busy_timeout)
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._shared: sqlite3.Connection | None = None
        self._switch_lock = threading.Lock()
        try:
            if create_tables:
                conn = self._conn()
                with self._translate(), self._write_lock:
                    for statement in DDL:
                        conn.execute(statement)
            else:
                self.read(self._check_schema)
        except BaseException:
            self.close()  # no caller gets a store to close: drop connections and temp copy
            raise

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        if self._read_only is not None:
            require_real_events_table(conn, self._location.path)
        require_events_table(conn, self._location.path, EVENT_COLUMNS)
        if self._notes is not None:
            self._notes.extra_columns = unknown_columns(conn)

    # -- connections -------------------------------------------------------------------

    @property
    def path(self) -> str:
        return self._location.path

    @property
    def is_memory(self) -> bool:
        """An in-memory store: no file to key anything kept beside it by."""
        return self._location.is_memory

    def _conn(self) -> sqlite3.Connection:
        if self._location.is_memory:
            if self._shared is None:
                self._shared = open_connection(self._location, create=True)
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        target = self._read_only
        if conn is not None and getattr(self._local, "target", None) is not target:
            # opened on a target since left: this thread's own, and between its reads
            with self._all_lock:
                if conn in self._all:
                    self._all.remove(conn)
            conn.close()
            conn = None
        if conn is None:
            if self._audit:
                if target is None:  # never: the target is only ever swapped for another
                    raise StoreError(f"{self.path}: no read-only target to open")
                conn = open_read_only_connection(target, self._busy_timeout)
            else:
                conn = open_connection(
                    self._location, create=self._create, busy_timeout=self._busy_timeout
                )
            self._local.conn = conn
            self._local.target = target
            with self._all_lock:
                self._all.append(conn)
        return conn

    def _translate(self) -> Any:
        return translate_errors(self._location.path)

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """Private: callers go through :meth:`read`, which retries what this refuses.
        In-memory stores share one connection, so reads take the lock there too.

        A file read in place as unchanging is vouched for when the block ends, before
        anything it read is used: if it changed, :class:`ChangedWhileRead` is raised
        instead of the block's result or error. :meth:`read` retries on a copy then.
        """
        if self._location.is_memory:
            with self._write_lock, self._translate():
                yield self._conn()
            return
        conn = self._conn()
        with vouched(self._local.target, self._location.path):  # the target conn reads
            yield conn

    def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work`` on a connection, its result vouched for: if a file read in place
        changed meanwhile, the result is dropped and ``work`` runs again on a private
        copy. ``work`` must only read, and return everything it read (no generators)."""
        while True:
            try:
                with self._reading() as conn:
                    try:
                        return work(conn)
                    except (StoreCorruptError, sqlite3.DatabaseError) as error:
                        if not is_corrupt(error):
                            raise
                        read, result = self._past_index_damage(conn, lambda: work(conn))
                        if not read:
                            raise
                        return result  # type: ignore[return-value]
            except ChangedWhileRead as changed:
                self._leave_unchanging(changed.target)

    def _past_index_damage(
        self, conn: sqlite3.Connection, work: Callable[[], T]
    ) -> tuple[bool, T | None]:
        """After a corrupt error: ``work`` again reading the tables themselves (see
        unindexed.py); if that reads, the damage is in an index and is noted (no row lost)."""
        if not isinstance(conn, AuditConnection):
            return False, None
        read, result = conn.past_index_damage(work)
        if read and self._notes is not None:
            self._notes.met_damaged_indexes(damaged_indexes(conn))
        return read, result

    def _leave_unchanging(self, target: ReadOnlyTarget) -> None:
        """Read through a private copy (or in place, if a writer's side files are there)
        from now on; once per changed target, whichever thread noticed first. Other
        threads' connections are left open (one may be mid-read): each thread closes its
        old one and opens a new one on its next read."""
        with self._switch_lock:
            if self._read_only is not target:
                return
            self._read_only = prepare_read_only(
                self._location.path, self._busy_timeout, in_place=False
            )
            self._damage_map = None  # found on the file as it was
            target.cleanup()  # its watch: any read still on it is now refused

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locking) transaction on this thread's connection."""
        with self._write_lock, self._translate():
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")  # may fail (busy): the transaction is then still open
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    @property
    def reads_private_copy(self) -> bool:
        """Whether a read-only store reads a private copy of its database (a WAL database
        without side files that no watch can vouch for, or that changed while read)."""
        return self._read_only is not None and self._read_only.is_copy

    @property
    def read_mode(self) -> str | None:
        """Ours: 'in place', 'unchanged in place' or 'private copy'; None when writable."""
        return None if self._read_only is None else self._read_only.kind

    def refresh(self) -> bool:
        """Take a new private copy if the database changed since the last; True if it did.

        Followers call this between polls: a copy never sees later appends by itself.
        """
        with self._switch_lock:
            old = self._read_only
            if old is None or not old.stale():
                return False
            # the new target first: if it cannot be had (busy), the old one stays in use
            # other threads' connections stay open (one may be mid-read): each thread
            # opens a new one on its next read
            self._read_only = prepare_read_only(self._location.path, self._busy_timeout)
            self._damage_map = None  # found on the copy as it was
            old.cleanup()
            return True

    def _drop_connections(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def close(self) -> None:
        self._drop_connections()
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        if self._read_only is not None:
            self._read_only.cleanup()

    def __enter__(self) -> SqliteEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- appending ---------------------------------------------------------------------

    def append_batch(self, events: list[Event], connection: Any | None = None) -> list[Event]:
        if not events:
            return []
        rows = [event_to_params(e) for e in events]
        if connection is not None:
            with self._translate():
                return self._insert_in(connection, events, rows)
        with self.transaction() as conn:
            return self._insert(conn, events, rows)

    def _insert_in(
        self, conn: sqlite3.Connection, events: list[Event], rows: list[tuple[Any, ...]]
    ) -> list[Event]:
        """Join the caller's transaction; a savepoint keeps the batch all-or-nothing."""
        conn.execute("SAVEPOINT append_batch")
        try:
            stored = self._insert(conn, events, rows)
        except BaseException:
            conn.execute("ROLLBACK TO append_batch")
            conn.execute("RELEASE append_batch")
            raise
        conn.execute("RELEASE append_batch")
        return stored

    @staticmethod
    def _insert(
        conn: sqlite3.Connection, events: list[Event], rows: list[tuple[Any, ...]]
    ) -> list[Event]:
        whole = len(rows) - len(rows) % ROWS_PER_INSERT
        if whole:
            conn.executemany(
                INSERT_EVENTS,
                (
                    tuple(chain.from_iterable(rows[start : start + ROWS_PER_INSERT]))
                    for start in range(0, whole, ROWS_PER_INSERT)
                ),
            )
        if whole < len(rows):
            conn.executemany(INSERT_EVENT, rows[whole:])
        last = int(conn.execute("SELECT last_insert_rowid()").fetchone()[0])
        first = last - len(events) + 1
        return with_sequences(events, first)

    # -- reading -----------------------------------------------------------------------

    def get_events(self, query: EventQuery) -> Iterator[Event]:
        return self._events_only(self.get_rows(query))

    def get_rows(self, query: EventQuery) -> Iterator[Event | UnreadableRow]:
        """Ours: :meth:`get_events`, with an :class:`UnreadableRow` in the place of each
        row the codec refuses (it counts towards ``limit``), for audits that show them."""
        query.validate()
        if query.order_by == "sequence":
            return self._stream_by_sequence(compile_query(query, sequence_bounds=False), query)
        return self._stream_statement(compile_query(query), query)

    def _events_only(self, rows: Iterator[Event | UnreadableRow]) -> Iterator[Event]:
        """Without notes an unreadable row raises; with them it was noted: leave it out."""
        for row in rows:
            if isinstance(row, Event):
                yield row
            elif self._notes is None:
                raise row.error

    def _stream_by_sequence(
        self, compiled: CompiledQuery, query: EventQuery, elide: Elision | None = None
    ) -> Iterator[Event | UnreadableRow]:
        """Keyset pages: each page is one short statement, so no read lock is held between.

        The query's own sequence bounds are the pages' bounds, never a second pair of
        clauses: SQLite ranges an index on one lower bound, and given two it may take the
        query's, so every page would scan from the first event again (quadratic: 1M events
        of one workflow took 38 s of CPU to decode instead of 12; issue 13 section 5).

        An ascending stream stops at the head it saw after its first page: a reader slower
        than a busy writer would otherwise chase the writer's appends and never finish.

        A damaged page of the file (``StoreCorruptError``) does not end the stream where it
        falls: the rows read before it are given, the stream goes on from the next row that
        can be read, and the error is raised at the end, so a report shows every readable
        row in order and then says it is incomplete.
        """
        sql, reverse, params = _stream_statements(compiled, query.ascending, elide)
        low = query.from_sequence or 0
        high = UNLIMITED if query.to_sequence is None else query.to_sequence
        open_ended = query.to_sequence is None
        to_skip = query.offset
        remaining = query.limit
        unbounded = remaining == UNLIMITED and not to_skip
        damage: StoreCorruptError | None = None
        skipped: list[tuple[int, int | None]] = []
        pending: list[EventRow] = []
        while remaining > 0:
            recovered = bool(pending)
            if recovered:
                rows, broken, pending = pending, None, []
            else:
                page_size = PAGE_SIZE if compiled.exact or to_skip else min(PAGE_SIZE, remaining)
                rows, broken = self._fetch_readable(sql, (*params, low, high, page_size))
                if not rows and broken is None:
                    break
                if query.ascending and open_ended and len(rows) == page_size:
                    high, open_ended = min(high, self.get_current_sequence()), False
                if rows and query.ascending:
                    low = rows[-1][0]
                elif rows:
                    high = rows[-1][0] - 1
            decoded = (
                self._decode(rows, compiled)
                if elide is None
                else self._elided(rows, compiled, elide)
            )
            if unbounded:  # a whole workflow, a million rows: no count to keep per row
                yield from decoded
                decoded = iter(())
            for event in decoded:
                if to_skip:
                    to_skip -= 1
                    continue
                yield event
                remaining -= 1
                if remaining == 0:
                    break
            if remaining == 0 or recovered:
                continue
            if broken is not None:
                damage = damage or broken
                bound, pending = self._step_past(
                    sql, reverse, params, low, high, query.ascending, self._noting(skipped)
                )
                if bound is None:
                    break
                low, high = (bound, high) if query.ascending else (low, bound)
                continue
            if len(rows) < page_size:
                break
        if damage is not None:
            self._end_past_damage(_after_damage(damage, skipped))

    def _end_past_damage(self, error: StoreCorruptError) -> None:
        """Raise what a stream met at its end, unless it is noted and to be quiet."""
        noted = self._notes is not None and isinstance(error, DamageSkippedError)
        if not (noted and self.quiet_damage):
            raise error

    def _step_past(
        self,
        sql: str,
        reverse: str | None,
        params: tuple[Any, ...],
        low: int,
        high: int,
        ascending: bool,
        on_damage: Callable[[int, int | None], None],
        *,
        batch: int = PAGE_SIZE,
        events: bool = True,
    ) -> tuple[int | None, list[Any]]:
        """Past a damaged page of a keyset read (the event stream and :meth:`keyset_rows`
        alike): the bound past it (None: nothing beyond reads) and the rows before that
        bound recovered from the other side (``reverse``); ``on_damage`` is told the range
        left out. ``events``: keys are sequences, so an open range ends at the head."""
        bound = self._past_damage(sql, params, low, high, ascending)
        recovered: list[Any] = []
        if bound is not None and reverse is not None:
            window = (low, bound) if ascending else (bound, high)
            recovered = self._fetch_readable(reverse, (*params, *window, batch))[0][::-1]
        if events and high >= UNLIMITED:  # open-ended: up to the head, when it can be told
            with suppress(StoreError):
                high = min(high, max(self.get_current_sequence(), low + 1))
        left_out = _left_out(low, high, bound, ascending, recovered)
        if left_out is not None:
            on_damage(*left_out)
        return bound, recovered

    def _noting(self, skipped: list[tuple[int, int | None]]) -> Callable[[int, int | None], None]:
        """A damaged stream's ``on_damage``: keep the range for the end's error, note it."""

        def met(first: int, last: int | None) -> None:
            skipped.append((first, last))
            if self._notes is not None:
                self._notes.met_damage(first, last)

        return met

    def _fetch_readable(
        self, sql: str, params: tuple[Any, ...]
    ) -> tuple[list[EventRow], StoreCorruptError | None]:
        """The rows a statement gives up to a damaged page, and the damage (None: none).

        ``params`` ends with the statement's LIMIT. Python's sqlite3 steps to the next row
        before it hands out the current one, so the last readable row before a damaged
        page is lost with the error: it is read again by a statement that stops at it.
        """

        def fetch(conn: sqlite3.Connection) -> tuple[list[EventRow], StoreCorruptError | None]:
            rows: list[EventRow] = []
            try:
                with self._translate():
                    if _fetch_plain_text(conn, sql, params, rows):
                        return rows, None
                    for row in conn.execute(sql, params):
                        rows.append(row)
            except StoreCorruptError as error:
                read, result = self._past_index_damage(conn, lambda: whole(conn))
                if read and result is not None:
                    return result
                if len(rows) < params[-1]:
                    with suppress(StoreCorruptError), self._translate():
                        again = conn.execute(sql, (*params[:-1], len(rows) + 1)).fetchall()
                        if len(again) > len(rows):
                            rows = again
                return rows, error
            return rows, None

        def whole(conn: sqlite3.Connection) -> tuple[list[EventRow], StoreCorruptError | None]:
            """``fetch`` that fails if it meets damage (then not only an index's)."""
            rows, error = fetch(conn)
            if error is not None:
                raise error
            return rows, None

        return self.read(fetch)

    def _past_damage(
        self, sql: str, params: tuple[Any, ...], low: int, high: int, ascending: bool
    ) -> int | None:
        """The keyset bound just past a damaged page: ascending, the smallest ``low`` from
        which the next row reads; descending, the largest ``high`` below the damage from
        which it reads (None: nothing beyond it can be read)."""
        if not ascending and high >= UNLIMITED:  # from the top: start at the head
            with suppress(StoreError):
                high = min(high, self.get_current_sequence())

        def readable(bound: int) -> bool:
            window = (bound, high) if ascending else (low, bound)
            return self._fetch_readable(sql, (*params, *window, 1))[1] is None

        sign = 1 if ascending else -1
        start = low if ascending else high
        step = 1
        while step <= UNLIMITED:
            probe = max(0, min(UNLIMITED, start + sign * step))
            if probe == start and step > 1:
                return None
            if readable(probe):
                bad = start + sign * (step // 2)  # the first readable bound lies past it
                while abs(probe - bad) > 1:
                    middle = (bad + probe) // 2
                    if readable(middle):
                        probe = middle
                    else:
                        bad = middle
                return probe
            step *= 2
        return None

    def _stream_statement(
        self, compiled: CompiledQuery, query: EventQuery
    ) -> Iterator[Event | UnreadableRow]:
        """Other orders: the matching sequences in one short statement, then rows by page.

        A statement left open while the caller iterates would hold a read lock, and in
        rollback-journal mode the engine's COMMIT would time out behind it.
        """
        direction = "ASC" if query.ascending else "DESC"
        order = "event_instant(timestamp)" if query.order_by == "timestamp" else query.order_by
        sql = (
            f"SELECT sequence FROM events WHERE {compiled.where} "
            f"ORDER BY {order} {direction}, sequence {direction}"
        )
        to_skip, remaining = query.offset, query.limit
        params = compiled.params
        if compiled.exact is None:
            sql += " LIMIT ? OFFSET ?"
            params = (*params, remaining, to_skip)
            to_skip = 0
        sequences = [row[0] for row in self.fetch_all(sql, params)]
        for start in range(0, len(sequences), PAGE_SIZE):
            page = sequences[start : start + PAGE_SIZE]
            marks = ", ".join("?" for _ in page)
            rows = {
                r[0]: r
                for r in self.fetch_all(f"{SELECT_EVENTS} WHERE sequence IN ({marks})", tuple(page))
            }
            for event in self._decode([rows[seq] for seq in page if seq in rows], compiled):
                if remaining == 0:
                    return
                if to_skip:
                    to_skip -= 1
                    continue
                yield event
                remaining -= 1

    def fetch_all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Ours: every row of one statement, read with :meth:`read` (vouched for)."""
        return self.read(lambda conn: conn.execute(sql, params).fetchall())

    def _decode(
        self, rows: list[EventRow], compiled: CompiledQuery
    ) -> Iterator[Event | UnreadableRow]:
        notes = self._notes
        for row in rows:
            try:
                event = event_from_row(row)
            except EventDecodeError as error:
                unreadable = UnreadableRow.of(row, error)
                if compiled.exact is None or compiled.exact(unreadable):
                    if notes is not None:
                        notes.met_unreadable(unreadable)
                    filt = self.unreadable_filter
                    yield unreadable if filt is None else filt(unreadable)
                continue
            if compiled.exact is None or compiled.exact(event):
                if notes is not None:
                    notes.met_event(row, event)
                yield event if self.event_filter is None else self.event_filter(event)

    def _elided(
        self, rows: list[EventRow], compiled: CompiledQuery, elide: Elision
    ) -> Iterator[Event | UnreadableRow]:
        """Rows of :func:`_select_eliding`: a row whose payload SQL left out becomes an
        event with the elided payload (not filtered: it holds nothing to redact); one
        that turns out odd after all, and every other row, is read as without elision."""
        notes = self._notes
        payload = elide.payload()
        for row in rows:
            if row[8] is not None or not row[14]:
                yield from self._decode([row[:14]], compiled)
                continue
            event = elided_event_from_row(row, payload)
            if event is None:
                again = self.fetch_all(f"{SELECT_EVENTS} WHERE sequence = ?", (row[0],))
                yield from self._decode(again, compiled)
            elif compiled.exact is None or compiled.exact(event):
                if notes is not None:
                    notes.met_event(row, event)
                yield event

    def _all_where(
        self, where: str, params: tuple[Any, ...], from_sequence: int = 0
    ) -> list[Event]:
        compiled = CompiledQuery(where, params, None)
        bounds = EventQuery(from_sequence=from_sequence, limit=UNLIMITED)
        return list(self._events_only(self._stream_by_sequence(compiled, bounds)))

    def get_events_for_entity(
        self, entity_type: EntityType, entity_id: str, from_version: int = 0
    ) -> list[Event]:
        return self._all_where(
            "entity_type = ? AND entity_id = ? AND version > ?",
            (EntityType(entity_type).value, entity_id, from_version),
        )

    def get_events_for_workflow(self, workflow_id: str, from_sequence: int = 0) -> list[Event]:
        return self._all_where("workflow_id = ?", (workflow_id,), from_sequence)

    def iter_workflow_events(
        self,
        workflow_id: str,
        from_sequence: int = 0,
        to_sequence: int | None = None,
        *,
        elide: Elision | None = None,
    ) -> Iterator[Event]:
        """Like :meth:`get_events_for_workflow`, streamed and optionally bounded above."""
        compiled = CompiledQuery("workflow_id = ?", (workflow_id,), None)
        bounds = EventQuery(from_sequence=from_sequence, to_sequence=to_sequence, limit=UNLIMITED)
        return self._events_only(self._stream_by_sequence(compiled, bounds, elide))

    def get_current_sequence(self) -> int:
        """The newest sequence. Opened with notes (an audit), a damaged last page does not
        stop it: the highest sequence the engine handed out, else the newest readable
        (the sequences after it are then noted as left out)."""
        try:
            value = self.read(
                lambda conn: conn.execute("SELECT MAX(sequence) FROM events").fetchone()
            )
        except StoreCorruptError:
            if self._notes is None:
                raise
            return self._head_past_damage(self._notes)
        return int(value[0] or 0)

    def _head_past_damage(self, notes: ReadNotes) -> int:
        with suppress(StoreError):
            row = self.read(
                lambda conn: conn.execute(
                    "SELECT seq FROM sqlite_sequence WHERE name = 'events'"
                ).fetchone()
            )
            if row is not None and type(row[0]) is int:
                return int(row[0])  # the damaged rows' reads note what they miss
        newest = self._newest_readable()
        notes.met_damage(newest + 1, None)
        return newest

    def _newest_readable(self) -> int:
        """The largest sequence whose row reads, found by bisecting on the upper bound
        (a bound inside or above only damaged pages fails; one below them reads)."""
        sql = "SELECT sequence FROM events WHERE sequence <= ? ORDER BY sequence DESC LIMIT ?"
        good, bad = 0, UNLIMITED
        while bad - good > 1:
            middle = (good + bad) // 2
            if self._fetch_readable(sql, (middle, 1))[1] is None:
                good = middle
            else:
                bad = middle
        rows, _ = self._fetch_readable(sql, (good, 1))
        return int(rows[0][0]) if rows else 0

    @property
    def notes(self) -> ReadNotes | None:
        """What tolerant reads met (None: opened without notes, every damage raises)."""
        return self._notes

    def readable_events(self, query: EventQuery) -> Iterator[Event]:
        """:meth:`get_events`, where rows behind a damaged page are left out and noted
        instead of raising at the end (without notes: as ``get_events``)."""
        if self._notes is None:
            yield from self.get_events(query)
            return
        with suppress(DamageSkippedError):
            yield from self.get_events(query)

    def readable_rows(self, columns: str, batch: int = PAGE_SIZE) -> Iterator[tuple[Any, ...]]:
        """Raw ``events`` rows (``sequence`` first) in sequence order, by keyset pages on the
        rowid, past every damaged page; each range left out is noted (without notes: the
        damage raises at the end, after every readable row)."""
        skipped: list[tuple[int, int | None]] = []
        yield from self.keyset_rows(
            *_by_rowid(columns), on_damage=lambda a, b: skipped.append((a, b)), batch=batch
        )
        ranges = self._note_damage(skipped)
        if ranges and self._notes is None:
            raise DamageSkippedError(
                f"{self.path}: {ranges_text(ranges)} could not be read", ranges
            )

    def damaged_ranges(self) -> list[tuple[int, int | None]]:
        """The sequence ranges damaged pages of ``events`` keep from being read (noted), by
        one keyset pass over the rowids: for a damaged store's slow paths only. A last
        range is open (None) when nothing after it reads."""
        if self._damage_map is None:
            skipped: list[tuple[int, int | None]] = []
            for _ in self.keyset_rows(
                *_by_rowid("sequence"),
                on_damage=lambda a, b: skipped.append((a, b)),
                batch=10 * PAGE_SIZE,
            ):
                pass
            self._note_damage(skipped)
            self._damage_map = skipped
        return list(self._damage_map)

    def _note_damage(self, skipped: list[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
        """Open-ended ranges end at the head where it can be told; each range is noted."""
        ranges: list[tuple[int, int | None]] = []
        for first, last in skipped:
            end = last
            if end is None:
                with suppress(StoreError):
                    head = self.get_current_sequence()
                    end = head if head >= first else None
            ranges.append((first, end))
            if self._notes is not None:
                self._notes.met_damage(first, end)
        return ranges

    def keyset_rows(
        self,
        sql: str,
        reverse: str | None = None,
        params: tuple[Any, ...] = (),
        *,
        on_damage: Callable[[int, int | None], None],
        batch: int = PAGE_SIZE,
        start: int = 0,
    ) -> Iterator[tuple[Any, ...]]:
        """Every row of ``sql`` that can be read, in key order, past damaged pages.

        ``sql`` ends ``key > ? AND key <= ? ORDER BY key LIMIT ?`` with its first column
        the (integer) key, read from above ``start``; ``reverse`` (optional) is the same
        statement in descending order, to recover the rows just past a damaged page that
        a seek cannot reach. ``on_damage(first, last)`` is told each key range left out
        (``last`` None: every later key). Only damaged stores take this path: a whole
        statement is faster on a healthy one.
        """
        low, high = max(start, 0), UNLIMITED  # the engine's tables number rows from 1
        while True:
            rows, broken = self._fetch_readable(sql, (*params, low, high, batch))
            yield from rows
            if rows:
                low = int(rows[-1][0])
            if broken is None:
                if len(rows) < batch:
                    return
                continue
            bound, back = self._step_past(
                sql, reverse, params, low, high, True, on_damage, batch=batch, events=False
            )
            yield from back
            if bound is None:
                return
            low = bound

    def get_events_since(self, sequence: int, limit: int = 1000) -> list[Event]:
        return list(self.get_events(EventQuery(from_sequence=sequence, limit=limit)))

    def supports_commit_cursor(self) -> bool:
        """True, as in the engine: SQLite commits one writer at a time, in sequence order."""
        return True

    def get_events_since_committed(self, cursor: str, limit: int = 1000) -> tuple[list[Event], str]:
        """The engine's backend-neutral catch-up read: events after ``cursor`` (here a
        sequence number as text) and the cursor to pass next (unchanged when none).

        A cursor that is not a whole number raises ``ValueError`` (the engine reads it
        as 0 and silently delivers everything again)."""
        try:
            after = int(cursor)
        except ValueError:
            raise ValueError(f"commit cursor must be a sequence number, got {cursor!r}") from None
        events = self.get_events_since(after, limit)
        return events, (str(events[-1].sequence) if events else cursor)

    def get_event_by_id(self, event_id: str) -> Event | None:
        rows = self.fetch_all(f"{SELECT_EVENTS} WHERE event_id = ?", (event_id,))
        if not rows:
            return None
        event = event_from_row(rows[0])
        return event if self.event_filter is None else self.event_filter(event)

    def count_events(self, query: EventQuery | None = None) -> int:
        query = query or EventQuery()
        compiled = compile_query(query)
        if compiled.exact is not None:
            return super().count_events(query)
        sql = f"SELECT COUNT(*) FROM events WHERE {compiled.where}"
        row = self.read(lambda conn: conn.execute(sql, compiled.params).fetchone())
        return int(row[0])
