"""Issue 4's figures, measured as whole processes side by side, with ratios and goals.

    python tests/benchmarks/run_benchmarks.py [--cache DIR] [--runs N]

Builds (or reuses) the stores of ``generate_store.py`` in DIR, compiles our modules'
bytecode (as an install does), then runs each command N times (median wall time; peak
RSS of the child, from ``getrusage(RUSAGE_CHILDREN)`` in a fresh wrapper process per run)
and prints one table. Metrics are measured cold (``--no-cache``) and with the figures a
first run kept (in a temporary ``$STABILIZE_CACHE_DIR``). The engine's figures need it
installed at ``$STABILIZE_ENGINE_PYTHON`` (default /tmp/engine-venv/bin/python); without
it those rows say "engine not installed". Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.benchmarks.generate_store import (  # noqa: E402
    INSERT,
    Stores,
    default_cache,
    ensure_stores,
    ordinary_rows,
)

PYTHON = sys.executable
_SCRIPT = Path(PYTHON).parent / "stabilize"
STABILIZE = [str(_SCRIPT)] if _SCRIPT.exists() else [PYTHON, "-m", "stabilize_cli"]
ENGINE = os.environ.get("STABILIZE_ENGINE_PYTHON", "/tmp/engine-venv/bin/python")
MIB = 1024 * 1024

WRAPPER = textwrap.dedent("""
    import resource, subprocess, sys, time
    start = time.perf_counter()
    done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - start
    if done.returncode:
        sys.stderr.write(done.stderr.decode(errors="replace"))
        sys.exit(done.returncode)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(wall, peak)
""")

SCRIPTS = {
    "ref_metrics.py": """
        import sqlite3, sys
        conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
        rows = conn.execute('''
            SELECT entity_type,
                   CASE entity_type WHEN 'stage' THEN json_extract(data, '$.type')
                        ELSE json_extract(data, '$.name') END AS key,
                   SUM(event_type IN ('stage.started', 'task.started')),
                   SUM(event_type IN ('stage.completed', 'task.completed')),
                   SUM(event_type IN ('stage.failed', 'task.failed')),
                   SUM(event_type = 'stage.skipped'), SUM(event_type = 'task.retried'),
                   AVG(json_extract(data, '$.duration_ms'))
            FROM events WHERE entity_type IN ('stage', 'task') GROUP BY 1, 2
        ''').fetchall()
        print(len(rows))
    """,
    "floor_timeline.py": """
        import sqlite3, sys
        import typer, rich.console, rich.tree
        conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
        rows = conn.execute(
            "SELECT * FROM events WHERE workflow_id = ? ORDER BY sequence", (sys.argv[2],)
        ).fetchall()
        print(len(rows))
    """,
    "engine_metrics.py": """
        import sys
        from stabilize.events import EventQuery, SqliteEventStore, StageMetricsProjection
        store = SqliteEventStore(f"sqlite:///{sys.argv[1]}", create_tables=False)
        projection = StageMetricsProjection()
        for event in store.get_events(EventQuery(limit=10**12)):
            projection.apply(event)
        print(projection.get_top_slowest_stages(10))
    """,
    "engine_timeline.py": """
        import sys
        from stabilize.events import SqliteEventStore, WorkflowTimelineProjection
        store = SqliteEventStore(f"sqlite:///{sys.argv[1]}", create_tables=False)
        projection = WorkflowTimelineProjection(sys.argv[2])
        for event in store.get_events_for_workflow(sys.argv[2]):
            projection.apply(event)
        print(len(projection.get_state().entries))
    """,
    "append_rate.py": """
        import os, sys, tempfile, time
        from datetime import UTC, datetime
        if sys.argv[1] == "engine":
            from stabilize.events import (
                EntityType, Event, EventMetadata, EventType, SqliteEventStore)
        else:
            from stabilize_cli.events import (
                EntityType, Event, EventMetadata, EventType, SqliteEventStore)
        BATCHES, SIZE = 30, 1000
        now = datetime.now(UTC)
        data = {"name": "Run Build", "status": "SUCCEEDED", "end_time": 1795878282828,
                "duration_ms": 114, "outputs": {"stdout": "ok", "exit_code": 0}}
        batches = [[Event(event_type=EventType.TASK_COMPLETED, entity_type=EntityType.TASK,
                          entity_id=f"t{b}-{i}", workflow_id=f"wf{b}", version=2,
                          timestamp=now, data=data,
                          metadata=EventMetadata(correlation_id=f"wf{b}", actor="system",
                                                 source_handler="CompleteTaskHandler"))
                    for i in range(SIZE)] for b in range(BATCHES)]
        folder = tempfile.mkdtemp()
        store = SqliteEventStore(f"sqlite:///{os.path.join(folder, 'append.db')}")
        start = time.perf_counter()
        for batch in batches:
            store.append_batch(batch)
        print(BATCHES * SIZE / (time.perf_counter() - start))
    """,
}


@dataclass
class Run:
    wall: float
    rss_mib: float


def measure(argv: list[str], runs: int, *, warm_up: bool = True) -> Run:
    """Median wall time and peak RSS over ``runs`` fresh processes, after one untimed run
    (so that each command finds its files in the page cache, as its reference does)."""
    if warm_up:
        subprocess.run(argv, capture_output=True, check=False)
    walls, peaks = [], []
    for _ in range(runs):
        out = subprocess.run(
            [PYTHON, "-c", WRAPPER, *argv], capture_output=True, text=True, check=False
        )
        if out.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed: {out.stderr.strip()}")
        wall, peak = out.stdout.split()
        walls.append(float(wall))
        peaks.append(int(peak) * 1024 / MIB)
    return Run(statistics.median(walls), max(peaks))


WORKFLOWS_PER_APPEND = 500
"""About 10,000 events: 3 to 6 stages a workflow, with their tasks."""


def append_workflows(db: Path, workflows: int, seed: int) -> int:
    """Workflows generated as the store's were, after its last event, appended in one
    transaction; the number of events written."""
    with sqlite3.connect(db) as conn:
        (last,) = conn.execute("SELECT max(timestamp) FROM events").fetchone()
    start = datetime.fromisoformat(last).timestamp() * 1000 + 60_000
    written = 0
    with sqlite3.connect(db) as conn:
        for batch in ordinary_rows(workflows, seed=10_000 + seed, start_ms=start):
            conn.executemany(INSERT, batch)
            written += len(batch)
    return written


def output_of(argv: list[str]) -> bytes:
    return subprocess.run(argv, capture_output=True, check=True).stdout


def rate(kind: str, python: str, scripts: Path, runs: int) -> float:
    values = [
        float(output_of([python, str(scripts / "append_rate.py"), kind]).strip())
        for _ in range(runs)
    ]
    return statistics.median(values)


def middle_workflow(db: Path) -> str:
    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        (top,) = conn.execute("SELECT MAX(sequence) FROM events").fetchone()
        (wf,) = conn.execute(
            "SELECT workflow_id FROM events WHERE sequence >= ? AND event_type = "
            "'workflow.created' ORDER BY sequence LIMIT 1",
            (top // 2,),
        ).fetchone()
    return str(wf)


Row = tuple[str, str, str, str, str, str]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


class Bench:
    def __init__(self, stores: Stores, scripts: Path, runs: int) -> None:
        self.stores, self.scripts, self.runs = stores, scripts, runs
        self.engine = Path(ENGINE).exists()
        self.rows: list[Row] = []
        self.metrics_ref = Run(0.0, 0.0)

    def script(self, name: str, *args: str, python: str = PYTHON) -> list[str]:
        return [python, str(self.scripts / name), *args]

    def ours(self, *args: str) -> Run:
        return measure([*STABILIZE, *args], self.runs)

    def add(self, what: str, ours: str, ref: str, ratio: str, goal: str, ok: bool | None) -> None:
        self.rows.append((what, ours, ref, ratio, goal, "-" if ok is None else verdict(ok)))

    def no_engine(self, what: str, goal: str) -> None:
        self.add(what, "", "engine not installed", "", goal, None)

    def metrics(self) -> None:
        """Cold: --no-cache, every figure from the events. Cached: the figures the first
        run kept in $STABILIZE_CACHE_DIR, checked against the store and reused."""
        large = str(self.stores.large)
        cold = self.ours("metrics", "--top", "10", "--no-cache", "--db", large)
        output_of([*STABILIZE, "metrics", "--top", "10", "--db", large])  # fills the cache
        cached = self.ours("metrics", "--top", "10", "--db", large)
        ref = measure(self.script("ref_metrics.py", large), self.runs)
        eng = (
            measure(self.script("engine_metrics.py", large, python=ENGINE), 1, warm_up=False)
            if self.engine
            else None
        )
        for how, ours in (("cold", cold), ("cached", cached)):
            ratio = ours.wall / ref.wall
            self.add(
                f"metrics --top 10 ({how}) vs one SQL query",
                f"{ours.wall:.2f}s",
                f"{ref.wall:.2f}s",
                f"{ratio:.2f}x",
                "<= 1.5x",
                ratio <= 1.5,
            )
            if eng is None:
                self.no_engine(f"metrics ({how}) vs engine StageMetricsProjection", ">= 7x")
                continue
            faster = eng.wall / ours.wall
            self.add(
                f"metrics ({how}) vs engine StageMetricsProjection",
                f"{ours.wall:.2f}s",
                f"{eng.wall:.2f}s {eng.rss_mib:.0f}MiB",
                f"{faster:.1f}x faster",
                ">= 7x",
                faster >= 7,
            )
        peak = max(cold.rss_mib, cached.rss_mib)
        self.add("metrics peak RSS", f"{peak:.0f}MiB", "", "", "<= 100 MiB", peak <= 100)
        self.metrics_ref = ref

    def metrics_grown(self) -> None:
        """Last: copying the big store evicts the others from the page cache."""
        self.metrics_after_appends(self.metrics_ref)

    def metrics_after_appends(self, ref: Run) -> Run:
        """A copy of the big store, its figures cached, then ~10,000 new events before
        each timed run: the cached figures brought up to date (no goal of the issue's)."""
        grown = self.scripts / "grown.db"
        shutil.copyfile(self.stores.large, grown)
        argv = [*STABILIZE, "metrics", "--top", "10", "--db", str(grown)]
        output_of(argv)
        walls, peaks, added = [], [], 0
        for run in range(self.runs):
            added += append_workflows(grown, WORKFLOWS_PER_APPEND, seed=run)
            one = measure(argv, 1, warm_up=False)  # a second run would find nothing new
            walls.append(one.wall)
            peaks.append(one.rss_mib)
        ours = Run(statistics.median(walls), max(peaks))
        self.add(
            f"metrics (cached, +{added // self.runs:,} new events) vs one SQL query",
            f"{ours.wall:.2f}s",
            f"{ref.wall:.2f}s",
            f"{ours.wall / ref.wall:.2f}x",
            "(not a goal)",
            None,
        )
        grown.unlink()
        return ours

    def timeline(self) -> None:
        large, small = self.stores.large, self.stores.small
        wf, wf_small = middle_workflow(large), middle_workflow(small)
        ours = self.ours("timeline", wf, "--db", str(large))
        floor = measure(self.script("floor_timeline.py", str(large), wf), self.runs)
        ratio = ours.wall / floor.wall
        self.add(
            "timeline WF vs typer+rich+fetch floor",
            f"{ours.wall:.3f}s",
            f"{floor.wall:.3f}s",
            f"{ratio:.2f}x",
            "<= 1.5x",
            ratio <= 1.5,
        )
        if self.engine:
            eng = measure(
                self.script("engine_timeline.py", str(large), wf, python=ENGINE), self.runs
            )
            faster = eng.wall / ours.wall
            self.add(
                "timeline vs engine's timeline projection",
                f"{ours.wall:.3f}s",
                f"{eng.wall:.3f}s",
                f"{faster:.2f}x faster",
                ">= 2x",
                faster >= 2,
            )
        else:
            self.no_engine("timeline vs engine's timeline projection", ">= 2x")
        on_small = self.ours("timeline", wf_small, "--db", str(small))
        ratio = ours.wall / on_small.wall
        self.add(
            "timeline: 1.4M-event vs 10k-event store",
            f"{ours.wall:.3f}s",
            f"{on_small.wall:.3f}s",
            f"{ratio:.2f}x",
            "<= 1.2x",
            ratio <= 1.2,
        )

    def version(self) -> None:
        ours = self.ours("--version")
        typer = measure([PYTHON, "-c", "import typer"], self.runs)
        ratio = ours.wall / typer.wall
        self.add(
            "--version vs python -c 'import typer'",
            f"{ours.wall:.3f}s",
            f"{typer.wall:.3f}s",
            f"{ratio:.2f}x",
            "<= 1.3x",
            ratio <= 1.3,
        )

    def state_and_diff(self) -> None:
        s = self.stores
        wf, at = s.long_workflow, str(s.long_asked)
        for what, args in (
            ("state --at (100k-event workflow)", ["state", wf, "--at", at, "--json"]),
            ("diff (100k-event workflow)", ["diff", wf, str(s.long_asked - 20), at, "--json"]),
        ):
            full = self.ours(*args, "--db", str(s.long))
            snap = self.ours(*args, "--db", str(s.long_snap))
            same = output_of([*STABILIZE, *args, "--db", str(s.long)]) == output_of(
                [*STABILIZE, *args, "--db", str(s.long_snap)]
            )
            faster = full.wall / snap.wall
            self.add(
                f"{what}: snapshot vs full replay",
                f"{snap.wall:.3f}s",
                f"{full.wall:.3f}s",
                f"{faster:.1f}x faster" + ("" if same else " DIFFERENT"),
                ">= 10x, same output",
                same and faster >= 10,
            )

    def append(self) -> None:
        ours = rate("ours", PYTHON, self.scripts, self.runs)
        engine = rate("engine", ENGINE, self.scripts, self.runs) if self.engine else None
        shown = "engine not installed" if engine is None else f"engine {engine:,.0f}/s"
        self.add(
            "append_batch, batches of 1,000",
            f"{ours:,.0f}/s",
            shown,
            "",
            ">= 80,000/s",
            ours >= 80_000,
        )

    def workflows(self) -> None:
        ours = self.ours("workflows", "--db", str(self.stores.large))
        self.add(
            "workflows first page (70,000 workflows)",
            f"{ours.wall:.3f}s",
            "",
            "",
            "<= 0.5 s",
            ours.wall <= 0.5,
        )


def table(rows: list[Row]) -> str:
    head: Row = ("figure", "ours", "reference", "ratio", "goal", "result")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
        for r in [head, *rows]
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def compile_package() -> None:
    """Bytecode for our modules, as ``pip install`` writes it: with PYTHONDONTWRITEBYTECODE
    set, an editable install would otherwise compile ~70 modules in every process."""
    compileall.compile_dir(str(HERE.parent.parent / "stabilize_cli"), quiet=1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="also print the rows as JSON")
    args = parser.parse_args(argv)
    stores = ensure_stores(args.cache)
    compile_package()
    scripts = Path(tempfile.mkdtemp(prefix="stabilize-bench-scripts-"))
    os.environ["STABILIZE_CACHE_DIR"] = str(scripts / "metrics-cache")
    try:
        for name, text in SCRIPTS.items():
            (scripts / name).write_text(textwrap.dedent(text))
        bench = Bench(stores, scripts, args.runs)
        for step in (
            bench.metrics,
            bench.timeline,
            bench.version,
            bench.state_and_diff,
            bench.append,
            bench.workflows,
            bench.metrics_grown,
        ):
            step()
        print(table(bench.rows))
        if args.json:
            print(json.dumps(bench.rows))
    finally:
        shutil.rmtree(scripts, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
