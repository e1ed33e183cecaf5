"""Issue 12's figures for ``stabilize explore`` (not collected by pytest).

    python tests/benchmarks/explore_benchmark.py [--cache DIR] [--runs N] [--steps N]

1. First screen drawn: ``stabilize explore`` started as a process in a pseudo-terminal
   (80x24) on the 1.4M-event store, until the newest run's id has been drawn (median of N).
2. A run opened: Enter on the Runs screen of that process until the run's header is drawn.
3. The state pane while the cursor moves through the 100,000-event run (the store with a
   snapshot near its end), headless with Textual's pilot: for each key, the pane update
   (the state as of the cursor's sequence and the lines drawn from it) and the round
   trip from the key press until the app is idle again, beside the round trip of a key
   bound to nothing (the pilot's and Textual's own share). Walks: forward from the first
   event (``--steps`` keys), page down, a jump to the last event, backward from it, and
   first/last in turn. Median, p95 and max of every walk are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pty
import select
import statistics
import struct
import sys
import termios
import time
from collections.abc import Callable
from fcntl import ioctl
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from tests.benchmarks.generate_store import default_cache, ensure_stores  # noqa: E402

PYTHON = sys.executable
GOAL_DRAWN = 0.5
GOAL_PANE = 0.1


def spawn(argv: list[str], columns: int = 80, rows: int = 24) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of the given size
        os.environ.update(TERM="xterm-256color", COLUMNS=str(columns), LINES=str(rows))
        os.execv(argv[0], argv)
    ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return pid, fd


def read_until(fd: int, wanted: Callable[[bytes], bool], timeout: float = 30) -> bytes:
    seen = b""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        ready, _, _ = select.select([fd], [], [], 0.01)
        if ready:
            try:
                seen += os.read(fd, 1 << 16)
            except OSError:
                break
            if wanted(seen):
                return seen
    raise TimeoutError(f"not drawn within {timeout}s; last output {seen[-300:]!r}")


def drain(fd: int, timeout: float = 10) -> None:
    """Read until the child closes the terminal (it quit)."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                if not os.read(fd, 1 << 16):
                    return
            except OSError:
                return


def newest_workflow(db: Path) -> str:
    import sqlite3  # noqa: PLC0415

    with sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True) as conn:
        (workflow_id,) = conn.execute(
            "SELECT workflow_id FROM events ORDER BY sequence DESC LIMIT 1"
        ).fetchone()
    return str(workflow_id)


def first_screen_and_open(db: Path, runs: int) -> tuple[list[float], list[float]]:
    """Seconds to the first screen and to an opened run, each run in a fresh process."""
    script = Path(PYTHON).parent / "stabilize"
    argv = [str(script), "explore", "--db", str(db)]
    newest = newest_workflow(db).encode()
    drawn, opened = [], []
    for _ in range(runs):
        started = time.perf_counter()
        pid, fd = spawn(argv)
        try:
            read_until(fd, lambda seen: newest in seen)
            drawn.append(time.perf_counter() - started)
            time.sleep(0.3)  # let it settle, then open the selected (newest) run
            pressed = time.perf_counter()
            os.write(fd, b"\r")
            read_until(fd, lambda seen: b"started" in seen and b"ended" in seen)
            opened.append(time.perf_counter() - pressed)
        finally:
            os.write(fd, b"q")
            drain(fd)
            os.waitpid(pid, 0)
            os.close(fd)
    return drawn, opened


Walks = dict[str, tuple[list[float], list[float], list[float]]]
"""Per walk: the pane update's own wall time (state + rows), its CPU time (the same work
without the time this process waited for a core: the machine may be shared), and the
key-to-drawn round trip."""


def pane_walks(db: Path, workflow_id: str, steps: int) -> tuple[Walks, list[float]]:
    from textual.pilot import Pilot  # noqa: PLC0415

    from stabilize_cli.cli.run import open_for_audit  # noqa: PLC0415
    from stabilize_cli.explore.app import ExploreApp  # noqa: PLC0415
    from stabilize_cli.explore.events import EventsScreen  # noqa: PLC0415
    from stabilize_cli.explore.source import ExploreSource  # noqa: PLC0415
    from stabilize_cli.redaction import Redactor  # noqa: PLC0415

    walks: Walks = {}
    idle: list[float] = []

    async def timed(pilot: Pilot[None], screen: EventsScreen, name: str, keys: list[str]) -> None:
        updates, cpu, trips = walks.setdefault(name, ([], [], []))
        original = screen.update_pane

        def update(index: int) -> None:
            started, used = time.perf_counter(), time.process_time()
            original(index)
            updates.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)

        screen.update_pane = update  # type: ignore[method-assign]
        for key in keys:
            started = time.perf_counter()
            await pilot.press(key)
            await pilot.pause()
            trips.append(time.perf_counter() - started)
        screen.update_pane = original  # type: ignore[method-assign]

    async def main() -> None:
        redactor = Redactor()
        with open_for_audit(str(db), redactor) as store:
            app = ExploreApp(ExploreSource(store, redactor, str(db)), workflow_id)
            async with app.run_test(size=(160, 48)) as pilot:
                await pilot.pause()
                started = time.perf_counter()
                await pilot.press("v")
                await pilot.pause()
                walks["open the events screen"] = ([], [], [time.perf_counter() - started])
                screen = app.screen
                assert isinstance(screen, EventsScreen)
                for _ in range(50):  # the pilot's own share: a key bound to nothing
                    started = time.perf_counter()
                    await pilot.press("z")
                    await pilot.pause()
                    idle.append(time.perf_counter() - started)
                await timed(pilot, screen, "forward, one event a key", ["down"] * steps)
                await timed(pilot, screen, "page down", ["pagedown"] * (steps // 2))
                await timed(pilot, screen, "jump to the last event", ["end"])
                await timed(pilot, screen, "backward from the last event", ["up"] * steps)
                await timed(pilot, screen, "first / last event, in turn", ["home", "end"] * 5)

    asyncio.run(main())
    return walks, idle


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (
        f"n={len(ordered):>6}  median {statistics.median(ordered) * 1000:7.1f} ms  "
        f"p95 {p95 * 1000:7.1f} ms  max {ordered[-1] * 1000:7.1f} ms"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=default_cache())
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args(argv)
    stores = ensure_stores(args.cache)
    drawn, opened = first_screen_and_open(stores.large, args.runs)
    verdict = "PASS" if statistics.median(drawn) <= GOAL_DRAWN else "FAIL"
    print(
        f"first screen drawn, 1.4M events: median {statistics.median(drawn):.3f}s "
        f"(runs {', '.join(f'{t:.3f}' for t in drawn)})  goal <= {GOAL_DRAWN}s  {verdict}"
    )
    verdict = "PASS" if statistics.median(opened) <= GOAL_DRAWN else "FAIL"
    print(
        f"run opened (Enter to drawn): median {statistics.median(opened):.3f}s "
        f"(runs {', '.join(f'{t:.3f}' for t in opened)})  goal <= {GOAL_DRAWN}s  {verdict}"
    )
    print(f"state pane, {stores.long_workflow} (100,000 events, a snapshot near the end):")
    walks, idle = pane_walks(stores.long_snap, stores.long_workflow, args.steps)
    every: list[float] = []
    every_cpu: list[float] = []
    for name, (updates, cpu, trips) in walks.items():
        if updates:
            print(f"  {name:<32} update       {summary(updates)}")
            print(f"  {'':<32} update (CPU) {summary(cpu)}")
            every += updates
            every_cpu += cpu
        print(f"  {'':<32} key to drawn {summary(trips)}")
    print(f"  {'a key bound to nothing':<32} key to drawn {summary(idle)}")
    goal = f"goal every update < {GOAL_PANE * 1000:.0f} ms"
    for label, times in (("", every), (" (CPU)", every_cpu)):
        over = sum(t >= GOAL_PANE for t in times)
        verdict = "PASS" if not over else f"FAIL ({over} over)"
        print(f"  {'every pane update' + label:<32} {summary(times)}  {goal}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
