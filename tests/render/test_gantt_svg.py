"""The SVG and HTML documents as text: well-formed, self-contained, escaped, fixed width.

How they look and where things land is checked in a real browser
(tests/cli/test_export_browser.py); here, what holds for every input without one.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stabilize_cli.render.gantt import Chart, ChartRow, Marker, Segment, build_chart
from stabilize_cli.render.gantt_svg import PAD, WIDTH, fit, render_svg, text_width, xml
from stabilize_cli.render.timeline_html import render_html

from ..conftest import REAL_DB
from .test_gantt import DEMO_DB, SHAPES_DB, all_workflows, timeline

NS = "{http://www.w3.org/2000/svg}"
HOSTILE = (
    "</text><script>alert(1)</script><img src=x onerror=alert(2)>"
    " \"quoted\" & 'single' ]]> <!-- \x1b[2J \u202e \ud800 \x00"
)


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def visible_texts(root: ET.Element) -> list[str]:
    """The text a reader sees: text nodes outside <title> tooltips."""
    return [shown for shown, _ in sized_texts(root)]


def sized_texts(root: ET.Element) -> list[tuple[str, float]]:
    """Each visible text with the width it may take at its own size and weight."""
    out = []
    for element in root.iter(f"{NS}text"):
        parts = [element.text or ""]
        for child in element:
            if child.tag != f"{NS}title":
                parts.append("".join(child.itertext()))
            parts.append(child.tail or "")
        shown = "".join(parts)
        size = float(element.get("font-size", "12"))
        out.append((shown, text_width(shown, size, bold=element.get("font-weight") == "700")))
    return out


def assert_self_contained(document: str) -> None:
    """No tag loads or runs anything: database text is escaped, so every ``<`` is ours."""
    tags = re.findall(r"<[a-zA-Z][^>]*>", document)
    assert [t for t in tags if re.search(r"\s(src|href|xlink:href|on\w+)=", t)] == []
    assert not [t for t in tags if re.match(r"<(script|link|iframe|object|embed|img)\b", t)]
    styles = "".join(re.findall(r"<style>(.*?)</style>", document, flags=re.S))
    assert "@import" not in styles
    assert re.findall(r"url\((?!#)", styles) == []
    assert re.findall(r'="url\((?!#)', document) == []


@pytest.mark.parametrize("db", [REAL_DB, SHAPES_DB, DEMO_DB], ids=lambda p: p.name)
def test_every_chart_is_well_formed_fixed_width_and_self_contained(db: Path) -> None:
    for workflow in all_workflows(db):
        result = timeline(db, workflow)
        svg = render_svg(build_chart(result))
        root = parse(svg)
        assert root.get("width") == str(WIDTH)
        assert root.get("viewBox", "").startswith(f"0 0 {WIDTH} ")
        assert root.find(f"{NS}title") is not None
        assert_self_contained(svg)
        page = render_html(result, build_chart(result))
        assert_self_contained(page)
        assert page.count("<svg") == 1
        assert page.startswith("<!DOCTYPE html>")


def chart_with(label: str, error: str, status: str = "TERMINAL") -> Chart:
    failure = Marker(500, "failure", f"{status}: {error.splitlines()[0]}", error)
    rows = (
        ChartRow(label, 0, "workflow", status, "1.00s", (Segment(0, 1000, status, "run"),)),
        ChartRow(label, 1, "stage", status, "0.50s", (Segment(0, 500, status, "run"),), (failure,)),
    )
    return Chart(
        label, label, label, status, "2026-01-01T00:00:00+00:00", "1.00s total", 1000, rows
    )


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=0, max_size=3000), st.text(min_size=1, max_size=3000))
def test_any_text_stays_text_and_never_widens_the_chart(label: str, error: str) -> None:
    svg = render_svg(chart_with(label, error))
    root = parse(svg)  # well-formed whatever the text: nothing closed early, nothing opened
    assert root.get("width") == str(WIDTH)
    assert not [e for e in root.iter() if e.tag.split("}")[-1] in ("script", "foreignObject")]
    for shown, width in sized_texts(root):
        assert width <= WIDTH - 2 * PAD, shown


def test_a_hostile_error_lands_in_text_nodes_escaped_and_in_full_in_the_tooltip() -> None:
    svg = render_svg(chart_with("name " + HOSTILE, HOSTILE * 20))
    root = parse(svg)
    assert "<script>" not in svg
    assert "<img" not in svg
    assert "\x1b" not in svg
    assert "\u202e" not in svg
    assert "\x00" not in svg
    titles = ["".join(t.itertext()) for t in root.iter(f"{NS}title")]
    assert any(t.count("</text><script>alert(1)</script>") == 20 for t in titles)
    causes = [t for t in visible_texts(root) if "alert(1)" in t and "TERMINAL" in t]
    assert causes
    assert all(c.endswith("…") for c in causes)


def test_identical_input_gives_identical_bytes() -> None:
    result = timeline(SHAPES_DB, "01M95DEWMCA8EY8J33AA7W4TBP")
    assert render_svg(build_chart(result)) == render_svg(build_chart(result))
    assert render_html(result, build_chart(result)) == render_html(result, build_chart(result))


def test_the_page_holds_the_chart_and_every_error_in_full() -> None:
    result = timeline(SHAPES_DB, "01M95DG1HX53VGN5N2RM9KTTPZ")  # the long unicode error
    page = render_html(result, build_chart(result))
    error = result.stages[1].error
    assert isinstance(error, str)
    assert len(error.splitlines()) > 20
    assert xml(error.replace("\t", "\\x09")).split("\n")[-1] in page
    assert "<title>query-parser 01M95DG1HX53VGN5N2RM9KTTPZ TERMINAL" in page
    assert "Content-Security-Policy" in page


@pytest.mark.parametrize(
    ("value", "width"), [("short", 400.0), ("x" * 500, 120.0), ("数据库连接失败" * 40, 90.0)]
)
def test_fit_cuts_to_the_width_with_an_ellipsis(value: str, width: float) -> None:
    shown = fit(value, width, 12)
    assert text_width(shown, 12) <= width
    assert shown == value or (shown.endswith("…") and value.startswith(shown[:-1]))


def test_a_running_chart_draws_its_open_end() -> None:
    chart = chart_with("wf", "x", status="RUNNING")
    rows = (replace(chart.rows[0], segments=(Segment(0, 1000, "RUNNING", "run", True),)),)
    svg = render_svg(replace(chart, rows=rows))
    assert 'class="open-end"' in svg
    assert "open-ended: no event ended it" in svg


def test_a_detail_with_no_room_beside_its_bar_gets_a_line_of_its_own() -> None:
    """dns-cutover's task runs to the end of the span from its start: no room either side."""
    root = parse(render_svg(build_chart(timeline(SHAPES_DB, "01M95DF1695BNH768VKFZXAGJS"))))
    details = [e for e in root.iter(f"{NS}text") if e.get("class") == "detail"]
    shown = {(e.text, e.get("text-anchor")) for e in details}
    assert ("3 attempts, 4 retries", "start") in shown
    assert ("3 attempts", "start") in shown
    labels = {
        e.text: float(e.get("y", 0)) for e in root.iter(f"{NS}text") if e.get("class") == "label"
    }
    below = next(e for e in details if e.text == "3 attempts, 4 retries")
    assert float(below.get("y", 0)) > labels["Apply records"] + 20


def test_a_pause_band_is_drawn_behind_the_bars_and_named_in_the_legend() -> None:
    chart = replace(
        chart_with("wf", "boom"),
        bands=(Segment(200, 700, "PAUSED", "pause", note="paused by ops@example.com for 0.50s"),),
    )
    svg = render_svg(chart)
    root = parse(svg)
    assert svg.index('class="band"') < svg.index('class="rows"')
    band = next(e for e in root.iter(f"{NS}g") if e.get("class") == "band")
    assert "paused by ops@example.com" in "".join(band.itertext())
    legend = next(e for e in root.iter(f"{NS}g") if e.get("class") == "legend")
    assert "paused" in "".join(legend.itertext())


def test_a_pause_marker_is_drawn_named_under_its_row_and_in_the_legend() -> None:
    chart = chart_with("wf", "boom")
    pause = Marker(300, "pause", "paused by ops@example.com at +0.30s", "paused, no resume time")
    workflow = replace(chart.rows[0], markers=(pause,))
    root = parse(render_svg(replace(chart, rows=(workflow, *chart.rows[1:]))))
    groups = {e.get("class") for e in root.iter(f"{NS}g")}
    assert "marker marker-pause" in groups
    causes = [t for t in visible_texts(root) if t.startswith("‖")]
    assert causes == ["‖ paused by ops@example.com at +0.30s"]
    legend = next(e for e in root.iter(f"{NS}g") if e.get("class") == "legend")
    assert "paused here" in "".join(legend.itertext())
