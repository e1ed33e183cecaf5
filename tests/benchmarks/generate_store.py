"""Build benchmark stores in the engine's SQLite format, seeded, and cache them.

    python tests/benchmarks/generate_store.py [CACHE_DIR]

writes (or reuses) in CACHE_DIR (default: a ``stabilize-bench`` folder in the temp dir):

- ``large.db``: 70,000 workflows of 3 to 6 stages, about 1.4 million events;
- ``small.db``: the same shape, about 10,000 events;
- ``long.db`` / ``long-snap.db``: one workflow of 100,000 events (a long poll with many
  retries and context updates) beside a few ordinary ones; ``long-snap.db`` also holds a
  snapshot of it a few events before :data:`LONG_ASKED_OFFSET`.

Rows are written with ``executemany`` in large transactions directly into the engine's
schema (``stabilize_cli.events.store.sqlite.schema.DDL``), in rollback-journal mode as the engine
leaves its files. Payloads follow the engine's keys (shared/stabilize-format.md): some
stages fail (and end their workflow), some are skipped, some tasks are retried (with the
task's version repeated, as the engine does), some workflows are canceled, and the newest
few are still running. Workflows overlap in time, so their rows interleave.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stabilize_cli.events import EventReplayer, SnapshotStore, SqliteEventStore
from stabilize_cli.events.store.sqlite.schema import DDL, EVENT_COLUMNS
from stabilize_cli.events.ulids import encode

LARGE_WORKFLOWS = 70_000
SMALL_WORKFLOWS = 500
LONG_EVENTS = 100_000
LONG_ASKED_OFFSET = 90_000
"""``state --at`` asks for the long workflow's 90,000th event; the snapshot is just before."""
SNAPSHOT_LAG = 50
SEED = 20261128
EPOCH_MS = 1_795_000_000_000  # late 2026, as in the engine's fixture
CHUNK = 64
"""Workflows that run concurrently: their events interleave in the table."""

INSERT = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS[1:])}) "
    f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS[1:])})"
)

APPS = ("payments", "data-platform", "search", "billing", "identity", "checkout", "ml-infra")
PIPELINES = (
    "deploy-pipeline",
    "nightly-etl",
    "settlement-sync",
    "reindex",
    "canary-release",
    "backfill",
    "invoice-run",
    "model-train",
)
# (stage type, median ms, spread, failure probability)
STAGE_TYPES = (
    ("python", 300, 0.6, 0.02),
    ("shell", 900, 0.8, 0.03),
    ("http", 450, 0.7, 0.04),
    ("deploy", 42_000, 0.5, 0.03),
    ("docker-build", 95_000, 0.4, 0.02),
    ("sql", 2_500, 0.9, 0.01),
    ("wait", 30_000, 0.2, 0.0),
    ("approval", 600_000, 1.2, 0.01),
    ("notify", 120, 0.3, 0.005),
    ("canary", 180_000, 0.3, 0.05),
    ("flaky", 4_000, 0.8, 0.08),
    ("optional", 220, 0.3, 0.0),
    ("test-suite", 240_000, 0.5, 0.06),
    ("migrate", 15_000, 0.7, 0.02),
)
STAGE_NAMES = (
    "Fetch",
    "Build",
    "Test",
    "Package",
    "Deploy",
    "Verify",
    "Migrate",
    "Notify",
    "Approve",
    "Smoke Test",
    "Publish",
    "Cleanup",
)
ERRORS = (
    "Connection refused: db-primary.internal:5432",
    "Timed out after 30000 ms waiting for health check",
    "exit status 1: npm ERR! code ELIFECYCLE",
    "HTTP 503 Service Unavailable from https://api.internal/v2/charges",
    "OOMKilled: container exceeded memory limit 2Gi",
    "AssertionError: expected 200 rows, got 0",
)


def ulid(ms: int, rng: random.Random) -> str:
    """A ULID (26 Crockford base32 characters) for this millisecond, from the seeded rng."""
    return encode(ms, rng.getrandbits(80))


def iso(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


@dataclass
class Workflow:
    """Collects one workflow's rows; the clock is in (fractional) milliseconds."""

    rng: random.Random
    start_ms: float
    id: str = ""
    clock: float = 0.0
    rows: list[tuple[float, tuple[Any, ...]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.id = ulid(int(self.start_ms), self.rng)
        self.clock = self.start_ms

    def tick(self, ms: float) -> float:
        self.clock += ms
        return self.clock

    def event(
        self, kind: str, entity: str, entity_id: str, version: int, data: dict[str, Any], by: str
    ) -> None:
        at = self.clock
        row = (
            ulid(int(at), self.rng),
            kind,
            iso(at),
            entity,
            entity_id,
            self.id,
            version,
            json.dumps(data),
            self.id,
            None,
            "system",
            by,
            1,
        )
        self.rows.append((at, row))


def _duration(rng: random.Random, median: int, spread: float) -> int:
    return max(1, int(rng.lognormvariate(0, spread) * median))


def _outputs(rng: random.Random, stage_type: str) -> dict[str, Any]:
    if stage_type in ("python", "shell", "sql", "migrate", "test-suite"):
        return {
            "stdout": f"processed {rng.randint(0, 5000)} rows",
            "stderr": "",
            "exit_code": 0,
            "truncated": False,
            "result": {"rows": rng.randint(0, 5000)},
        }
    if stage_type in ("deploy", "canary", "docker-build"):
        return {"image": f"registry.internal/app:{rng.getrandbits(28):07x}", "replicas": 3}
    return {"status_code": 200} if stage_type == "http" else {}


def _stage(wf: Workflow, index: int, stage_type: tuple[str, int, float, float]) -> str:
    """One stage and its task; returns 'ok', 'failed' or 'skipped'."""
    rng = wf.rng
    kind, median, spread, fail_p = stage_type
    stage_id = ulid(int(wf.clock), rng)
    task_id = ulid(int(wf.clock), rng)
    name = STAGE_NAMES[index % len(STAGE_NAMES)]
    ref = f"{name.lower().replace(' ', '-')}-{index}"
    base = {"ref_id": ref, "type": kind, "name": name}
    if kind == "optional" and rng.random() < 0.3:
        wf.event(
            "stage.skipped",
            "stage",
            stage_id,
            2,
            {**base, "reason": "condition false"},
            "SkipStageHandler",
        )
        return "skipped"
    start = wf.tick(rng.uniform(5, 40))
    wf.event(
        "stage.started",
        "stage",
        stage_id,
        2,
        {
            **base,
            "start_time": int(start),
            "is_synthetic": False,
            "parent_stage_id": None,
            "task_count": 1,
        },
        "StartStageHandler",
    )
    task_name = f"Run {name}"
    task_start = wf.tick(rng.uniform(5, 30))
    wf.event(
        "task.started",
        "task",
        task_id,
        1,
        {
            "name": task_name,
            "implementing_class": kind,
            "start_time": int(task_start),
            "stage_id": stage_id,
        },
        "StartTaskHandler",
    )
    retries = 0 if rng.random() > (0.35 if kind == "flaky" else 0.06) else rng.randint(1, 3)
    for attempt in range(1, retries + 1):
        wf.tick(rng.uniform(20, 2000))
        last = None if attempt == 1 else rng.choice(ERRORS)
        wf.event(
            "task.retried",
            "task",
            task_id,
            1,
            {"name": task_name, "attempt": attempt, "last_error": last},
            "RunTaskHandler",
        )
    took = _duration(rng, median, spread)
    end = wf.tick(took)
    failed = rng.random() < fail_p
    if failed:
        error = rng.choice(ERRORS)
        details = {
            "type": "RuntimeError",
            "message": error,
            "traceback": f'Traceback ...\n  File "tasks/{kind}.py", line {rng.randint(10, 400)}',
        }
        wf.event(
            "task.failed",
            "task",
            task_id,
            2,
            {
                "name": task_name,
                "status": "TERMINAL",
                "error": error,
                "end_time": int(end),
                "exception_details": details if rng.random() < 0.5 else None,
            },
            "CompleteTaskHandler",
        )
        stage_end = wf.tick(rng.uniform(5, 30))
        wf.event(
            "stage.failed",
            "stage",
            stage_id,
            6,
            {**base, "status": "TERMINAL", "error": error, "end_time": int(stage_end)},
            "CompleteStageHandler",
        )
        return "failed"
    outputs = _outputs(rng, kind)
    wf.event(
        "task.completed",
        "task",
        task_id,
        2,
        {
            "name": task_name,
            "status": "SUCCEEDED",
            "end_time": int(end),
            "duration_ms": int(end - task_start),
            "outputs": outputs,
        },
        "CompleteTaskHandler",
    )
    stage_end = wf.tick(rng.uniform(5, 30))
    wf.event(
        "stage.completed",
        "stage",
        stage_id,
        6,
        {
            **base,
            "status": "SUCCEEDED",
            "end_time": int(stage_end),
            "duration_ms": int(stage_end - start),
            "outputs": outputs,
        },
        "CompleteStageHandler",
    )
    return "ok"


def workflow_rows(rng: random.Random, start_ms: float, running: bool) -> Workflow:
    """One workflow of 3 to 6 stages: created, started, its stages, and how it ended."""
    wf = Workflow(rng, start_ms)
    stage_count = rng.randint(3, 6)
    stages = [rng.choice(STAGE_TYPES) for _ in range(stage_count)]
    wf.event(
        "workflow.created",
        "workflow",
        wf.id,
        1,
        {
            "application": rng.choice(APPS),
            "name": rng.choice(PIPELINES),
            "type": "PIPELINE",
            "trigger_type": rng.choice(("manual", "cron", "webhook")),
            "stage_count": stage_count,
            "initial_stage_count": 1,
        },
        "StartWorkflowHandler",
    )
    started = wf.tick(rng.uniform(1, 5))
    first_stage = ulid(int(started), rng)
    context = {
        "git_sha": f"{rng.getrandbits(40):010x}",
        "triggered_by": f"user{rng.randint(1, 80)}@example.com",
    }
    wf.event(
        "workflow.started",
        "workflow",
        wf.id,
        2,
        {"start_time": int(started), "initial_stage_ids": [first_stage], "context": context},
        "StartWorkflowHandler",
    )
    cancel_at = stage_count - 1 if rng.random() < 0.01 else None
    for index, stage_type in enumerate(stages):
        if running and index == len(stages) - 1:
            return wf  # the newest workflows are still running
        if index == cancel_at:
            stage_id = ulid(int(wf.clock), rng)
            wf.tick(rng.uniform(100, 5000))
            wf.event(
                "stage.canceled",
                "stage",
                stage_id,
                2,
                {"ref_id": f"s{index}", "type": stage_type[0], "name": STAGE_NAMES[index]},
                "CancelStageHandler",
            )
            wf.tick(rng.uniform(5, 30))
            wf.event(
                "workflow.canceled",
                "workflow",
                wf.id,
                3,
                {
                    "canceled_by": "oncall@example.com",
                    "reason": "superseded",
                    "end_time": int(wf.clock),
                },
                "CancelWorkflowHandler",
            )
            return wf
        if _stage(wf, index, stage_type) == "failed":
            end = wf.tick(rng.uniform(5, 30))
            wf.event(
                "workflow.failed",
                "workflow",
                wf.id,
                3,
                {
                    "status": "TERMINAL",
                    "error": "Workflow ended with status TERMINAL",
                    "end_time": int(end),
                },
                "CompleteWorkflowHandler",
            )
            return wf
    end = wf.tick(rng.uniform(5, 30))
    wf.event(
        "workflow.completed",
        "workflow",
        wf.id,
        3,
        {"status": "SUCCEEDED", "end_time": int(end), "duration_ms": int(end - started)},
        "CompleteWorkflowHandler",
    )
    return wf


def ordinary_rows(
    workflows: int, seed: int, start_ms: float = EPOCH_MS
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of ``workflows`` workflows, a chunk of concurrent ones at a time, in time order."""
    rng = random.Random(seed)
    clock = start_ms
    for first in range(0, workflows, CHUNK):
        chunk: list[tuple[float, tuple[Any, ...]]] = []
        for n in range(first, min(first + CHUNK, workflows)):
            clock += rng.uniform(200, 3000)
            chunk.extend(workflow_rows(rng, clock, running=n >= workflows - 3).rows)
        chunk.sort(key=lambda item: item[0])
        yield [row for _, row in chunk]


def long_workflow_rows(seed: int, events: int = LONG_EVENTS) -> tuple[str, list[tuple[Any, ...]]]:
    """One long-running workflow: stages whose tasks poll, retry and update the context."""
    rng = random.Random(seed)
    wf = Workflow(rng, EPOCH_MS)
    wf.event(
        "workflow.created",
        "workflow",
        wf.id,
        1,
        {
            "application": "ml-infra",
            "name": "long-poll",
            "type": "PIPELINE",
            "trigger_type": "cron",
            "stage_count": 100,
            "initial_stage_count": 1,
        },
        "StartWorkflowHandler",
    )
    wf.tick(3)
    wf.event(
        "workflow.started",
        "workflow",
        wf.id,
        2,
        {"start_time": int(wf.clock), "initial_stage_ids": [], "context": {"run": 1}},
        "StartWorkflowHandler",
    )
    per_stage = (events - 3) // 100
    for index in range(100):
        stage_id, task_id = ulid(int(wf.clock), rng), ulid(int(wf.clock), rng)
        base = {"ref_id": f"poll-{index}", "type": "wait", "name": f"Poll {index}"}
        start = wf.tick(10)
        wf.event(
            "stage.started",
            "stage",
            stage_id,
            2,
            {
                **base,
                "start_time": int(start),
                "is_synthetic": False,
                "parent_stage_id": None,
                "task_count": 1,
            },
            "StartStageHandler",
        )
        wf.tick(5)
        wf.event(
            "task.started",
            "task",
            task_id,
            1,
            {
                "name": f"Poll {index}",
                "implementing_class": "wait",
                "start_time": int(wf.clock),
                "stage_id": stage_id,
            },
            "StartTaskHandler",
        )
        for attempt in range(1, per_stage - 3):
            wf.tick(rng.uniform(50, 500))
            if attempt % 2:
                wf.event(
                    "task.retried",
                    "task",
                    task_id,
                    1,
                    {"name": f"Poll {index}", "attempt": attempt, "last_error": "not ready"},
                    "RunTaskHandler",
                )
            else:
                wf.event(
                    "context.updated",
                    "workflow",
                    wf.id,
                    2,
                    {"context": {"progress": attempt, f"stage_{index}": attempt}},
                    "RunTaskHandler",
                )
        end = wf.tick(20)
        wf.event(
            "task.completed",
            "task",
            task_id,
            2,
            {
                "name": f"Poll {index}",
                "status": "SUCCEEDED",
                "end_time": int(end),
                "duration_ms": int(end - start),
                "outputs": {"polls": per_stage},
            },
            "CompleteTaskHandler",
        )
        wf.tick(5)
        wf.event(
            "stage.completed",
            "stage",
            stage_id,
            6,
            {
                **base,
                "status": "SUCCEEDED",
                "end_time": int(wf.clock),
                "duration_ms": int(wf.clock - start),
                "outputs": {},
            },
            "CompleteStageHandler",
        )
    wf.tick(5)
    wf.event(
        "workflow.completed",
        "workflow",
        wf.id,
        3,
        {"status": "SUCCEEDED", "end_time": int(wf.clock), "duration_ms": int(wf.clock - EPOCH_MS)},
        "CompleteWorkflowHandler",
    )
    return wf.id, [row for _, row in wf.rows]


def write_rows(path: Path, batches: Iterator[list[tuple[Any, ...]]]) -> int:
    """Create the engine's schema and insert every batch; big transactions, no WAL."""
    tmp = path.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    conn = sqlite3.connect(tmp, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")
    for statement in DDL:
        conn.execute(statement)
    written = 0
    conn.execute("BEGIN")
    for batch in batches:
        conn.executemany(INSERT, batch)
        written += len(batch)
        if written % 200_000 < len(batch):
            conn.execute("COMMIT")
            conn.execute("BEGIN")
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode = DELETE")
    conn.close()
    os.replace(tmp, path)
    return written


def add_snapshot(path: Path, workflow_id: str, sequence: int) -> None:
    """A sound snapshot of the workflow as of ``sequence``, written through our library."""
    with SqliteEventStore(str(path), create_tables=False) as store:
        state = EventReplayer(store).rebuild_workflow_state(workflow_id, sequence)
        SnapshotStore(store).create_workflow_snapshot(state, workflow_id, 0, sequence)


@dataclass(frozen=True)
class Stores:
    large: Path
    small: Path
    long: Path
    long_snap: Path
    long_workflow: str
    long_asked: int
    """The sequence ``state --at`` asks for; the snapshot is a little before it."""


def _long_info(path: Path) -> tuple[str, int]:
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
        wf, first = conn.execute(
            "SELECT workflow_id, MIN(sequence) FROM events WHERE workflow_id = "
            "(SELECT workflow_id FROM events GROUP BY workflow_id ORDER BY COUNT(*) DESC LIMIT 1)"
        ).fetchone()
    return str(wf), int(first) + LONG_ASKED_OFFSET


def _build_long(path: Path, seed: int) -> None:
    def batches() -> Iterator[list[tuple[Any, ...]]]:
        yield from ordinary_rows(20, seed + 1)
        yield long_workflow_rows(seed)[1]
        yield from ordinary_rows(20, seed + 2, EPOCH_MS + 10_000_000)

    write_rows(path, batches())


def ensure_stores(cache: Path, seed: int = SEED, *, log: bool = True) -> Stores:
    """Build whatever is missing under ``cache``; stores already there are reused."""
    cache.mkdir(parents=True, exist_ok=True)
    wanted = {
        "large.db": lambda p: write_rows(p, ordinary_rows(LARGE_WORKFLOWS, seed)),
        "small.db": lambda p: write_rows(p, ordinary_rows(SMALL_WORKFLOWS, seed + 7)),
        "long.db": lambda p: _build_long(p, seed + 11),
    }
    for name, build in wanted.items():
        path = cache / name
        if not path.exists():
            started = time.perf_counter()
            build(path)
            if log:
                print(f"built {path} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    long_wf, asked = _long_info(cache / "long.db")
    snap = cache / "long-snap.db"
    if not snap.exists():
        partial = cache / "long-snap.partial"
        partial.write_bytes((cache / "long.db").read_bytes())
        add_snapshot(partial, long_wf, asked - SNAPSHOT_LAG)
        os.replace(partial, snap)
    return Stores(cache / "large.db", cache / "small.db", cache / "long.db", snap, long_wf, asked)


def default_cache() -> Path:
    return Path(tempfile.gettempdir()) / "stabilize-bench"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog=Path(argv[0]).name,
        description="Build (or reuse) the seeded benchmark stores: large.db, small.db, "
        "long.db and long-snap.db.",
    )
    parser.add_argument(
        "cache_dir",
        nargs="?",
        type=Path,
        metavar="CACHE_DIR",
        help=f"where the stores are written or reused (default: {default_cache()})",
    )
    cache = parser.parse_args(argv[1:]).cache_dir or default_cache()
    stores = ensure_stores(cache)
    for path in (stores.large, stores.small, stores.long, stores.long_snap):
        with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as conn:
            count, wfs = conn.execute(
                "SELECT COUNT(*), COUNT(DISTINCT workflow_id) FROM events"
            ).fetchone()
        print(f"{path}: {count} events, {wfs} workflows")
    print(f"long workflow {stores.long_workflow}, asked sequence {stores.long_asked}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
