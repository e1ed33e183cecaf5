"""Lists with a cursor that draw only the lines on screen.

Textual's DataTable lays out every cell of every row it draws through Rich and took a
third of the first screen's time; a run's events may be 100,000 lines. These lists hold
one ``Text`` per row (built on demand by subclasses), a header that stays put, and a
reversed cursor line, readable without colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

GAP = "  "


class RowMessage(Message):
    def __init__(self, source: CursorList, index: int) -> None:
        super().__init__()
        self.list, self.index = source, index

    @property
    def control(self) -> CursorList:
        return self.list


class CursorList(ScrollView, can_focus=True):
    """Rows ``0..count()-1`` drawn by :meth:`line`; a header row if :meth:`header` has one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(-1)", "Up", show=False),
        Binding("down,j", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "choose", "Open", show=False),
    ]
    cursor = reactive(0, always_update=True, repaint=True)

    class Moved(RowMessage):
        """The cursor is on row ``index``."""

    class Chosen(RowMessage):
        """Enter on row ``index``."""

    def count(self) -> int:
        raise NotImplementedError

    def line(self, index: int) -> Text:
        raise NotImplementedError

    def header(self) -> Text | None:
        return None

    def resized(self, width: int = 0) -> None:
        """The number of rows (or the widest) changed: scroll bars follow."""
        top = 0 if self.header() is None else 1
        self.virtual_size = Size(width, self.count() + top)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        scroll_x, scroll_y = self.scroll_offset
        head = self.header()
        if head is not None and y == 0:
            return self._strip(head, scroll_x, width)
        index = scroll_y + y - (0 if head is None else 1)
        if not 0 <= index < self.count():
            return Strip.blank(width, self.rich_style)
        text = self.line(index)
        if index == self.cursor:  # reversed where the keys go, underlined elsewhere
            mark = "reverse" if self.has_focus else "underline"
            text.stylize(mark)
            if text.cell_len < scroll_x + width:  # the whole row, not just its text
                text.append(" " * (scroll_x + width - text.cell_len), style=mark)
        return self._strip(text, scroll_x, width)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def _strip(self, text: Text, scroll_x: int, width: int) -> Strip:
        segments = list(text.render(self.app.console))
        strip = Strip(segments).apply_style(self.rich_style)
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)

    @property
    def visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - (self.header() is not None))

    def watch_cursor(self, old: int, new: int) -> None:
        top = int(self.scroll_offset.y)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + self.visible_rows:
            self.scroll_to(y=new - self.visible_rows + 1, animate=False, immediate=True)
        self.post_message(self.Moved(self, new))

    def move_to(self, index: int) -> None:
        if self.count():
            self.cursor = max(0, min(self.count() - 1, index))

    def action_move(self, step: int) -> None:
        self.move_to(self.cursor + step)

    def action_page(self, pages: int) -> None:
        self.move_to(self.cursor + pages * max(1, self.visible_rows - 1))

    def action_jump(self, where: int) -> None:
        self.move_to(where if where >= 0 else self.count() - 1)

    def action_choose(self) -> None:
        if self.count():
            self.post_message(self.Chosen(self, self.cursor))

    def on_click(self, event: Any) -> None:
        top = 0 if self.header() is None else 1
        if event.y >= top:
            self.move_to(int(self.scroll_offset.y) + int(event.y) - top)


class Column:
    def __init__(self, title: str, *, right: bool = False, cap: int | None = None) -> None:
        self.title, self.right, self.cap = title, right, cap


class TableList(CursorList):
    """Rows of cells in aligned columns (the widest cell, up to a column's cap)."""

    def __init__(self, columns: Sequence[Column], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.columns = list(columns)
        self.rows: list[list[Text]] = []
        self.keys: list[str] = []
        self.widths = [len(c.title) for c in self.columns]

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def set_rows(self, rows: list[list[Text]], keys: list[str]) -> None:
        self.rows, self.keys = rows, keys
        self.widths = [
            min(
                max([len(column.title), *(row[i].cell_len for row in rows)]),
                column.cap or 10**6,
            )
            for i, column in enumerate(self.columns)
        ]
        self.resized(sum(self.widths) + len(GAP) * (len(self.widths) - 1))
        if self.cursor >= len(rows):
            self.move_to(len(rows) - 1)

    def count(self) -> int:
        return len(self.rows)

    def header(self) -> Text:
        cells = [Text(c.title, style="bold") for c in self.columns]
        return self._join(cells)

    def line(self, index: int) -> Text:
        return self._join(self.rows[index])

    def _join(self, cells: list[Text]) -> Text:
        out = Text(no_wrap=True, end="")
        for i, (cell, column, width) in enumerate(
            zip(cells, self.columns, self.widths, strict=True)
        ):
            if i:
                out.append(GAP)
            piece = cell.copy()
            if piece.cell_len > width:
                piece.truncate(width, overflow="ellipsis")
            pad = " " * (width - piece.cell_len)
            if column.right:
                out.append(pad).append_text(piece)
            else:
                out.append_text(piece).append(pad)
        return out
