"""Issue 13, section 5: one workflow of 100k / 300k / 1M events, time and peak memory.

    python tests/benchmarks/huge_workflow.py [--cache DIR] [--sizes 100000,300000,1000000]
                                             [--timeout SECONDS] [--only "NAME;..."]

Builds (or reuses) in DIR one store per size, written through our library's
``append_batch`` (a workflow that is created and started, runs one stage whose task is
retried all along, then completes), then runs each command as a fresh process with stdout
to /dev/null: CPU time (user + system), wall time and the child's peak RSS
(``getrusage(RUSAGE_CHILDREN)`` in a wrapper process). CPU time is the figure to compare
on a shared machine, where wall time also counts waiting for a core. The engine's own
timeline projection runs beside ours when it is installed at ``$STABILIZE_ENGINE_PYTHON``
(default /tmp/engine-venv/bin/python). A command
past ``--timeout`` is reported as such. Not collected by pytest (no ``test_`` prefix).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from stabilize_cli.events import (  # noqa: E402
    EntityType,
    Event,
    EventMetadata,
    EventType,
    SqliteEventStore,
)

PYTHON = sys.executable
ENGINE = os.environ.get("STABILIZE_ENGINE_PYTHON", "/tmp/engine-venv/bin/python")
WORKFLOW = "01HUGEWF0000000000000000WF"
STAGE = "01HUGEWF0000000000000000ST"
TASK = "01HUGEWF0000000000000000TK"
BATCH = 20_000
MIB = 1024 * 1024

WRAPPER = textwrap.dedent(
    """
    import resource, subprocess, sys, time
    start = time.perf_counter()
    try:
        done = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              timeout=float(sys.argv[1]))
    except subprocess.TimeoutExpired:
        print("timeout", 0)
        sys.exit(0)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(wall, usage.ru_maxrss, done.returncode, usage.ru_utime + usage.ru_stime)
    """
)
ENGINE_TIMELINE = textwrap.dedent(
    """
    import sys
    from stabilize.events import SqliteEventStore, WorkflowTimelineProjection
    store = SqliteEventStore(f"sqlite:///{sys.argv[1]}", create_tables=False)
    projection = WorkflowTimelineProjection(sys.argv[2])
    for event in store.get_events_for_workflow(sys.argv[2]):
        projection.apply(event)
    print(len(projection.get_state().entries))
    """
)


def _event(
    kind: EventType, entity: EntityType, entity_id: str, at: datetime, **data: object
) -> Event:
    return Event(
        event_type=kind,
        timestamp=at,
        entity_type=entity,
        entity_id=entity_id,
        workflow_id=WORKFLOW,
        version=1,
        data=dict(data),
        metadata=EventMetadata(correlation_id=WORKFLOW, actor="system"),
    )


def build(path: Path, events: int) -> None:
    """One workflow of ``events`` events, mostly ``task.retried``, through append_batch."""
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    t0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    step = timedelta(milliseconds=3)
    head = [
        _event(
            EventType.WORKFLOW_CREATED,
            EntityType.WORKFLOW,
            WORKFLOW,
            t0,
            name="huge",
            application="bench",
        ),
        _event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, WORKFLOW, t0 + step),
        _event(
            EventType.STAGE_STARTED,
            EntityType.STAGE,
            STAGE,
            t0 + 2 * step,
            name="Poll",
            type="poll",
            ref_id="poll",
        ),
        _event(
            EventType.TASK_STARTED,
            EntityType.TASK,
            TASK,
            t0 + 3 * step,
            name="Poll status",
            stage_id=STAGE,
        ),
    ]
    retries = events - len(head) - 3
    with SqliteEventStore(str(partial)) as store:
        store.append_batch(head)
        for start in range(0, retries, BATCH):
            batch = [
                _event(
                    EventType.TASK_RETRIED,
                    EntityType.TASK,
                    TASK,
                    t0 + (4 + i) * step,
                    attempt=i + 1,
                    last_error=f"status 503 from the upstream on attempt {i + 1}",
                )
                for i in range(start, min(start + BATCH, retries))
            ]
            store.append_batch(batch)
        end = t0 + (4 + retries) * step
        store.append_batch(
            [
                _event(
                    EventType.TASK_COMPLETED,
                    EntityType.TASK,
                    TASK,
                    end,
                    status="SUCCEEDED",
                    name="Poll status",
                ),
                _event(
                    EventType.STAGE_COMPLETED,
                    EntityType.STAGE,
                    STAGE,
                    end + step,
                    status="SUCCEEDED",
                ),
                _event(
                    EventType.WORKFLOW_COMPLETED,
                    EntityType.WORKFLOW,
                    WORKFLOW,
                    end + 2 * step,
                    status="SUCCEEDED",
                ),
            ]
        )
    os.replace(partial, path)


def measure(argv: list[str], timeout: float, wrapper: Path) -> tuple[str, float | None]:
    """The figures as a line, and the CPU seconds (None: killed at the timeout)."""
    out = subprocess.run(
        [PYTHON, str(wrapper), str(timeout), *argv], capture_output=True, text=True, check=True
    ).stdout.split()
    if out[0] == "timeout":
        return f"> {timeout:.0f} s (killed)", None
    wall, peak, code, cpu = float(out[0]), int(out[1]), int(out[2]), float(out[3])
    figures = f"cpu {cpu:7.2f} s  wall {wall:7.2f} s  peak {peak / 1024:6.0f} MiB"
    return figures + ("" if code == 0 else f"  exit {code}"), cpu


COMMANDS: dict[str, list[str]] = {
    "timeline": ["timeline", WORKFLOW],
    "timeline --json": ["timeline", WORKFLOW, "--json"],
    "history --all (table)": ["history", WORKFLOW, "--all"],
    "history --all -f ndjson": ["history", WORKFLOW, "--all", "-f", "ndjson"],
    "history --all --json": ["history", WORKFLOW, "--all", "--json"],
    "events (table, 200k rows)": ["events", "--limit", "200000"],
    "events (table, 200k) -f csv": ["events", "--limit", "200000", "-f", "csv"],
    "events -f ndjson": ["events", "--limit", "100000000", "-f", "ndjson"],
    "events -f csv": ["events", "--limit", "100000000", "-f", "csv"],
    "state": ["state", WORKFLOW, "--json"],
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "stabilize-huge"
    )
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--only", default="")
    args = parser.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    wrapper = args.cache / "wrapper.py"
    wrapper.write_text(WRAPPER)
    engine_script = args.cache / "engine_timeline.py"
    engine_script.write_text(ENGINE_TIMELINE)
    wanted = [name for name in args.only.split(";") if name] or list(COMMANDS)
    for size in (int(s) for s in args.sizes.split(",")):
        db = args.cache / f"huge-{size}.db"
        if not db.exists():
            started = time.perf_counter()
            build(db, size)
            print(
                f"built {db} ({size} events) in {time.perf_counter() - started:.1f} s", flush=True
            )
        cpu: dict[str, float | None] = {}
        for name in wanted:
            line, cpu[name] = measure(
                [PYTHON, "-m", "stabilize_cli", *COMMANDS[name], "--db", str(db)],
                args.timeout,
                wrapper,
            )
            print(f"{size:>8}  {name:<28} {line}", flush=True)
        if "timeline" in wanted and Path(ENGINE).exists():
            argv = [ENGINE, str(engine_script), str(db), WORKFLOW]
            line, engine = measure(argv, args.timeout, wrapper)
            print(f"{size:>8}  {'engine timeline projection':<28} {line}", flush=True)
            ours = cpu["timeline"]
            if ours and engine:  # the target: at least 2x faster in CPU time
                print(f"{size:>8}  timeline vs engine: {engine / ours:.2f}x faster (CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
