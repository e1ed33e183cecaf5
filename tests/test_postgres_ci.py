"""Without a server the PostgreSQL tests skip with one line saying how to run them; under
CI=true the same run fails, so CI can never pass without having run them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NO_SERVER = "postgresql://nobody@127.0.0.1:1/none"
ONE_TEST = "tests/events/test_postgres_store.py::test_tables_are_the_engines"


def run_pytest(ci: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STABILIZE_TEST_POSTGRES": NO_SERVER}
    env.pop("CI", None)
    if ci is not None:
        env["CI"] = ci
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", ONE_TEST],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_without_a_server_the_tests_skip_saying_how_to_run_them() -> None:
    done = run_pytest(None)
    assert done.returncode == 0, done.stdout
    skipped = [line for line in done.stdout.splitlines() if line.startswith("SKIPPED")]
    assert len(skipped) == 1
    assert "STABILIZE_TEST_POSTGRES" in skipped[0]
    assert "pw" not in skipped[0]


def test_under_ci_a_missing_server_fails_the_run() -> None:
    done = run_pytest("true")
    assert done.returncode != 0
    assert "CI=true but no PostgreSQL server" in done.stdout
