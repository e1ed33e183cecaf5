"""What the demo simulates: workflow shapes, what goes wrong in them, their texts.

Plain data and the seeded choices made over it; :mod:`.simulation` turns one
(shape, application, fate) into timed recorder calls.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from random import Random
from typing import Any


@dataclass(frozen=True)
class TaskSpec:
    name: str
    implementing_class: str
    median_ms: int


@dataclass(frozen=True)
class StageSpec:
    ref: str
    name: str
    type: str
    tasks: tuple[TaskSpec, ...]
    after: tuple[str, ...] = ()


@dataclass(frozen=True)
class Shape:
    name: str
    trigger: str
    actor: str | None  # None: a person starts it by hand
    stages: tuple[StageSpec, ...]


@dataclass(frozen=True)
class Fate:
    """What is unusual about one run; each field names a stage by its ref."""

    fail: str | None = None
    error: str = "pytest"
    retry: str | None = None
    skip: str | None = None
    pause_after: str | None = None
    cancel_during: str | None = None


def _stage(ref: str, name: str, kind: str, *tasks: Any, after: tuple[str, ...] = ()) -> StageSpec:
    return StageSpec(ref, name, kind, tuple(TaskSpec(*t) for t in tasks), after)


_BUILD = _stage(
    "build", "Build image", "docker",
    ("Build image", "DockerTask", 95_000), ("Push image", "DockerTask", 18_000),
)  # fmt: skip
_TEST = _stage(
    "test", "Run tests", "shell", ("Run unit tests", "ShellTask", 70_000), after=("build",)
)
_DEPLOY = _stage(
    "deploy", "Deploy to production", "deploy",
    ("Roll out", "RolloutTask", 110_000), ("Wait for healthy", "HTTPTask", 15_000), after=("test",),
)  # fmt: skip
_SHARDS = tuple(f"shard-{n}" for n in range(5))

DEPLOY = Shape("deploy-pipeline", "webhook", "ci-bot", (_BUILD, _TEST, _DEPLOY))
DIAMOND = Shape("nightly-etl", "cron", "scheduler", (
    _stage("prepare", "Extract snapshot", "python", ("Extract orders", "PythonTask", 40_000)),
    _stage("left", "Transform orders", "python", ("Transform orders", "PythonTask", 65_000),
           after=("prepare",)),
    _stage("right", "Transform customers", "python",
           ("Transform customers", "PythonTask", 50_000), after=("prepare",)),
    _stage("join", "Load warehouse", "python", ("Load warehouse", "PythonTask", 80_000),
           ("Refresh dashboards", "HTTPTask", 2_000), after=("left", "right")),
))  # fmt: skip
FANOUT = Shape("search-reindex", "cron", "scheduler", (
    _stage("plan", "Plan shards", "python", ("Plan shards", "PythonTask", 3_000)),
    *(_stage(ref, f"Reindex shard {n}", "shell", (f"Reindex shard {n}", "ShellTask", 45_000),
             after=("plan",)) for n, ref in enumerate(_SHARDS)),
    _stage("alias", "Swap index alias", "http", ("Swap alias", "HTTPTask", 600), after=_SHARDS),
))  # fmt: skip
SYNC = Shape("settlement-sync", "cron", "scheduler", (
    _stage("auth", "Fetch token", "http", ("Fetch OAuth token", "HTTPTask", 400)),
    _stage("sync", "Sync settlements", "http", ("Call provider API", "HTTPTask", 2_500),
           after=("auth",)),
    _stage("reconcile", "Reconcile ledger", "python", ("Reconcile ledger", "PythonTask", 12_000),
           after=("sync",)),
))  # fmt: skip
RELEASE = Shape("release", "manual", None, (
    _BUILD,
    _stage("approve", "Approve release", "approval",
           ("Manual judgment", "ManualJudgmentTask", 300_000), after=("build",)),
    _stage("docs", "Publish docs", "python", ("Build and upload docs", "PythonTask", 30_000),
           after=("build",)),
    dataclasses.replace(_DEPLOY, after=("approve", "docs")),
))  # fmt: skip
MIGRATION = Shape("db-migration", "manual", None, (
    _stage("backup", "Back up database", "shell", ("pg_dump", "ShellTask", 90_000)),
    _stage("migrate", "Apply migrations", "python", ("Run alembic upgrade", "PythonTask", 20_000),
           after=("backup",)),
    _stage("verify", "Smoke test", "http", ("GET /healthz", "HTTPTask", 300), after=("migrate",)),
))  # fmt: skip

_CANONICAL: tuple[tuple[Shape, str, Fate], ...] = (
    (DEPLOY, "checkout", Fate()),
    (DIAMOND, "data-platform", Fate()),
    (FANOUT, "search", Fate()),
    (SYNC, "payments", Fate(retry="sync")),
    (RELEASE, "checkout", Fate(skip="docs")),
    (MIGRATION, "payments", Fate(pause_after="backup")),
    (DEPLOY, "search", Fate(cancel_during="test")),
)
_LAST = (DEPLOY, "payments", Fate(fail="test"))  # `timeline latest-failed` shows a stack trace
_OK = Fate()
_REPEATS: tuple[tuple[Shape, tuple[str, ...], tuple[Fate, ...]], ...] = (
    (DEPLOY, ("checkout", "payments", "search"),
     (_OK, _OK, _OK, Fate(fail="test"), Fate(fail="deploy", error="healthcheck"), _OK)),
    (DIAMOND, ("data-platform",), (_OK, Fate(fail="right", error="etl"))),
    (FANOUT, ("search",), (_OK, Fate(fail="shard-3", error="oom"))),
    (SYNC, ("payments",), (_OK, Fate(retry="sync"))),
    (RELEASE, ("checkout", "search"), (_OK, Fate(skip="docs"))),
)  # fmt: skip
OPERATORS = ("alice@example.com", "bob@example.com", "dana@example.com", "oncall@example.com")
RETRY_ERRORS = (
    "ConnectionResetError: [Errno 104] Connection reset by peer",
    "HTTP 502 Bad Gateway from https://api.payments-provider.example/v2/settlements",
)


def _pytest_error(rng: Random, app: str) -> str:
    got, want = rng.randint(90, 120), rng.randint(60, 89)
    return (
        f"pytest exited with code 1: 1 failed, {rng.randint(380, 460)} passed"
        f" in {rng.uniform(40, 110):.2f}s\nTraceback (most recent call last):\n"
        f'  File "/builds/{app}/tests/test_pricing.py", line {rng.randint(40, 240)},'
        f' in test_bundle_discount\n    assert quote.total == Decimal("{want}.00")\n'
        f"AssertionError: assert Decimal('{got}.00') == Decimal('{want}.00')"
    )


def _healthcheck_error(rng: Random, app: str) -> str:
    return (
        f"health check failed after 3 attempts: GET https://{app}.internal.example.com/healthz"
        " returned 503\nTraceback (most recent call last):\n"
        f'  File "/opt/stabilize/tasks/http/task.py", line {rng.randint(180, 240)}, in execute\n'
        "    response.raise_for_status()\n"
        "urllib.error.HTTPError: HTTP Error 503: Service Unavailable"
    )


def _etl_error(rng: Random, app: str) -> str:
    return (
        'Traceback (most recent call last):\n  File "/srv/etl/transform/customers.py", line 77,'
        " in load\n    cursor.executemany(INSERT_CUSTOMERS, batch)\npsycopg.errors.UniqueViolation:"
        ' duplicate key value violates unique constraint "customers_pkey"\n'
        f"DETAIL:  Key (id)=({rng.randint(10_000, 99_999)}) already exists."
    )


def _oom_error(rng: Random, app: str) -> str:
    return (
        f"command exited with code 137 (killed: out of memory)\n$ reindex --shard 3 --batch-size"
        f" {rng.choice((5000, 10000))}\njava.lang.OutOfMemoryError: Java heap space\n"
        f"    at org.search.Indexer.flush(Indexer.java:{rng.randint(200, 400)})"
    )


ERRORS: dict[str, tuple[str, Callable[[Random, str], str]]] = {
    "pytest": ("AssertionError", _pytest_error),
    "healthcheck": ("HTTPError", _healthcheck_error),
    "etl": ("UniqueViolation", _etl_error),
    "oom": ("OutOfMemoryError", _oom_error),
}
OUTPUTS: dict[str, Callable[[Random, str, str], dict[str, Any]]] = {
    "DockerTask": lambda rng, app, version: {
        "image": f"registry.example.com/{app}:{version}",
        "digest": f"sha256:{rng.getrandbits(256):064x}",
    },
    "ShellTask": lambda rng, app, version: {"exit_code": 0, "stdout_lines": rng.randint(12, 900)},
    "PythonTask": lambda rng, app, version: {"rows": rng.randint(10_000, 2_000_000)},
    "HTTPTask": lambda rng, app, version: {"status_code": 200, "elapsed_ms": rng.randint(30, 900)},
    "RolloutTask": lambda rng, app, version: {
        "environment": "production",
        "revision": rng.randint(100, 400),
        "replicas": rng.choice((3, 4, 6)),
    },
    "ManualJudgmentTask": lambda rng, app, version: {
        "judgment": "approved",
        "judged_by": rng.choice(OPERATORS),
    },
}


def plan(rng: Random) -> list[tuple[Shape, str, Fate]]:
    """Each canonical run, then repeats in drawn apps and order; the stack trace comes last."""
    picks = list(_CANONICAL)
    for shape, apps, fates in _REPEATS:
        picks.extend((shape, rng.choice(apps), fate) for fate in fates)
    rng.shuffle(picks)
    return [*picks, _LAST]
