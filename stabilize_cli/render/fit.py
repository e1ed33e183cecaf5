"""Tables that fit any terminal without cutting what people copy.

At 80 columns Rich shrinks every column alike: figures became ``3.6…`` and summaries three
characters wide. Here each column says how it may give way:

- ``fixed`` (ids, numbers, statuses, times): never cut, never wrapped;
- ``wrap`` (names, messages): wraps, but not below a readable width;
- ``clip`` (one-line summaries): ends in an ellipsis, but not below a readable width.

When the row does not fit even so, columns move out, the rightmost first (text before
figures; the leading key columns never): into a details line under each row
(``spill="details"``), or into a second table that repeats the key columns
(``spill="split"``). Nothing disappears.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

GAP = 2
READABLE = 16
"""The narrowest a wrapped or clipped text column gets before it moves."""
INDENT = 4

Mode = Literal["fixed", "wrap", "clip"]
Spill = Literal["details", "split"]


@dataclass(frozen=True)
class FitColumn:
    header: str
    mode: Mode = "fixed"
    right: bool = False
    """Right-aligned (figures)."""
    min_width: int = READABLE
    moves: int | None = None
    """When it moves out: lower first; by default text (1) before figures (2)."""

    @property
    def rank(self) -> int:
        if self.moves is not None:
            return self.moves
        return 2 if self.mode == "fixed" else 1


@dataclass
class FitTable:
    """Rows of ``Text`` cells under ``columns``, laid out for the console's width."""

    columns: Sequence[FitColumn]
    rows: Sequence[Sequence[Text]]
    title: str | None = None
    key: int = 1
    """Leading columns that never move (and head each table of a split)."""
    spill: Spill = "details"
    caption: str | None = None
    natural: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.natural = [
            max([len(c.header), *(_widest(row[i]) for row in self.rows)])
            for i, c in enumerate(self.columns)
        ]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.title:
            yield Text(self.title, style="bold")
        yield from self._tables(console, options.max_width, list(range(len(self.columns))))
        if self.caption:
            yield Text(self.caption, style="dim")

    # -- layout -------------------------------------------------------------------------------

    def _least(self, index: int) -> int:
        column, natural = self.columns[index], self.natural[index]
        if column.mode == "fixed":
            return natural
        return min(natural, max(column.min_width, len(column.header)))

    def _fits(self, shown: list[int], width: int) -> bool:
        return sum(self._least(i) for i in shown) + GAP * (len(shown) - 1) <= width

    def _split(self, indexes: list[int], width: int) -> tuple[list[int], list[int]]:
        """The columns that stay, and those that move out (in table order)."""
        shown = list(indexes)
        movable = [i for i in indexes if i >= self.key]
        order = sorted(movable, key=lambda i: (self.columns[i].rank, -i))
        moved: list[int] = []
        for index in order:
            if self._fits(shown, width):
                break
            shown.remove(index)
            moved.append(index)
        moved.sort()
        if self.spill == "split" and moved and all(i < self.key for i in shown):
            # Even one figure beside the key columns is too wide: show it anyway (it runs
            # past the edge, never cut), so each table of the split takes at least one.
            shown = sorted([*shown, moved.pop(0)])
        return shown, moved

    def _widths(self, shown: list[int], width: int) -> dict[int, int]:
        widths = {i: self._least(i) for i in shown}
        spare = width - sum(widths.values()) - GAP * (len(shown) - 1)
        for i in shown:  # left to right, text columns grow back to their natural width
            grow = min(max(spare, 0), self.natural[i] - widths[i])
            widths[i] += grow
            spare -= grow
        return widths

    def _tables(self, console: Console, width: int, indexes: list[int]) -> RenderResult:
        shown, moved = self._split(indexes, width)
        widths = self._widths(shown, width)
        details = moved if self.spill == "details" else []
        yield self._line(
            console, [Text(self.columns[i].header) for i in shown], shown, widths, style="bold"
        )
        for row in self.rows:
            yield self._line(console, [row[i] for i in shown], shown, widths)
            if details:
                yield self._details(console, row, details, width)
        if moved and self.spill == "split":
            yield Text("")
            yield from self._tables(console, width, list(range(self.key)) + moved)

    def _line(
        self,
        console: Console,
        cells: list[Text],
        shown: list[int],
        widths: dict[int, int],
        style: str = "",
    ) -> Text:
        """One table row: its cells side by side, as many lines as its tallest cell."""
        stacks: list[list[Text]] = []
        for cell, index in zip(cells, shown, strict=True):
            column, width = self.columns[index], widths[index]
            if column.mode == "fixed" or _widest(cell) <= width:
                lines = list(cell.split("\n"))
            elif column.mode == "clip":
                clipped = cell.split("\n")[0]
                clipped.truncate(width, overflow="ellipsis")
                lines = [clipped]
            else:
                lines = list(cell.wrap(console, width, overflow="fold"))
            stacks.append(lines)
        height = max((len(s) for s in stacks), default=1)
        out = Text(style=style)
        for number in range(height):
            parts: list[Text] = []
            for stack, index in zip(stacks, shown, strict=True):
                piece = stack[number].copy() if number < len(stack) else Text("")
                pad = widths[index] - piece.cell_len
                if pad > 0:
                    piece = (
                        Text(" " * pad) + piece if self.columns[index].right else piece + " " * pad
                    )
                parts.append(piece)
            line = Text(" " * GAP).join(parts)
            line.rstrip()
            out.append_text(line if not number else Text("\n").append_text(line))
        return out

    def _details(self, console: Console, row: Sequence[Text], moved: list[int], width: int) -> Text:
        """The moved columns of one row, as ``HEADER value`` pairs under it; a pair moves
        to the next line whole, and only a pair wider than the line wraps."""
        room = max(width - INDENT, 8)
        lines: list[Text] = []
        current = Text()
        for index in moved:
            pair = Text(self.columns[index].header + " ", style="dim").append_text(row[index])
            if self.columns[index].mode == "clip":  # one line, as in the table
                pair = pair.split("\n")[0]
                left = room - current.cell_len - GAP
                readable = self.columns[index].min_width + len(self.columns[index].header)
                pair.truncate(
                    left if current.cell_len and left >= readable else room, overflow="ellipsis"
                )
            if current.cell_len and current.cell_len + GAP + pair.cell_len > room:
                lines.append(current)
                current = Text()
            if current.cell_len:
                current.append(" " * GAP)
            current.append_text(pair)
        lines.append(current)
        out = Text()
        for line in lines:
            for part in line.wrap(console, room, overflow="fold"):
                part.rstrip()
                if out.cell_len:
                    out.append("\n")
                out.append(" " * INDENT).append_text(part)
        return out


def _widest(cell: Text) -> int:
    """The width of a cell's longest line."""
    return max((line.cell_len for line in cell.split("\n")), default=0)
