"""Issue 9's PostgreSQL figures, measured side by side in one run, with ratios and goals.

    python tests/benchmarks/run_pg_benchmarks.py [--server URL] [--runs N] [--rebuild]

The server is ``--server`` or ``$STABILIZE_TEST_POSTGRES`` (default: the local one).
Builds (or reuses) two databases there through our own ``append_batch``: the SQLite
benchmark's 1.4-million-event store (``stabilize_bench_large``) and its 10,000-event
one (``stabilize_bench_small``), from the same generator and seeds. Then measures:

- ``append_batch`` of 1,000 events: ours against the engine's PostgreSQL store (one
  INSERT per event), in-process, median of N; the engine's own store when
  ``$STABILIZE_ENGINE_PYTHON`` has it, and the same one-INSERT-per-event method run
  here otherwise;
- ``timeline WF`` (a workflow from the middle of the store) against a script that
  imports typer and rich, connects with psycopg and fetches that workflow's rows, and
  against the same command on the 10,000-event database;
- ``metrics --top 10 --no-cache`` against one plain SQL aggregate run from psycopg, and
  its peak RSS;
- ``workflows`` (its first page).

Commands run as fresh processes, median of N after one untimed run, with the SQLite
benchmark's wrapper (``run_benchmarks.measure``: wall time and the child's peak RSS).

Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

import psycopg  # noqa: E402
from psycopg.conninfo import make_conninfo  # noqa: E402

from stabilize_cli.events import Event, PostgresEventStore  # noqa: E402
from stabilize_cli.events.store.codec import event_from_row  # noqa: E402
from tests.benchmarks.generate_store import (  # noqa: E402
    LARGE_WORKFLOWS,
    SEED,
    SMALL_WORKFLOWS,
    ordinary_rows,
)
from tests.benchmarks.run_benchmarks import STABILIZE, measure  # noqa: E402

ENGINE = os.environ.get("STABILIZE_ENGINE_PYTHON", "/tmp/engine-venv/bin/python")
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
BATCH = 1_000
WRITE_CHUNK = 5_000


@dataclass
class Row:
    what: str
    ours: str
    ref: str
    ratio: str
    goal: str
    verdict: str


def events_of(rows: list[tuple[Any, ...]]) -> list[Event]:
    return [event_from_row((0, *row)) for row in rows]


def generated(workflows: int, seed: int) -> Iterator[list[Event]]:
    pending: list[Event] = []
    for batch in ordinary_rows(workflows, seed):
        pending.extend(events_of(batch))
        while len(pending) >= WRITE_CHUNK:
            yield pending[:WRITE_CHUNK]
            pending = pending[WRITE_CHUNK:]
    if pending:
        yield pending


def ensure_database(server: str, name: str, workflows: int, seed: int, rebuild: bool) -> str:
    """The database's URL, built through our append_batch unless already complete."""
    url = make_conninfo(server, dbname=name)
    with psycopg.connect(server, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not rebuild:
            with psycopg.connect(url) as conn:
                done = conn.execute("SELECT to_regclass('bench_complete')").fetchone()
            if done is not None and done[0] is not None:
                return url
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    started = time.perf_counter()
    written = 0
    with PostgresEventStore(url, create_tables=True) as store:
        for chunk in generated(workflows, seed):
            store.append_batch(chunk)
            written += len(chunk)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE events")
        conn.execute("CREATE TABLE bench_complete (events bigint)")
        conn.execute("INSERT INTO bench_complete VALUES (%s)", (written,))
    took = time.perf_counter() - started
    print(
        f"built {name}: {written} events in {took:.0f} s ({written / took:,.0f}/s)", file=sys.stderr
    )
    return url


ENGINE_APPEND = textwrap.dedent("""
    import json, sys, time
    from stabilize.events import Event
    from stabilize.events.store.postgres import PostgresEventStore
    store = PostgresEventStore(sys.argv[1])
    batches = json.load(sys.stdin)
    times = []
    for batch in batches:
        events = [Event.from_dict(e) for e in batch]
        start = time.perf_counter()
        store.append_batch(events)
        times.append(time.perf_counter() - start)
    store.close()
    print(json.dumps(times))
""")

ONE_INSERT_PER_EVENT = (
    "INSERT INTO events (event_id, event_type, timestamp, entity_type, entity_id, workflow_id, "
    "version, data, correlation_id, causation_id, actor, source_handler, schema_version) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING sequence"
)


def engine_method(url: str, batches: list[list[Event]]) -> list[float]:
    """The engine's append, one INSERT ... RETURNING per event in one transaction."""
    times = []
    with psycopg.connect(url) as conn:
        for batch in batches:
            start = time.perf_counter()
            with conn.cursor() as cur:
                for e in batch:
                    cur.execute(
                        ONE_INSERT_PER_EVENT,
                        (
                            e.event_id,
                            e.event_type.value,
                            e.timestamp,
                            e.entity_type.value,
                            e.entity_id,
                            e.workflow_id,
                            e.version,
                            json.dumps(e.data),
                            e.metadata.correlation_id,
                            e.metadata.causation_id,
                            e.metadata.actor,
                            e.metadata.source_handler,
                            e.schema_version,
                        ),
                    )
                    cur.fetchone()
            conn.commit()
            times.append(time.perf_counter() - start)
    return times


def fresh_batches(runs: int) -> list[list[Event]]:
    """Distinct events for every run (event ids are unique), 1,000 to a batch."""
    events: list[Event] = []
    for chunk in generated(300, SEED + 99):
        events.extend(chunk)
        if len(events) >= BATCH * runs:
            break
    events = [
        Event.from_dict({**e.to_dict(), "event_id": uuid.uuid4().hex[:26].upper()})
        for e in events[: BATCH * runs]
    ]
    return [events[i * BATCH : (i + 1) * BATCH] for i in range(runs)]


def measure_append(server: str, runs: int) -> list[Row]:
    name = f"stabilize_bench_append_{uuid.uuid4().hex[:8]}"
    url = make_conninfo(server, dbname=name)
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with PostgresEventStore(url, create_tables=True) as store:
            store.append_batch(fresh_batches(1)[0])  # warm: tables, plans, connection
            ours = []
            for batch in fresh_batches(runs):
                start = time.perf_counter()
                store.append_batch(batch)
                ours.append(time.perf_counter() - start)
        reference = "one INSERT per event (the engine's method, run here)"
        theirs = engine_method(url, fresh_batches(runs))
        if Path(ENGINE).exists():
            payload = json.dumps([[e.to_dict() for e in b] for b in fresh_batches(runs)])
            done = subprocess.run(
                [ENGINE, "-c", ENGINE_APPEND, url],
                input=payload,
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
            )
            if done.returncode == 0:
                theirs = json.loads(done.stdout.strip().splitlines()[-1])
                reference = "the engine's PostgresEventStore.append_batch"
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    mine, ref = statistics.median(ours), statistics.median(theirs)
    speedup = ref / mine
    return [
        Row(
            "append_batch of 1,000",
            f"{mine * 1000:.1f} ms",
            f"{ref * 1000:.1f} ms ({reference})",
            f"{speedup:.1f}x faster",
            ">= 5x faster",
            "met" if speedup >= 5 else "NOT met",
        )
    ]


FLOOR_TIMELINE = textwrap.dedent("""
    import sys
    import psycopg, typer, rich.console, rich.tree
    with psycopg.connect(sys.argv[1]) as conn:
        rows = conn.execute(
            "SELECT * FROM events WHERE workflow_id = %s ORDER BY sequence", (sys.argv[2],)
        ).fetchall()
    print(len(rows))
""")
REF_QUERY = (
    "SELECT entity_type, "
    "CASE entity_type WHEN 'stage' THEN data->>'type' ELSE data->>'name' END, "
    "count(*) FILTER (WHERE event_type IN ('stage.started', 'task.started')), "
    "count(*) FILTER (WHERE event_type IN ('stage.completed', 'task.completed')), "
    "count(*) FILTER (WHERE event_type IN ('stage.failed', 'task.failed')), "
    "count(*) FILTER (WHERE event_type = 'stage.skipped'), "
    "count(*) FILTER (WHERE event_type = 'task.retried'), "
    "avg((data->>'duration_ms')::numeric) "
    "FROM events WHERE entity_type IN ('stage', 'task') GROUP BY 1, 2"
)
"""The reference: one plain aggregate with the projection's counts and a mean."""
REF_METRICS = textwrap.dedent(f"""
    import sys
    import psycopg
    with psycopg.connect(sys.argv[1]) as conn:
        print(len(conn.execute({REF_QUERY!r}).fetchall()))
""")


def middle_workflow(url: str) -> str:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT workflow_id FROM events WHERE sequence >= (SELECT max(sequence) / 2 "
            "FROM events) AND event_type = 'workflow.created' ORDER BY sequence LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0])


def script(python_text: str, *args: str) -> list[str]:
    return [sys.executable, "-c", python_text, *args]


def ratio_row(what: str, ours: float, ref: float, goal: float) -> Row:
    ratio = ours / ref
    return Row(
        what,
        f"{ours:.3f} s",
        f"{ref:.3f} s",
        f"{ratio:.2f}x",
        f"<= {goal}x",
        "met" if ratio <= goal else "NOT met",
    )


def measure_commands(large: str, small: str, runs: int) -> list[Row]:
    rows = []
    wf, wf_small = middle_workflow(large), middle_workflow(small)
    ours = measure([*STABILIZE, "timeline", wf, "--db", large], runs)
    floor = measure(script(FLOOR_TIMELINE, large, wf), runs)
    on_small = measure([*STABILIZE, "timeline", wf_small, "--db", small], runs)
    rows.append(ratio_row("timeline WF vs typer+rich+psycopg fetch", ours.wall, floor.wall, 1.5))
    rows.append(
        ratio_row("timeline: 1.4M-event vs 10k-event database", ours.wall, on_small.wall, 1.2)
    )
    cold = measure([*STABILIZE, "metrics", "--top", "10", "--no-cache", "--db", large], runs)
    ref = measure(script(REF_METRICS, large), runs)
    rows.append(ratio_row("metrics --top 10 (cold) vs one SQL aggregate", cold.wall, ref.wall, 1.5))
    rows.append(
        Row(
            "metrics peak RSS",
            f"{cold.rss_mib:.0f} MiB",
            f"{ref.rss_mib:.0f} MiB (the query)",
            "",
            "<= 100 MiB",
            "met" if cold.rss_mib <= 100 else "NOT met",
        )
    )
    listing = measure([*STABILIZE, "workflows", "--db", large], runs)
    rows.append(
        Row(
            "workflows first page (70,000 workflows)",
            f"{listing.wall:.3f} s",
            "",
            "",
            "<= 0.5 s",
            "met" if listing.wall <= 0.5 else "NOT met",
        )
    )
    return rows


def table(rows: list[Row]) -> str:
    header = Row("what", "ours", "reference", "ratio", "goal", "verdict")
    cells = [header, *rows]
    widths = [max(len(getattr(r, f)) for r in cells) for f in Row.__dataclass_fields__]
    lines = []
    for r in cells:
        values = [getattr(r, f) for f in Row.__dataclass_fields__]
        lines.append(" | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)))
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--server", default=os.environ.get("STABILIZE_TEST_POSTGRES", DEFAULT_SERVER)
    )
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--only", choices=["append", "commands", "all"], default="all")
    args = parser.parse_args(argv[1:])
    rows = [] if args.only == "commands" else measure_append(args.server, args.runs)
    if args.only != "append":
        small = ensure_database(
            args.server, "stabilize_bench_small", SMALL_WORKFLOWS, SEED + 7, args.rebuild
        )
        large = ensure_database(
            args.server, "stabilize_bench_large", LARGE_WORKFLOWS, SEED, args.rebuild
        )
        rows += measure_commands(large, small, args.runs)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
