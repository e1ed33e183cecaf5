"""Files that change underneath, and the file system (issue 13, section 4), with real
processes: writers that come and go, databases replaced while followed, signals, full
disks, closed pipes, odd terminal widths, shared cache directories, odd schemas."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stabilize_cli.events import SqliteEventStore
from stabilize_cli.events.store.sqlite import private_copies
from stabilize_cli.events.store.sqlite.readonly import prepare_read_only

from ..conftest import REAL_DB
from .conftest import Invoke, run_process

WF = "01M8HAZVN51R0GZ2NVTT2DCYFJ"
PY = [sys.executable, "-m", "stabilize_cli"]


def _wal_copy(
    tmp_path: Path, name: str = "wal.db", padding: int = 0, *, needs_copy: bool = False
) -> Path:
    """The engine's database in WAL mode, its side files absent (as a closed writer
    leaves it): a read-only open would create them, so audits read it in place as
    unchanging, or a private copy. ``padding`` bytes in a table of their own make the
    copy take longer. ``needs_copy`` leaves an empty ``-wal`` without ``-shm`` beside it
    (as a crashed writer may): such a file is always read through a private copy."""
    path = tmp_path / name
    shutil.copyfile(REAL_DB, path)
    conn = sqlite3.connect(path)
    if padding:
        conn.execute("CREATE TABLE padding (b BLOB)")
        conn.execute("INSERT INTO padding VALUES (zeroblob(?))", (padding,))
        conn.commit()
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    assert not Path(f"{path}-wal").exists()
    if needs_copy:
        Path(f"{path}-wal").touch()
    return path


def _private_tmp(tmp_path: Path) -> Path:
    directory = tmp_path / "private-tmp"
    directory.mkdir(exist_ok=True)
    return directory


def _copies(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"{private_copies.PREFIX}*"))


# -- a WAL writer that opens and closes its connection --------------------------------

WRITER = """
import sqlite3, sys, time
path, seconds = sys.argv[1], float(sys.argv[2])
end = time.monotonic() + seconds
n = 0
while time.monotonic() < end:
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    with conn:
        conn.execute(
            "INSERT INTO events (event_id, event_type, timestamp, entity_type, entity_id, "
            "workflow_id, version, data, correlation_id) VALUES (?, 'workflow.created', "
            "'2026-11-28T15:00:00+00:00', 'workflow', ?, ?, 1, '{}', ?)",
            (f"W{n:025d}", f"X{n}", f"X{n}", f"X{n}"),
        )
    conn.close()
    n += 1
print(n)
"""


def test_audits_wait_for_a_writer_that_opens_and_closes_instead_of_failing(
    tmp_path: Path,
) -> None:
    db = _wal_copy(tmp_path)
    private = _private_tmp(tmp_path)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), "8"], stdout=subprocess.PIPE, text=True
    )
    codes: list[int] = []
    try:
        time.sleep(0.3)
        while writer.poll() is None and len(codes) < 25:
            result = run_process(
                "events",
                "--limit",
                "1",
                "-f",
                "ndjson",
                "--db",
                str(db),
                env={"TMPDIR": str(private), "STABILIZE_BUSY_TIMEOUT": "20"},
            )
            codes.append(result.returncode)
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout)["sequence"] >= 1
    finally:
        out, _ = writer.communicate(timeout=60)
    assert int(out) > 10  # the writer really came and went many times meanwhile
    assert len(codes) >= 5
    assert _copies(private) == []


def test_a_copy_that_never_holds_still_is_busy_after_the_timeout(tmp_path: Path) -> None:
    """A file changing faster than it can be copied (another process sets a new mtime
    in a tight loop): StoreBusyError (exit 5) after the busy timeout, no copy left."""
    db = _wal_copy(tmp_path, padding=64 * 2**20)
    toucher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys\nn = 0\nwhile True:\n    n += 1\n    os.utime(sys.argv[1], ns=(n, n))",
            str(db),
        ]
    )
    private = _private_tmp(tmp_path)
    started = time.monotonic()
    try:
        time.sleep(0.2)
        result = run_process(
            "events",
            "--limit",
            "1",
            "--db",
            str(db),
            env={"TMPDIR": str(private), "STABILIZE_BUSY_TIMEOUT": "0.5"},
        )
    finally:
        toucher.kill()
        toucher.wait()
    assert result.returncode == 5, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {db}: kept changing while being copied")
    assert time.monotonic() - started < 30
    assert _copies(private) == []


def test_no_copy_is_taken_while_the_writer_holds_its_side_files(tmp_path: Path) -> None:
    db = _wal_copy(tmp_path)
    writer = sqlite3.connect(db)
    writer.execute("SELECT count(*) FROM events").fetchone()  # creates -wal and -shm
    try:
        target = prepare_read_only(str(db))
        assert not target.is_copy
    finally:
        writer.close()


# -- a hard-linked -shm ---------------------------------------------------------------


def test_a_hard_linked_shm_is_read_through_the_copy_and_never_written(tmp_path: Path) -> None:
    db = _wal_copy(tmp_path)
    writer = sqlite3.connect(db)
    writer.execute("SELECT count(*) FROM events").fetchone()
    elsewhere = tmp_path / "elsewhere" / "linked-shm"
    elsewhere.parent.mkdir()
    os.link(f"{db}-shm", elsewhere)
    try:
        before = hashlib.sha256(elsewhere.read_bytes()).hexdigest()
        target = prepare_read_only(str(db))
        assert target.is_copy
        target.cleanup()
        result = run_process("events", "--limit", "2", "--json", "--db", str(db))
        assert result.returncode == 0, result.stderr
        assert len(json.loads(result.stdout)) == 2
        assert hashlib.sha256(elsewhere.read_bytes()).hexdigest() == before
    finally:
        writer.close()


# -- events --follow on a database that is replaced or deleted -------------------------


@pytest.mark.parametrize("how", ["deleted", "renamed over", "copied over", "cut short"])
def test_follow_stops_when_the_database_is_replaced_or_deleted(tmp_path: Path, how: str) -> None:
    db = tmp_path / "followed.db"
    shutil.copyfile(REAL_DB, db)
    other = tmp_path / "other.db"
    shutil.copyfile(REAL_DB.parent / "demo.db", other)
    follower = subprocess.Popen(
        [
            *PY,
            "events",
            "--follow",
            "--interval",
            "0.05",
            "--limit",
            "3",
            "-f",
            "ndjson",
            "--db",
            str(db),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        first_line = follower.stdout.readline()  # the backlog has been read
        assert json.loads(first_line)["sequence"] >= 1
        if how == "deleted":
            db.unlink()
        elif how == "renamed over":
            os.replace(other, db)
        elif how == "copied over":
            shutil.copyfile(other, db)
        else:  # the same file, its newest events removed: what was shown is gone
            conn = sqlite3.connect(db)
            conn.execute("DELETE FROM events WHERE sequence > 100")
            conn.commit()
            conn.close()
        out = first_line + follower.stdout.read()  # to the end: the follower stopped
        assert follower.stderr is not None
        err = follower.stderr.read()
        follower.wait(timeout=30)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert follower.returncode == 3
    (line,) = err.splitlines()
    assert line.startswith(f"error: {db}: ")
    assert ("deleted" in line) if how == "deleted" else ("while it was followed" in line)
    sequences = [json.loads(x)["sequence"] for x in out.splitlines()]
    assert all(s <= 189 for s in sequences)  # nothing of the other database spliced in


# -- signals and copies left behind ----------------------------------------------------


def _follower_with_copy(db: Path, private: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [*PY, "events", "--follow", "--interval", "0.1", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(private)},
    )
    assert process.stdout is not None
    process.stdout.readline()  # running, its copy taken
    assert len(_copies(private)) == 1
    return process


@pytest.mark.parametrize("signum", [signal.SIGHUP, signal.SIGTERM])
def test_sighup_and_sigterm_remove_the_private_copy(tmp_path: Path, signum: int) -> None:
    db, private = _wal_copy(tmp_path, needs_copy=True), _private_tmp(tmp_path)
    process = _follower_with_copy(db, private)
    process.send_signal(signum)
    process.communicate(timeout=30)
    assert process.returncode == 128 + signum
    assert _copies(private) == []


def test_copies_of_a_killed_process_are_removed_by_the_next_run(tmp_path: Path) -> None:
    db, private = _wal_copy(tmp_path, needs_copy=True), _private_tmp(tmp_path)
    killed = _follower_with_copy(db, private)
    killed.kill()  # SIGKILL: no clean-up runs
    killed.communicate(timeout=30)
    (left,) = _copies(private)
    alive = _follower_with_copy(db, private)  # makes its own copy, sweeps the dead one's
    try:
        remaining = _copies(private)
        assert left not in remaining
        assert len(remaining) == 1  # the live process's copy is kept
        unrelated = private / "stabilize-audit-not-ours.txt"
        unrelated.write_text("a user's file")
        assert private_copies.remove_stale(str(private)) == []
        assert unrelated.exists()
    finally:
        alive.terminate()
        alive.communicate(timeout=30)
    assert _copies(private) == [unrelated]


# -- I/O errors -------------------------------------------------------------------------


COMMANDS = [
    ["events"],
    ["events", "-f", "ndjson"],
    ["timeline", WF],
    ["history", WF, "--all", "--json"],
    ["state", WF],
    ["verify", "--json"],
    ["metrics", "--no-cache"],
    ["workflows", "-f", "csv"],
]


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_stdout_on_a_full_device_is_one_error_line_and_exit_7(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*PY, *args, "--db", str(REAL_DB)],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 7
    assert result.stderr.splitlines() == [
        "error: I/O error: No space left on device (writing the output)"
    ]


def test_a_closed_stdout_is_one_error_line_and_exit_7() -> None:
    result = subprocess.run(
        [*PY, "events", "--db", str(REAL_DB)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: os.close(1),
    )
    assert result.returncode == 7
    assert result.stderr == "error: standard output is closed\n"


def test_a_full_stderr_keeps_the_error_exit_code() -> None:
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [*PY, "events", "--db", "/nonexistent/x.db"],
            stdout=subprocess.PIPE,
            stderr=full,
            timeout=60,
            check=False,
        )
    assert result.returncode == 3


def _file_size_limit(limit: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_an_export_to_a_full_disk_leaves_no_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "run.svg"
    target.parent.mkdir()
    result = subprocess.run(
        [*PY, "timeline", WF, "--export", str(target), "--db", str(REAL_DB)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=lambda: _file_size_limit(4096),
    )
    assert result.returncode == 7
    assert result.stderr.splitlines()[-1] == f"error: I/O error: File too large ({target})"
    assert list(target.parent.iterdir()) == []


def test_an_export_replaces_the_file_whole(tmp_path: Path, invoke: Invoke) -> None:
    target = tmp_path / "run.svg"
    target.write_text("old")
    assert invoke("timeline", WF, "--export", str(target)).exit_code == 0
    assert target.read_text().startswith("<svg")
    assert [p.name for p in tmp_path.iterdir()] == ["run.svg"]


def test_a_full_tmpdir_is_one_error_line_and_leaves_no_copy(tmp_path: Path) -> None:
    db, private = _wal_copy(tmp_path, needs_copy=True), _private_tmp(tmp_path)
    result = subprocess.run(
        [*PY, "events", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "TMPDIR": str(private)},
        preexec_fn=lambda: _file_size_limit(db.stat().st_size // 2),
    )
    assert result.returncode == 3
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {db}: cannot make the private copy")
    assert "File too large" in line
    assert _copies(private) == []


# -- broken pipes -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def long_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One workflow of 20,000 events: every command's output is far beyond a pipe buffer."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import generate_store  # noqa: PLC0415

    path = tmp_path_factory.mktemp("long") / "long.db"
    workflow, rows = generate_store.long_workflow_rows(5, 20_000)
    generate_store.write_rows(path, iter([rows]))
    return path, workflow


PIPED = [
    ["events", "--limit", "5000"],
    ["events", "--limit", "5000", "--json"],
    ["events", "--limit", "5000", "-f", "csv"],
    ["events", "--limit", "5000", "-f", "markdown"],
    ["events", "--limit", "5000", "-f", "ndjson"],
    ["history", "WF", "--all"],
    ["history", "WF", "--all", "--json"],
    ["timeline", "WF", "--json"],
    ["state", "WF", "--json"],
    ["diff", "WF", "1", "999999", "--json"],
]


@pytest.mark.parametrize("args", PIPED, ids=" ".join)
def test_a_reader_that_leaves_early_is_exit_141_and_silent(
    long_store: tuple[Path, str], args: list[str]
) -> None:
    db, workflow = long_store
    argv = [workflow if a == "WF" else a for a in args]
    process = subprocess.Popen(
        [*PY, *argv, "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stderr is not None
    assert process.stdout.read(1)
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait(timeout=120) == 141
    # silent: no error, no traceback (a paged table's note comes before any row; a full
    # page's note may follow when the output fitted in the pipe before the reader left)
    notes = (b"note: more than", b"showing the ")
    assert all(line.startswith(notes) for line in err.splitlines()), err


# -- terminal widths ----------------------------------------------------------------------


@settings(max_examples=20, deadline=None)
@given(columns=st.one_of(st.integers(-(10**12), 10**12), st.sampled_from(["", "x", "1e9", " 0 "])))
def test_no_columns_value_makes_the_output_vanish_or_explode(columns: int | str) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415

    from stabilize_cli.cli.app import app  # noqa: PLC0415

    runner = CliRunner()
    for args in (["timeline", WF], ["events", "--limit", "3"], ["metrics", "--no-cache"]):
        result = runner.invoke(
            app,
            [*args, "--db", str(REAL_DB)],
            env={"COLUMNS": str(columns)},
            catch_exceptions=False,
        )
        assert result.exit_code == 0
        assert len(result.stdout) > 100
        assert max(len(line) for line in result.stdout.splitlines()) <= 1000
    assert (
        WF
        in runner.invoke(
            app, ["timeline", WF, "--db", str(REAL_DB)], env={"COLUMNS": str(columns)}
        ).stdout
    )


# -- the metrics cache's clean-up -------------------------------------------------------


def test_cache_cleanup_removes_only_the_tools_own_old_entries(
    tmp_path: Path, invoke: Invoke, private_cache: Path
) -> None:
    old = time.time() - 40 * 86_400
    report = private_cache / "metrics-2026-11.json"
    report.write_text('{"my": "report"}')
    lookalike = private_cache / f"metrics-{'0' * 32}.json"
    lookalike.write_text('{"format": "1/x", "path": "/elsewhere", "checkpoint": 1, "prefix": {}}')
    first = tmp_path / "first.db"
    shutil.copyfile(REAL_DB, first)
    assert invoke("metrics", db=first).exit_code == 0
    (own,) = [p for p in private_cache.glob("metrics-*.json") if p not in (report, lookalike)]
    for path in (report, lookalike, own):
        os.utime(path, (old, old))
    second = tmp_path / "second.db"
    shutil.copyfile(REAL_DB, second)
    assert invoke("metrics", db=second).exit_code == 0  # writing an entry sweeps old ones
    assert report.exists()
    assert lookalike.exists()
    assert not own.exists()


# -- an events table whose sequence is not a key ----------------------------------------


SEQUENCE_DECLARATIONS = {
    "no key": ("sequence INTEGER", "is not unique"),
    "not unique, not null": ("sequence INTEGER NOT NULL", "is not unique"),
    "unique but NULL allowed": ("sequence INTEGER UNIQUE", "allows NULL"),
    "non-integer primary key": ("sequence INT PRIMARY KEY", "allows NULL"),
}


@pytest.mark.parametrize(
    ("declaration", "problem"), SEQUENCE_DECLARATIONS.values(), ids=SEQUENCE_DECLARATIONS.keys()
)
def test_an_events_table_without_a_sequence_key_is_refused(
    invoke: Invoke, tmp_path: Path, declaration: str, problem: str
) -> None:
    db = tmp_path / "odd.db"
    conn = sqlite3.connect(db)
    conn.execute(f"ATTACH '{REAL_DB}' AS real")
    columns = [r[1] for r in conn.execute("PRAGMA real.table_info(events)")][1:]
    conn.execute(f"CREATE TABLE events ({declaration}, {', '.join(columns)})")
    conn.execute("INSERT INTO events SELECT * FROM real.events")
    copy = f"SELECT {'NULL' if 'NULL' in problem else 'sequence'}, {', '.join(columns)}"
    conn.execute(f"INSERT INTO events {copy} FROM real.events WHERE sequence = 65")
    conn.commit()
    conn.close()
    for args in (["events"], ["timeline", WF], ["verify"]):
        result = invoke(*args, db=db)
        assert result.exit_code == 3
        assert result.stderr == (
            f"error: {db}: not a Stabilize event store: events.sequence {problem}"
            + (" (no PRIMARY KEY or UNIQUE index on it alone)\n" if "unique" in problem else "\n")
        )


def test_a_unique_not_null_sequence_is_accepted(invoke: Invoke, tmp_path: Path) -> None:
    db = tmp_path / "keyed.db"
    conn = sqlite3.connect(db)
    conn.execute(f"ATTACH '{REAL_DB}' AS real")
    columns = [r[1] for r in conn.execute("PRAGMA real.table_info(events)")][1:]
    conn.execute(f"CREATE TABLE events (sequence INTEGER NOT NULL, {', '.join(columns)})")
    conn.execute("CREATE UNIQUE INDEX by_sequence ON events(sequence)")
    conn.execute("INSERT INTO events SELECT * FROM real.events")
    conn.commit()
    conn.close()
    with SqliteEventStore(str(db), create_tables=False, read_only=True) as store:
        assert store.get_current_sequence() == 189
