"""A scrolling pane that draws only the lines on screen.

The state of a long run is a tree of thousands of lines; laying it all out on every
cursor step (Rich's tree rendering, a ``Static`` measuring its height) took most of a
second. The pane takes the same Rich trees the ``state`` and ``diff`` commands print,
flattens them into one ``Text`` per node with the same guides, and renders only the rows
in view.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from rich.tree import Tree
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

GUIDES = {True: ("└── ", "    "), False: ("├── ", "│   ")}
GUIDE_STYLE = "dim"
Row = tuple[str, Text]
"""Tree guides (plain, drawn dim) and the node's label: joined only when on screen."""


def tree_rows(tree: Tree) -> list[Row]:
    """One row per node, its label's first line after the tree guides."""
    rows: list[Row] = [("", _label(tree))]
    _children(tree.children, "", rows)
    return rows


def _children(children: list[Tree], prefix: str, rows: list[Row]) -> None:
    last = len(children) - 1
    for index, node in enumerate(children):
        branch, below = GUIDES[index == last]
        rows.append((prefix + branch, _label(node)))
        if node.children:
            _children(node.children, prefix + below, rows)


def text_rows(lines: Iterable[Text]) -> list[Row]:
    return [("", line) for line in lines]


def _label(node: Tree) -> Text:
    label = node.label
    text = label if isinstance(label, Text) else Text(str(label))
    return text.split("\n")[0] if "\n" in text.plain else text


class LinePane(ScrollView, can_focus=True):
    """Lines of Text, drawn when they scroll into view; scrolls both ways."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.rows: list[Row] = []

    @property
    def lines(self) -> list[Text]:
        """Every row as it is drawn (for tests and exports of what is shown)."""
        return [self.line(index) for index in range(len(self.rows))]

    def line(self, index: int) -> Text:
        guides, label = self.rows[index]
        return Text.assemble((guides, GUIDE_STYLE), label) if guides else label

    def show(self, rows: list[Row]) -> None:
        """New content; the scroll position stays (clamped) so a place looked at stays."""
        self.rows = rows
        widest = max((len(guides) + len(label) for guides, label in rows), default=0)
        self.virtual_size = Size(widest, len(rows))
        self.refresh()

    def wrapped(self, text: Text) -> list[Text]:
        """``text`` folded to the pane's width (a head above a tree)."""
        width = max(20, self.scrollable_content_region.width or self.size.width or 80)
        return list(text.wrap(self.app.console, width))

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if not 0 <= index < len(self.rows):
            return Strip.blank(width, self.rich_style)
        segments = list(self.line(index).render(self.app.console))
        strip = Strip(segments).apply_style(self.rich_style)  # the pane's colours beneath
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style)
