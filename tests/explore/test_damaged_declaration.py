"""The explorer on a store whose secrets declaration cannot be read (a row that does not
parse, a damaged page of the table, with or without a damaged index, behind many other
workflows): no screen and no export shows the declared value, and the explorer does not
stop at the damage: it shows what reads, with the views and exports marked incomplete
(the commands' side: tests/cli/test_damaged_declaration.py)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from stabilize_cli.explore.app import ExploreApp

from ..cli.test_damaged_declaration import BROKEN, KEPT, WF, leaked, stores


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


@pytest.mark.parametrize("kind", BROKEN)
def test_no_screen_or_export_shows_the_declared_value(
    explore: Any, made: dict[str, Path], tmp_path: Path, kind: str
) -> None:
    screens = explore(screens_and_exports, db=made[kind], workflow=WF, size=(160, 48))
    assert len(screens) == 6
    for text in screens:
        assert not leaked(text)
        assert not leaked(text, KEPT)
    exports = sorted(tmp_path.glob("stabilize-*.json"))
    # the timeline and the diff; with the index damaged too, the run's reads (by the
    # index) give no event, so there is no state to diff (the mark says why)
    assert len(exports) == (1 if kind == "damaged-page-and-index" else 2)
    for path in exports:
        assert not leaked(path.read_text())
    if kind == "unparseable-row":
        return
    for text in screens:  # every screen's title names what the damage kept from it
        assert "INCOMPLETE:\xa0event" in text  # the screenshot's spaces are no-break
    for path in exports:  # the commands' mark, in the explorer's exports too
        document = json.loads(path.read_text())
        assert document["incomplete"] is True
        assert document["damaged_sequences"], document


@pytest.mark.parametrize("kind", ["damaged-page", "damaged-page-late"])
def test_the_damaged_run_shows_every_readable_event(
    explore: Any, made: dict[str, Path], kind: str
) -> None:
    """The run's readable events are all listed, its damaged ones keep their place."""

    async def script(app: ExploreApp, pilot: Pilot[None]) -> list[str]:
        await pilot.press("v")
        await pilot.pause()
        listing = app.screen.query_one("#event-list")
        return [listing.line(i).plain for i in range(listing.count())]  # type: ignore[attr-defined]

    lines = explore(script, db=made[kind], workflow=WF, size=(160, 48))
    shown = " ".join(lines)
    for kind_of_event in ("stage.started", "task.failed", "stage.failed", "workflow.failed"):
        assert kind_of_event in shown
    assert not leaked(shown)
