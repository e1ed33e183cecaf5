"""A WAL database without side files is read in place, not copied whole (issue 13, §4).

It is opened with ``immutable=1`` (which creates nothing) and every read is vouched for
after it ran and before its rows are used: an inotify watch on the file and its
directory, the file's identity, and no side file present. These tests prove that no copy
is made for a quiet file, that nothing about the file or its directory changes, that the
answers equal the copy's, and, with writers that open, write, checkpoint, VACUUM and
close all through the reads, that no audit ever gives a wrong answer or fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.cli.completion import WORKFLOW, candidates
from stabilize_cli.events import SqliteEventStore
from stabilize_cli.events.errors import StoreBusyError
from stabilize_cli.events.store import UNLIMITED, EventQuery
from stabilize_cli.events.store.sqlite import private_copies, quick_reads, readonly
from stabilize_cli.events.store.sqlite.store import SqliteEventStore as Store
from stabilize_cli.events.store.sqlite.watch import (
    LOCAL_FILE_SYSTEMS,
    ChangeWatch,
    file_system_type,
)

from ..conftest import REAL_DB
from .conftest import Invoke, run_process

WF = "01M8HAZVN51R0GZ2NVTT2DCYFJ"
COMMANDS = [
    ("events", "-f", "ndjson", "--limit", "1000"),
    ("workflows", "-f", "json"),
    ("timeline", WF, "-f", "json"),
    ("state", WF, "-f", "json"),
    ("history", WF, "--all", "-f", "ndjson"),
    ("diff", WF, "10", "60", "-f", "json"),
    ("verify", "-f", "json"),
    ("failures", "-f", "json"),
    ("metrics", "--no-cache", "-f", "json"),
    ("snapshots", "list", "-f", "json"),
    ("subscriptions", "list", "-f", "json"),
]

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux")
    or file_system_type(tempfile.gettempdir()) not in LOCAL_FILE_SYSTEMS,
    reason="needs Linux and a temporary directory on a file system the watch trusts",
)


def _quiet_wal(tmp_path: Path) -> Path:
    """The engine's database in WAL mode as a closed writer leaves it (no side files),
    alone in its directory, left alone long enough to be read in place."""
    directory = tmp_path / "store"
    directory.mkdir()
    path = directory / "wal.db"
    shutil.copyfile(REAL_DB, path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    assert os.listdir(directory) == ["wal.db"]
    time.sleep(readonly.QUIET_SECONDS + 0.05)
    return path


def _fingerprint(db: Path) -> tuple[Any, ...]:
    """Bytes, inode, size, mtime and ctime of the file, and its directory's listing."""
    info = db.stat()
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    identity = (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
    return digest, identity, sorted(os.listdir(db.parent)), db.parent.stat().st_mtime_ns


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """Every private copy directory made during the test (in a private ``TMPDIR``)."""
    private = tmp_path / "private-tmp"
    private.mkdir()
    monkeypatch.setenv("TMPDIR", str(private))
    monkeypatch.setattr("tempfile.tempdir", str(private))
    made: list[str] = []
    real = private_copies.new_directory

    def counting() -> str:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(private_copies, "new_directory", counting)
    return made


def _no_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    """As on a file system no watch can vouch for: the old path, a private copy."""
    monkeypatch.setattr(ChangeWatch, "open", classmethod(lambda cls, *args, **kwargs: None))


# -- (1) no copy, (2) nothing changes, (4) the same answers as the copy --------------------


def test_a_quiet_wal_file_is_read_in_place_with_no_copy(tmp_path: Path, copies: list[str]) -> None:
    db = _quiet_wal(tmp_path)
    with SqliteEventStore(str(db), create_tables=False, read_only=True) as store:
        assert store.read_mode == "unchanged in place"
        assert store.count_events() == 189
        assert len(list(store.get_events(EventQuery(limit=UNLIMITED)))) == 189
        assert store.read_mode == "unchanged in place"
    assert copies == []


def test_every_command_gives_the_copys_answer_with_no_copy_and_no_change(
    tmp_path: Path, copies: list[str], invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _quiet_wal(tmp_path)
    before = _fingerprint(db)
    in_place = {}
    for command in COMMANDS:
        result = invoke(*command, db=db)
        in_place[command] = (result.exit_code, result.stdout)
    assert copies == []  # not one private copy for any command
    assert _fingerprint(db) == before  # same bytes, times, inode; nothing beside it

    _no_watch(monkeypatch)
    for command in COMMANDS:
        result = invoke(*command, db=db)
        assert (result.exit_code, result.stdout) == in_place[command], command
    assert len(copies) >= len(COMMANDS)  # the comparison really read copies
    assert _fingerprint(db) == before


def test_a_file_written_moments_ago_is_not_read_in_place_until_quiet(
    tmp_path: Path, copies: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write in the same clock tick as the last one could leave the file's times
    unchanged: a file changed within ``QUIET_SECONDS`` is waited for (when that is
    cheaper than a copy) or copied, never read in place straight away."""
    db = _quiet_wal(tmp_path)
    monkeypatch.setattr(readonly, "QUIET_SECONDS", 30.0)
    os.utime(db)  # a change just now (its ctime too)
    with SqliteEventStore(str(db), create_tables=False, read_only=True) as store:
        assert store.read_mode == "private copy"  # 30 s of waiting costs more than a copy
    assert len(copies) == 1


def test_a_write_between_reads_moves_the_next_read_to_a_copy(
    tmp_path: Path, copies: list[str]
) -> None:
    db = _quiet_wal(tmp_path)
    with SqliteEventStore(str(db), create_tables=False, read_only=True) as store:
        assert store.get_current_sequence() == 189
        writer = sqlite3.connect(db)
        writer.execute(
            "INSERT INTO events (event_id, event_type, timestamp, entity_type, entity_id, "
            "workflow_id, version, data, correlation_id) VALUES ('N1', 'workflow.created', "
            "'2026-11-28T16:00:00+00:00', 'workflow', 'n', 'n', 1, '{}', 'n')"
        )
        writer.commit()
        writer.close()  # the last connection: checkpointed into the file, -wal removed
        assert not Path(f"{db}-wal").exists()
        assert store.get_current_sequence() == 190  # not the stale 189 of immutable=1
        assert store.read_mode == "private copy"
    assert len(copies) == 1


# -- (3) writers that come and go during reads: never a wrong answer ------------------------

WRITER = """
import json, random, sqlite3, sys, time
path, log = sys.argv[1], sys.argv[4]
seconds, seed, pause = float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[5])
rng = random.Random(seed)
end = time.monotonic() + seconds
conn = sqlite3.connect(path)
n = conn.execute("SELECT max(sequence) FROM events").fetchone()[0]
conn.close()
with open(log, "w") as out:
    while time.monotonic() < end:
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
        for _ in range(rng.randint(1, 3)):
            rows = []
            for _ in range(rng.randint(1, 60)):
                n += 1
                rows.append((f"W{n:025d}", "workflow.created", "2026-11-28T16:00:00+00:00",
                             "workflow", f"w{n % 7}", f"w{n % 7}", n,
                             json.dumps({"n": n, "pad": "x" * (n * 37 % 1500)}), f"w{n % 7}"))
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO events (event_id, event_type, timestamp, entity_type, entity_id, "
                "workflow_id, version, data, correlation_id) VALUES (?,?,?,?,?,?,?,?,?)", rows)
            conn.execute("COMMIT")
            out.write(f"{n}\\n")
            out.flush()
        roll = rng.random()
        if roll < 0.3:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        elif roll < 0.4:
            conn.execute("VACUUM")  # every page rewritten, then checkpointed into the file
        conn.close()  # the last connection: checkpoint, -wal and -shm removed
        time.sleep(rng.uniform(0, pause))
"""


def _writer(
    db: Path, seconds: float, seed: int, pause: float
) -> tuple[subprocess.Popen[str], Path]:
    log = db.parent.parent / f"committed-{seed}.log"
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(seconds), str(seed), str(log), str(pause)],
        text=True,
    )
    return process, log


def _final_rows(db: Path) -> list[tuple[int, str, str]]:
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(
            "SELECT sequence, event_id, data FROM events ORDER BY sequence"
        ).fetchall()
    finally:
        conn.close()


def test_writers_that_open_write_checkpoint_and_close_never_make_a_read_wrong(
    tmp_path: Path, copies: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many reads, each compared with the answer the file's final content gives: every
    list of rows is exactly a prefix of it, every count a total some commit left. With
    ``QUIET_SECONDS`` at 0 the file is read in place right after each write, so the
    watch alone must catch every change; the test also requires that reads in place
    succeeded and that changes were caught (both paths really ran). It fails when the
    check after each read is disabled: stale or torn rows are then returned."""
    monkeypatch.setattr(readonly, "QUIET_SECONDS", 0.0)
    # Only the two ways under test: in place as unchanging, or a copy. (Reading in place
    # beside the writer's side files keeps them alive after it closes, and then every
    # later read would take that third way.)
    monkeypatch.setattr(readonly, "_usable_sidecars", lambda real: False)
    db = _quiet_wal(tmp_path)
    left_in_place = 0
    real_leave = Store._leave_unchanging

    def counting_leave(self: Store, target: Any) -> None:
        nonlocal left_in_place
        left_in_place += 1
        real_leave(self, target)

    monkeypatch.setattr(Store, "_leave_unchanging", counting_leave)
    rng = random.Random(13)
    writer, log = _writer(db, seconds=12, seed=13, pause=0.05)
    listings: list[list[tuple[int, str, str]]] = []
    counts: list[int] = []
    vouched_in_place = 0
    try:
        time.sleep(0.2)
        while writer.poll() is None or len(listings) < 50:
            with SqliteEventStore(
                str(db), create_tables=False, read_only=True, busy_timeout=30
            ) as store:
                started_in_place = store.read_mode == "unchanged in place"
                kind = rng.choice(["all", "count", "head", "after"])
                if kind == "all":
                    events = list(store.get_events(EventQuery(limit=UNLIMITED)))
                    listings.append([(e.sequence, e.event_id, json.dumps(e.data)) for e in events])
                elif kind == "count":
                    counts.append(store.count_events())
                elif kind == "head":
                    counts.append(store.get_current_sequence())
                else:
                    rows = store.fetch_all(
                        "SELECT sequence, event_id, data FROM events WHERE sequence > ? "
                        "ORDER BY sequence",
                        (0,),
                    )
                    listings.append([(s, e, json.dumps(json.loads(d))) for s, e, d in rows])
                if started_in_place and store.read_mode == "unchanged in place":
                    vouched_in_place += 1
            if writer.poll() is not None and len(listings) >= 50:
                break
    finally:
        writer.wait(timeout=60)
    assert writer.returncode == 0
    final = [(s, e, json.dumps(json.loads(d))) for s, e, d in _final_rows(db)]
    committed = {189} | {int(line) for line in log.read_text().split()}
    assert len(committed) > 20  # the writer really came and went many times
    for listing in listings:
        assert listing == final[: len(listing)]  # exactly what was committed, in order
        assert len(listing) in committed  # one state the file really had
    for count in counts:
        assert count in committed
    assert vouched_in_place > 0  # reads in place were vouched for and used
    assert left_in_place > 0  # and changes during a read were caught
    assert len(listings) + len(counts) >= 50
    for directory in copies:
        assert not os.path.exists(directory)  # every copy taken was removed


def test_real_audits_beside_a_writer_that_comes_and_goes_never_fail_or_err(
    tmp_path: Path,
) -> None:
    """Real processes with the default settings: the writer pauses long enough between
    its visits for the file to be read in place; every audit exits 0 with a prefix of
    the final content, whatever it met."""
    db = _quiet_wal(tmp_path)
    private = tmp_path / "private-tmp"
    private.mkdir()
    writer, log = _writer(db, seconds=10, seed=7, pause=0.4)
    outputs: list[list[tuple[int, str]]] = []
    try:
        time.sleep(0.2)
        while writer.poll() is None:
            result = run_process(
                "events",
                "-f",
                "ndjson",
                "--limit",
                "100000",
                "--db",
                str(db),
                env={"TMPDIR": str(private), "STABILIZE_BUSY_TIMEOUT": "30"},
            )
            assert result.returncode == 0, result.stderr
            assert result.stderr == ""
            rows = [json.loads(line) for line in result.stdout.splitlines()]
            outputs.append(sorted((r["sequence"], r["event_id"]) for r in rows))
    finally:
        writer.wait(timeout=60)
    final = [(s, e) for s, e, _ in _final_rows(db)]
    committed = {189} | {int(line) for line in log.read_text().split()}
    assert len(outputs) >= 5
    for output in outputs:
        assert output == final[: len(output)]
        assert len(output) in committed
    assert list(private.iterdir()) == []


def test_threads_reading_one_store_ride_out_the_switch_to_a_copy(
    tmp_path: Path, copies: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``metrics`` reads on two threads at once: while the store moves from the file to
    a copy under them, neither fails and both give only totals a commit left. (The
    thread that notices the change leaves the other's connection open, in case it is
    mid-read; that window is too short for this test to hit reliably.)"""
    monkeypatch.setattr(readonly, "QUIET_SECONDS", 0.0)
    monkeypatch.setattr(readonly, "_usable_sidecars", lambda real: False)
    db = _quiet_wal(tmp_path)
    writer, log = _writer(db, seconds=4, seed=5, pause=0.05)
    errors: list[BaseException] = []
    seen: list[int] = []
    try:
        time.sleep(0.2)
        while writer.poll() is None:
            with SqliteEventStore(str(db), create_tables=False, read_only=True) as store:

                def work(store: SqliteEventStore = store) -> None:
                    try:
                        for _ in range(5):
                            seen.append(len(list(store.get_events(EventQuery(limit=UNLIMITED)))))
                    except BaseException as error:  # handed to the test's thread
                        errors.append(error)

                threads = [threading.Thread(target=work) for _ in range(2)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=60)
    finally:
        writer.wait(timeout=60)
    assert errors == []
    committed = {189} | {int(line) for line in log.read_text().split()}
    assert seen
    assert set(seen) <= committed


def test_a_tab_completes_nothing_rather_than_copy_a_big_file(
    tmp_path: Path, copies: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Tab on a file that cannot be read in place (written moments ago) waits
    ``TAB_SECONDS`` at most, not an audit's 30 s, and copies only a small file."""
    db = _quiet_wal(tmp_path)
    monkeypatch.setattr(readonly, "QUIET_SECONDS", 30.0)
    os.utime(db)  # a change just now: not read in place for 30 s
    monkeypatch.setattr(quick_reads, "TAB_COPY_BYTES", db.stat().st_size - 1)
    started = time.monotonic()
    with pytest.raises(StoreBusyError):
        quick_reads.workflow_ids_with_prefix(str(db), WF[:4], 5)
    assert candidates(WORKFLOW, WF[:4], str(db)) == []
    assert time.monotonic() - started < 5  # not the audit's 30 s wait for quiet
    assert copies == []  # too big: not copied
    monkeypatch.setattr(quick_reads, "TAB_COPY_BYTES", db.stat().st_size)
    assert WF in quick_reads.workflow_ids_with_prefix(str(db), WF[:4], 5)
    assert len(copies) == 1  # small enough: copied, as before


def test_a_tab_reads_a_quiet_file_in_place_and_drops_a_read_it_changed_under(
    tmp_path: Path, copies: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tab's own reads (``quick_reads``) are vouched for as every audit read is: a quiet
    file is read in place with no copy, and a read during which the file changed gives
    ``ChangedWhileRead`` (a Tab then completes nothing), never its rows."""
    db = _quiet_wal(tmp_path)
    before = _fingerprint(db)
    assert WF in quick_reads.workflow_ids_with_prefix(str(db), WF[:4], 5)
    assert copies == []
    assert _fingerprint(db) == before

    real_check = quick_reads.require_real_events_table

    def changed_meanwhile(conn: sqlite3.Connection, path: str) -> None:
        os.utime(db)  # a writer's touch in the middle of the read
        real_check(conn, path)

    monkeypatch.setattr(quick_reads, "require_real_events_table", changed_meanwhile)
    with pytest.raises(readonly.ChangedWhileRead):
        quick_reads.workflow_ids_with_prefix(str(db), WF[:4], 5)
    assert copies == []  # the dropped read was the in-place one
