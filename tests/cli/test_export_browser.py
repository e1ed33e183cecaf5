"""`timeline --export` rendered in headless Chromium: layout, pixels, and inert database text.

Skipped with one line when Chromium is missing; under CI=true a missing browser fails.
"""

from __future__ import annotations

import functools
import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events.base import EntityType, EventType
from stabilize_cli.render.gantt_svg import (
    CHART_X0,
    CHART_X1,
    LABEL_W,
    PAD,
    STATUS_W,
    STATUS_X,
    WIDTH,
)

from ..chromium import dump_dom, measure, require_chromium, screenshot
from ..conftest import FIXTURES, REAL_DB
from .conftest import Invoke, make_event
from .test_timeline import write_db

SHAPES_DB = FIXTURES / "real-shapes.db"
DEMO_DB = FIXTURES / "demo.db"
HW = "wf-hostile"
PWN_SCRIPT = "</text><script>document.documentElement.setAttribute('data-pwned','1')</script>"
PWN_IMG = "<img src=x onerror=\"document.documentElement.setAttribute('data-pwned','2')\">"
HOSTILE = f"{PWN_SCRIPT} {PWN_IMG} ]]> <!-- & \x1b]0;title\x07 \u202eevil"

CASES = {
    "real-small failed": (REAL_DB, "01M8HAZSBBC9YVRF09H4BCF2ZP"),
    "real-small retry": (REAL_DB, "01M8HAZVN51R0GZ2NVTT2DCYFJ"),
    "real-small canceled": (REAL_DB, "01M8HAZYWT69QYJS5TWX7ZPJGG"),
    "shapes restarted": (SHAPES_DB, "01M95DEWMCA8EY8J33AA7W4TBP"),
    "shapes restarted twice": (SHAPES_DB, "01M95DF1695BNH768VKFZXAGJS"),
    "shapes unicode error": (SHAPES_DB, "01M95DG1HX53VGN5N2RM9KTTPZ"),
    "shapes parallel failure": (SHAPES_DB, "01M95DEVEMNE0G47GXFC4RYVPY"),
    "shapes paused": (SHAPES_DB, "01M95DEXR6MKE1PV6SYS1CW5E4"),
    "demo latest failed": (DEMO_DB, "latest-failed"),
}


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium()


@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    """Markup and script in every text the chart shows, a 6,000-character error, a long name."""
    event = functools.partial(make_event, workflow_id=HW)
    w, s, t = EntityType.WORKFLOW, EntityType.STAGE, EntityType.TASK
    long_name = "Deploy " + "very-long-stage-name-" * 12 + HOSTILE
    return write_db(
        tmp_path / "hostile.db",
        [
            event(EventType.WORKFLOW_CREATED, w, HW, 0, application=HOSTILE, name=HOSTILE),
            event(EventType.WORKFLOW_STARTED, w, HW, 0.1, context={}),
            event(EventType.STAGE_STARTED, s, "st-1", 0.2, name=long_name, ref_id="a"),
            event(EventType.TASK_STARTED, t, "tk-1", 0.3, name=HOSTILE, stage_id="st-1"),
            event(EventType.TASK_RETRIED, t, "tk-1", 1.5, name=HOSTILE, attempt=1),
            event(
                EventType.TASK_FAILED, t, "tk-1", 2.5, status="TERMINAL",
                error=HOSTILE + " " + "x" * 6000 + "\nsecond line",
            ),
            event(
                EventType.STAGE_FAILED, s, "st-1", 2.6, status=HOSTILE, error=HOSTILE * 30
            ),
            event(EventType.WORKFLOW_FAILED, w, HW, 2.7, status="TERMINAL", error=HOSTILE),
        ],
    )  # fmt: skip


def export(invoke: Invoke, db: Path, workflow: str, target: Path) -> Path:
    result = invoke("timeline", workflow, "--export", str(target), "--json", db=db)
    assert result.exit_code == 0, result.stderr
    return target


def assert_laid_out(found: dict[str, Any]) -> None:
    """Everything inside the picture, each text inside its column, ticks apart, a legend."""
    frame = found["frame"]
    assert frame["width"] == WIDTH
    assert frame["viewBox"] == f"0 0 {WIDTH} {frame['viewBox'].split()[-1]}"
    height = float(frame["viewBox"].split()[-1])
    assert abs(frame["height"] - height) < 1
    for part in found["everything"]:
        if part["width"] == 0 and part["height"] == 0:
            continue  # a <title>-only or empty text has no box
        assert -0.5 <= part["x"] <= part["right"] <= WIDTH + 0.5, part
        assert -0.5 <= part["y"] <= part["bottom"] <= height + 0.5, part
    for label in found["labels"]:
        assert label["right"] <= PAD + LABEL_W + 0.5, label
    for status in found["statuses"]:
        assert status["right"] <= STATUS_X + STATUS_W + 0.5, status
    for text in [*found["causes"], *found["details"], *found["header"]]:
        assert text["right"] <= WIDTH - PAD + 0.5, text
    ticks = sorted(found["ticks"], key=lambda t: t["x"])
    assert len(ticks) >= 2
    assert all(a["right"] <= b["x"] for a, b in itertools.pairwise(ticks)), ticks
    for bar in found["bars"]:
        assert CHART_X0 - 0.5 <= bar["x"] <= bar["right"] <= CHART_X1 + 0.5, bar
        assert bar["width"] >= 1.5
    assert (found["legend"] and found["swatches"]) or found["markers"]
    labels = sorted(found["labels"], key=lambda t: t["y"])
    assert all(a["bottom"] <= b["y"] + 1 for a, b in itertools.pairwise(labels))


@pytest.mark.parametrize("case", sorted(CASES))
def test_real_runs_lay_out_inside_the_picture_and_their_columns(
    case: str, chromium: str, invoke: Invoke, tmp_path: Path
) -> None:
    db, workflow = CASES[case]
    svg = export(invoke, db, workflow, tmp_path / "run.svg").read_text(encoding="utf-8")
    found = measure(chromium, svg, tmp_path)
    assert_laid_out(found)
    assert len(found["bars"]) >= 2
    assert found["legend"]


def test_a_hostile_run_lays_out_like_any_other(
    chromium: str, invoke: Invoke, hostile_db: Path, tmp_path: Path
) -> None:
    svg = export(invoke, hostile_db, HW, tmp_path / "run.svg").read_text(encoding="utf-8")
    found = measure(chromium, svg, tmp_path)
    assert_laid_out(found)
    causes = [c["text"] for c in found["causes"]]
    assert any("</text><script>" in c and c.endswith("…") for c in causes), causes


@pytest.mark.parametrize("suffix", [".svg", ".html"])
def test_database_text_cannot_inject_markup_or_script(
    suffix: str, chromium: str, invoke: Invoke, hostile_db: Path, tmp_path: Path
) -> None:
    target = export(invoke, hostile_db, HW, tmp_path / f"run{suffix}")
    dom = dump_dom(chromium, target)
    assert "data-pwned=" not in dom
    assert not re.search(r"<(script|img|iframe|foreignObject)\b", dom)
    assert "&lt;/text&gt;&lt;script&gt;document.documentElement" in dom
    assert "&lt;img src=x onerror=" in dom
    assert "\x1b" not in dom
    assert "\u202e" not in dom
    assert "\\x1b]0;title\\x07" in dom


def test_nothing_is_drawn_outside_the_picture(
    chromium: str, invoke: Invoke, hostile_db: Path, tmp_path: Path
) -> None:
    """The SVG on a magenta page with overflow visible: any stray mark shows on the margin."""
    svg = export(invoke, hostile_db, HW, tmp_path / "run.svg").read_text(encoding="utf-8")
    height = int(float(re.search(r'height="([\d.]+)"', svg).group(1)))  # type: ignore[union-attr]
    page = tmp_path / "page.html"
    margin = 40
    page.write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="margin:{margin}px;background:#ff00ff">'
        f'<div style="width:{WIDTH}px;overflow:visible">'
        + svg.replace("<svg ", '<svg style="overflow:visible;display:block" ', 1)
        + "</div></body></html>",
        encoding="utf-8",
    )
    image = screenshot(
        chromium, page, tmp_path / "page.png", WIDTH + 2 * margin, height + 2 * margin
    )
    magenta = (255, 0, 255)
    for y in range(image.height):
        for x in range(image.width):
            inside = margin <= x < margin + WIDTH and margin <= y < margin + height
            if not inside:
                assert image.pixel(x, y) == magenta, (x, y)
    assert image.count(magenta, tolerance=0) == image.width * image.height - WIDTH * height


def test_the_screenshot_shows_failed_and_succeeded_bars_in_their_colours(
    chromium: str, invoke: Invoke, tmp_path: Path
) -> None:
    target = export(invoke, REAL_DB, "01M8HAZSBBC9YVRF09H4BCF2ZP", tmp_path / "run.svg")
    height = int(float(re.search(r'height="([\d.]+)"', target.read_text()).group(1)))  # type: ignore[union-attr]
    image = screenshot(chromium, target, tmp_path / "run.png", WIDTH, max(height, 400))
    assert (image.width, image.height) == (WIDTH, max(height, 400))
    red, green = (0xD1, 0x24, 0x2F), (0x2D, 0xA4, 0x4E)
    assert image.count(red, tolerance=6) > 500
    assert image.count(green, tolerance=6) > 500
    assert image.count((255, 255, 255), tolerance=0) > image.width * image.height // 2


def test_the_html_page_has_a_title_the_chart_and_the_tables(
    chromium: str, invoke: Invoke, tmp_path: Path
) -> None:
    db, workflow = CASES["shapes restarted"]
    target = export(invoke, db, workflow, tmp_path / "run.html")
    dom = dump_dom(chromium, target)
    assert "<title>cert-rotate 01M95DEWMCA8EY8J33AA7W4TBP SUCCEEDED" in dom
    assert dom.count("<svg") == 1
    assert dom.count('<tr class="stage">') == 3
    assert dom.count('<tr class="task">') == 3
    assert "Unknown error" in dom
    image = screenshot(chromium, target, tmp_path / "run.png", 1300, 1200)
    assert image.count((0x2D, 0xA4, 0x4E), tolerance=6) > 500


def test_statuses_differ_by_pattern_so_a_grey_print_still_tells_them_apart(
    chromium: str, invoke: Invoke, tmp_path: Path
) -> None:
    """In grey, a failed bar is striped and a succeeded one plain: not colour alone."""
    target = export(invoke, REAL_DB, "01M8HAZSBBC9YVRF09H4BCF2ZP", tmp_path / "run.svg")
    svg = target.read_text(encoding="utf-8")
    found = measure(chromium, svg, tmp_path)
    image = screenshot(
        chromium, target, tmp_path / "run.png", WIDTH, max(400, 1 + int(found["frame"]["height"]))
    )

    def greys(bar: dict[str, Any]) -> set[int]:
        inside = range(int(bar["y"]) + 3, int(bar["bottom"]) - 3)
        across = range(int(bar["x"]) + 3, int(bar["right"]) - 10)  # the end has a marker
        return {sum(image.pixel(x, y)) // 3 for y in inside for x in across}

    failed = [b for b in found["bars"] if "status-fail" in b["cls"] and b["width"] > 20]
    succeeded = [b for b in found["bars"] if "status-ok" in b["cls"] and b["width"] > 20]
    assert failed
    assert succeeded
    for bar in failed:
        levels = greys(bar)
        assert max(levels) - min(levels) > 80, bar
    for bar in succeeded:
        levels = greys(bar)
        assert max(levels) - min(levels) < 20, bar
