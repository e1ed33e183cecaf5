"""The explorer on a store whose secrets declaration is in a row that does not parse: no
screen and no export shows the declared value (the commands' side, damaged pages too:
tests/cli/test_damaged_declaration.py; the explorer's run screen stops at a damaged page
of the run, before and after this change, so only the unparseable row is driven here)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from stabilize_cli.explore.app import ExploreApp

from ..cli.test_damaged_declaration import KEPT, WF, leaked, stores


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return stores(tmp_path_factory.mktemp("explore-declaration"))


async def screens_and_exports(app: ExploreApp, pilot: Pilot[None]) -> list[str]:
    seen = [html.unescape(app.export_screenshot())]  # the run's tree
    app.screen.action_export()  # type: ignore[attr-defined]
    for _ in range(3):  # the stage, its task with the error in full
        await pilot.press("down")
        await pilot.pause()
        seen.append(html.unescape(app.export_screenshot()))
    await pilot.press("v", "end")  # the events, the state at the last one
    await pilot.pause()
    seen.append(html.unescape(app.export_screenshot()))
    await pilot.press("home", "m", "end", "m")  # a diff over the whole run
    await pilot.pause()
    seen.append(html.unescape(app.export_screenshot()))
    app.screen.action_export()  # type: ignore[attr-defined]
    return seen


def test_no_screen_or_export_shows_the_declared_value(
    explore: Any, made: dict[str, Path], tmp_path: Path
) -> None:
    screens = explore(screens_and_exports, db=made["unparseable-row"], workflow=WF, size=(160, 48))
    assert len(screens) == 6
    for text in screens:
        assert not leaked(text)
        assert not leaked(text, KEPT)
    exports = sorted(tmp_path.glob("stabilize-*.json"))
    assert exports
    for path in exports:
        assert not leaked(path.read_text())
