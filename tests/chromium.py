"""Headless Chromium for the export tests: screenshots, the DOM after load, layout measured.

Each call starts a fresh browser with a new empty profile and no network services; pages
are local files. Layout is measured by a page that embeds the SVG, runs one script that
reads bounding boxes, and writes them as JSON into the DOM, which ``--dump-dom`` prints.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The browser, or a skip with one clear line (a failure under CI=true)."""
    found = find_chromium()
    if found is None:
        message = "chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI must run the browser tests")
        pytest.skip(message)
    return found


def run(binary: str, *args: str, timeout: float = 60) -> str:
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        done = subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "HOME": profile},
        )
    if done.returncode != 0:
        raise AssertionError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def screenshot(binary: str, page: Path, png: Path, width: int, height: int) -> Image:
    run(
        binary,
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        "--virtual-time-budget=2000",
        page.as_uri(),
    )
    return read_png(png.read_bytes())


def dump_dom(binary: str, page: Path) -> str:
    return run(binary, "--dump-dom", "--virtual-time-budget=2000", page.as_uri())


MEASURE = """
<script>
(function () {
  const svg = document.querySelector("svg");
  const frame = svg.getBoundingClientRect();
  function box(el) {
    const r = el.getBoundingClientRect();
    return {x: r.left - frame.left, y: r.top - frame.top, right: r.right - frame.left,
            bottom: r.bottom - frame.top, width: r.width, height: r.height};
  }
  function all(selector) {
    return Array.from(svg.querySelectorAll(selector)).map(function (el) {
      const b = box(el);
      b.text = Array.from(el.childNodes).filter(function (n) {
        return n.nodeName !== "title";
      }).map(function (n) { return n.textContent; }).join("");
      b.cls = el.getAttribute("class");
      return b;
    });
  }
  const out = {
    frame: {width: frame.width, height: frame.height,
            viewBox: svg.getAttribute("viewBox")},
    labels: all("text.label"), statuses: all("text.status"), durations: all("text.duration"),
    causes: all("text.cause"), details: all("text.detail"), ticks: all("text.tick-label"),
    bars: all("rect.bar"), markers: all("g.marker"), legend: all("g.legend text"),
    swatches: all("g.legend .swatch"), header: all("g.header text"),
    everything: all("text, rect, line, path, circle")
  };
  const pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>
"""


def measure(binary: str, svg: str, directory: Path) -> dict[str, Any]:
    """Bounding boxes (relative to the SVG's top left) of the chart's parts, as rendered."""
    page = directory / "measure.html"
    page.write_text(
        f'<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="margin:0">{svg}{MEASURE}</body></html>',
        encoding="utf-8",
    )
    dom = dump_dom(binary, page)
    start = dom.index('<pre id="measured">') + len('<pre id="measured">')
    found: dict[str, Any] = json.loads(html.unescape(dom[start : dom.index("</pre>", start)]))
    return found


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    pixels: list[bytes]
    """One ``bytes`` of RGB triples per row."""

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        row = self.pixels[y]
        return row[3 * x], row[3 * x + 1], row[3 * x + 2]

    def count(self, colour: tuple[int, int, int], tolerance: int = 12) -> int:
        """How many pixels are within ``tolerance`` of ``colour`` on every channel."""
        total = 0
        for row in self.pixels:
            for x in range(0, len(row), 3):
                if all(abs(row[x + c] - colour[c]) <= tolerance for c in range(3)):
                    total += 1
        return total


def read_png(data: bytes) -> Image:
    """An 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) as RGB rows."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, chunks = 8, b""
    width = height = channels = 0
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, interlace) == (8, 0), (depth, interlace)
            assert colour in (2, 6), colour
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            chunks += body
        offset += 12 + length
    raw = zlib.decompress(chunks)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        previous = line
        if channels == 4:
            rgb = bytearray()
            for x in range(0, stride, 4):
                rgb += line[x : x + 3]
            rows.append(bytes(rgb))
        else:
            rows.append(bytes(line))
    return Image(width, height, rows)
