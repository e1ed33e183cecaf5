"""The explorer on copies of the engine's database with one page damaged, wherever it
falls (the places of tests/cli/test_damaged_pages.py: leaves of ``events`` from first to
last, its interior page, an index leaf, the engine tables' leaves of a failed run): it
opens, walks the runs, a failed run, its events with a state and a diff, failures and
metrics, exports each, and never stops; what the reads left out marks the titles and
the exports as the commands mark their output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from stabilize_cli.explore.app import ExploreApp

from ..cli.test_damaged_pages import damage, failed_run, places
from ..conftest import REAL_DB
from .conftest import settle

PLACES = sorted(places(REAL_DB).items())


def title(app: ExploreApp) -> str:
    return str(app.screen.query_one("#title").render())


async def walk(app: ExploreApp, pilot: Pilot[None]) -> list[str]:
    """Every main screen, exported; the titles seen, in order."""
    titles = [title(app)]
    app.screen.action_export()  # type: ignore[attr-defined]
    app.open_run(failed_run(REAL_DB)[0])
    await settle(pilot, app)
    for _ in range(3):  # the run, its first stage and task
        titles.append(title(app))
        await pilot.press("down")
        await pilot.pause()
    app.screen.action_export()  # type: ignore[attr-defined]
    await pilot.press("v", "end", "m", "home", "m")  # the events, a diff over the run
    await pilot.pause()
    titles.append(title(app))
    app.screen.action_export()  # type: ignore[attr-defined]
    await pilot.press("c", "end")  # the state at the last event
    await pilot.pause()
    app.screen.action_export()  # type: ignore[attr-defined]
    for key in ("F", "M"):
        await pilot.press(key)
        await settle(pilot, app)
        titles.append(title(app))
        app.screen.action_export()  # type: ignore[attr-defined]
    await pilot.press("w")
    await pilot.pause()
    titles.append(title(app))
    return titles


@pytest.mark.parametrize(("place", "page"), PLACES, ids=[f"{p}-page{n}" for p, n in PLACES])
def test_every_screen_opens_on_a_damaged_store(
    explore: Any, tmp_path: Path, place: str, page: int
) -> None:
    db = damage(REAL_DB, tmp_path / "d.db", page)
    exports_dir = tmp_path / "exports"
    exports_dir.mkdir()
    seen: dict[str, Any] = {}

    async def script(app: ExploreApp, pilot: Pilot[None]) -> list[str]:
        titles = await walk(app, pilot)
        seen["notes"] = app.source.notes
        return titles

    titles = explore(script, db=db, size=(120, 40), export_dir=exports_dir)
    for shown in titles:
        assert "could not read" not in shown, (place, shown)
        assert "Failures:" not in shown, shown  # a failed read is said as "Failures: ..."
        assert "Metrics:" not in shown, shown
    exports = {p.name: json.loads(p.read_text()) for p in exports_dir.glob("*.json")}
    notes = seen["notes"]
    events_title = titles[4]
    if " 0 events" in events_title:  # a damaged index: the run's reads by it give nothing
        assert place == "index-leaf", events_title
        assert notes.damaged
        assert len(exports) == 4, sorted(exports)  # no state, no diff to export
    else:  # runs, timeline, diff, state, failures, metrics
        assert len(exports) == 6, sorted(exports)
    if not (notes.damaged or notes.damaged_tables):
        return
    assert "INCOMPLETE: " in titles[-1]  # the runs, after the rest met the damage
    for name, document in exports.items():
        if name.startswith(("stabilize-failures", "stabilize-metrics", "stabilize-timeline")):
            mark = document[-1] if isinstance(document, list) else document
            assert mark.get("incomplete") is True, (name, place)
