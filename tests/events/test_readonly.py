"""Opening for audit, ``SqliteEventStore(path, create_tables=False, read_only=True)``.

What is proved here (reliability matrix, sections RO and BI): opening, reading everything
and closing changes no byte of the database, of its ``-wal``/``-shm``/``-journal`` or of
its directory, in rollback and WAL mode, beside a live writer or not; bad input is refused
with the library's errors and leaves nothing behind; odd bytes do not abort a read.

Each database lives alone in ``tmp_path / "store"`` so that the directory listing is
exact, and ``tempfile`` is pointed at ``tmp_path / "private-tmp"`` so that a private copy
left behind is seen.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events.base import EntityType, Event, EventMetadata, EventType
from stabilize_cli.events.errors import SchemaError, StoreBusyError, StoreOpenError
from stabilize_cli.events.store import UNLIMITED, EventQuery, SqliteEventStore
from stabilize_cli.events.store.sqlite import store as store_module
from stabilize_cli.events.store.sqlite.watch import ChangeWatch

from ..conftest import REAL_DB, sha256

SIDE_FILES = ("-wal", "-shm", "-journal")
T0 = datetime(2026, 11, 28, 14, 40, 58, 128463, tzinfo=UTC)
WORKFLOWS = ("wf-a", "wf-b", "wf-c")
THREAD_TIMEOUT = 5.0
"""Upper bound for a worker thread; only reached when a test is failing (or blocked)."""

# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------


def _file_state(path: Path) -> tuple[str, int, int] | None:
    if not os.path.lexists(path):
        return None
    info = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), info.st_size, info.st_mtime_ns


def fingerprint(db_path: Path) -> dict[str, Any]:
    """sha256, size and mtime_ns of the file and of each side file (None when absent),
    plus the sorted listing of the directory."""
    state: dict[str, Any] = {"db": _file_state(db_path)}
    for suffix in SIDE_FILES:
        state[suffix] = _file_state(db_path.with_name(db_path.name + suffix))
    state["listing"] = sorted(os.listdir(db_path.parent))
    return state


def journal_mode_in_header(db_path: Path) -> str:
    """Bytes 18-19 of the header: 1,1 rollback, 2,2 WAL."""
    header = db_path.read_bytes()[:100]
    return {(1, 1): "rollback", (2, 2): "wal"}[(header[18], header[19])]


def make_event(n: int, workflow_id: str) -> Event:
    return Event(
        event_type=EventType.WORKFLOW_STARTED if n == 0 else EventType.STATUS_CHANGED,
        timestamp=T0 + timedelta(seconds=n),
        entity_type=EntityType.WORKFLOW,
        entity_id=workflow_id,
        workflow_id=workflow_id,
        version=n + 1,
        data={"n": n, "workflow": workflow_id},
        metadata=EventMetadata(correlation_id=workflow_id),
    )


def make_batch(count: int, start: int = 0) -> list[Event]:
    """``count`` events spread over the workflows in turn."""
    return [make_event(start + i, WORKFLOWS[(start + i) % len(WORKFLOWS)]) for i in range(count)]


def set_wal(db_path: Path) -> None:
    """WAL is persistent in the header: set it once with a plain connection."""
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    finally:
        conn.close()


def populated_writer(db_path: Path, *, wal: bool, events: int = 12) -> SqliteEventStore:
    """A normal (writing) store holding events, a snapshot and a subscription; still open."""
    if wal:
        SqliteEventStore(str(db_path)).close()
        set_wal(db_path)
    writer = SqliteEventStore(str(db_path))
    stored = writer.append_batch(make_batch(events))
    writer.save_snapshot(
        EntityType.WORKFLOW, "wf-a", "wf-a", 2, stored[-1].sequence, {"status": "RUNNING"}
    )
    writer.save_subscription("sub-1", [EventType.WORKFLOW_STARTED], {"workflow_id": "wf-a"}, 3)
    return writer


def read_everything(store: SqliteEventStore) -> dict[str, Any]:
    """Every read the audit tool makes, as plain values."""
    events = list(store.get_events(EventQuery(limit=UNLIMITED)))
    workflows = sorted({e.workflow_id for e in events})
    return {
        "count": store.count_events(),
        "events": events,
        "by_workflow": {wf: store.get_events_for_workflow(wf) for wf in workflows},
        "current_sequence": store.get_current_sequence(),
        "subscriptions": store.list_subscriptions(),
        "snapshots": store.list_snapshots(),
    }


def open_read_only(db_path: Path | str) -> SqliteEventStore:
    return SqliteEventStore(str(db_path), create_tables=False, read_only=True)


def read_only_everything(db_path: Path | str) -> dict[str, Any]:
    store = open_read_only(db_path)
    try:
        return read_everything(store)
    finally:
        store.close()


def rows_in_main_file(db_path: Path, scratch: Path) -> int:
    """How many events the main file alone holds (its -wal left out)."""
    scratch.mkdir()
    alone = scratch / "alone.db"
    shutil.copyfile(db_path, alone)
    conn = sqlite3.connect(alone)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    finally:
        conn.close()


def plain_sqlite(db_path: Path, *statements: str) -> None:
    """Write with a normal sqlite3 connection, the way some other program might."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def sqlite_file(db_path: Path, mode: str, *statements: str) -> None:
    """A closed SQLite file in ``mode`` ('rollback' or 'wal', sidecars gone) holding
    ``statements``."""
    pragma = "PRAGMA journal_mode=WAL" if mode == "wal" else "PRAGMA journal_mode=DELETE"
    plain_sqlite(db_path, pragma, *statements)
    assert journal_mode_in_header(db_path) == mode
    assert fingerprint(db_path)["-wal"] is None


def refuse(db_path: Path, error: type[Exception], *fragments: str) -> None:
    """Opening must raise ``error`` naming the path and each fragment, and change nothing."""
    before = fingerprint(db_path)
    with pytest.raises(error) as caught:
        open_read_only(db_path)
    message = str(caught.value)
    assert str(db_path) in message
    for fragment in fragments:
        assert fragment in message
    assert fingerprint(db_path) == before


def commit_beside_a_paused_read(db_path: Path, order_by: str) -> None:
    """A rollback-mode database; a read-only store reads one event of many (more than a
    page) and pauses; another connection must then commit within a short busy timeout."""
    populated_writer(db_path, wal=False, events=1500).close()
    reader = open_read_only(db_path)
    try:
        events = reader.get_events(EventQuery(limit=UNLIMITED, order_by=order_by))
        next(events)
        plain = sqlite3.connect(db_path, timeout=0.2, isolation_level=None)
        try:
            plain.execute("BEGIN IMMEDIATE")
            plain.execute("UPDATE events SET actor = 'engine' WHERE sequence = 1")
            plain.execute("COMMIT")  # "database is locked" if the reader still holds a lock
        finally:
            plain.close()
    finally:
        reader.close()


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """A directory holding nothing but the database under test (and its side files)."""
    directory = tmp_path / "store"
    directory.mkdir()
    return directory


@pytest.fixture
def no_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a file system no change watch can vouch for (NFS, FUSE): a WAL database
    without side files is then always read through a private copy."""
    monkeypatch.setattr(ChangeWatch, "open", classmethod(lambda cls, *args, **kwargs: None))


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where ``tempfile`` puts private copies during the test; must end empty."""
    directory = tmp_path / "private-tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


# ---------------------------------------------------------------------------------------
# The fingerprint helper itself must be able to see a change
# ---------------------------------------------------------------------------------------


def test_the_fingerprint_changes_when_a_normal_store_writes(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    populated_writer(db_path, wal=False).close()
    before = fingerprint(db_path)
    writer = SqliteEventStore(str(db_path))
    writer.append_batch(make_batch(1, start=100))
    writer.close()
    assert fingerprint(db_path)["db"] != before["db"]


def test_the_fingerprint_sees_a_new_file_in_the_directory(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    populated_writer(db_path, wal=False).close()
    before = fingerprint(db_path)
    (store_dir / "we").touch()
    assert fingerprint(db_path)["listing"] != before["listing"]


# ---------------------------------------------------------------------------------------
# RO: reading everything changes no byte
# ---------------------------------------------------------------------------------------


def test_a_rollback_journal_database_is_unchanged_by_a_full_read(
    store_dir: Path, private_tmp: Path
) -> None:
    db_path = store_dir / "events.db"
    writer = populated_writer(db_path, wal=False)
    expected = read_everything(writer)
    writer.close()
    assert journal_mode_in_header(db_path) == "rollback"
    before = fingerprint(db_path)

    seen = read_only_everything(db_path)

    assert fingerprint(db_path) == before
    assert os.listdir(private_tmp) == []
    assert seen == expected


def test_a_wal_database_beside_a_live_writer_keeps_its_file_and_wal_unchanged(
    store_dir: Path,
) -> None:
    db_path = store_dir / "events.db"
    writer = populated_writer(db_path, wal=True)
    try:
        before = fingerprint(db_path)
        assert before["-wal"] is not None
        assert before["-shm"] is not None
        read_only_everything(db_path)
        after = fingerprint(db_path)
    finally:
        writer.close()
    # Read marks in -shm are allowed (the matrix: harmless); nothing else may change.
    del before["-shm"], after["-shm"]
    assert after == before


def test_a_wal_database_beside_a_live_writer_shows_rows_still_only_in_the_wal(
    store_dir: Path, tmp_path: Path
) -> None:
    db_path = store_dir / "events.db"
    writer = populated_writer(db_path, wal=True)
    try:
        expected = read_everything(writer)
        assert rows_in_main_file(db_path, tmp_path / "scratch") < expected["count"]
        seen = read_only_everything(db_path)
    finally:
        writer.close()
    assert seen == expected


def test_a_wal_database_without_side_files_gets_none_created_beside_it(
    store_dir: Path, private_tmp: Path
) -> None:
    db_path = store_dir / "events.db"
    writer = populated_writer(db_path, wal=True)
    expected = read_everything(writer)
    writer.close()
    before = fingerprint(db_path)
    assert journal_mode_in_header(db_path) == "wal"
    assert (before["-wal"], before["-shm"]) == (None, None)

    seen = read_only_everything(db_path)

    assert fingerprint(db_path) == before
    assert seen == expected


@pytest.mark.usefixtures("no_watch")
def test_a_wal_database_without_side_files_is_read_from_a_private_copy_removed_on_close(
    store_dir: Path, private_tmp: Path
) -> None:
    db_path = store_dir / "events.db"
    populated_writer(db_path, wal=True).close()
    store = open_read_only(db_path)
    try:
        read_everything(store)
        copies = os.listdir(private_tmp)
    finally:
        store.close()
    assert len(copies) == 1
    assert os.listdir(private_tmp) == []


def test_a_wal_database_with_a_wal_but_no_shm_shows_the_rows_in_its_wal(
    store_dir: Path, tmp_path: Path, private_tmp: Path
) -> None:
    # A database copied with its -wal but not its -shm (or whose -shm was removed).
    live = tmp_path / "live"
    live.mkdir()
    writer = populated_writer(live / "events.db", wal=True)
    try:
        expected = read_everything(writer)
        db_path = store_dir / "events.db"
        shutil.copyfile(live / "events.db", db_path)
        shutil.copyfile(live / "events.db-wal", store_dir / "events.db-wal")
    finally:
        writer.close()
    before = fingerprint(db_path)
    assert before["-shm"] is None
    assert rows_in_main_file(db_path, tmp_path / "scratch") < expected["count"]

    seen = read_only_everything(db_path)

    assert fingerprint(db_path) == before
    assert seen == expected
    assert os.listdir(private_tmp) == []


def test_the_engine_database_is_unchanged_by_a_full_read(
    store_dir: Path, tmp_path: Path, private_tmp: Path
) -> None:
    original = sha256(REAL_DB)
    db_path = store_dir / "real-small.db"
    shutil.copyfile(REAL_DB, db_path)
    oracle_copy = tmp_path / "oracle.db"
    shutil.copyfile(REAL_DB, oracle_copy)
    with SqliteEventStore(str(oracle_copy), create_tables=False) as oracle:
        expected = read_everything(oracle)
    assert expected["count"] > 0
    before = fingerprint(db_path)

    seen = read_only_everything(db_path)

    assert fingerprint(db_path) == before
    assert seen == expected
    assert os.listdir(private_tmp) == []
    assert sha256(REAL_DB) == original


def test_a_hot_journal_is_reported_and_never_rolled_back(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    populated_writer(db_path, wal=False, events=200).close()
    crash = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA cache_size=1')\n"  # spill pages to the file mid-transaction
        "conn.execute('BEGIN IMMEDIATE')\n"
        'conn.execute("UPDATE events SET actor = hex(randomblob(300))")\n'
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", crash, str(db_path)], check=True, timeout=30)
    assert fingerprint(db_path)["-journal"] is not None
    refuse(db_path, StoreOpenError, "needs crash recovery")


# ---------------------------------------------------------------------------------------
# RO / CC: a read-only store beside a writer
# ---------------------------------------------------------------------------------------


def test_a_read_only_store_sees_rows_committed_after_it_was_opened(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    writer = populated_writer(db_path, wal=True)
    reader = open_read_only(db_path)
    try:
        before = reader.count_events()
        stored = writer.append_batch(make_batch(5, start=50))
        assert reader.count_events() == before + 5
        assert reader.get_events_since(before) == stored
    finally:
        reader.close()
        writer.close()


def test_a_writer_never_fails_while_a_read_only_store_keeps_reading(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    writer = populated_writer(db_path, wal=True)
    reader = open_read_only(db_path)
    start = writer.get_current_sequence()
    batches, size = 30, 4
    done = threading.Event()
    writer_errors: list[BaseException] = []

    def write() -> None:
        try:
            for i in range(batches):
                writer.append_batch(make_batch(size, start=1000 + i * size))
        except BaseException as exc:
            writer_errors.append(exc)
        finally:
            done.set()

    counts: list[int] = []
    thread = threading.Thread(target=write, daemon=True)
    try:
        thread.start()
        while not done.is_set():
            counts.append(reader.count_events())
            events = list(reader.get_events(EventQuery(limit=UNLIMITED)))
            assert [e.sequence for e in events] == sorted(e.sequence for e in events)
        thread.join(THREAD_TIMEOUT)
        assert not thread.is_alive()
        final = read_everything(reader)
        expected = read_everything(writer)
    finally:
        reader.close()
        writer.close()
    assert writer_errors == []
    assert counts == sorted(counts)
    assert final == expected
    assert final["current_sequence"] == start + batches * size


def test_a_read_only_store_paused_mid_read_does_not_block_a_rollback_mode_writer(
    store_dir: Path,
) -> None:
    commit_beside_a_paused_read(store_dir / "events.db", "sequence")


def test_a_read_only_store_paused_mid_read_by_timestamp_does_not_block_a_rollback_writer(
    store_dir: Path,
) -> None:
    commit_beside_a_paused_read(store_dir / "events.db", "timestamp")


def test_a_read_only_store_orders_events_by_timestamp(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    writer = populated_writer(db_path, wal=False)
    expected = sorted(read_everything(writer)["events"], key=lambda e: (e.timestamp, e.sequence))
    writer.close()
    with open_read_only(db_path) as store:
        seen = list(store.get_events(EventQuery(limit=UNLIMITED, order_by="timestamp")))
    assert seen == expected


# ---------------------------------------------------------------------------------------
# BI: bad input is refused, named, and leaves nothing behind
# ---------------------------------------------------------------------------------------


def test_a_missing_file_is_refused_and_not_created(store_dir: Path, private_tmp: Path) -> None:
    db_path = store_dir / "missing.db"
    with pytest.raises(StoreOpenError, match="no such file"):
        open_read_only(db_path)
    assert not db_path.exists()
    assert os.listdir(store_dir) == []
    assert os.listdir(private_tmp) == []


def test_a_directory_is_refused(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    db_path.mkdir()
    with pytest.raises(StoreOpenError, match="is a directory"):
        open_read_only(db_path)
    assert os.listdir(store_dir) == ["events.db"]
    assert os.listdir(db_path) == []


def test_a_fifo_is_refused_without_blocking(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    os.mkfifo(db_path)
    outcome: list[BaseException | None] = []

    def attempt() -> None:
        try:
            open_read_only(db_path).close()
        except BaseException as exc:
            outcome.append(exc)
        else:
            outcome.append(None)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(THREAD_TIMEOUT)
    assert not thread.is_alive(), "opening a FIFO blocked"
    [error] = outcome
    assert isinstance(error, StoreOpenError)
    assert "not a regular file" in str(error)
    assert os.listdir(store_dir) == ["events.db"]


def test_an_empty_file_is_refused(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    db_path.touch()
    refuse(db_path, StoreOpenError, "empty file")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"hello, this is not a database\n", id="text"),
        pytest.param(b'{"events": [{"sequence": 1}]}\n', id="json"),
        pytest.param(b"sequence,event_id\n1,01J\n" * 10, id="csv"),
        pytest.param(b"SQLite format 3\x00" + b"\x00" * 40, id="magic-but-under-100-bytes"),
    ],
)
def test_a_file_that_is_not_sqlite_is_refused(store_dir: Path, content: bytes) -> None:
    db_path = store_dir / "events.db"
    db_path.write_bytes(content)
    refuse(db_path, StoreOpenError, "not an SQLite database")


@pytest.mark.parametrize("mode", ["rollback", "wal"])
def test_sqlite_without_an_events_table_is_refused_listing_its_tables(
    store_dir: Path, private_tmp: Path, mode: str
) -> None:
    db_path = store_dir / "other.db"
    sqlite_file(db_path, mode, "CREATE TABLE invoices (id)", "CREATE TABLE customers (id)")
    refuse(db_path, SchemaError, "no events table", "customers, invoices")
    assert os.listdir(private_tmp) == []


@pytest.mark.parametrize("mode", ["rollback", "wal"])
def test_events_as_a_view_is_refused(store_dir: Path, private_tmp: Path, mode: str) -> None:
    db_path = store_dir / "view.db"
    sqlite_file(
        db_path,
        mode,
        "CREATE TABLE real_events (sequence, event_id)",
        "CREATE VIEW events AS SELECT * FROM real_events",
    )
    refuse(db_path, SchemaError, "'events' is a view")
    assert os.listdir(private_tmp) == []


@pytest.mark.parametrize("mode", ["rollback", "wal"])
def test_an_events_table_missing_columns_is_refused_naming_them(
    store_dir: Path, private_tmp: Path, mode: str
) -> None:
    db_path = store_dir / "partial.db"
    sqlite_file(
        db_path,
        mode,
        "CREATE TABLE events (sequence INTEGER PRIMARY KEY, event_id TEXT, event_type TEXT)",
    )
    refuse(db_path, SchemaError, "lacks columns", "workflow_id", "data", "correlation_id")
    assert os.listdir(private_tmp) == []


@pytest.mark.parametrize(
    "name",
    [
        "we?ird.db",
        "has#hash.db",
        "100%.db",
        "%3F.db",
        "with space.db",
        "ünïcødé ☃ 事件.db",
        "file:prefixed.db",
        "mode=rwc&x.db",
    ],
)
def test_an_odd_file_name_opens_that_file_and_creates_nothing(
    store_dir: Path, private_tmp: Path, name: str
) -> None:
    db_path = store_dir / name
    writer = populated_writer(db_path, wal=False)
    expected = read_everything(writer)
    writer.close()
    before = fingerprint(db_path)
    assert before["listing"] == [name]

    seen = read_only_everything(db_path)

    assert seen == expected
    assert fingerprint(db_path) == before


def test_a_symlink_to_a_database_is_read_and_the_target_is_unchanged(
    store_dir: Path, tmp_path: Path
) -> None:
    target = store_dir / "events.db"
    writer = populated_writer(target, wal=False)
    expected = read_everything(writer)
    writer.close()
    link_dir = tmp_path / "links"
    link_dir.mkdir()
    link = link_dir / "link.db"
    link.symlink_to(target)
    before_target, before_link = fingerprint(target), fingerprint(link)

    seen = read_only_everything(link)

    assert seen == expected
    assert fingerprint(target) == before_target
    assert fingerprint(link) == before_link
    assert link.is_symlink()


def test_a_symlink_to_a_live_wal_database_shows_rows_still_only_in_the_wal(
    store_dir: Path, tmp_path: Path, private_tmp: Path
) -> None:
    target = store_dir / "events.db"
    writer = populated_writer(target, wal=True)
    link_dir = tmp_path / "links"
    link_dir.mkdir()
    link = link_dir / "link.db"
    link.symlink_to(target)
    try:
        expected = read_everything(writer)
        assert rows_in_main_file(target, tmp_path / "scratch") < expected["count"]
        before = fingerprint(target)
        seen = read_only_everything(link)
        after = fingerprint(target)
    finally:
        writer.close()
    assert seen == expected
    del before["-shm"], after["-shm"]
    assert after == before
    assert os.listdir(link_dir) == ["link.db"]


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root reads a chmod 000 file anyway: no permission error to see"
)
def test_an_unreadable_file_is_refused_as_permission_denied(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    populated_writer(db_path, wal=False).close()
    db_path.chmod(0)
    try:
        with pytest.raises(StoreOpenError, match="permission denied"):
            open_read_only(db_path)
        assert os.listdir(store_dir) == ["events.db"]
    finally:
        db_path.chmod(0o644)


def test_read_only_refuses_an_in_memory_database() -> None:
    with pytest.raises(ValueError, match="read_only"):
        SqliteEventStore("sqlite:///:memory:", create_tables=False, read_only=True)


def test_read_only_refuses_create_tables_and_creates_no_file(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    with pytest.raises(ValueError, match="create_tables=False"):
        SqliteEventStore(str(db_path), create_tables=True, read_only=True)
    assert os.listdir(store_dir) == []


def test_read_only_refuses_create_tables_on_an_existing_file_and_changes_nothing(
    store_dir: Path,
) -> None:
    db_path = store_dir / "events.db"
    populated_writer(db_path, wal=False).close()
    before = fingerprint(db_path)
    with pytest.raises(ValueError, match="create_tables=False"):
        SqliteEventStore(str(db_path), create_tables=True, read_only=True)
    assert fingerprint(db_path) == before


# ---------------------------------------------------------------------------------------
# BI: bytes that are not UTF-8 do not abort a read
# ---------------------------------------------------------------------------------------


def _store_with_invalid_utf8(db_path: Path) -> list[Event]:
    writer = populated_writer(db_path, wal=False, events=4)
    stored: list[Event] = read_everything(writer)["events"]
    writer.close()
    first, second, third = (e.sequence for e in stored[:3])
    plain_sqlite(
        db_path,
        "UPDATE events SET data = '{\"a\": \"' || CAST(X'FF' AS TEXT) || '\"}' "
        f"WHERE sequence = {first}",
        "UPDATE events SET data = '{\"a\": \"ok ' || CAST(X'E2A0' AS TEXT) || '\"}' "
        f"WHERE sequence = {second}",
        f"UPDATE events SET actor = 'bot' || CAST(X'FF' AS TEXT) WHERE sequence = {third}",
    )
    return stored


def test_invalid_utf8_in_a_json_value_comes_back_as_a_visible_escape(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    stored = _store_with_invalid_utf8(db_path)
    with open_read_only(db_path) as store:
        seen = list(store.get_events(EventQuery(limit=UNLIMITED)))
    assert [e.event_id for e in seen] == [e.event_id for e in stored]
    assert seen[0].data == {"a": "\\xff"}
    assert seen[1].data == {"a": "ok \\xe2\\xa0"}


def test_invalid_utf8_in_a_plain_text_column_comes_back_as_a_visible_escape(
    store_dir: Path,
) -> None:
    db_path = store_dir / "events.db"
    stored = _store_with_invalid_utf8(db_path)
    with open_read_only(db_path) as store:
        event = store.get_event_by_id(stored[2].event_id)
    assert event is not None
    assert event.metadata.actor == "bot\\xff"


def test_invalid_utf8_leaves_the_rows_after_it_readable(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    stored = _store_with_invalid_utf8(db_path)
    with open_read_only(db_path) as store:
        seen = list(store.get_events(EventQuery(limit=UNLIMITED)))
    assert seen[3:] == stored[3:]


@pytest.mark.usefixtures("no_watch")
def test_a_private_copy_is_refreshed_only_when_the_database_changed(
    store_dir: Path, private_tmp: Path
) -> None:
    db_path = store_dir / "events.db"
    populated_writer(db_path, wal=True).close()
    assert not Path(f"{db_path}-wal").exists()
    reader = open_read_only(db_path)
    try:
        assert reader.reads_private_copy
        before = reader.count_events()
        assert reader.refresh() is False
        writer = SqliteEventStore(str(db_path))
        writer.append_batch(make_batch(3, start=100))
        assert reader.count_events() == before  # the copy cannot see it
        assert reader.refresh() is True
        assert reader.count_events() == before + 3
        writer.close()
    finally:
        reader.close()
    assert list(private_tmp.iterdir()) == []


def test_a_store_reading_the_file_itself_never_refreshes(store_dir: Path) -> None:
    db_path = store_dir / "events.db"
    writer = populated_writer(db_path, wal=False)
    with open_read_only(db_path) as reader:
        writer.append_batch(make_batch(2, start=100))
        assert (reader.reads_private_copy, reader.refresh()) == (False, False)
    writer.close()


@pytest.mark.usefixtures("no_watch")
def test_a_refresh_that_cannot_take_a_new_copy_keeps_reading_the_old_one(
    store_dir: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A busy writer during ``refresh`` (events --follow polls again after it) must not
    leave the store without a read-only target: it would open the file writable."""
    db_path = store_dir / "events.db"
    populated_writer(db_path, wal=True).close()
    reader = open_read_only(db_path)
    try:
        before = reader.count_events()
        SqliteEventStore(str(db_path)).close()  # opening and closing: the file changed
        os.utime(db_path, ns=(1, 1))  # and its times say so, whatever the clock's tick

        def busy(*_: object, **__: object) -> object:
            raise StoreBusyError("busy")

        monkeypatch.setattr(store_module, "prepare_read_only", busy)
        with pytest.raises(StoreBusyError):
            reader.refresh()
        monkeypatch.undo()
        assert reader.reads_private_copy
        assert reader.count_events() == before
        assert sorted(p.name for p in store_dir.iterdir()) == ["events.db"]
    finally:
        reader.close()


@pytest.mark.usefixtures("no_watch")
def test_reads_alongside_refreshes_never_open_the_file_writable(
    store_dir: Path, private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The explorer refreshes on a timer while a worker thread reads: no moment of a
    swap may let a read open the audited file itself for writing, or break the read."""
    db_path = store_dir / "events.db"
    populated_writer(db_path, wal=True).close()
    real = store_module.prepare_read_only

    def slow(*args: Any, **kwargs: Any) -> Any:
        stop.wait(0.02)  # a copy of a big file takes this long and more
        return real(*args, **kwargs)

    stop = threading.Event()
    seen: set[str] = set()
    reader = open_read_only(db_path)
    monkeypatch.setattr(store_module, "prepare_read_only", slow)

    def read() -> None:
        while not stop.is_set():
            try:
                reader.get_current_sequence()
            except Exception as error:  # any failure of a read is the finding
                seen.add(f"{type(error).__name__}: {error}")
            seen.update(p.name for p in store_dir.iterdir())

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for tick in range(1, 21):
            os.utime(db_path, ns=(tick, tick))
            assert reader.refresh() is True
    finally:
        stop.set()
        thread.join()
        reader.close()
    assert seen == {"events.db"}
