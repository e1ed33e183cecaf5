"""Issue 11's completion figure (not collected by pytest): a Tab, end to end.

    python tests/benchmarks/completion_benchmark.py [--cache DIR] [--runs N]

Builds (or reuses, in DIR) the 1.4-million-event store of ``generate_store.py``, then
times what a shell does on Tab: start the installed ``stabilize`` script as a process with
the completion variables set (``_STABILIZE_COMPLETE=complete_bash``, ``COMP_WORDS``,
``COMP_CWORD``, ``STABILIZE_DB``), until it exits with its candidates. For each kind of
value (workflow ids by prefix, ``--status``, ``--type`` event types, ``--stage-type``),
and a command name for comparison, the median of N runs, beside ``python -c pass`` (the
floor no Python program goes under) and the ratio to it. The goal is 100 ms per Tab; a
kind over it is marked ``FAIL``. Each candidate list is checked, so a fast empty answer
cannot pass.
"""

from __future__ import annotations

import argparse
import compileall
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.benchmarks.generate_store import default_cache, ensure_stores  # noqa: E402

GOAL_S = 0.100
PACKAGE = HERE.parent.parent / "stabilize_cli"


@dataclass(frozen=True)
class Case:
    name: str
    words: str
    expect: str
    """One candidate the answer must hold."""


def _program() -> str:
    script = Path(sys.executable).with_name("stabilize")
    if not script.exists():
        sys.exit(f"error: no 'stabilize' script beside {sys.executable}: pip install -e .")
    return str(script)


def _first_workflow(db: Path) -> str:
    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT workflow_id FROM events ORDER BY sequence LIMIT 1").fetchone()
    return str(row[0])


def _cases(db: Path) -> list[Case]:
    workflow = _first_workflow(db)
    return [
        Case("workflow ids (timeline PREFIX)", f"stabilize timeline {workflow[:6]}", workflow),
        Case("statuses (workflows --status)", "stabilize workflows --status T", "TERMINAL"),
        Case("event types (events --type)", "stabilize events --type stage.", "stage.failed"),
        Case("stage types (metrics --stage-type)", "stabilize metrics --stage-type ", "deploy"),
        Case("command name (stabilize tim)", "stabilize tim", "timeline"),
    ]


def _env(db: Path, words: str) -> dict[str, str]:
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    return {
        **os.environ,
        "_STABILIZE_COMPLETE": "complete_bash",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
        "STABILIZE_DB": str(db),
    }


def _time(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            sys.exit(f"error: {argv} exited {done.returncode}: {done.stderr.strip()}")
        out = done.stdout
    return statistics.median(times), out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args()
    db = ensure_stores(args.cache).large
    compileall.compile_dir(str(PACKAGE), quiet=1)
    program = _program()
    floor, _ = _time([sys.executable, "-c", "pass"], dict(os.environ), args.runs)
    print(f"1.4M-event store: {db}; median of {args.runs} runs; load {os.getloadavg()[0]:.2f}")
    print(f"{'what':38} {'median':>8} {'vs floor':>9}  goal 100 ms")
    print(f"{'python -c pass (floor)':38} {floor * 1000:6.1f}ms {1.0:8.2f}x")
    failed = 0
    for case in _cases(db):
        env = _env(db, case.words)
        _time([program], env, 1)  # warm the page cache and bytecode
        taken, out = _time([program], env, args.runs)
        found = out.split()
        if case.expect not in found:
            sys.exit(f"error: {case.words!r} completed {found[:5]}, not {case.expect!r}")
        verdict = "PASS" if taken <= GOAL_S else "FAIL"
        failed += verdict == "FAIL"
        print(
            f"{case.name:38} {taken * 1000:6.1f}ms {taken / floor:8.2f}x  {verdict}"
            f"  ({len(found)} candidates)"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
