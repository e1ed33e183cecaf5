"""Running the CLI in-process (CliRunner) and as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from stabilize_cli.cli.app import app
from stabilize_cli.events import EntityType, Event, EventMetadata, EventType

from ..conftest import REAL_DB

Invoke = Callable[..., Result]
T0 = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


def make_event(
    kind: EventType,
    entity: EntityType,
    entity_id: str,
    at: float,
    *,
    workflow_id: str,
    **data: Any,
) -> Event:
    """An event ``at`` seconds after T0, for the small hand-built stores of CLI tests."""
    return Event(
        event_type=kind,
        timestamp=T0 + timedelta(seconds=at),
        entity_type=entity,
        entity_id=entity_id,
        workflow_id=workflow_id,
        version=1,
        data=data,
        metadata=EventMetadata(correlation_id=workflow_id),
    )


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
