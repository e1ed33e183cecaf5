"""One command on a large WAL database without side files: private copy vs read in place.

    python tests/benchmarks/wal_in_place.py [--cache DIR] [--workflows N] [--runs N]

Builds (or reuses) ``wal-store.db`` in DIR (default /tmp/bench-walcopy): ``N`` workflows
of ``generate_store.py`` (37,500 by default, about 500 MB), switched to WAL mode and
closed, so it has no ``-wal``/``-shm`` (as the engine leaves it when it stops). Then
times each command as a whole process, alternating the two ways of reading it, and
prints the medians and their ratio:

- copy: the file is copied whole to a private directory first, as before issue 13 §4
  (forced by running the CLI with the change watch unavailable, which is the path taken
  on a file system no watch can vouch for);
- in place: read with ``immutable=1``, every read vouched for by the watch.

The file's page cache is warmed first, so the figures compare the work, not the disk.
Not collected by pytest (no ``test_`` prefix); no figure is asserted.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.benchmarks.generate_store import SEED, ordinary_rows, write_rows  # noqa: E402

NO_WATCH = (
    "from stabilize_cli.events.store.sqlite.watch import ChangeWatch\n"
    "ChangeWatch.open = classmethod(lambda cls, *args, **kwargs: None)\n"
    "from stabilize_cli.cli.app import main\n"
    "main()\n"
)
WITH_WATCH = "from stabilize_cli.cli.app import main\nmain()\n"


def build(path: Path, workflows: int) -> None:
    if path.exists():
        return
    started = time.perf_counter()
    write_rows(path, ordinary_rows(workflows, SEED))
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    print(f"built {path} in {time.perf_counter() - started:.1f}s", file=sys.stderr)


def first_workflow(path: Path) -> str:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return str(conn.execute("SELECT workflow_id FROM events LIMIT 1").fetchone()[0])
    finally:
        conn.close()


def timed(code: str, args: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wall = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{args}: exit {done.returncode}: {done.stderr.decode(errors='replace')}")
    return wall


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/bench-walcopy"))
    parser.add_argument("--workflows", type=int, default=37_500)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args(argv)
    options.cache.mkdir(parents=True, exist_ok=True)
    db = options.cache / "wal-store.db"
    build(db, options.workflows)
    side = [p.name for p in options.cache.iterdir() if p.name.startswith(db.name + "-")]
    if side:
        sys.exit(f"{db} has side files {side}: close its writers first")
    db.read_bytes()  # warm the page cache: compare work, not the disk
    workflow = first_workflow(db)
    commands = {
        "events --limit 10": ["events", "--limit", "10", "-f", "ndjson", "--db", str(db)],
        "state WF": ["state", workflow, "-f", "json", "--db", str(db)],
    }
    size = db.stat().st_size / 1e6
    print(f"{db}: {size:.0f} MB, WAL mode, no side files; median of {options.runs} runs")
    print(f"{'command':<20} {'copy (s)':>9} {'in place (s)':>13} {'ratio':>7}")
    for name, args in commands.items():
        copy, in_place = [], []
        for _ in range(options.runs):
            copy.append(timed(NO_WATCH, args))
            in_place.append(timed(WITH_WATCH, args))
        before, after = statistics.median(copy), statistics.median(in_place)
        print(f"{name:<20} {before:>9.3f} {after:>13.3f} {before / after:>6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
