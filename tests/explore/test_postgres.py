"""The explorer on PostgreSQL, on the real engine's dump: every screen reads, and what it
exports is what the commands print there."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from stabilize_cli.explore.app import ExploreApp
from stabilize_cli.explore.events import EventList, EventsScreen
from stabilize_cli.explore.lists import TableList
from stabilize_cli.explore.run import RunScreen
from stabilize_cli.explore.tables import FailuresScreen

from ..postgres_support import REAL_PG_SQL, fresh_database, load_sql
from .conftest import settle
from .test_app import command_json, exported, press


def statuses() -> dict[str, str]:
    text = (REAL_PG_SQL.parent / "real-pg.workflows.txt").read_text()
    return {line.split()[0]: line.split()[2] for line in text.splitlines() if line.strip()}


@pytest.fixture(scope="module")
def real_pg() -> Iterator[str]:
    with fresh_database("stabilize_explore") as url:
        load_sql(url, REAL_PG_SQL)
        yield url


def test_runs_a_run_its_events_a_diff_and_failures_on_postgres(
    explore: Any, real_pg: str, tmp_path: Path
) -> None:
    failed = next(wf for wf, status in statuses().items() if status == "TERMINAL")

    async def script(app: ExploreApp, pilot: Pilot[None]) -> None:
        runs = app.screen.query_one("#runs", TableList)
        assert sorted(runs.keys) == sorted(statuses())
        await press(pilot, *["down"] * runs.keys.index(failed), "enter")
        assert isinstance(app.screen, RunScreen)
        _, timeline = exported(app, tmp_path)
        assert timeline == command_json("timeline", failed, "--json", db=real_pg)
        await press(pilot, "v", "down", "m", "end", "m")
        screen = app.screen
        assert isinstance(screen, EventsScreen)
        marks = screen.query_one(EventList).marks
        _, diff = exported(app, tmp_path)
        assert diff == command_json("diff", failed, *map(str, marks), "--json", db=real_pg)
        await press(pilot, "F")
        await settle(pilot, app)
        assert isinstance(app.screen, FailuresScreen)
        _, groups = exported(app, tmp_path)
        assert groups == command_json("failures", "--json", db=real_pg)

    explore(script, db=real_pg)
