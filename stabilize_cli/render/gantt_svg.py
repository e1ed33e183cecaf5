"""The chart drawn as a self-contained SVG: a time axis, a bar per stage and task, a legend.

Drawn by hand, not a terminal screenshot: nothing remote (the system's own fonts), one fixed
width whatever the data, every label cut to its column with an ellipsis and the whole text in
a ``<title>`` tooltip, and each status a colour *and* a pattern, so a black-and-white print
still tells them apart. Database text only ever lands in text nodes and attribute values,
XML-escaped; ids and classes come from fixed tables, never from the data.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from .gantt import RETRIED, Axis, Chart, ChartRow, Marker, Segment, axis
from .sanitize import clean

WIDTH = 1200
PAD = 16
LABEL_W = 290
STATUS_W = 130
DURATION_W = 64
GAP = 12
STATUS_X = PAD + LABEL_W + GAP
DURATION_RIGHT = STATUS_X + STATUS_W + DURATION_W
CHART_X0 = DURATION_RIGHT + 2 * GAP
CHART_X1 = WIDTH - PAD - 28
ROW_H = 24
BAR_H = 12
NOTE_H = 16
INDENT = 16
FONT = (
    "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', 'Noto Sans', "
    "'Liberation Sans', 'DejaVu Sans', Arial, sans-serif"
)
INK, MUTED, GRID = "#1f2328", "#59636e", "#d8dee4"


@dataclass(frozen=True)
class Look:
    """How a status is drawn: a fill, a pattern over it (for print), what the legend says."""

    key: str
    fill: str
    stroke: str
    pattern: str
    legend: str


LOOKS = {
    "SUCCEEDED": Look("ok", "#2da44e", "#1a7f37", "", "succeeded"),
    "TERMINAL": Look("fail", "#d1242f", "#82071e", "hatch", "failed (TERMINAL)"),
    "FAILED": Look("fail", "#d1242f", "#82071e", "hatch", "failed"),
    "STOPPED": Look("fail", "#d1242f", "#82071e", "hatch", "stopped"),
    "FAILED_CONTINUE": Look("soft", "#e16f24", "#9a3c05", "backhatch", "failed, run went on"),
    "CANCELED": Look("cancel", "#d4a72c", "#7d5e00", "cross", "canceled"),
    "RUNNING": Look("run", "#218bff", "#0550ae", "dots", "running"),
    "PAUSED": Look("pause", "#8250df", "#512a97", "vbars", "paused"),
    "SUSPENDED": Look("pause", "#8250df", "#512a97", "vbars", "suspended"),
    "SKIPPED": Look("skip", "#afb8c1", "#6e7781", "dots", "skipped"),
    RETRIED: Look("retry", "#f2c94c", "#9a6700", "hbars", "try failed, retried"),
    "NOT_STARTED": Look("idle", "#ffffff", "#8c959f", "", "not started"),
}
OTHER = Look("other", "#6e7781", "#32383f", "cross", "other status")
PAUSE = Look("pausegap", "#eaeef2", "#6e7781", "vbars", "paused")
MARKER_LEGEND = {
    "failure": "failure: first line of the error below the row",
    "retry": "a retry of the task",
    "restart": "a restart: the run started again",
    "cancel": "canceled here",
    "pause": "paused here",
}


def look(status: str, kind: str = "run") -> Look:
    return PAUSE if kind == "pause" else LOOKS.get(status, OTHER)


# -- text ----------------------------------------------------------------------------------

_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def xml(value: str) -> str:
    """Text for an XML text node or attribute: inert, escaped, only characters XML allows."""
    value = _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", clean(value, multiline=True))
    return html.escape(value, quote=True)


_NARROW = frozenset("il.,:;|!'`jtfI()[]{} ")
_WIDE = frozenset("mwMW@%")
_SYMBOLS = frozenset("<>=+~^#&*_$")


def char_width(char: str, size: float) -> float:
    """A generous estimate of one character's advance, so cut text fits its column."""
    if unicodedata.combining(char):
        return 0.0
    if ord(char) >= 0x1F000:
        return 1.3 * size
    if unicodedata.east_asian_width(char) in ("W", "F"):
        return 1.05 * size
    if char in _NARROW:
        return 0.38 * size
    if char in _WIDE:
        return 0.95 * size
    if char in _SYMBOLS:
        return 0.86 * size
    if char.isupper():
        return 0.72 * size
    if char.isdigit():
        return 0.68 * size
    return 0.64 * size


def text_width(value: str, size: float, bold: bool = False) -> float:
    return sum(char_width(c, size) for c in value) * (1.08 if bold else 1.0)


def fit(value: str, width: float, size: float, bold: bool = False) -> str:
    """``value`` cut to ``width`` pixels with an ellipsis (the tooltip keeps the rest).

    Measured as it will be shown: control characters already turned into escapes.
    """
    value = clean(value)
    if text_width(value, size, bold) <= width:
        return value
    room = width - text_width("…", size, bold)
    used = 0.0
    for index, char in enumerate(value):
        used += char_width(char, size) * (1.08 if bold else 1.0)
        if used > room:
            return value[:index].rstrip() + "…"
    return value


def _n(value: float) -> str:
    """Coordinates with one decimal: identical input, identical bytes."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


# -- layout ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    axis: Axis

    def x(self, ms: float) -> float:
        end = max(1, self.axis.end_ms)
        return CHART_X0 + (CHART_X1 - CHART_X0) * min(max(ms, 0), end) / end


DETAIL_SIZE = 10.5


@dataclass(frozen=True)
class DetailSpot:
    """Where a row's detail goes: beside its bar (``x``, anchor), or on a line of its own."""

    x: float
    anchor: str
    below: bool

    @classmethod
    def of(cls, row: ChartRow, scale: Scale) -> DetailSpot | None:
        if not row.detail:
            return None
        if row.segments:
            x0 = scale.x(row.segments[0].start_ms)
            x1 = scale.x(row.segments[-1].end_ms) + 12
        else:
            x0 = x1 = CHART_X0 + 4 + text_width(_no_run(row), 11) + 12
        need = text_width(row.detail, DETAIL_SIZE)
        if WIDTH - PAD - x1 >= need:
            return cls(x1, "start", False)
        if x0 - 10 - CHART_X0 >= need:
            return cls(x0 - 10, "end", False)
        return cls(PAD + INDENT * row.depth, "start", True)


@dataclass(frozen=True)
class Placed:
    row: ChartRow
    top: float
    index: int
    detail: DetailSpot | None

    @property
    def middle(self) -> float:
        return self.top + ROW_H / 2

    @property
    def lines(self) -> int:
        """Lines under the row: its notes, then its detail when it did not fit beside the bar."""
        return len(self.row.notes) + (1 if self.detail and self.detail.below else 0)

    @property
    def height(self) -> float:
        return ROW_H + NOTE_H * self.lines


def _header_height(chart: Chart) -> float:
    return 58 + 16 * len(chart.notes)


def _placed(chart: Chart, top: float, scale: Scale) -> list[Placed]:
    placed = []
    for index, row in enumerate(chart.rows):
        place = Placed(row, top, index, DetailSpot.of(row, scale))
        placed.append(place)
        top += place.height
    return placed


def _legend_items(chart: Chart) -> list[tuple[str, str]]:
    """(kind, key) pairs: a swatch per status drawn, then a glyph per marker kind."""
    items: list[tuple[str, str]] = [("status", s) for s in chart.statuses]
    if any(s.kind == "attempt" for r in chart.rows for s in r.segments):
        items.append(("attempt", ""))
    if chart.bands or any(s.kind == "pause" for r in chart.rows for s in r.segments):
        items.append(("pause", ""))
    if any(s.open_end for r in chart.rows for s in r.segments):
        items.append(("open", ""))
    items.extend(("marker", kind) for kind in chart.marker_kinds)
    if not items:
        items.append(("status", "NOT_STARTED"))
    return items


def _legend_label(kind: str, key: str) -> str:
    if kind == "status":
        known = LOOKS.get(key)
        return f"{key.lower()}" if known is None else known.legend
    if kind == "attempt":
        return "an earlier attempt (before a restart)"
    if kind == "pause":
        return "paused"
    if kind == "open":
        return "open-ended: no event ended it"
    return MARKER_LEGEND.get(key, key)


def _legend_gap(kind: str) -> float:
    """Room between a swatch and its label (the open-end arrow sticks out of its swatch)."""
    return 16 if kind == "open" else 8


LEGEND_ITEM_H = 20
SWATCH = 22


def _legend_layout(chart: Chart) -> list[tuple[float, float, str, str, str]]:
    """Items flowed left to right, wrapping at the width: (x, y offset, kind, key, label)."""
    x, y = float(PAD), 0.0
    out = []
    for kind, key in _legend_items(chart):
        label = fit(_legend_label(kind, key), 320, 11)
        width = SWATCH + _legend_gap(kind) + text_width(label, 11) + 18
        if x + width > WIDTH - PAD and x > PAD:
            x, y = float(PAD), y + LEGEND_ITEM_H
        out.append((x, y, kind, key, label))
        x += width
    return out


# -- drawing ---------------------------------------------------------------------------------


def render_svg(chart: Chart) -> str:
    """The whole SVG document; identical charts give identical bytes."""
    return "\n".join(_document(chart)) + "\n"


def _document(chart: Chart) -> Iterator[str]:
    header_h = _header_height(chart)
    axis_top = header_h
    rows_top = axis_top + 34
    scale = Scale(axis(chart.span_ms))
    placed = _placed(chart, rows_top, scale)
    rows_bottom = placed[-1].top + placed[-1].height if placed else rows_top
    legend = _legend_layout(chart)
    legend_top = rows_bottom + 32
    legend_h = (legend[-1][1] if legend else 0) + LEGEND_ITEM_H + 14
    height = legend_top + legend_h + 16
    title = f"stabilize timeline: {chart.name} {chart.workflow_id} {chart.status}"
    yield (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{_n(height)}" '
        f'viewBox="0 0 {WIDTH} {_n(height)}" role="img" aria-labelledby="chart-title" '
        f'font-family="{xml(FONT)}" class="stabilize-gantt">'
    )
    yield f'<title id="chart-title">{xml(title)}</title>'
    yield from _defs(height)
    yield f'<rect class="background" width="{WIDTH}" height="{_n(height)}" fill="#fff"/>'
    yield from _header(chart)
    yield from _axis(scale, axis_top, rows_bottom)
    yield '<g class="zebra">'
    yield from (_zebra(place) for place in placed if place.index % 2 == 0)
    yield "</g>"
    yield from _bands(chart, scale, rows_top - 8, rows_bottom)
    yield '<g class="rows">'
    for place in placed:
        yield from _row(place, scale)
    yield "</g>"
    yield from _legend(legend, legend_top)
    yield "</svg>"


def _defs(height: float) -> Iterator[str]:
    yield "<defs>"
    drawn: set[str] = set()
    for item in [*LOOKS.values(), OTHER, PAUSE]:
        if item.key in drawn:
            continue
        drawn.add(item.key)
        yield _pattern(item)
    yield (
        f'<clipPath id="clip-labels"><rect x="0" y="0" width="{PAD + LABEL_W}" '
        f'height="{_n(height)}"/></clipPath>'
    )
    yield (
        f'<clipPath id="clip-status"><rect x="{STATUS_X}" y="0" width="{STATUS_W}" '
        f'height="{_n(height)}"/></clipPath>'
    )
    yield (
        f'<clipPath id="clip-page"><rect x="0" y="0" width="{WIDTH - PAD}" '
        f'height="{_n(height)}"/></clipPath>'
    )
    yield "</defs>"


_STROKES = {
    "hatch": '<path d="M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4" stroke="#fff" stroke-width="1.6"/>',
    "backhatch": '<path d="M-2,6 l4,4 M0,0 l8,8 M6,-2 l4,4" stroke="#fff" stroke-width="1.6"/>',
    "cross": (
        '<path d="M0,0 l8,8 M8,0 l-8,8" stroke="#fff" stroke-width="1.2" stroke-opacity=".85"/>'
    ),
    "dots": '<circle cx="4" cy="4" r="1.4" fill="#fff"/>',
    "vbars": '<path d="M2,0 v8 M6,0 v8" stroke="#fff" stroke-width="1.5"/>',
    "hbars": '<path d="M0,2 h8 M0,6 h8" stroke="#7d4e00" stroke-width="1" stroke-opacity=".6"/>',
}


def _pattern(item: Look) -> str:
    lines = _STROKES.get(item.pattern, "")
    if item is PAUSE:
        lines = '<path d="M2,0 v8 M6,0 v8" stroke="#6e7781" stroke-width="1.2"/>'
    return (
        f'<pattern id="fill-{item.key}" patternUnits="userSpaceOnUse" width="8" height="8">'
        f'<rect width="8" height="8" fill="{item.fill}"/>{lines}</pattern>'
    )


def _header(chart: Chart) -> Iterator[str]:
    yield '<g class="header">'
    title = fit(chart.name, WIDTH - 2 * PAD - 200, 18, bold=True)
    yield (
        f'<text class="name" x="{PAD}" y="28" font-size="18" font-weight="700" fill="{INK}">'
        f"{xml(title)}<title>{xml(chart.name)}</title></text>"
    )
    status = look(chart.status)
    badge = fit(chart.status, 170, 12, bold=True)
    badge_w = text_width(badge, 12, bold=True) + 16
    x = WIDTH - PAD - badge_w
    yield (
        f'<rect class="status-badge" x="{_n(x)}" y="12" width="{_n(badge_w)}" height="22" rx="11" '
        f'fill="url(#fill-{status.key})" stroke="{status.stroke}"/>'
    )
    yield (
        f'<text x="{_n(x + badge_w / 2)}" y="27" font-size="12" font-weight="700" '
        f'text-anchor="middle" fill="{INK}" stroke="#fff" stroke-width="3" paint-order="stroke">'
        f"{xml(badge)}<title>{xml(chart.status)}</title></text>"
    )
    facts = [
        f"workflow {chart.workflow_id}",
        f"app {chart.application}",
        f"started {chart.started}",
    ]
    if chart.total:
        facts.append(chart.total)
    if chart.sequences:
        facts.append(chart.sequences)
    line = "  ·  ".join(facts)
    yield (
        f'<text class="facts" x="{PAD}" y="50" font-size="12" fill="{MUTED}">'
        f"{xml(fit(line, WIDTH - 2 * PAD, 12))}<title>{xml(line)}</title></text>"
    )
    for number, note in enumerate(chart.notes):
        yield (
            f'<text class="note" x="{PAD}" y="{66 + 16 * number}" font-size="12" '
            f'font-style="italic" fill="{MUTED}">{xml(fit(note, WIDTH - 2 * PAD, 12))}</text>'
        )
    yield "</g>"


def _axis(scale: Scale, top: float, bottom: float) -> Iterator[str]:
    ax = scale.axis
    base = top + 26
    yield '<g class="axis">'
    yield f'<line x1="{PAD}" y1="{_n(base)}" x2="{WIDTH - PAD}" y2="{_n(base)}" stroke="{GRID}"/>'
    yield (
        f'<text class="column-head" x="{PAD}" y="{_n(base - 8)}" font-size="11" '
        f'font-weight="700" fill="{MUTED}">STAGE / TASK</text>'
    )
    yield (
        f'<text class="column-head" x="{STATUS_X}" y="{_n(base - 8)}" font-size="11" '
        f'font-weight="700" fill="{MUTED}">STATUS</text>'
    )
    yield (
        f'<text class="column-head" x="{DURATION_RIGHT}" y="{_n(base - 8)}" font-size="11" '
        f'font-weight="700" fill="{MUTED}" text-anchor="end">TIME</text>'
    )
    for tick, label in zip(ax.ticks, ax.labels, strict=True):
        x = scale.x(tick)
        yield (
            f'<line class="gridline" x1="{_n(x)}" y1="{_n(base)}" x2="{_n(x)}" '
            f'y2="{_n(bottom)}" stroke="{GRID}" stroke-dasharray="2,3"/>'
        )
        yield (
            f'<line class="tick" x1="{_n(x)}" y1="{_n(base - 4)}" x2="{_n(x)}" '
            f'y2="{_n(base)}" stroke="{MUTED}"/>'
        )
        yield (
            f'<text class="tick-label" x="{_n(x)}" y="{_n(base - 8)}" font-size="11" '
            f'text-anchor="middle" fill="{INK}">{xml(label)}</text>'
        )
    yield (
        f'<line x1="{CHART_X0}" y1="{_n(bottom)}" x2="{CHART_X1}" y2="{_n(bottom)}" '
        f'stroke="{GRID}"/>'
    )
    yield (
        f'<text class="scale" x="{CHART_X1}" y="{_n(bottom + 14)}" font-size="10.5" '
        f'text-anchor="end" fill="{MUTED}">time since the workflow started · {xml(ax.scale)}'
        "</text>"
    )
    yield "</g>"


def _row(place: Placed, scale: Scale) -> Iterator[str]:
    row = place.row
    top, middle = place.top, place.middle
    yield f'<g class="row row-{row.kind}" data-depth="{row.depth}">'
    bold = row.kind != "task"
    indent = PAD + INDENT * row.depth
    weight = ' font-weight="700"' if bold else ""
    label = fit(row.label, PAD + LABEL_W - indent, 12, bold=bold)
    yield (
        f'<text class="label" x="{indent}" y="{_n(middle + 4)}" font-size="12"{weight} '
        f'fill="{INK}" clip-path="url(#clip-labels)">{xml(label)}<title>{xml(row.label)}</title>'
        "</text>"
    )
    status = look(row.status)
    yield (
        f'<text class="status" x="{STATUS_X}" y="{_n(middle + 4)}" font-size="11" '
        f'font-weight="700" fill="{status.stroke}" clip-path="url(#clip-status)">'
        f"{xml(fit(row.status, STATUS_W, 11, bold=True))}<title>{xml(row.status)}</title></text>"
    )
    yield (
        f'<text class="duration" x="{DURATION_RIGHT}" y="{_n(middle + 4)}" font-size="11" '
        f'text-anchor="end" fill="{INK}">{xml(fit(row.duration, DURATION_W, 11))}</text>'
    )
    for segment in row.segments:
        yield from _segment(segment, scale, middle, row)
    if not row.segments:
        yield (
            f'<text class="no-run" x="{CHART_X0 + 4}" y="{_n(middle + 4)}" font-size="11" '
            f'font-style="italic" fill="{MUTED}">{xml(_no_run(row))}</text>'
        )
    for marker in row.markers:
        yield _marker(marker, scale.x(marker.at_ms), middle)
    for number, note in enumerate(row.notes):
        yield _note(note, indent, top + ROW_H + NOTE_H * number + 11)
    if place.detail is not None:
        below = top + ROW_H + NOTE_H * len(row.notes) + 11
        yield _detail(row, place.detail, below if place.detail.below else middle + 4)
    yield "</g>"


def _zebra(place: Placed) -> str:
    return (
        f'<rect x="{PAD - 6}" y="{_n(place.top)}" width="{WIDTH - 2 * PAD + 12}" '
        f'height="{_n(place.height)}" fill="#f6f8fa"/>'
    )


def _bands(chart: Chart, scale: Scale, top: float, bottom: float) -> Iterator[str]:
    """Pauses and silences across every row, behind the bars, named at their top."""
    for band in chart.bands:
        x0, x1 = scale.x(band.start_ms), scale.x(band.end_ms)
        width = max(2.0, x1 - x0)
        tip = f"<title>{xml(band.note)}</title>"
        yield (
            f'<g class="band"><rect x="{_n(x0)}" y="{_n(top)}" width="{_n(width)}" '
            f'height="{_n(bottom - top)}" fill="url(#fill-{PAUSE.key})" fill-opacity=".55" '
            f'stroke="{PAUSE.stroke}" stroke-dasharray="4,3">{tip}</rect>'
        )
        label = fit(band.note, width - 6, 10)
        if width > 24 and label:
            yield (
                f'<text class="band-label" x="{_n(x0 + 3)}" y="{_n(top + 9)}" font-size="10" '
                f'fill="{INK}" stroke="#fff" stroke-width="3" paint-order="stroke">'
                f"{xml(label)}{tip}</text>"
            )
        yield "</g>"


def _no_run(row: ChartRow) -> str:
    if row.status == "CANCELED":
        return "canceled before it started"
    if row.status == "SKIPPED":
        return "skipped without running"
    if row.status in ("NOT_STARTED", "∅"):
        return "never started"
    return "no start time recorded"


def _segment(segment: Segment, scale: Scale, middle: float, row: ChartRow) -> Iterator[str]:
    item = look(segment.status, segment.kind)
    x0, x1 = scale.x(segment.start_ms), scale.x(segment.end_ms)
    width = max(2.0, x1 - x0)
    top = middle - BAR_H / 2
    faded = ' fill-opacity=".45" stroke-dasharray="3,2"' if segment.kind == "attempt" else ""
    tip = f"{row.label}: {segment.note or segment.status}"
    yield (
        f'<rect class="bar bar-{segment.kind} status-{item.key}" x="{_n(x0)}" y="{_n(top)}" '
        f'width="{_n(width)}" height="{BAR_H}" rx="2" fill="url(#fill-{item.key})" '
        f'stroke="{item.stroke}"{faded}><title>{xml(tip)}</title></rect>'
    )
    if segment.open_end:
        end = x0 + width
        yield (
            f'<path class="open-end" d="M{_n(end + 1)},{_n(top - 1)} l7,{_n(BAR_H / 2 + 1)} '
            f'l-7,{_n(BAR_H / 2 + 1)} z" fill="{item.stroke}"><title>{xml(tip)}</title></path>'
        )


def _marker(marker: Marker, x: float, middle: float) -> str:
    return _glyph(marker.kind, x, middle, marker.full)


def _glyph(kind: str, x: float, middle: float, full: str) -> str:
    """A marker's shape: a circled cross, a diamond on a line, a flag, a struck circle."""
    tip = f"<title>{xml(full)}</title>"
    if kind == "failure":
        return (
            f'<g class="marker marker-failure"><circle cx="{_n(x)}" cy="{_n(middle)}" r="7" '
            f'fill="#fff" stroke="#82071e" stroke-width="1.5"/><path d="M{_n(x - 3.5)},'
            f'{_n(middle - 3.5)} l7,7 M{_n(x + 3.5)},{_n(middle - 3.5)} l-7,7" '
            f'stroke="#82071e" stroke-width="2"/>{tip}</g>'
        )
    if kind == "retry":
        top = middle - BAR_H / 2 - 3
        return (
            f'<g class="marker marker-retry"><line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" '
            f'y2="{_n(middle + BAR_H / 2 + 3)}" stroke="{INK}" stroke-width="1.5"/>'
            f'<path d="M{_n(x)},{_n(top - 5)} l4,4 l-4,4 l-4,-4 z" fill="{INK}"/>{tip}</g>'
        )
    if kind == "restart":
        top = middle - BAR_H / 2 - 2
        return (
            f'<g class="marker marker-restart"><line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" '
            f'y2="{_n(middle + BAR_H / 2 + 2)}" stroke="{INK}" stroke-width="2"/>'
            f'<path d="M{_n(x)},{_n(top - 6)} l7,3.5 l-7,3.5 z" fill="{INK}"/>{tip}</g>'
        )
    if kind == "pause":
        return (
            f'<g class="marker marker-pause"><circle cx="{_n(x)}" cy="{_n(middle)}" r="6.5" '
            f'fill="#fff" stroke="{PAUSE.stroke}" stroke-width="1.5"/><path d="M{_n(x - 2)},'
            f'{_n(middle - 3.5)} v7 M{_n(x + 2)},{_n(middle - 3.5)} v7" stroke="{INK}" '
            f'stroke-width="1.8"/>{tip}</g>'
        )
    return (
        f'<g class="marker marker-cancel"><circle cx="{_n(x)}" cy="{_n(middle)}" r="6.5" '
        f'fill="#fff" stroke="#7d5e00" stroke-width="1.5"/><path d="M{_n(x - 4.5)},'
        f'{_n(middle + 4.5)} l9,-9" stroke="#7d5e00" stroke-width="1.8"/>{tip}</g>'
    )


def _detail(row: ChartRow, spot: DetailSpot, baseline: float) -> str:
    """Retries, attempts, skip reasons: beside the bar, or on their own line below it."""
    room = WIDTH - PAD - spot.x if spot.anchor == "start" else spot.x - CHART_X0
    shown = fit(row.detail, room, DETAIL_SIZE)
    return (
        f'<text class="detail" x="{_n(spot.x)}" y="{_n(baseline)}" font-size="{DETAIL_SIZE}" '
        f'text-anchor="{spot.anchor}" fill="{MUTED}">{xml(shown)}<title>{xml(row.detail)}</title>'
        "</text>"
    )


_NOTE_LOOKS = {"failure": ("#82071e", "✕"), "cancel": ("#7d5e00", "⊘"), "pause": (INK, "‖")}


def _note(marker: Marker, x: float, baseline: float) -> str:
    colour, glyph = _NOTE_LOOKS.get(marker.kind, ("#7d5e00", "⊘"))
    room = WIDTH - PAD - x - 16
    return (
        f'<text class="cause" x="{_n(x)}" y="{_n(baseline)}" font-size="11" fill="{colour}" '
        f'clip-path="url(#clip-page)"><tspan font-weight="700">{glyph}</tspan> '
        f"{xml(fit(marker.short, room, 11))}<title>{xml(marker.full)}</title></text>"
    )


def _legend(items: list[tuple[float, float, str, str, str]], top: float) -> Iterator[str]:
    yield f'<g class="legend" transform="translate(0 {_n(top)})">'
    for x, y, kind, key, label in items:
        middle = y + 8
        if kind in ("status", "attempt", "pause", "open"):
            item = look(key or "SUCCEEDED", "pause" if kind == "pause" else "run")
            dash = ' stroke-dasharray="3,2"' if key == "NOT_STARTED" or kind == "attempt" else ""
            faded = ' fill-opacity=".45"' if kind == "attempt" else ""
            if kind == "open":
                item = LOOKS["RUNNING"]
            yield (
                f'<rect class="swatch" x="{_n(x)}" y="{_n(middle - BAR_H / 2)}" width="{SWATCH}" '
                f'height="{BAR_H}" rx="2" fill="url(#fill-{item.key})" stroke="{item.stroke}"'
                f"{dash}{faded}/>"
            )
            if kind == "open":
                yield (
                    f'<path d="M{_n(x + SWATCH + 1)},{_n(middle - 7)} l7,7 l-7,7 z" '
                    f'fill="{item.stroke}"/>'
                )
        else:
            yield _glyph(key, x + SWATCH / 2, middle, label)
        yield (
            f'<text class="legend-label" x="{_n(x + SWATCH + _legend_gap(kind))}" '
            f'y="{_n(middle + 4)}" '
            f'font-size="11" fill="{INK}">{xml(label)}</text>'
        )
    yield "</g>"
