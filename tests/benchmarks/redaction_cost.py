"""What redaction costs per event: every event of a store redacted once, in a fresh process
(cold caches, patterns compiled on first need, as in a command), median of N runs.

    python tests/benchmarks/redaction_cost.py [--db fixtures/demo.db] [--runs 20] [--src DIR]

``--src`` points at another checkout's source folder (one holding ``stabilize_cli``) to
measure it the same way, for a before/after comparison. It also times the whole command
``stabilize events -f ndjson`` on the store. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MEASURE = textwrap.dedent(
    """
    import sys, time
    from stabilize_cli.events import EventQuery, SqliteEventStore
    from stabilize_cli.redaction import Redactor
    store = SqliteEventStore(sys.argv[1], create_tables=False, read_only=True)
    events = list(store.get_events(EventQuery(limit=2**62)))
    started = time.perf_counter()
    redactor = Redactor()
    for e in events:
        redactor.redact_value(
            [e.data, e.metadata.actor, e.metadata.source_handler], origin=e.sequence
        )
    print(len(events), time.perf_counter() - started)
    """
)


def redaction_runs(src: Path, db: Path, runs: int) -> tuple[int, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    times, count = [], 0
    for _ in range(runs):
        argv = [sys.executable, "-c", MEASURE, str(db)]
        out = subprocess.run(argv, check=False, env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(out.stderr)
        count_text, seconds = out.stdout.split()
        count = int(count_text)
        times.append(float(seconds))
    return count, times


def command_runs(src: Path, db: Path, runs: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    argv = [sys.executable, "-m", "stabilize_cli", "events", "--limit", "1000000"]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(
            [*argv, "-f", "ndjson", "--db", str(db)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "fixtures" / "demo.db")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--src", type=Path, default=ROOT)
    args = parser.parse_args()
    count, times = redaction_runs(args.src, args.db, args.runs)
    median = statistics.median(times)
    print(f"{args.src}: {count} events redacted in {median * 1000:.2f} ms (median of {args.runs})")
    print(f"  {median / count * 1e6:.1f} us per event, cold caches, patterns compiled on need")
    whole = statistics.median(command_runs(args.src, args.db, args.runs))
    print(f"  stabilize events -f ndjson: {whole * 1000:.0f} ms (median, whole process)")


if __name__ == "__main__":
    main()
