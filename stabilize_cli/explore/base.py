"""What every explorer screen shares: a title line, the command-line bar, the key footer,
and ``e`` to export the view's JSON.

Text from the database reaches widgets only as Rich ``Text`` built by :func:`cell` or
:func:`block` (cleaned, never parsed as markup); plain ``str`` would be read as markup.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, ParamSpec, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from ..events.errors import StoreError
from ..render.safe import safe_text
from ..render.sanitize import clean
from .export import export_json

KEY_NAMES = {"escape": "esc", "question_mark": "?", "slash": "/"}

if TYPE_CHECKING:
    from .app import ExploreApp
    from .source import ExploreSource

P = ParamSpec("P")
V = TypeVar("V", bound="View")


def cell(value: Any, style: str = "") -> Text:
    """An untrusted value on one line, inert."""
    return safe_text(value, style=style)


def block(value: Any, style: str = "") -> Text:
    """An untrusted value over several lines (errors in full), inert."""
    return safe_text(value, style=style, multiline=True)


def reads(
    method: Callable[Concatenate[V, P], None],
) -> Callable[Concatenate[V, P], None]:
    """A screen's read the store could not finish (a lost connection, a damage it cannot
    read past) is said in the screen's title: the explorer stays open on what it has."""

    def guarded(self: V, /, *args: P.args, **kwargs: P.kwargs) -> None:
        try:
            method(self, *args, **kwargs)
        except StoreError as error:
            self.read_failed(error)

    functools.update_wrapper(guarded, method)
    return guarded


class View(Screen[None]):
    """A screen with a title, a body, the equivalent command and the keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "export", "Export JSON"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, source: ExploreSource) -> None:
        super().__init__()
        self.source = source

    @property
    def explorer(self) -> ExploreApp:
        from .app import ExploreApp  # noqa: PLC0415 - the app imports every screen

        assert isinstance(self.app, ExploreApp)
        return self.app

    def compose(self) -> ComposeResult:
        yield Static(Text(""), id="title")
        yield from self.body()
        yield Static(Text(""), id="command")
        yield Static(self.keys_text(), id="keys")

    def keys_text(self) -> Text:
        """The screen's and the app's shown keys on one line (a plain Static: Textual's
        Footer is a widget per key, a tenth of the first screen's time)."""
        from .app import ExploreApp  # noqa: PLC0415 - the app imports every screen

        text = Text(no_wrap=True, overflow="ellipsis")
        for binding in [*self.BINDINGS, *ExploreApp.BINDINGS]:
            if isinstance(binding, Binding) and binding.show:
                key = binding.key_display or KEY_NAMES.get(binding.key, binding.key)
                text.append(f" {key}", style="bold reverse").append(f" {binding.description} ")
        return text

    def body(self) -> ComposeResult:
        yield from ()

    def set_title(self, title: Text) -> None:
        """The title, with the mark of what damaged pages kept the reads so far from."""
        damage = self.source.damage_text()
        if damage is not None:
            title.append(f"  {damage}", style="bold red")
        self.query_one("#title", Static).update(title)

    def read_failed(self, error: StoreError) -> None:
        title = Text("could not read: ", style="bold red")
        self.set_title(title.append_text(cell(str(error), "red")))

    def show_command(self) -> None:
        line = Text("$ ", style="bold")
        line.append(clean(self.command_line()))
        self.query_one("#command", Static).update(line)

    def command_line(self) -> str:
        """The command that prints this view (``--json`` for what ``e`` writes)."""
        return ""

    def document(self) -> tuple[str, Any] | None:
        """A file stem and the JSON document of the view, as its command writes it."""
        return None

    def action_export(self) -> None:
        found = self.document()
        if found is None:
            self.notify("nothing to export here yet", severity="warning", markup=False)
            return
        stem, document = found
        try:
            path = export_json(self.source.export_dir, stem, document)
        except OSError as error:
            self.notify(clean(f"export failed: {error}"), severity="error", markup=False)
            return
        self.notify(clean(f"wrote {path}"), title="exported", markup=False, timeout=8)

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
