"""Consoles made per invocation, so NO_COLOR and the terminal are read when output happens."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TextIO

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

PIPE_WIDTH = 160
"""Width for piped output: no terminal to fit, and ids must not be cut."""


def make_console(*, stderr: bool = False, file: TextIO | None = None) -> Console:
    """NO_COLOR means no escape codes at all (Rich alone would still write bold and dim);
    FORCE_COLOR gives colour, but animations (cursor codes) only on a real terminal."""
    stream = file or (sys.stderr if stderr else sys.stdout)
    is_tty = stream.isatty()
    width = _asked_width()
    if width is None and not is_tty:
        width = PIPE_WIDTH
    return _Console(
        file=stream,
        width=width,
        color_system=None if os.environ.get("NO_COLOR") else "auto",
        force_interactive=is_tty,
        emoji=False,
        highlight=False,
        markup=False,
        soft_wrap=False,
        safe_box=not _utf8(stream),
    )


MIN_WIDTH = 40
MAX_WIDTH = 1000
"""``COLUMNS`` is clamped to these: at 0 Rich printed nothing at all, at 1 a table lost
every cell, and at 99999999 three rows became 400 MB of padding."""


def _asked_width() -> int | None:
    """``COLUMNS`` as a usable width; None when unset or not a number (the terminal's)."""
    raw = os.environ.get("COLUMNS", "").strip()
    try:
        asked = int(raw)
    except ValueError:
        return None
    return min(max(asked, MIN_WIDTH), MAX_WIDTH)


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """Rich would exit 1; the command's guard ends a closed pipe quietly with 141."""
        raise BrokenPipeError


def _utf8(stream: TextIO) -> bool:
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
    return encoding == "utf8"


class Deferred:
    """A renderable built when printed, from the console's options (width, encoding)."""

    def __init__(self, build: Callable[[ConsoleOptions], RenderableType]) -> None:
        self.build = build

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.build(options)
