"""Running the CLI in-process (CliRunner) and as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from stabilize_cli.cli.app import app

from ..conftest import REAL_DB

Invoke = Callable[..., Result]


@pytest.fixture
def invoke() -> Invoke:
    """``invoke("timeline", "latest", db=...)``; stdout and stderr kept apart."""
    runner = CliRunner()

    def run(
        *args: str, db: Path | str | None = REAL_DB, env: dict[str, str] | None = None
    ) -> Result:
        argv = list(args)
        if db is not None:
            argv += ["--db", str(db)]
        return runner.invoke(app, argv, prog_name="stabilize", env=env, catch_exceptions=False)

    return run


def run_process(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """The installed entry point as a real process (``python -m stabilize_cli``)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "stabilize_cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
