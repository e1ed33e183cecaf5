"""Fuzzing (issue 5, part 8): whatever is in the file, the tool neither crashes, nor hangs,
nor writes, nor lets the bytes reach the terminal raw.

(a) Random values (invalid UTF-8, control characters, brackets, JSON fragments, huge
    numbers, NaN, NULL, blobs) written into any column of ``events``, ``snapshots`` and
    ``event_subscriptions`` of a small valid store, in process, under a per-example deadline.
(b) Random byte-range overwrites and bit flips of the file (in the 100-byte header and
    beyond), each example's commands run in a subprocess with a timeout, so a hang or a
    crash in C cannot take the test run down with it.

Invariants: no exception escapes (only SystemExit), the exit code is in the documented
table, the output is terminal-safe (NDJSON valid and ASCII), and the file is unchanged.
Derandomized: CI always runs the same examples.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from stabilize_cli.cli.app import app
from stabilize_cli.events import (
    EntityType,
    Event,
    EventMetadata,
    EventReplayer,
    EventType,
    SqliteEventStore,
)
from stabilize_cli.events.store.sqlite.schema import EVENT_COLUMNS
from stabilize_cli.events.store.sqlite.side_tables import SNAPSHOT_COLUMNS, SUBSCRIPTION_COLUMNS

from .test_terminal_safety import assert_terminal_safe

DOCUMENTED_EXIT_CODES = frozenset({0, 1, 2, 3, 4, 5, 6, 8})
WF, STAGE, TASK = (
    "01M8HAZVN51R0GZ2NVTT2DCYFJ",
    "01M8HAZVN51R0GZ2NVTT2DCYFF",
    "01M8HB01H7THNFHHYA5FBYMY6E",
)
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("workflows",),
    ("timeline", "latest"),
    ("history", TASK),
    ("events", "-f", "ndjson"),
    ("events",),
    ("state", "latest"),
    ("verify",),
    ("metrics",),
    ("failures",),
    ("snapshots", "list"),
    ("subscriptions", "list"),
)
COLUMNS = {
    "events": EVENT_COLUMNS[1:],  # every column but the sequence
    "snapshots": SNAPSHOT_COLUMNS[1:],  # every column but the id
    "event_subscriptions": SUBSCRIPTION_COLUMNS,
}
ROWS = {"events": 9, "snapshots": 1, "event_subscriptions": 1}
EXAMPLE_DEADLINE = 20.0
"""Seconds one example's commands may take together; far above the ~0.5 s they need."""

SCALE = int(os.environ.get("STABILIZE_FUZZ_SCALE", "1"))
"""A deliberate hunt: ``STABILIZE_FUZZ_SCALE=20 pytest .../test_fuzz.py`` runs 20 times the
examples, randomly seeded; the default run is the same fixed examples everywhere."""
FUZZ = settings(
    deadline=None,
    derandomize=SCALE == 1,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# -- the valid store ------------------------------------------------------------------------

T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


def _event(n: int, kind: EventType, entity: EntityType, entity_id: str, **data: Any) -> Event:
    return Event(
        event_id=f"01M8HB01H7THNFHHYA5FBYM{n:03d}",
        event_type=kind,
        timestamp=T0 + timedelta(seconds=n),
        entity_type=entity,
        entity_id=entity_id,
        workflow_id=WF,
        version=1,
        data=data,
        metadata=EventMetadata(correlation_id=WF, actor="ops", source_handler="Handler"),
    )


def build_valid_db(path: Path) -> Path:
    """A workflow that ran a stage and a retried, failed task; a snapshot; a subscription."""
    w, s, t = EntityType.WORKFLOW, EntityType.STAGE, EntityType.TASK
    events = [
        _event(1, EventType.WORKFLOW_CREATED, w, WF, application="app", name="deploy"),
        _event(2, EventType.WORKFLOW_STARTED, w, WF, context={"env": "prod"}),
        _event(3, EventType.STAGE_STARTED, s, STAGE, name="Build", ref_id="b", type="python"),
        _event(4, EventType.TASK_STARTED, t, TASK, name="compile", stage_id=STAGE),
        _event(5, EventType.TASK_RETRIED, t, TASK, name="compile", attempt=1),
        _event(6, EventType.TASK_FAILED, t, TASK, name="compile", error="boom"),
        _event(7, EventType.STAGE_FAILED, s, STAGE, name="Build", type="python", error="boom"),
        _event(8, EventType.CONTEXT_UPDATED, w, WF, context={"k": [1, 2]}),
        _event(9, EventType.WORKFLOW_FAILED, w, WF, status="TERMINAL", error="boom"),
    ]
    with SqliteEventStore(str(path)) as store:
        store.append_batch(events)
        state = EventReplayer(store).rebuild_workflow_state(WF, 5)
        store.save_snapshot(EntityType.WORKFLOW, WF, WF, 5, 5, state)
        store.save_subscription("sub", [EventType.STAGE_FAILED], {"workflow_id": WF}, 3)
    return path


@pytest.fixture(scope="module")
def valid_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_valid_db(tmp_path_factory.mktemp("fuzz") / "valid.db")


# -- running and checking -------------------------------------------------------------------


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file in the directory and its content: nothing written, nothing created."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


def check_outcome(args: tuple[str, ...], code: int, stdout: str, stderr: str) -> None:
    assert code in DOCUMENTED_EXIT_CODES, (args, code, stderr[-2000:])
    assert_terminal_safe(stdout)
    assert_terminal_safe(stderr)
    if "ndjson" in args:
        assert stdout.isascii()
        for line in stdout.splitlines():
            json.loads(line)


class Hang(Exception):
    """The per-example deadline passed."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_in_process(db: Path) -> None:
    runner = CliRunner()
    for args in COMMANDS:
        result: Result = runner.invoke(app, [*args, "--db", str(db)], prog_name="stabilize")
        error = result.exception
        assert error is None or isinstance(error, SystemExit), (args, result.exc_info)
        check_outcome(args, result.exit_code, result.stdout, result.stderr)


# -- (a) random values in every column ------------------------------------------------------

JSON_FRAGMENTS = st.sampled_from(
    [
        "{",
        "}",
        "[",
        '{"a":',
        '{"name": [1, {"x": null}]}',
        "[]",
        "null",
        "NaN",
        '{"a": NaN, "b": Infinity}',
        '{"a": 1e999}',
        '"just a string"',
        "[" * 5000,
        '{"data": "\\u001b[2J"}',
        '{"name": "[red]x[/]", "error": "\\u202e\\u009b"}',
        '{"a":1,"a":2}',
        "\ufeff{}",
        "2026-13-45T25:61:61Z",
        "9999-12-31T23:59:59.999999+00:00",
        "0001-01-01T00:00:00",
    ]
)
TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8", exclude_categories=["Cs"]),
        st.sampled_from('\x00\x1b\x07\x9b\x85\x7f\u202e\u2066\u200b\ufeff[]/{}"\\:'),
    ),
    max_size=40,
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=2**63, max_value=2**200).map(str),
    st.sampled_from([float("nan"), float("inf"), -0.0, 1e308]),
)


@st.composite
def column_values(draw: st.DrawFn) -> tuple[str, Any]:
    """``(how, value)``: how to bind it, so invalid UTF-8 can be stored as TEXT."""
    kind = draw(st.sampled_from(["text", "json", "number", "blob", "bad-utf8", "null"]))
    if kind == "text":
        return "plain", draw(TEXT)
    if kind == "json":
        return "plain", draw(JSON_FRAGMENTS)
    if kind == "number":
        return "plain", draw(NUMBERS)
    if kind == "null":
        return "plain", None
    data = draw(st.binary(max_size=40))
    if kind == "bad-utf8":
        return "text", data + b"\xff\xfe\xc3(\x80"
    return "plain", data


@st.composite
def cell_writes(draw: st.DrawFn) -> list[tuple[str, str, int, tuple[str, Any]]]:
    writes = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        table = draw(st.sampled_from(sorted(COLUMNS)))
        column = draw(st.sampled_from(COLUMNS[table]))
        row = draw(st.integers(min_value=1, max_value=ROWS[table]))
        writes.append((table, column, row, draw(column_values())))
    return writes


def write_cells(db: Path, writes: list[tuple[str, str, int, tuple[str, Any]]]) -> None:
    """Bypasses every check of the library: OR IGNORE skips a write a constraint forbids."""
    conn = sqlite3.connect(db)
    try:
        for table, column, row, (how, value) in writes:
            key = "sequence" if table == "events" else "rowid"
            target = "CAST(? AS TEXT)" if how == "text" else "?"
            sql = f"UPDATE OR IGNORE {table} SET {column} = {target} WHERE {key} = ?"
            conn.execute(sql, (value, row))
        conn.commit()
    finally:
        conn.close()


@settings(FUZZ, max_examples=30 * SCALE)
@given(writes=cell_writes())
@example(writes=[("events", "entity_type", 4, ("plain", b""))])  # found: history crashed
@example(writes=[("events", "workflow_id", 1, ("plain", b""))])  # found: workflows crashed
@example(writes=[("events", "timestamp", 2, ("plain", b""))])  # found: workflows crashed
@example(writes=[("snapshots", "version", 1, ("plain", float("inf")))])  # found: state crashed
@example(writes=[("events", "data", 7, ("plain", '{"type": "t", "duration_ms": 1e999}'))])
def test_random_values_in_any_column_never_crash_hang_write_or_reach_the_terminal_raw(
    valid_db: Path, writes: list[tuple[str, str, int, tuple[str, Any]]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "fuzzed.db"
        shutil.copyfile(valid_db, db)
        write_cells(db, writes)
        before = fingerprint(Path(folder))
        with deadline(EXAMPLE_DEADLINE):
            run_in_process(db)
        assert fingerprint(Path(folder)) == before


def test_the_column_fuzzer_can_store_invalid_utf8_nan_and_blobs(valid_db: Path) -> None:
    """The writer really puts what the strategy drew into the file."""
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "fuzzed.db"
        shutil.copyfile(valid_db, db)
        writes = [
            ("events", "data", 1, ("text", b"\xff\xfe{")),
            ("events", "causation_id", 2, ("plain", float("nan"))),
            ("events", "version", 3, ("plain", float("nan"))),
            ("snapshots", "state", 1, ("plain", b"\x00\x01")),
        ]
        write_cells(db, writes)
        conn = sqlite3.connect(db)
        conn.text_factory = bytes
        try:
            data = conn.execute("SELECT data, typeof(data) FROM events WHERE sequence = 1")
            assert data.fetchone() == (b"\xff\xfe{", b"text")
            nan = conn.execute("SELECT typeof(causation_id), typeof(version) FROM events")
            assert nan.fetchall()[1:3] == [(b"null", b"integer"), (b"null", b"integer")]
            state = conn.execute("SELECT typeof(state) FROM snapshots WHERE id = 1").fetchone()
            assert state == (b"blob",)
        finally:
            conn.close()


def test_a_store_with_invalid_utf8_in_every_text_column_is_reported_not_crashed(
    valid_db: Path, tmp_path: Path
) -> None:
    """The worst case of (a), always run: every column of every row invalid UTF-8."""
    db = tmp_path / "worst.db"
    shutil.copyfile(valid_db, db)
    writes = [
        (table, column, row, ("text", b"\x1b[2J\xff" + column.encode()))
        for table, columns in COLUMNS.items()
        for column in columns
        for row in range(1, ROWS[table] + 1)
    ]
    write_cells(db, writes)
    before = fingerprint(tmp_path)
    with deadline(EXAMPLE_DEADLINE):
        run_in_process(db)
    assert fingerprint(tmp_path) == before


# -- (b) random page mutations, in a subprocess -----------------------------------------------

DRIVER = """
import json, sys
from typer.testing import CliRunner
from stabilize_cli.cli.app import app

db, commands = sys.argv[1], json.loads(sys.argv[2])
runner = CliRunner()
report = []
for args in commands:
    result = runner.invoke(app, [*args, "--db", db], prog_name="stabilize")
    error = result.exception
    escaped = None if error is None or isinstance(error, SystemExit) else repr(error)
    report.append([args, result.exit_code, result.stdout, result.stderr, escaped])
sys.stdout.write(json.dumps(report))
"""


@st.composite
def mutations(draw: st.DrawFn, size: int) -> list[tuple[int, bytes, bool]]:
    """``(offset, bytes, flip)``: overwrite at offset, or XOR into it; header or beyond."""
    changes = []
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        in_header = draw(st.booleans())
        offset = draw(st.integers(0, 99) if in_header else st.integers(100, size - 1))
        data = draw(st.binary(min_size=1, max_size=draw(st.sampled_from([1, 4, 64, 512]))))
        changes.append((offset, data, draw(st.booleans())))
    return changes


def mutate(db: Path, changes: list[tuple[int, bytes, bool]]) -> None:
    content = bytearray(db.read_bytes())
    for offset, data, flip in changes:
        chunk = data[: max(0, len(content) - offset)]
        for index, byte in enumerate(chunk):
            content[offset + index] = content[offset + index] ^ byte if flip else byte
    db.write_bytes(bytes(content))


def run_in_subprocess(db: Path) -> list[list[Any]]:
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, str(db), json.dumps(COMMANDS)],
        capture_output=True,
        text=True,
        timeout=EXAMPLE_DEADLINE,
        check=False,
    )
    assert done.returncode == 0, f"the driver died (crash in C?): {done.stderr[-3000:]}"
    report: list[list[Any]] = json.loads(done.stdout)
    return report


def check_report(report: list[list[Any]]) -> None:
    for args, code, stdout, stderr, escaped in report:
        assert escaped is None, (args, escaped, stderr[-3000:])
        check_outcome(tuple(args), code, stdout, stderr)


@settings(FUZZ, max_examples=12 * SCALE)
@given(data=st.data())
def test_random_page_mutations_never_crash_hang_write_or_reach_the_terminal_raw(
    valid_db: Path, data: st.DataObject
) -> None:
    changes = data.draw(mutations(valid_db.stat().st_size))
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "mutated.db"
        shutil.copyfile(valid_db, db)
        mutate(db, changes)
        before = fingerprint(Path(folder))
        check_report(run_in_subprocess(db))
        assert fingerprint(Path(folder)) == before


def test_the_page_driver_sees_a_valid_store_as_valid(valid_db: Path, tmp_path: Path) -> None:
    """Without mutations every command succeeds: the fuzz runs are not all failing early."""
    db = tmp_path / "valid.db"
    shutil.copyfile(valid_db, db)
    report = run_in_subprocess(db)
    check_report(report)
    assert {args[0]: code for args, code, *_ in report if args[0] != "verify"} == dict.fromkeys(
        [args[0] for args in COMMANDS if args[0] != "verify"], 0
    )


def test_a_zeroed_header_is_a_clean_cannot_open(valid_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "zeroed.db"
    shutil.copyfile(valid_db, db)
    mutate(db, [(0, bytes(100), False)])
    for args, code, _, stderr, escaped in run_in_subprocess(db):
        assert escaped is None
        assert (code, stderr.count("\n")) == (3, 1), (args, stderr)
        assert stderr.startswith("error: ")


@pytest.mark.parametrize("duration", ["1e999", "-1e999", "NaN", "1" + "0" * 400])
def test_a_non_finite_or_absurd_duration_is_ignored_not_a_crash(
    duration: str, valid_db: Path, tmp_path: Path
) -> None:
    """Found by this fuzzer: ``1e999`` in a payload parses as infinity, and ``int()`` of it
    (or of NaN, or the mean of a 400-digit integer) raised out of the metrics projection."""
    db = tmp_path / "absurd.db"
    shutil.copyfile(valid_db, db)
    absurd = f'{{"type": "python", "name": "Build", "duration_ms": {duration}, "error": "x"}}'
    write_cells(db, [("events", "data", 7, ("plain", absurd))])
    for fmt in ("json", "table"):
        result = CliRunner().invoke(app, ["metrics", "--format", fmt, "--db", str(db)])
        assert result.exit_code == 0, result.exc_info
    report = json.loads(CliRunner().invoke(app, ["metrics", "--json", "--db", str(db)]).stdout)
    python = report["stages"]["python"]
    assert (python["failure_count"], python["max_duration_ms"]) == (1, 0)


@pytest.mark.parametrize(
    "state",
    [{"status": "RUNNING"}, {"context": {}, "stages": {}, "tasks": []}, {"context": 1}],
    ids=["no tasks", "tasks a list", "context a number"],
)
def test_a_sound_snapshot_that_is_not_a_state_is_ignored_not_a_crash(
    state: dict[str, Any], valid_db: Path, tmp_path: Path
) -> None:
    """Found by this fuzzer: a snapshot whose hash matches but whose state lacks ``tasks``
    made the replay raise KeyError once ``state`` and ``diff`` started from snapshots."""
    db = tmp_path / "shapeless.db"
    shutil.copyfile(valid_db, db)
    clean = CliRunner().invoke(app, ["state", "latest", "--json", "--db", str(db)])
    with SqliteEventStore(str(db)) as store:
        store.save_snapshot(EntityType.WORKFLOW, WF, WF, 6, 6, state)
    # diff's earlier state starts after the snapshot, so it is asked for (the later state
    # is folded on from the earlier one)
    for args in (["state", "latest", "--json"], ["diff", "latest", "7", "9", "--json"]):
        result = CliRunner().invoke(app, [*args, "--db", str(db)])
        assert result.exit_code == 0, result.exc_info
        assert "warning: ignoring snapshot" in result.stderr
    shaped = CliRunner().invoke(app, ["state", "latest", "--json", "--db", str(db)])
    assert shaped.stdout == clean.stdout
