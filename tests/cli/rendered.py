"""Markdown as real renderers show it: the elements they build and the text of each cell.

Two independent renderers (markdown-it-py, CommonMark with GFM tables and strikethrough;
Python-Markdown with its tables extension) turn the tool's Markdown into HTML, which
html.parser reads back. A Markdown table from the tool must give only table elements,
and cells whose text is exactly what the table view shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

import markdown
from markdown_it import MarkdownIt

TABLE_TAGS = frozenset({"table", "thead", "tbody", "tr", "th", "td"})
TABLE_ATTRIBUTES = frozenset({"style", "align"})
"""Column alignment is the only attribute a table of ours may carry."""


@dataclass
class Rendered:
    tags: set[str] = field(default_factory=set)
    attributes: set[tuple[str, str | None]] = field(default_factory=set)
    rows: list[list[str]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(" ".join(row) for row in self.rows)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found = Rendered()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.tags.add(tag)
        self.found.attributes.update(attrs)
        if tag == "tr":
            self.found.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.found.rows[-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif data.strip():
            self.found.rows.append([data])  # text outside the table: a broken table


def _markdown_it(document: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(document)


def _linkify(document: str) -> str:
    parser = MarkdownIt("gfm-like", {"linkify": True})
    return parser.render(document)


def _python_markdown(document: str) -> str:
    return markdown.markdown(document, extensions=["tables"])


RENDERERS: dict[str, Callable[[str], str]] = {
    "markdown-it": _markdown_it,
    "python-markdown": _python_markdown,
}
"""Renderers that must show exactly the text: no element but the table's."""
LINKIFYING: dict[str, Callable[[str], str]] = {"markdown-it gfm linkify": _linkify}
"""GitHub-like renderers that turn bare http(s) URLs into links: nothing else is allowed."""


def render(document: str, renderer: Callable[[str], str]) -> Rendered:
    reader = _Reader()
    reader.feed(renderer(document))
    reader.close()
    return reader.found


def shown(output: str, fmt: str) -> str:
    """What a reader sees of an output: Markdown as a renderer shows it (and only table
    elements built from it), other formats as written."""
    if fmt != "markdown":
        return output
    found = render(output, RENDERERS["markdown-it"])
    assert found.tags <= TABLE_TAGS, found.tags
    return found.text
