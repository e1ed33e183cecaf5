"""Each screen pinned as Textual draws it, at 80x24 and 160x48 (SVG screenshots).

Fixed ids and times come from the engine's database, so the pictures are the same on
every run; ``pytest --snapshot-update`` rewrites them after a deliberate change (look at
them: ``chromium --headless --screenshot=out.png file.svg``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from stabilize_cli.explore.app import ExploreApp

from ..conftest import REAL_DB
from .conftest import FAILED, settle

SNAPSHOTS = Path(__file__).parent / "snapshots"
SCREENS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "runs": (None, ()),
    "runs-filtered": (None, ("slash", "f", "l", "a", "enter")),
    "run": (FAILED, ("down", "down", "down", "down")),
    "events-state": (FAILED, ("v", "down", "down", "down", "down", "down")),
    "events-diff": (FAILED, ("v", "down", "down", "down", "down", "down", "m", "end", "m")),
    "failures": (None, ("F",)),
    "metrics": (None, ("M",)),
    "help": (None, ("question_mark",)),
}


COLOURED = ("runs", "run", "events-diff")
"""Also pinned in colour (the suite runs with NO_COLOR, the black-and-white case)."""


def screenshot(explore: Any, name: str, size: tuple[int, int]) -> str:
    workflow, keys = SCREENS[name]

    async def script(app: ExploreApp, pilot: Pilot[None]) -> str:
        for key in keys:
            await pilot.press(key)
        await settle(pilot, app)
        return app.export_screenshot(title=f"stabilize explore: {name}")

    svg: str = explore(script, db=REAL_DB.name, workflow=workflow, size=size)
    return svg


@pytest.fixture(autouse=True)
def _relative_db(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line under each view names the database as given: keep it short."""
    monkeypatch.chdir(REAL_DB.parent)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("name", list(SCREENS))
def test_the_screen_is_pinned_in_black_and_white(
    explore: Any, snapshot: Any, name: str, size: tuple[int, int]
) -> None:
    assert os.environ.get("NO_COLOR")
    snapshot.snapshot_dir = SNAPSHOTS
    snapshot.assert_match(screenshot(explore, name, size), f"{name}-{size[0]}x{size[1]}.svg")


@pytest.mark.parametrize("name", COLOURED)
def test_the_screen_is_pinned_in_colour(
    explore: Any, snapshot: Any, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.delenv("NO_COLOR")
    snapshot.snapshot_dir = SNAPSHOTS
    snapshot.assert_match(screenshot(explore, name, (80, 24)), f"{name}-80x24-colour.svg")
