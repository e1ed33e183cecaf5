"""Every command on PostgreSQL answers as on SQLite for the same events.

The engine's own ``real-small.db`` is copied event for event (same sequences) into a
fresh PostgreSQL database through our ``append_batch``; each command then runs on both
and the answers are compared. JSON is compared parsed: JSONB keeps an object's keys in
its own order (shorter first), so only a payload's key order may differ. Text output is
compared as is where no payload is printed.
"""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from stabilize_cli.cli.run import CommandRun
from stabilize_cli.events import EventQuery, PostgresEventStore, SqliteEventStore
from stabilize_cli.events.store import UNLIMITED

from ..conftest import ENGINE_STATUSES, REAL_DB, without_engine_tables
from ..postgres_support import (
    REAL_PG_SQL,
    admin_execute,
    database_url,
    fresh_database,
    load_sql,
    settle,
)
from .conftest import Invoke, run_process

WORKFLOWS = [line.split()[0] for line in ENGINE_STATUSES.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def pg_real() -> Iterator[str]:
    """real-small.db's events, sequences and all, in a fresh PostgreSQL database."""
    with fresh_database() as url:
        with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as source:
            events = list(source.get_events(EventQuery(limit=UNLIMITED)))
        with PostgresEventStore(url, create_tables=True) as target:
            written = target.append_batch(events)
        assert [e.sequence for e in written] == [e.sequence for e in events]
        yield url


@functools.cache
def events_only() -> Path:
    """real-small.db without the engine's workflow tables: the PostgreSQL side holds only
    the events, so the SQLite side compared with it must too (with the tables, failures,
    timeline, state and history also show each failure's real cause)."""
    return without_engine_tables(REAL_DB, Path(tempfile.mkdtemp()) / "events-only.db")


def both(invoke: Invoke, url: str, *args: str) -> tuple[Any, Any]:
    lite = invoke(*args, db=events_only())
    pg = invoke(*args, db=url)
    assert pg.exit_code == lite.exit_code, pg.stderr
    return lite, pg


COMPARED_AS_JSON = [
    ("workflows", "--format", "json"),
    ("metrics", "--format", "json"),
    ("metrics", "--format", "json", "--no-cache"),
    ("failures", "--format", "json"),
    ("events", "--format", "json", "--limit", "500"),
    ("events", "--format", "json", "--type", "task.failed", "--reverse"),
    ("subscriptions", "list", "--format", "json"),
    ("snapshots", "list", "--format", "json"),
    *[("timeline", wf, "--format", "json") for wf in WORKFLOWS],
    *[("state", wf, "--format", "json") for wf in WORKFLOWS[:5]],
    ("timeline", "latest-failed", "--format", "json"),
    ("history", WORKFLOWS[0], "--format", "json"),
]


@pytest.mark.parametrize("args", COMPARED_AS_JSON, ids=" ".join)
def test_json_answers_are_the_same_on_both_backends(
    invoke: Invoke, pg_real: str, args: tuple[str, ...]
) -> None:
    lite, pg = both(invoke, pg_real, *args)
    assert lite.exit_code == 0, lite.stderr
    assert json.loads(pg.stdout) == json.loads(lite.stdout)


COMPARED_AS_TEXT = [
    ("workflows",),
    ("metrics", "--top", "10"),
    ("failures",),
    *[("timeline", wf) for wf in WORKFLOWS[:4]],
]


@pytest.mark.parametrize("args", COMPARED_AS_TEXT, ids=" ".join)
def test_tables_are_the_same_on_both_backends(
    invoke: Invoke, pg_real: str, args: tuple[str, ...]
) -> None:
    lite, pg = both(invoke, pg_real, *args)
    assert pg.stdout == lite.stdout
    assert pg.stdout.strip()


def test_verify_finds_the_same_and_says_what_it_does_not_check(
    invoke: Invoke, pg_real: str
) -> None:
    lite, pg = both(invoke, pg_real, "verify", "--format", "json")
    ours = json.loads(pg.stdout)
    theirs = json.loads(lite.stdout)
    only_pg = [f for f in ours["findings"] if f["code"] == "not-checked"]
    assert len(only_pg) == 1
    assert "quick_check" in only_pg[0]["message"]
    rest = [f for f in ours["findings"] if f["code"] != "not-checked"]
    assert rest == theirs["findings"]


@pytest.mark.parametrize("form", ["url", "postgres-url", "keywords", "environment"])
def test_every_connection_string_form_opens_the_store(
    invoke: Invoke, pg_real: str, form: str
) -> None:
    parts = psycopg.conninfo.conninfo_to_dict(pg_real)
    host, port, user, name = parts["host"], parts.get("port", 5432), parts["user"], parts["dbname"]
    text = {
        "url": f"postgresql://{user}@{host}:{port}/{name}",
        "postgres-url": f"postgres://{user}@{host}:{port}/{name}",
        "keywords": f"host={host} port={port} user={user} dbname={name}",
        "environment": f"postgresql://{user}@{host}:{port}/{name}",
    }[form]
    if form == "environment":
        result = invoke("workflows", "--format", "json", db=None, env={"STABILIZE_DB": text})
    else:
        result = invoke("workflows", "--format", "json", db=text)
    assert result.exit_code == 0, result.stderr
    assert len(json.loads(result.stdout)) == len(WORKFLOWS)


# -- errors: one line each, the right exit code, never a password ---------------------------


def test_an_unreachable_server_is_exit_3_without_the_password(invoke: Invoke) -> None:
    result = invoke("workflows", db="postgresql://auditor:hunter2@127.0.0.1:1/events")
    assert result.exit_code == 3
    assert "hunter2" not in result.stderr + result.stdout
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: postgresql://auditor:***@127.0.0.1:1/events")


def test_a_missing_database_is_exit_3(invoke: Invoke, pg_real: str) -> None:
    result = invoke("workflows", db=database_url(f"nothing_{uuid.uuid4().hex[:8]}"))
    assert result.exit_code == 3
    assert "does not exist" in result.stderr


def test_a_database_without_the_engines_tables_is_exit_3_naming_them(invoke: Invoke) -> None:
    with fresh_database() as url:
        result = invoke("timeline", "latest", db=url)
    assert result.exit_code == 3
    assert "missing tables: events, snapshots, event_subscriptions" in result.stderr


def test_a_held_lock_is_exit_5_after_the_busy_timeout(invoke: Invoke, pg_real: str) -> None:
    with psycopg.connect(pg_real) as locker, locker.transaction():
        locker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        result = invoke("workflows", db=pg_real, env={"STABILIZE_BUSY_TIMEOUT": "0.3"})
    assert result.exit_code == 5, result.stderr
    assert "busy" in result.stderr
    assert time.monotonic() - started < 20


def test_a_server_gone_mid_command_is_exit_4_with_partial_output(pg_real: str) -> None:
    """A real process streams events; its session is ended under it."""
    with fresh_database() as url:
        with PostgresEventStore(url, create_tables=True) as store:
            store.append_batch(
                [
                    e.with_sequence(0)
                    for e in SqliteEventStore(
                        str(REAL_DB), create_tables=False, read_only=True
                    ).get_events(EventQuery(limit=UNLIMITED))
                ]
            )
        stop = threading.Event()

        def terminate_soon() -> None:
            while not stop.is_set():
                admin_execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'stabilize-cli' AND datname = "
                    f"'{psycopg.conninfo.conninfo_to_dict(url)['dbname']}'"
                )
                time.sleep(0.01)

        killer = threading.Thread(target=terminate_soon, daemon=True)
        killer.start()
        try:
            done = run_process("events", "--follow", "--interval", "0.05", "--db", url, timeout=60)
        finally:
            stop.set()
            killer.join(10)
    assert done.returncode in (3, 4), done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    if done.returncode == 4:
        assert "incomplete" in done.stderr


# -- following in commit order ----------------------------------------------------------------


def test_follow_prints_a_late_committing_lower_sequence_once(tmp_path: Path) -> None:
    """The follower prints its one-event backlog once it has started; then a transaction
    takes a lower sequence and commits after a later one: both printed, each once."""
    out = tmp_path / "followed.ndjson"

    def printed() -> list[int]:
        return [json.loads(line)["sequence"] for line in out.read_text().splitlines() if line]

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 60
        while len(printed()) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    with fresh_database() as url, PostgresEventStore(url, create_tables=True) as store:
        source = SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True)
        events = list(source.get_events(EventQuery(limit=30)))
        first = store.append_batch(events[:10])
        settle(store)
        argv = ["events", "--follow", "--format", "ndjson", "--interval", "0.05"]
        follower = subprocess.Popen(
            [sys.executable, "-m", "stabilize_cli", *argv, "--limit", "1", "--db", url],
            stdout=out.open("w"),
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(1)  # the backlog is out: the follower has taken its start
            with psycopg.connect(url) as slow:
                held = store.append_batch(events[10:11], connection=slow)
                later = store.append_batch(events[11:13])
                time.sleep(0.3)
                slow.commit()
            settle(store)
            wait_for(4)
            time.sleep(0.3)  # anything printed twice would come now
        finally:
            follower.terminate()
            _, stderr = follower.communicate(timeout=20)
    expected = [first[-1].sequence, held[0].sequence, *(e.sequence for e in later)]
    assert sorted(printed()) == sorted(expected), stderr
    assert held[0].sequence < later[0].sequence


# -- the real engine's PostgreSQL dump --------------------------------------------------------


def real_pg_statuses() -> dict[str, str]:
    text = (REAL_PG_SQL.parent / "real-pg.workflows.txt").read_text()
    return {line.split()[0]: line.split()[2] for line in text.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def real_pg() -> Iterator[str]:
    with fresh_database() as url:
        load_sql(url, REAL_PG_SQL)
        yield url


def test_the_engines_dump_lists_its_workflows_as_the_engine_reported(
    invoke: Invoke, real_pg: str
) -> None:
    result = invoke("workflows", "--format", "json", db=real_pg)
    assert result.exit_code == 0, result.stderr
    listed = {w["workflow_id"]: w["status"] for w in json.loads(result.stdout)}
    assert listed == real_pg_statuses()


@pytest.mark.parametrize("workflow", sorted(real_pg_statuses()))
def test_the_engines_dump_every_timeline_and_state(
    invoke: Invoke, real_pg: str, workflow: str
) -> None:
    timeline = invoke("timeline", workflow, "--format", "json", db=real_pg)
    assert timeline.exit_code == 0, timeline.stderr
    assert timeline.stdout.strip()
    state = invoke("state", workflow, "--format", "json", db=real_pg)
    assert json.loads(state.stdout)["status"] == real_pg_statuses()[workflow]


@pytest.mark.parametrize(
    "args",
    [
        ("events", "--limit", "1000"),
        ("metrics",),
        ("failures",),
        ("verify",),
        ("snapshots", "list"),
        ("subscriptions", "list"),
        ("timeline", "latest-failed"),
    ],
    ids=" ".join,
)
def test_the_engines_dump_every_command_answers(
    invoke: Invoke, real_pg: str, args: tuple[str, ...]
) -> None:
    result = invoke(*args, db=real_pg)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip()


def test_a_select_only_role_runs_the_audits(invoke: Invoke, real_pg: str) -> None:
    role = f"auditor_{uuid.uuid4().hex[:8]}"
    name = psycopg.conninfo.conninfo_to_dict(real_pg)["dbname"]
    admin_execute(f"CREATE ROLE {role} LOGIN")
    try:
        with psycopg.connect(real_pg, autocommit=True) as conn:
            conn.execute(f"GRANT SELECT ON events, snapshots, event_subscriptions TO {role}")
        url = database_url(str(name), user=role)
        for args in (
            ("workflows",),
            ("timeline", "latest"),
            ("metrics",),
            ("verify",),
            ("failures",),
            ("events", "--limit", "5"),
        ):
            result = invoke(*args, db=url)
            assert result.exit_code == 0, (args, result.stderr)
    finally:
        with psycopg.connect(real_pg, autocommit=True) as conn:
            conn.execute(f"REVOKE ALL ON events, snapshots, event_subscriptions FROM {role}")
        admin_execute(f"DROP ROLE {role}")


def test_demo_writes_into_an_empty_database_what_it_writes_to_a_file(
    invoke: Invoke, tmp_path: Path
) -> None:
    file = tmp_path / "demo.db"
    assert invoke("demo", str(file), db=None).exit_code == 0
    with fresh_database() as url:
        parts = psycopg.conninfo.conninfo_to_dict(url)
        with_password = (
            f"postgresql://{parts['user']}:not-a-real-secret@{parts['host']}:"
            f"{parts.get('port', 5432)}/{parts['dbname']}"
        )
        made = invoke("demo", with_password, db=None)
        assert made.exit_code == 0, made.stderr
        assert "not-a-real-secret" not in made.stderr
        assert "wrote " in made.stderr
        for args in (("workflows",), ("metrics",), ("failures",), ("timeline", "latest-failed")):
            lite, pg = invoke(*args, db=file), invoke(*args, db=url)
            assert pg.stdout == lite.stdout, args
        again = invoke("demo", url, db=None)
        assert again.exit_code == 2
        assert "needs an empty database" in again.stderr
    assert not list(Path.cwd().glob("user=*"))


def test_a_runs_reads_share_one_snapshot_unless_following(pg_real: str) -> None:
    with fresh_database() as url, PostgresEventStore(url, create_tables=True) as writer:
        source = SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True)
        events = list(source.get_events(EventQuery(limit=20)))
        writer.append_batch(events[:10])
        run = CommandRun()
        with run.open(url) as store:
            before = store.count_events()
            writer.append_batch(events[10:15])
            assert store.count_events() == before == 10
        with run.open(url, consistent=False) as store:
            before = store.count_events()
            writer.append_batch(events[15:20])
            assert store.count_events() == before + 5


def test_snapshots_create_and_prune_say_what_they_changed_on_both(
    invoke: Invoke, real_db_copy: Path
) -> None:
    with fresh_database() as url:
        with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as source:
            events = list(source.get_events(EventQuery(limit=UNLIMITED)))
        with PostgresEventStore(url, create_tables=True) as target:
            target.append_batch(events)
        for db in (real_db_copy, url):
            for workflow in WORKFLOWS[:3]:
                for at in ("20", ""):
                    args = ("snapshots", "create", workflow, *(("--at", at) if at else ()))
                    assert invoke(*args, "--format", "json", db=db).exit_code in (0, 2)
        outputs = []
        for db in (real_db_copy, url):
            listed = invoke("snapshots", "list", "--format", "json", db=db)
            pruned = invoke("snapshots", "prune", "--keep", "1", "--format", "json", db=db)
            after = invoke("snapshots", "list", "--format", "json", db=db)
            assert pruned.exit_code == 0, pruned.stderr
            strip = [
                {k: v for k, v in row.items() if k != "created_at"}
                for row in json.loads(after.stdout)
            ]
            outputs.append((len(json.loads(listed.stdout)), json.loads(pruned.stdout), strip))
        assert outputs[0] == outputs[1]
        assert outputs[1][1]  # something was pruned, and said so


def test_follow_on_a_dump_with_xids_ahead_warns_and_shows_every_event(tmp_path: Path) -> None:
    """A restored dump's commit_xids can be ahead of this server's counter: a frontier
    reader would hide them all; the follower says so and reads in sequence order."""
    out = tmp_path / "followed.ndjson"
    with fresh_database() as url:
        load_sql(url, REAL_PG_SQL)
        with psycopg.connect(url) as conn:
            row = conn.execute("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").fetchone()
            assert row is not None
            conn.execute(
                "UPDATE events SET commit_xid = (commit_xid::text::bigint + %s)::text::xid8",
                (int(row[0]) + 1_000_000,),
            )
        follower = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "stabilize_cli",
                "events",
                "--follow",
                "--format",
                "ndjson",
                "--interval",
                "0.1",
                "--limit",
                "1000",
                "--db",
                url,
            ],
            stdout=out.open("w"),
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while out.read_text().count("\n") < 173 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            follower.terminate()
            _, stderr = follower.communicate(timeout=20)
    shown = [json.loads(line)["sequence"] for line in out.read_text().splitlines() if line]
    assert shown == list(range(1, 174))
    assert stderr.startswith("warning: ")
    assert "ahead of this server" in stderr
