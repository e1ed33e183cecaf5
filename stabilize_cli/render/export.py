"""The timeline written to SVG or HTML, for CI artifacts; never over the evidence."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from ..queries.errors import InvalidInputError
from ..queries.timeline import TimelineResult
from .atomic import write_whole
from .timeline import timeline_view

EXPORT_WIDTH = 120
EXPORT_KINDS = {".svg": "svg", ".html": "html", ".htm": "html"}
SIDECARS = ("", "-wal", "-shm", "-journal")
SVG_TEMPLATE = """\
<svg class="rich-terminal" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">
    <style>
    .{unique_id}-matrix {{
        font-family: "DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", monospace;
        font-size: {char_height}px;
        line-height: {line_height}px;
        font-variant-east-asian: full-width;
    }}
    .{unique_id}-title {{
        font-size: 18px;
        font-weight: bold;
        font-family: sans-serif;
    }}
    {styles}
    </style>
    <defs>
    <clipPath id="{unique_id}-clip-terminal">
      <rect x="0" y="0" width="{terminal_width}" height="{terminal_height}" />
    </clipPath>
    {lines}
    </defs>
    {chrome}
    <g transform="translate({terminal_x}, {terminal_y})"
       clip-path="url(#{unique_id}-clip-terminal)">
    {backgrounds}
    <g class="{unique_id}-matrix">
    {matrix}
    </g>
    </g>
</svg>
"""
"""Rich's SVG layout with local monospace fonts only: Rich's own template loads Fira Code
from a CDN, and an artifact opened in a browser must fetch nothing (nor tell anyone it
was opened)."""


def export_kind(path: str, db_path: str) -> str:
    """``svg`` or ``html`` for an export path that is safe to write; never the evidence."""
    target = Path(path).resolve()
    for suffix in SIDECARS:
        evidence = Path(db_path + suffix)
        if target == evidence.resolve() or _same_file(target, evidence):
            raise InvalidInputError(f"--export {path} would overwrite the database {db_path}")
    kind = EXPORT_KINDS.get(Path(path).suffix.lower())
    if kind is None:
        raise InvalidInputError(f"--export {path}: the file name must end in .svg or .html")
    return kind


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except OSError:
        return False


def export_view(result: TimelineResult, path: str, kind: str) -> None:
    """The tree as an SVG or HTML file; identical input gives identical bytes."""
    console = Console(
        record=True,
        file=io.StringIO(),
        width=EXPORT_WIDTH,
        force_terminal=True,
        color_system="truecolor",
        no_color=False,
        emoji=False,
        highlight=False,
        markup=False,
        legacy_windows=False,
        _environ={},
    )
    console.print(timeline_view(result, EXPORT_WIDTH))
    svg = kind == "svg"
    if svg:
        text = console.export_svg(title="stabilize timeline", code_format=SVG_TEMPLATE)
    else:
        text = console.export_html()
    write_whole(path, text)
