"""Concurrency (reliability matrix, CC): the busy timeout and exit 5, a soak of writer
processes under `events --follow`, and long reports beside a committing writer.

Writers are real processes appending through ``SqliteEventStore.append_batch``, the
follower and the reports are real ``python -m stabilize_cli`` processes: locks between
processes are what the engine and this tool meet in production.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import pytest

from stabilize_cli.events.base import Event, EventMetadata, EventType
from stabilize_cli.events.errors import StoreBusyError
from stabilize_cli.events.store import UNLIMITED, EventQuery, SqliteEventStore
from stabilize_cli.events.ulids import UlidSource
from stabilize_cli.queries.events import BUSY_RETRIES, follow_events

from ..conftest import REAL_DB
from .conftest import Invoke, run_process

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
CLI = (sys.executable, "-m", "stabilize_cli")
ENGINE_BUSY_TIMEOUT = 5.0
"""Python's sqlite3 default, which the engine's store keeps."""

WRITER = """
import json, os, random, sys, time
from stabilize_cli.events.base import EntityType, Event, EventMetadata, EventType
from stabilize_cli.events.errors import StoreError
from stabilize_cli.events.store import SqliteEventStore

db, name, seconds, busy, max_sleep, stop, out = sys.argv[1:]
rng = random.Random(name)
store = SqliteEventStore(db, create_tables=False, busy_timeout=float(busy))
committed, failures = [], []
deadline = time.monotonic() + float(seconds)
n = 0
while time.monotonic() < deadline and not os.path.exists(stop):
    wf = f"{name}-{n:06d}"
    n += 1
    kinds = ["workflow.created", "workflow.started"]
    kinds += ["status.changed"] * rng.randint(0, 3) + ["workflow.completed"]
    batch = [
        Event(
            event_type=EventType(kind),
            entity_type=EntityType.WORKFLOW,
            entity_id=wf,
            workflow_id=wf,
            version=i + 1,
            data={"writer": name, "n": n, "i": i},
            metadata=EventMetadata(correlation_id=wf, source_handler="SoakWriter"),
        )
        for i, kind in enumerate(kinds)
    ]
    try:
        committed += [e.sequence for e in store.append_batch(batch)]
    except StoreError as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
    time.sleep(rng.uniform(0, float(max_sleep)))
store.close()
with open(out, "w") as handle:
    json.dump({"committed": committed, "failures": failures, "batches": n}, handle)
"""


# -- helpers -------------------------------------------------------------------------------


@dataclass
class Writer:
    """One writer process and the file where it reports what it committed."""

    process: subprocess.Popen[str]
    report: Path

    def result(self, timeout: float = 30) -> dict[str, Any]:
        _, err = self.process.communicate(timeout=timeout)
        assert self.process.returncode == 0, err
        outcome: dict[str, Any] = json.loads(self.report.read_text())
        return outcome


def start_writer(
    db: Path,
    name: str,
    *,
    seconds: float,
    busy_timeout: float = ENGINE_BUSY_TIMEOUT,
    max_sleep: float = 0.02,
    stop: Path | None = None,
) -> Writer:
    report = db.parent / f"{name}.json"
    stop_file = stop or db.parent / f"{name}.never"
    args = [db, name, seconds, busy_timeout, max_sleep, stop_file, report]
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, *map(str, args)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Writer(process, report)


def new_store(path: Path, *, wal: bool) -> SqliteEventStore:
    """The engine's tables, in WAL or rollback-journal ("delete") mode, left open."""
    store = SqliteEventStore(str(path))
    conn = sqlite3.connect(path)
    mode = conn.execute(f"PRAGMA journal_mode={'WAL' if wal else 'DELETE'}").fetchone()[0]
    conn.close()
    assert mode == ("wal" if wal else "delete")
    return store


def lifecycle(workflow_id: str, count: int) -> list[Event]:
    types = [EventType.WORKFLOW_CREATED] + [EventType.STATUS_CHANGED] * (count - 1)
    return [
        Event(
            event_type=kind,
            entity_id=workflow_id,
            workflow_id=workflow_id,
            version=i + 1,
            data={"i": i},
            metadata=EventMetadata(correlation_id=workflow_id),
        )
        for i, kind in enumerate(types)
    ]


def everything(db: Path) -> list[dict[str, Any]]:
    with SqliteEventStore(str(db), create_tables=False, read_only=True) as store:
        return [e.to_dict() for e in store.get_events(EventQuery(limit=UNLIMITED))]


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def wait_for_lines(path: Path, count: int, timeout: float) -> int:
    """Lines in the file once it has ``count`` of them, or at the deadline."""
    deadline = time.monotonic() + timeout
    lines = 0
    while time.monotonic() < deadline:
        lines = path.read_text().count("\n")
        if lines >= count:
            break
        time.sleep(0.05)
    return lines


@dataclass
class Follower:
    process: subprocess.Popen[str]
    output: Path
    errors: Path

    def interrupt(self) -> tuple[int, str]:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=20)
        return self.process.returncode, self.errors.read_text()


def start_follower(db: Path, *, env: dict[str, str] | None = None) -> Follower:
    """`events --follow` as a real process, its output in files (no pipe to fill up)."""
    output, errors = db.parent / "followed.ndjson", db.parent / "follower.err"
    argv = [*CLI, "events", "--follow", "--interval", "0.05", "--format", "ndjson"]
    with output.open("w") as out, errors.open("w") as err:
        process = subprocess.Popen(
            [*argv, "--limit", str(10**9), "--db", str(db)],
            stdout=out,
            stderr=err,
            text=True,
            env={**os.environ, **(env or {})},
        )
    return Follower(process, output, errors)


@pytest.fixture
def cleanup() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a failing test leaves behind are killed, one by one, by their handle."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


# -- busy ----------------------------------------------------------------------------------


@pytest.fixture
def locked_db(tmp_path: Path) -> Iterator[Path]:
    """A rollback-journal store whose lock another connection holds (BEGIN EXCLUSIVE)."""
    path = tmp_path / "locked.db"
    with new_store(path, wal=False) as store:
        store.append_batch(lifecycle("wf-1", 3))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield path
    holder.execute("ROLLBACK")
    holder.close()


@pytest.mark.parametrize(
    "command",
    [["workflows"], ["events"], ["timeline", "latest"], ["verify"], ["metrics"]],
)
def test_a_lock_held_past_the_busy_timeout_gives_one_error_line_and_exit_5(
    invoke: Invoke, locked_db: Path, command: list[str]
) -> None:
    began = time.monotonic()
    result = invoke(*command, db=locked_db, env={"STABILIZE_BUSY_TIMEOUT": "0.2"})
    assert result.exit_code == 5
    assert result.stderr == f"error: {locked_db}: database is locked by another process\n"
    assert result.stdout == ""
    assert time.monotonic() - began < 3


def test_the_real_process_waits_for_the_busy_timeout_then_exits_5(locked_db: Path) -> None:
    began = time.monotonic()
    done = run_process(
        "events", "--db", str(locked_db), env={"STABILIZE_BUSY_TIMEOUT": "0.5"}, timeout=20
    )
    waited = time.monotonic() - began
    assert done.returncode == 5
    assert done.stderr == f"error: {locked_db}: database is locked by another process\n"
    assert "Traceback" not in done.stdout + done.stderr
    assert waited >= 0.5


def test_a_lock_released_within_the_busy_timeout_is_waited_for(
    invoke: Invoke, tmp_path: Path
) -> None:
    path = tmp_path / "briefly.db"
    with new_store(path, wal=False) as store:
        store.append_batch(lifecycle("wf-1", 3))
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading_timer(0.3, lambda: holder.execute("ROLLBACK"))
    try:
        result = invoke("events", "-f", "ndjson", db=path, env={"STABILIZE_BUSY_TIMEOUT": "5"})
    finally:
        release.join()
        holder.close()
    assert result.exit_code == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3


def threading_timer(delay: float, action: Any) -> threading.Timer:
    timer = threading.Timer(delay, action)
    timer.start()
    return timer


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "inf"])
def test_a_malformed_busy_timeout_is_a_usage_error(invoke: Invoke, value: str) -> None:
    result = invoke("workflows", env={"STABILIZE_BUSY_TIMEOUT": value})
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: STABILIZE_BUSY_TIMEOUT must be a non-negative number of seconds (got '{value}')\n"
    )


def test_the_store_refuses_a_negative_busy_timeout(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="busy timeout"):
        SqliteEventStore(str(tmp_path / "x.db"), busy_timeout=-1.0)
    assert not (tmp_path / "x.db").exists()


# -- following through a locked store ------------------------------------------------------


class FlakyStore:
    """A store whose polls find the database locked ``busy`` times, then see one event."""

    path = str(REAL_DB)  # the follower checks the file is still the one it started on
    backend = "sqlite"
    is_memory = False

    def __init__(self, busy: int) -> None:
        self.busy = busy
        self.polls = 0
        self.event = Event(sequence=1, entity_id="wf", workflow_id="wf")

    def refresh(self) -> bool:
        return False

    def get_current_sequence(self) -> int:
        return 0

    def get_rows(self, query: EventQuery) -> Iterator[Event]:
        """What --follow reads; a query ending at a sequence is its check that the last
        event shown is still there, not a poll."""
        if query.to_sequence is not None:
            yield self.event
            return
        self.polls += 1
        if self.polls <= self.busy:
            raise StoreBusyError("db: database is locked by another process")
        if self.polls == self.busy + 1:
            yield self.event


def follow_flaky(store: FlakyStore, polls: int) -> tuple[list[int], list[str]]:
    warnings: list[str] = []
    seen: list[int] = []
    followed = follow_events(
        store,  # type: ignore[arg-type]
        EventQuery(limit=0),
        interval=0.01,
        sleep=lambda seconds: None,
        stop=lambda: store.polls >= polls,
        warn=warnings.append,
    )
    seen.extend(e.sequence for e in followed)
    return seen, warnings


def test_a_poll_that_finds_the_store_locked_is_retried_with_one_warning() -> None:
    seen, warnings = follow_flaky(FlakyStore(busy=3), polls=5)
    assert seen == [1]
    assert warnings == ["db: database is locked by another process; retrying every 0.01s"]


def test_follow_gives_up_after_too_many_locked_polls_in_a_row() -> None:
    store = FlakyStore(busy=BUSY_RETRIES + 1)
    with pytest.raises(StoreBusyError):
        follow_flaky(store, polls=100)
    assert store.polls == BUSY_RETRIES + 1


def test_the_real_follower_rides_out_a_lock_longer_than_its_busy_timeout(
    tmp_path: Path, cleanup: list[subprocess.Popen[str]]
) -> None:
    path = tmp_path / "rollback.db"
    with new_store(path, wal=False) as store:
        store.append_batch(lifecycle("wf-1", 2))
        follower = start_follower(path, env={"STABILIZE_BUSY_TIMEOUT": "0.05"})
        cleanup.append(follower.process)
        assert wait_for_lines(follower.output, 2, timeout=20) == 2
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        time.sleep(0.4)  # several polls of 0.05 s fail meanwhile
        holder.execute("ROLLBACK")
        holder.close()
        store.append_batch(lifecycle("wf-2", 2))
        assert wait_for_lines(follower.output, 4, timeout=20) == 4
        code, err = follower.interrupt()
    assert read_lines(follower.output) == everything(path)
    assert code == 130
    assert err == (
        f"warning: {path}: database is locked by another process; retrying every 0.05s\n"
        "interrupted\n"
    )


# -- soak ----------------------------------------------------------------------------------


def soak(
    tmp_path: Path,
    cleanup: list[subprocess.Popen[str]],
    *,
    wal: bool,
    writers: int,
    seconds: float,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, str, list[dict[str, Any]]]:
    """Writers append for ``seconds`` while a follower runs; returns what each side saw."""
    path = tmp_path / ("soak-wal.db" if wal else "soak-rollback.db")
    with new_store(path, wal=wal) as keeper:  # open: WAL side files stay, as beside an engine
        keeper.append_batch(lifecycle("wf-before", 3))
        follower = start_follower(path)
        cleanup.append(follower.process)
        assert wait_for_lines(follower.output, 3, timeout=20) == 3
        started = [start_writer(path, f"w{i}", seconds=seconds) for i in range(writers)]
        cleanup.extend(w.process for w in started)
        results = [w.result(timeout=seconds + 30) for w in started]
        total = len(everything(path))
        wait_for_lines(follower.output, total, timeout=20)
        code, err = follower.interrupt()
    return read_lines(follower.output), everything(path), code, err, results


def check_soak(
    followed: list[dict[str, Any]],
    stored: list[dict[str, Any]],
    results: list[dict[str, Any]],
) -> None:
    sequences = [e["sequence"] for e in followed]
    assert sequences == sorted(set(sequences)), "out of order or repeated"
    assert followed == stored, "the follower skipped or changed events"
    committed = sorted(s for r in results for s in r["committed"])
    assert committed == [e["sequence"] for e in stored[3:]]
    assert all(r["batches"] > 20 for r in results), "a writer hardly wrote"


def test_soak_wal_writer_processes_and_a_follower_see_every_event_once_in_order(
    tmp_path: Path, cleanup: list[subprocess.Popen[str]]
) -> None:
    followed, stored, code, err, results = soak(tmp_path, cleanup, wal=True, writers=4, seconds=8)
    assert [r["failures"] for r in results] == [[]] * 4, "busy errors in WAL mode"
    check_soak(followed, stored, results)
    assert code == 130
    assert err == "interrupted\n"


def test_soak_rollback_journal_readers_wait_but_nothing_fails(
    tmp_path: Path, cleanup: list[subprocess.Popen[str]]
) -> None:
    followed, stored, code, err, results = soak(tmp_path, cleanup, wal=False, writers=3, seconds=3)
    assert [r["failures"] for r in results] == [[]] * 3
    check_soak(followed, stored, results)
    assert code == 130
    assert "Traceback" not in err
    assert err.endswith("interrupted\n")
    assert all(line.startswith("warning: ") for line in err.splitlines()[:-1])


# -- long reports beside a writer ----------------------------------------------------------


def _ms(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


EventSpec = tuple[str, str, str, int, dict[str, Any]]


def workflow_events(
    n: int, wf: str, stages: list[str], tasks: list[str], ms: int
) -> Iterator[EventSpec]:
    """(type, entity type, entity id, version, data) of one engine-shaped workflow: two
    stages of one task each; every 5th workflow fails in its second stage."""
    fails = n % 5 == 0
    created = {"application": f"app-{n % 7}", "name": f"pipeline-{n % 13}", "type": "PIPELINE"}
    yield "workflow.created", "workflow", wf, 1, {**created, "stage_count": 2}
    yield "workflow.started", "workflow", wf, 2, {"start_time": ms, "initial_stage_ids": stages}
    for i, (stage, task) in enumerate(zip(stages, tasks, strict=True)):
        kind = ("build", "deploy")[i]
        named = {"ref_id": kind, "type": kind, "name": f"Stage {i}"}
        run = {"name": f"Run {kind}"}
        yield "stage.started", "stage", stage, 2, {**named, "start_time": ms, "task_count": 1}
        yield "task.started", "task", task, 1, {**run, "start_time": ms, "stage_id": stage}
        if fails and i == 1:
            end = {"end_time": ms + 3, "status": "TERMINAL", "error": "boom"}
            yield "task.failed", "task", task, 2, {**run, **end}
            yield "stage.failed", "stage", stage, 6, {**named, **end}
        else:
            end = {"end_time": ms + 3, "status": "SUCCEEDED", "outputs": {}}
            yield "task.completed", "task", task, 2, {**run, **end, "duration_ms": 2 + n % 9}
            yield "stage.completed", "stage", stage, 6, {**named, **end, "duration_ms": 3 + n % 11}
    if fails:
        yield "workflow.failed", "workflow", wf, 3, {"status": "TERMINAL", "end_time": ms + 9}
    else:
        yield "workflow.completed", "workflow", wf, 3, {"status": "SUCCEEDED", "duration_ms": 9}


def workflow_rows(ids: UlidSource, at: datetime, n: int) -> Iterator[tuple[Any, ...]]:
    """Insert parameters of one workflow's 11 events, one millisecond apart, ULID ids."""
    wf, *entities = (ids.at(_ms(at)) for _ in range(5))
    events = workflow_events(n, wf, entities[:2], entities[2:], _ms(at))
    for step, (kind, entity, entity_id, version, data) in enumerate(events, start=1):
        moment = at + timedelta(milliseconds=step)
        stamp = ids.at(_ms(moment))
        yield (stamp, kind, moment.isoformat(), entity, entity_id, wf, version,
               json.dumps(data), wf, None, "system", "BulkHandler", 1)  # fmt: skip


INSERT = (
    "INSERT INTO events (event_id, event_type, timestamp, entity_type, entity_id, workflow_id, "
    "version, data, correlation_id, causation_id, actor, source_handler, schema_version) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def large_rollback_store(path: Path, workflows: int) -> int:
    """Engine-shaped events of the last day, in one executemany; returns the count."""
    new_store(path, wal=False).close()
    ids = UlidSource(Random(7))
    start = datetime.now(UTC) - timedelta(days=1)
    rows = [
        r
        for n in range(workflows)
        for r in workflow_rows(ids, start + timedelta(milliseconds=20 * n), n)
    ]
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(INSERT, rows)
    conn.close()
    return len(rows)


REPORTS = {
    "metrics": ["metrics", "--json"],
    "verify": ["verify", "--json"],
    "timeline": ["timeline", "latest-failed", "--json"],
    "events": ["events", "-f", "ndjson", "--limit", str(10**9)],
    "workflows": ["workflows", "--json", "--limit", "100000"],
}


def test_a_streamed_read_stops_at_the_head_it_saw_instead_of_chasing_a_writer(
    tmp_path: Path,
) -> None:
    path = tmp_path / "growing.db"
    with new_store(path, wal=False) as writer:
        writer.append_batch(lifecycle("wf-1", 2500))
        with SqliteEventStore(str(path), create_tables=False, read_only=True) as reader:
            stream = reader.get_events(EventQuery(limit=UNLIMITED))
            first = next(stream)
            writer.append_batch(lifecycle("wf-2", 1500))
            rest = list(stream)
    assert [first.sequence, *(e.sequence for e in rest)] == list(range(1, 2501))


def test_long_reports_never_make_a_concurrent_writers_commit_fail(
    tmp_path: Path, cleanup: list[subprocess.Popen[str]]
) -> None:
    path = tmp_path / "large.db"
    count = large_rollback_store(path, workflows=5_000)
    assert count == 55_000
    stop = tmp_path / "stop"
    writer = start_writer(path, "writer", seconds=120, max_sleep=0.01, stop=stop)
    cleanup.append(writer.process)
    time.sleep(0.3)  # the writer is committing before the first report starts
    reports = {
        name: subprocess.Popen(
            [*CLI, *argv, "--db", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, argv in REPORTS.items()
    }
    cleanup.extend(reports.values())
    outcomes = {name: p.communicate(timeout=120) for name, p in reports.items()}
    stop.touch()
    result = writer.result()
    assert result["failures"] == []
    assert result["batches"] > 50, "the writer hardly wrote during the reports"
    for name, process in reports.items():
        out, err = outcomes[name]
        assert (name, process.returncode, err) == (name, 0, "")
        assert out
    events = outcomes["events"][0].splitlines()
    assert len(events) >= count
    assert json.loads(outcomes["verify"][0])["ok"] is True
