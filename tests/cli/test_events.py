"""`stabilize events`: raw queries checked against the library, and `--follow`."""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import pytest

from stabilize_cli.events import (
    EntityType,
    Event,
    EventMetadata,
    EventQuery,
    EventType,
    SqliteEventStore,
)
from stabilize_cli.events.store.sqlite import readonly
from stabilize_cli.events.store.sqlite.watch import ChangeWatch
from stabilize_cli.queries.events import follow_events
from stabilize_cli.render.events import plain_line

from ..conftest import REAL_DB, sha256
from .conftest import Invoke, run_process
from .rendered import shown

WF = "01M8HB01H8HTPRK0G9SR6K69M2"
FAILED_WF = "01M8HAZSBBC9YVRF09H4BCF2ZP"
EVENTS = (sys.executable, "-m", "stabilize_cli", "events")
FOLLOW = (*EVENTS, "--follow")
PAYLOAD = "[link=http://x]click[/link]\x1b]8;;http://evil\x07 [red]boom[/] \u202e"


@pytest.fixture(scope="module")
def library() -> Iterator[SqliteEventStore]:
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as store:
        yield store


def _expected(store: SqliteEventStore, **query: Any) -> list[dict[str, Any]]:
    return [e.to_dict() for e in store.get_events(EventQuery(**query))]


def _event(number: int, data: dict[str, Any] | None = None) -> Event:
    return Event(
        event_type=EventType.TASK_RETRIED,
        entity_type=EntityType.TASK,
        entity_id="01TASKTASKTASKTASKTASKTASK",
        workflow_id="01WORKFLOWWORKFLOWWORKFLOW",
        version=1,
        data=data if data is not None else {"name": "Call", "attempt": number},
        metadata=EventMetadata(correlation_id="01WORKFLOWWORKFLOWWORKFLOW"),
    )


def _wal_store(path: Path) -> SqliteEventStore:
    """A writer holding its connection open, so the -wal and -shm files exist."""
    store = SqliteEventStore(str(path))
    store.read(lambda conn: conn.execute("PRAGMA journal_mode=WAL").fetchall())
    return store


FILTERS: list[tuple[list[str], dict[str, Any]]] = [
    (["--workflow", WF], {"workflow_id": WF}),
    (["--workflow", "01M8HB01H8"], {"workflow_id": WF}),
    (["--type", "stage.failed"], {"event_types": [EventType.STAGE_FAILED]}),
    (
        ["--type", "task.retried", "--type", "workflow.canceled"],
        {"event_types": [EventType.TASK_RETRIED, EventType.WORKFLOW_CANCELED]},
    ),
    (["--entity-type", "workflow"], {"entity_type": EntityType.WORKFLOW}),
    # --from-seq N includes N; the library's from_sequence is exclusive, as in the engine
    (["--from-seq", "40", "--to-seq", "60"], {"from_sequence": 39, "to_sequence": 60}),
    (
        ["--since", "2026-11-28T15:04:50", "--until", "2026-11-28T15:04:55+00:00"],
        {
            "from_timestamp": datetime.fromisoformat("2026-11-28T15:04:50+00:00"),
            "to_timestamp": datetime.fromisoformat("2026-11-28T15:04:55+00:00"),
        },
    ),
    (["--limit", "7"], {"limit": 7}),
    (["--limit", "5", "--reverse"], {"limit": 5, "ascending": False}),
    (
        ["--workflow", FAILED_WF, "--entity-type", "stage", "--reverse"],
        {"workflow_id": FAILED_WF, "entity_type": EntityType.STAGE, "ascending": False},
    ),
]


@pytest.mark.parametrize(("args", "query"), FILTERS)
def test_json_equals_the_librarys_answer_to_the_same_query(
    invoke: Invoke, library: SqliteEventStore, args: list[str], query: dict[str, Any]
) -> None:
    result = invoke("events", *args, "--json")
    assert result.exit_code == 0, result.stderr
    expected = _expected(library, **{"limit": 100, **query})
    whole = _expected(library, **{**query, "limit": 10_000})
    full = len(whole) > len(expected)  # a page that stops short of every match says so
    assert ("more match" in result.stderr) == full
    assert result.stderr == "" or full
    assert expected  # every filter selects something, or the comparison proves little
    assert json.loads(result.stdout) == expected


def test_the_default_limit_is_100_events(invoke: Invoke) -> None:
    assert len(json.loads(invoke("events", "--json").stdout)) == 100


def test_reverse_is_newest_first(invoke: Invoke, library: SqliteEventStore) -> None:
    rows = json.loads(invoke("events", "--reverse", "--limit", "3", "--json").stdout)
    head = library.get_current_sequence()
    assert [r["sequence"] for r in rows] == [head, head - 1, head - 2]


def test_ndjson_lines_are_the_engines_event_form(invoke: Invoke, library: SqliteEventStore) -> None:
    result = invoke("events", "--workflow", WF, "-f", "ndjson")
    lines = result.stdout.splitlines()
    assert [json.loads(line) for line in lines] == _expected(library, workflow_id=WF)


def test_csv_has_a_header_and_one_row_per_event(invoke: Invoke) -> None:
    result = invoke("events", "--workflow", WF, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert result.stdout.splitlines()[0] == (
        "sequence,timestamp,event_type,entity_type,entity_id,workflow_id,version,"
        "actor,source_handler,summary"
    )
    assert [int(r["sequence"]) for r in rows] == list(range(157, 170))


def test_table_of_a_workflows_events(invoke: Invoke, snapshot: Any) -> None:
    result = invoke("events", "--workflow", FAILED_WF)
    assert result.exit_code == 0, result.stderr
    text = "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "events"
    snapshot.assert_match(text, "failed_workflow.txt")


def test_an_empty_result_is_an_empty_json_list(invoke: Invoke) -> None:
    result = invoke("events", "--from-seq", "100000", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--limit", "-1"], "--limit must not be negative (got -1)"),
        (["--from-seq", "-5"], "--from-seq must not be negative (got -5)"),
        (["--to-seq", "-1"], "--to-seq must not be negative (got -1)"),
        (["--from-seq", "9", "--to-seq", "3"], "--from-seq 9 is after --to-seq 3"),
        (
            ["--to-seq", str(2**63)],
            f"--to-seq must be at most 2^63-1 (got {2**63})",
        ),
        (["--limit", str(2**64)], f"--limit must be at most 2^63-1 (got {2**64})"),
        (["--since", "2026-12-01", "--until", "2026-11-01"], "--since is after --until"),
        (["--follow", "--reverse"], "--reverse cannot be combined with --follow"),
        (["--follow", "--json"], "--follow writes a stream with no end: use --format ndjson"),
        (
            ["--follow", "--interval", "0"],
            "--interval must be a positive number of seconds (got 0.0)",
        ),
    ],
)
def test_a_bad_value_is_one_error_line_and_exit_2(
    invoke: Invoke, args: list[str], message: str
) -> None:
    result = invoke("events", *args)
    assert result.exit_code == 2
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


def test_an_unknown_event_type_is_a_usage_error_listing_the_valid_ones(invoke: Invoke) -> None:
    result = invoke("events", "--type", "stage.exploded")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: unknown event type 'stage.exploded' (valid types: ")
    assert "stage.failed" in result.stderr
    assert "task.retried" in result.stderr
    assert result.stderr.count("\n") == 1


def test_an_unknown_workflow_is_exit_6(invoke: Invoke) -> None:
    result = invoke("events", "--workflow", "01NOPE")
    assert result.exit_code == 6
    assert result.stderr == "error: no workflow '01NOPE' in the store\n"


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_hostile_payloads_are_shown_literally_and_inert(
    invoke: Invoke, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / "hostile.db"
    with SqliteEventStore(str(path)) as store:
        store.append(_event(1, {"error": PAYLOAD}))
    result = invoke("events", "-f", fmt, db=path, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.stderr
    assert "[link=http://x]click[/link]" in shown(result.stdout, fmt)
    assert "[red]boom[/]" in shown(result.stdout, fmt)
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in result.stdout


# -- following ----------------------------------------------------------------------------


class Appender:
    """A fake ``sleep`` that appends a batch of events on each call, and a ``stop``."""

    def __init__(self, store: SqliteEventStore, batches: list[list[Event]]) -> None:
        self.store = store
        self.batches = batches
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if len(self.sleeps) <= len(self.batches):
            self.store.append_batch(self.batches[len(self.sleeps) - 1])

    def stop(self) -> bool:
        return len(self.sleeps) >= len(self.batches) + 1


def test_follow_yields_existing_events_then_each_appended_one_once_in_order(
    tmp_path: Path,
) -> None:
    with SqliteEventStore(str(tmp_path / "live.db")) as writer:
        writer.append_batch([_event(n) for n in range(3)])
        fake = Appender(writer, [[_event(3), _event(4)], [], [_event(5)]])
        with SqliteEventStore(str(tmp_path / "live.db"), create_tables=False) as reader:
            seen = list(
                follow_events(
                    reader,
                    EventQuery(limit=100),
                    interval=0.5,
                    sleep=fake.sleep,
                    stop=fake.stop,
                )
            )
        assert [e.data["attempt"] for e in seen] == [0, 1, 2, 3, 4, 5]
        assert [e.sequence for e in seen] == [1, 2, 3, 4, 5, 6]
        assert fake.sleeps == [0.5, 0.5, 0.5, 0.5]


def test_follow_tracks_the_last_sequence_seen_across_gaps(tmp_path: Path) -> None:
    with SqliteEventStore(str(tmp_path / "gaps.db")) as writer:
        writer.append(_event(0))
        sleeps: list[float] = []

        def jump_then_append(seconds: float) -> None:
            sleeps.append(seconds)
            with writer.transaction() as conn:
                conn.execute("UPDATE sqlite_sequence SET seq = seq + 10 WHERE name = 'events'")
            writer.append(_event(1))

        query = EventQuery(limit=100)
        followed = follow_events(
            writer, query, interval=1, sleep=jump_then_append, stop=lambda: bool(sleeps)
        )
        assert [e.sequence for e in followed] == [1, 12]


def test_a_followed_line_is_one_inert_line_cut_to_the_width() -> None:
    line = plain_line(_event(1, {"error": PAYLOAD, "trace": "x" * 500}).with_sequence(7), 200)
    assert len(line) == 200
    assert line.endswith("…")
    assert "[link=http://x]click[/link]" in line
    for raw in ("\x1b", "\x07", "\u202e", "\n"):
        assert raw not in line


def test_follow_starts_with_the_last_limit_matches_and_keeps_the_filters(tmp_path: Path) -> None:
    with SqliteEventStore(str(tmp_path / "live.db")) as writer:
        writer.append_batch([_event(n) for n in range(10)])
        other = Event(
            event_type=EventType.STAGE_STARTED,
            entity_type=EntityType.STAGE,
            entity_id="01STAGE",
            workflow_id="01WORKFLOWWORKFLOWWORKFLOW",
            version=1,
        )
        fake = Appender(writer, [[other, _event(10)]])
        query = EventQuery(limit=3, event_types=[EventType.TASK_RETRIED])
        seen = list(follow_events(writer, query, interval=1, sleep=fake.sleep, stop=fake.stop))
        assert [e.data["attempt"] for e in seen] == [7, 8, 9, 10]


def test_follow_with_limit_0_prints_only_new_events(tmp_path: Path) -> None:
    with SqliteEventStore(str(tmp_path / "live.db")) as writer:
        writer.append_batch([_event(n) for n in range(4)])
        fake = Appender(writer, [[_event(4)]])
        seen = list(
            follow_events(writer, EventQuery(limit=0), interval=1, sleep=fake.sleep, stop=fake.stop)
        )
        assert [e.data["attempt"] for e in seen] == [4]


def test_follow_ends_once_the_store_has_passed_to_seq(tmp_path: Path) -> None:
    with SqliteEventStore(str(tmp_path / "live.db")) as writer:
        writer.append_batch([_event(n) for n in range(5)])

        def never(_: float) -> None:
            raise AssertionError("slept although no event up to --to-seq can still come")

        query = EventQuery(limit=100, to_sequence=3)
        seen = list(follow_events(writer, query, interval=1, sleep=never, stop=lambda: False))
        assert [e.sequence for e in seen] == [1, 2, 3]


class LineReader:
    """Lines of a child's stdout, read on a thread so that waiting for them can time out."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def take(self, count: int, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        taken: list[str] = []
        while len(taken) < count and (left := deadline - time.monotonic()) > 0:
            try:
                taken.append(self.lines.get(timeout=left))
            except queue.Empty:
                break
        return taken


def test_the_real_process_follows_a_live_wal_store_and_ends_on_ctrl_c(tmp_path: Path) -> None:
    path = tmp_path / "live.db"
    writer = _wal_store(path)
    try:
        writer.append_batch([_event(n) for n in range(2)])
        follower = subprocess.Popen(
            [*FOLLOW, "--interval", "0.1", "--format", "ndjson", "--db", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert follower.stdout is not None
            reader = LineReader(follower.stdout)
            got = reader.take(2, timeout=20)
            for n in range(2, 6):
                writer.append(_event(n))
            got += reader.take(4, timeout=20)
            follower.send_signal(signal.SIGINT)
            _, err = follower.communicate(timeout=20)
        finally:
            follower.kill()
        expected = [e.to_dict() for e in writer.get_events(EventQuery(limit=100))]
    finally:
        writer.close()
    assert [json.loads(line) for line in got] == expected
    assert follower.returncode == 130
    assert err == "interrupted\n"


def test_a_pipe_closed_after_the_first_line_ends_quietly() -> None:
    reader = subprocess.Popen(
        [*EVENTS, "-f", "ndjson", "--limit", "100000", "--db", str(REAL_DB)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert reader.stdout is not None
    assert reader.stderr is not None
    first = reader.stdout.readline()
    reader.stdout.close()
    err = reader.stderr.read()
    reader.wait(timeout=20)
    assert json.loads(first)["sequence"] == 1
    assert reader.returncode in (0, 141)
    assert err == ""


def test_the_real_process_streams_ndjson_and_leaves_the_database_alone() -> None:
    before = sha256(REAL_DB)
    done = run_process("events", "-f", "ndjson", "--limit", "1000", "--db", str(REAL_DB))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert len(done.stdout.splitlines()) == 189
    assert sha256(REAL_DB) == before


@pytest.mark.parametrize("watched", [True, False], ids=["read in place", "read a copy"])
def test_follow_sees_appends_to_a_wal_database_that_was_idle_when_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, watched: bool
) -> None:
    if not watched:  # as on a file system no change watch can vouch for: copies
        monkeypatch.setattr(ChangeWatch, "open", classmethod(lambda cls, *args, **kwargs: None))
    db = tmp_path / "idle-wal.db"
    with SqliteEventStore(str(db)) as setup:
        setup.append_batch([_event(n) for n in range(2)])
        with setup.transaction() as conn:
            conn.execute("COMMIT")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN")
    assert not Path(f"{db}-wal").exists()
    time.sleep(readonly.QUIET_SECONDS)
    with SqliteEventStore(str(db), create_tables=False, read_only=True) as reader:
        assert reader.read_mode == ("unchanged in place" if watched else "private copy")
        with SqliteEventStore(str(db), create_tables=False) as writer:
            fake = Appender(writer, [[_event(2)], [_event(3)]])
            seen = list(
                follow_events(
                    reader, EventQuery(limit=100), interval=0.1, sleep=fake.sleep, stop=fake.stop
                )
            )
    assert [e.data["attempt"] for e in seen] == [0, 1, 2, 3]
