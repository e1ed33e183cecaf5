"""Bad input through the real CLI (reliability matrix, BI): files and arguments.

The contract, for every case: exactly one ``error: ...`` line on stderr naming the
problem, the documented exit code (cli/exit_codes.py), nothing on stdout (unless a
command had already printed part of its answer, which is then marked incomplete), no
traceback, and not one byte written: the file, its ``-wal``/``-shm``/``-journal`` and
the directory listing are fingerprinted before and after. The library's side of these
cases is proved in tests/events/test_readonly.py; here it is what a user sees.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import Result

from ..conftest import REAL_DB
from .conftest import Invoke, run_process

WF = "01M8HAZVN51R0GZ2NVTT2DCYFJ"
SIDE_FILES = ("-wal", "-shm", "-journal")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
ROOT_REASON = "root opens any file and writes in any directory: there is no refusal to see"
COLUMNS = (
    "event_id, event_type, timestamp, entity_type, entity_id, workflow_id, version, data, "
    "correlation_id, causation_id, actor, source_handler, schema_version"
)

# -- helpers -----------------------------------------------------------------------------


def _entry(path: Path) -> Any:
    """A file's sha256, size and mtime; for anything else only its kind (a FIFO is never
    opened: that would block)."""
    if not os.path.lexists(path):
        return None
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        return stat.S_IFMT(info.st_mode)
    return hashlib.sha256(path.read_bytes()).hexdigest(), info.st_size, info.st_mtime_ns


def fingerprint(path: Path) -> dict[str, Any]:
    state = {suffix or "db": _entry(Path(f"{path}{suffix}")) for suffix in ("", *SIDE_FILES)}
    state["listing"] = sorted(os.listdir(path.parent))
    return state


def assert_one_error(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, result.stderr
    assert result.stdout == ""
    assert_error_line(result.stderr, *fragments)


HIDDEN_NOTES = re.compile(
    r"^(warning: workflow .*: its secrets declaration may be on a damaged page: .*"
    r"|redacted \d+ values? \(use .*)\n",
    re.M,
)
"""What a run says before its error when a workflow has a row on the damaged page (its
declaration may be there, so its payload values are hidden)."""


def error_after_hidden(stderr: str) -> str:
    return HIDDEN_NOTES.sub("", stderr)


def assert_error_line(stderr: str, *fragments: str) -> None:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in stderr


def sqlite_file(path: Path, *statements: str) -> Path:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()
    return path


def copy_of_engine_db(directory: Path, name: str = "events.db") -> Path:
    target = directory / name
    shutil.copyfile(REAL_DB, target)
    return target


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """A directory holding only the file under test, so its listing is exact."""
    directory = tmp_path / "store"
    directory.mkdir()
    return directory


@pytest.fixture(scope="module")
def many_events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The engine's events 31 times over (5,859 rows, ~1,000 pages), for page damage."""
    path = tmp_path_factory.mktemp("many") / "many.db"
    shutil.copyfile(REAL_DB, path)
    conn = sqlite3.connect(path)
    rows = conn.execute(f"SELECT {COLUMNS} FROM events ORDER BY sequence").fetchall()
    for copy in range(30):
        conn.executemany(
            f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join('?' * 13)})",
            [(f"{r[0]}-{copy}", *r[1:5], f"{r[5]}-{copy}", *r[6:]) for r in rows],
        )
    conn.commit()
    conn.close()
    return path


# -- files -------------------------------------------------------------------------------


def _missing(d: Path) -> Path:
    return d / "absent.db"


def _directory(d: Path) -> Path:
    (d / "a-directory.db").mkdir()
    return d / "a-directory.db"


def _fifo(d: Path) -> Path:
    os.mkfifo(d / "pipe.db")
    return d / "pipe.db"


def _written(name: str, content: bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        (d / name).write_bytes(content)
        return d / name

    return make


def _no_events_table(d: Path) -> Path:
    return sqlite_file(d / "other.db", "CREATE TABLE users (id)", "CREATE TABLE orders (id)")


def _events_view(d: Path) -> Path:
    return sqlite_file(d / "view.db", "CREATE TABLE t (x)", "CREATE VIEW events AS SELECT * FROM t")


def _missing_columns(d: Path) -> Path:
    return sqlite_file(
        d / "old.db", "CREATE TABLE events (sequence INTEGER PRIMARY KEY, event_id, data)"
    )


def _unparseable_ddl(d: Path) -> Path:
    """A schema row this SQLite cannot parse, written the way a damaged file would hold it."""
    return sqlite_file(
        copy_of_engine_db(d),
        "PRAGMA writable_schema=ON",
        "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES "
        "('table', 'broken', 'broken', 0, 'CREATE TABLE broken (x INTEGER, FROB NICATE((')",
        "PRAGMA writable_schema=OFF",
    )


FILE_CASES = [
    pytest.param(_missing, 3, ("absent.db: no such file",), id="missing"),
    pytest.param(_directory, 3, ("is a directory, not a database file",), id="directory"),
    pytest.param(_fifo, 3, ("not a regular file (a FIFO or device would block)",), id="fifo"),
    pytest.param(_written("e.db", b""), 3, ("empty file, not an SQLite database",), id="empty"),
    pytest.param(_written("t.db", b"hello\n"), 3, ("not an SQLite database",), id="text"),
    pytest.param(_written("j.json", b'{"a": 1}\n'), 3, ("not an SQLite database",), id="json"),
    pytest.param(_written("c.csv", b"a,b\n1,2\n"), 3, ("not an SQLite database",), id="csv"),
    pytest.param(
        _written("short.db", b"SQLite format 3\x00" + b"\x00" * 40),
        3,
        ("short.db: not an SQLite database",),
        id="under-100-bytes-with-the-magic",
    ),
    pytest.param(
        _no_events_table, 3, ("no events table (tables: orders, users)",), id="no-events-table"
    ),
    pytest.param(_events_view, 3, ("'events' is a view, not a table",), id="events-is-a-view"),
    pytest.param(
        _missing_columns,
        3,
        ("events table lacks columns: event_type, timestamp, entity_type",),
        id="missing-columns",
    ),
    pytest.param(
        _unparseable_ddl, 4, ("malformed database schema (broken)",), id="unparseable-ddl"
    ),
]
COMMANDS = [
    ["workflows"],
    ["events", "--json"],
    ["timeline", "latest"],
    ["verify"],
    ["graph", "latest"],
    ["compare", "latest", "latest"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize(("make", "code", "fragments"), FILE_CASES)
def test_a_bad_file_is_one_error_line_with_its_exit_code_and_nothing_written(
    invoke: Invoke,
    store_dir: Path,
    make: Callable[[Path], Path],
    code: int,
    fragments: tuple[str, ...],
    command: list[str],
) -> None:
    path = make(store_dir)
    before = fingerprint(path)
    result = invoke(*command, db=path)
    assert_one_error(result, code, *fragments)
    assert fingerprint(path) == before


def test_a_missing_file_is_still_absent_afterwards(invoke: Invoke, store_dir: Path) -> None:
    invoke("workflows", db=store_dir / "absent.db")
    assert os.listdir(store_dir) == []


def test_a_fifo_is_refused_by_the_real_process_without_blocking(store_dir: Path) -> None:
    os.mkfifo(store_dir / "pipe.db")
    done = run_process("workflows", "--db", str(store_dir / "pipe.db"), timeout=20)
    assert done.returncode == 3
    assert_error_line(done.stderr, "not a regular file")


@pytest.mark.skipif(IS_ROOT, reason=ROOT_REASON)
def test_a_file_without_read_permission_is_exit_3_permission_denied(
    invoke: Invoke, store_dir: Path
) -> None:
    path = copy_of_engine_db(store_dir)
    path.chmod(0)
    try:
        assert_one_error(invoke("workflows", db=path), 3, "permission denied")
    finally:
        path.chmod(0o644)


@pytest.mark.skipif(IS_ROOT, reason=ROOT_REASON)
def test_a_wal_database_in_a_read_only_directory_is_read_and_left_alone(
    invoke: Invoke, store_dir: Path
) -> None:
    path = sqlite_file(copy_of_engine_db(store_dir), "PRAGMA journal_mode=WAL")
    expected = invoke("workflows", "--json").stdout
    store_dir.chmod(0o555)
    try:
        before = fingerprint(path)
        result = invoke("workflows", "--json", db=path)
        assert (result.exit_code, result.stdout) == (0, expected)
        assert fingerprint(path) == before
    finally:
        store_dir.chmod(0o755)


def test_a_hot_journal_is_exit_3_needs_crash_recovery_and_is_not_rolled_back(
    invoke: Invoke, store_dir: Path
) -> None:
    path = copy_of_engine_db(store_dir)
    crash = (
        "import os, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "conn.execute('PRAGMA cache_size=1')\n"
        "conn.execute('BEGIN IMMEDIATE')\n"
        "conn.execute('UPDATE events SET actor = hex(randomblob(600))')\n"
        "os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", crash, str(path)], check=True, timeout=30)
    before = fingerprint(path)
    assert before["-journal"] is not None
    assert_one_error(invoke("workflows", db=path), 3, "needs crash recovery")
    assert fingerprint(path) == before


def test_a_writer_holding_an_exclusive_lock_is_exit_5_after_the_busy_timeout(
    invoke: Invoke, store_dir: Path
) -> None:
    path = copy_of_engine_db(store_dir)
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN EXCLUSIVE")
        before = fingerprint(path)
        result = invoke("workflows", db=path, env={"STABILIZE_BUSY_TIMEOUT": "0.2"})
        assert_one_error(result, 5, "database is locked by another process")
        assert fingerprint(path) == before
    finally:
        writer.execute("ROLLBACK")
        writer.close()


# -- damage found while reading ----------------------------------------------------------


def damaged(source: Path, directory: Path, *, truncate: bool = False) -> Path:
    """A copy with three pages in the middle overwritten (or the second half cut off)."""
    path = directory / "damaged.db"
    shutil.copyfile(source, path)
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        if truncate:
            handle.truncate(size // 2)
        else:
            handle.seek((size // 4096 // 2) * 4096)
            handle.write(b"\xde\xad\xbe\xef" * 3072)
    return path


def test_a_table_cut_short_by_a_corrupt_page_shows_the_rows_then_the_mark(
    invoke: Invoke, store_dir: Path, many_events: Path
) -> None:
    path = damaged(many_events, store_dir)
    before = fingerprint(path)
    result = invoke("events", "--limit", "100000", db=path)
    assert result.exit_code == 4
    assert_error_line(error_after_hidden(result.stderr), "database is corrupt")
    lines = result.stdout.rstrip().splitlines()
    assert lines[0].lstrip().startswith("SEQ")  # right-aligned: wider with rows past the damage
    assert len(lines) > 100  # the readable rows are shown (they were all lost before)
    mark = result.stdout.rindex("INCOMPLETE: ")  # the last thing shown (it may wrap)
    assert "database is corrupt" in result.stdout[mark:]
    assert fingerprint(path) == before


def test_json_cut_short_by_a_corrupt_page_ends_with_an_incomplete_mark(
    invoke: Invoke, store_dir: Path, many_events: Path
) -> None:
    path = damaged(many_events, store_dir)
    result = invoke("events", "--json", "--limit", "100000", db=path)
    assert result.exit_code == 4
    stderr = error_after_hidden(result.stderr)
    assert_error_line(stderr, "database is corrupt")
    *events, last = json.loads(result.stdout)
    assert len(events) > 100
    error = stderr[len("error: ") :].strip()
    assert last == {"incomplete": True, "error": error, "damaged_sequences": [[2738, 2769]]}
    assert error.endswith("events 2738-2769 could not be read")


def test_ndjson_cut_short_by_a_corrupt_page_ends_with_an_incomplete_line(
    invoke: Invoke, store_dir: Path, many_events: Path
) -> None:
    path = damaged(many_events, store_dir)
    result = invoke("events", "-f", "ndjson", "--limit", "100000", db=path)
    assert result.exit_code == 4
    *events, last = [json.loads(line) for line in result.stdout.splitlines()]
    assert last["incomplete"] is True
    ((first, end),) = last["damaged_sequences"]  # every other row, on both sides, in order
    total = len(events) + end - first + 1
    kept = [s for s in range(1, total + 1) if not first <= s <= end]
    assert [e["sequence"] for e in events] == kept


def test_a_truncated_file_is_exit_4_and_one_line(
    invoke: Invoke, store_dir: Path, many_events: Path
) -> None:
    path = damaged(many_events, store_dir, truncate=True)
    before = fingerprint(path)
    assert_one_error(invoke("events", "--limit", "100000", db=path), 4, "database is corrupt")
    assert fingerprint(path) == before


# -- schema drift: warn once and go on ---------------------------------------------------


def test_extra_columns_are_one_warning_line_and_the_output_is_whole(
    invoke: Invoke, store_dir: Path
) -> None:
    path = sqlite_file(copy_of_engine_db(store_dir), "ALTER TABLE events ADD COLUMN tenant TEXT")
    result = invoke("events", "--json", "--limit", "1000", db=path)
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)) == 189
    assert result.stderr == (
        "warning: the events table has columns this tool does not know (tenant): not shown\n"
    )


def test_a_newer_schema_version_is_one_warning_line_and_the_state_is_still_shown(
    invoke: Invoke, store_dir: Path
) -> None:
    path = sqlite_file(
        copy_of_engine_db(store_dir),
        "UPDATE events SET schema_version = 2 WHERE sequence IN (65, 66)",
    )
    result = invoke("state", WF, "--json", db=path)
    assert result.exit_code == 0
    assert json.loads(result.stdout)["workflow_id"] == WF
    (line,) = result.stderr.splitlines()
    assert line.startswith("warning: skipping event ")
    assert "(sequence 65) and 1 more" in line
    assert "schema_version 2 is newer than this tool reads (1)" in line


# -- paths -------------------------------------------------------------------------------

ODD_NAMES = ["we?ird #1 %41.db", "spaced out name.db", "ünïcødé ☃ 数据.db", "-weird.db"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_an_odd_file_name_opens_that_file_and_writes_nothing(
    invoke: Invoke, store_dir: Path, name: str
) -> None:
    path = copy_of_engine_db(store_dir, name)
    before = fingerprint(path)
    result = invoke("workflows", "--json", f"--db={path}", db=None)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == invoke("workflows", "--json").stdout
    assert fingerprint(path) == before


@pytest.mark.parametrize("spelling", ["--db=-weird.db", "./-weird.db", "file:x.db"])
def test_a_relative_name_that_looks_like_an_option_or_a_uri_is_a_plain_file(
    invoke: Invoke, store_dir: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    name = spelling.removeprefix("--db=").removeprefix("./")
    path = copy_of_engine_db(store_dir, name)
    monkeypatch.chdir(store_dir)
    before = fingerprint(path)
    args = [spelling] if spelling.startswith("--db=") else ["--db", spelling]
    result = invoke("workflows", "--json", *args, db=None)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)
    assert fingerprint(path) == before


def test_a_file_uri_is_refused_in_one_line_not_opened_as_a_uri(
    invoke: Invoke, store_dir: Path
) -> None:
    path = copy_of_engine_db(store_dir)
    before = fingerprint(path)
    result = invoke("workflows", db=f"file://{path}?mode=rwc")
    assert_one_error(result, 3, "unsupported connection string")
    assert fingerprint(path) == before


@pytest.mark.parametrize(
    ("db", "code", "fragment"),
    [
        (":memory:", 2, ":memory: is a new, empty database with nothing to audit"),
        ("sqlite:///:memory:", 2, ":memory: is a new, empty database with nothing to audit"),
        ("", 3, "empty database path"),
        ("   ", 3, "empty database path"),
    ],
)
def test_an_in_memory_or_empty_path_is_one_clear_line(
    invoke: Invoke, db: str, code: int, fragment: str
) -> None:
    assert_one_error(invoke("workflows", db=db), code, fragment)


def test_a_symlink_to_a_database_is_read_and_its_target_left_alone(
    invoke: Invoke, store_dir: Path
) -> None:
    target = copy_of_engine_db(store_dir)
    link = store_dir / "link.db"
    link.symlink_to(target)
    before = fingerprint(target)
    result = invoke("workflows", "--json", db=link)
    assert (result.exit_code, result.stderr) == (0, "")
    assert result.stdout == invoke("workflows", "--json").stdout
    assert fingerprint(target) == before
