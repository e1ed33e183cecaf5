"""Untrusted text and secrets in the explorer: shown inert and redacted on every screen,
as the commands show them; black-and-white terminals (NO_COLOR) keep every distinction."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from stabilize_cli.events.base import EntityType, EventType
from stabilize_cli.events.store.sqlite import SqliteEventStore
from stabilize_cli.explore.app import ExploreApp

from ..cli.conftest import make_event
from .conftest import settle

PAYLOAD = "[red]boom[/]\x1b[2J\u202e[link=https://evil.example]x[/link]\x9b"
SECRET = "hunter2-very-secret"
WF = "wf-payload"
CONTROLS = ("\x1b", "\u202e", "\x9b", "\x07")
SVG_FRAME = {"ff5f57", "febc2e", "28c840", "c5c8c6"}
"""Rich's SVG export draws a window frame (three buttons) in the theme's foreground."""


@pytest.fixture
def payload_db(tmp_path: Path) -> Path:
    w, s, t = EntityType.WORKFLOW, EntityType.STAGE, EntityType.TASK
    events = [
        make_event(EventType.WORKFLOW_CREATED, w, WF, 0, workflow_id=WF, name=PAYLOAD),
        make_event(
            EventType.WORKFLOW_STARTED,
            w,
            WF,
            0.1,
            workflow_id=WF,
            context={"password": SECRET, "note": PAYLOAD},
        ),
        make_event(EventType.STAGE_STARTED, s, "st-1", 1, workflow_id=WF, name=PAYLOAD, type="x"),
        make_event(EventType.TASK_STARTED, t, "tk-1", 1.5, workflow_id=WF, name=PAYLOAD),
        make_event(
            EventType.TASK_FAILED,
            t,
            "tk-1",
            2,
            workflow_id=WF,
            status="TERMINAL",
            error=f"one\n{PAYLOAD}",
            outputs={"token": SECRET},
        ),
        make_event(
            EventType.STAGE_FAILED, s, "st-1", 3, workflow_id=WF, error=PAYLOAD, type=PAYLOAD
        ),
        make_event(EventType.WORKFLOW_FAILED, w, WF, 4, workflow_id=WF, error=PAYLOAD),
    ]
    path = tmp_path / "payload.db"
    with SqliteEventStore(str(path)) as store:
        store.append_batch(events)
    return path


def screen_text(app: ExploreApp) -> str:
    return html.unescape(app.export_screenshot())


def check(text: str) -> None:
    for control in CONTROLS:
        assert control not in text
    assert SECRET not in text


async def every_screen(app: ExploreApp, pilot: Pilot[None]) -> list[str]:
    """The text of each screen with the payload on it, at the places it shows."""
    seen = [screen_text(app)]  # runs
    await pilot.press("enter")
    await pilot.pause()
    for _ in range(3):  # the stage, then its failed task with the error in full
        await pilot.press("down")
        await pilot.pause()
        seen.append(screen_text(app))
    await pilot.press("v", "end")  # the events, the state at the last one
    await pilot.pause()
    seen.append(screen_text(app))
    await pilot.press("home", "down", "m", "end", "m")  # a diff with the secret in it
    await pilot.pause()
    seen.append(screen_text(app))
    await pilot.press("F")
    await settle(pilot, app)
    seen.append(screen_text(app))
    return seen


def test_every_screen_shows_markup_literally_and_no_control_character(
    explore: Any, payload_db: Path
) -> None:
    screens = explore(every_screen, db=payload_db, size=(160, 48))
    for text in screens:
        check(text)
    assert "[red]boom[/]\\x1b[2J\\u202e[link=https://evil.example]x[/link]\\x9b" in "".join(
        screens
    ).replace("\u00a0", " ")
    assert "***" in "".join(screens)


def test_exports_are_redacted_and_escape_nothing_they_should_not(
    explore: Any, payload_db: Path, tmp_path: Path
) -> None:
    async def script(app: ExploreApp, pilot: Pilot[None]) -> None:
        await pilot.press("enter")
        await pilot.pause()
        app.screen.action_export()  # type: ignore[attr-defined]
        await pilot.press("v", "end", "m", "home", "m")
        await pilot.pause()
        app.screen.action_export()  # type: ignore[attr-defined]

    explore(script, db=payload_db)
    files = sorted(tmp_path.glob("stabilize-*.json"))
    assert [f.name.split("-")[1] for f in files] == ["diff", "timeline"]
    for path in files:
        raw = path.read_bytes()
        assert SECRET.encode() not in raw
        assert all(32 <= b < 127 or b == 10 for b in raw)  # ASCII JSON, as the commands write
        json.loads(raw)


def test_no_color_keeps_the_cursor_and_marks_visible(
    explore: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def script(app: ExploreApp, pilot: Pilot[None]) -> str:
        await pilot.press("v", "m", "down")
        await pilot.pause()
        return app.export_screenshot()

    svg = explore(script, workflow="01M8HAZSBBC9YVRF09H4BCF2ZP")
    fills = {part.split('"')[0] for part in svg.split('fill="#')[1:]}
    greys = {f for f in fills if len(f) == 6 and f[0:2] == f[2:4] == f[4:6]}
    assert fills - greys - SVG_FRAME == set()  # no hue anywhere on the screen itself
    text = html.unescape(svg).replace("\u00a0", " ")
    assert re.search(r">\* *1 workflow\.created", text)  # a mark is a character, not a colour
