"""The explorer app: screens for runs, a run, its events, failures and metrics.

Screens are pushed as the user goes deeper (Runs -> Run -> Events) and popped with
escape; ``w``, ``F`` and ``M`` go to the runs, failures and metrics from anywhere.
"""

from __future__ import annotations

import io
from typing import ClassVar

from rich.console import Console
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from .legible import make_legible
from .runs import RunsScreen
from .source import ExploreSource

KEYS = (
    ("Everywhere", ""),
    ("?", "this help"),
    ("w / F / M", "runs / failures / metrics"),
    ("e", "export the view's JSON to a file (the command below prints the same)"),
    ("escape", "back to the previous screen"),
    ("q, ctrl+q", "quit"),
    ("Runs", ""),
    ("/", "filter as you type (id, name, app, status); enter keeps it, escape clears"),
    ("enter", "open the run"),
    ("r", "reload now (new runs also appear by themselves)"),
    ("Run", ""),
    ("up / down", "select a stage or task: its error, outputs and events below"),
    ("v", "the run's events, from the selected stage or task"),
    ("f", "failing path only, or everything again"),
    ("Events", ""),
    ("up / down, page up / down, home / end", "move the cursor; the state as of it is beside"),
    ("m", "mark the cursor's sequence; with two marks, their diff is beside"),
    ("c", "clear the marks"),
    ("Failures", ""),
    ("enter", "the group's example runs; enter again opens one"),
)

CSS = """
#title { height: auto; max-height: 3; padding: 0 1; }
#command { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
#keys { height: 1; }
#filter { height: 3; }
#runs { height: 1fr; }
#timeline { height: 1fr; min-height: 5; }
#detail { height: 1fr; border-top: solid $primary; padding: 0 1; }
#events-body { height: 1fr; }
#event-list { width: 2fr; min-width: 30; }
#state-pane { width: 3fr; border-left: solid $primary; padding: 0 1; }
#groups { height: 1fr; }
#group-detail { height: 1fr; border-top: solid $primary; padding: 0 1; }
#examples { height: 5; }
#stages { height: 1fr; }
#tasks { height: 1fr; border-top: solid $primary; }
HelpScreen { align: center middle; }
#help { width: 90%; height: 90%; border: round $primary; padding: 0 1; background: $surface; }
"""


def help_text() -> Text:
    text = Text("Keys  (escape closes)\n", style="bold")
    for key, what in KEYS:
        if not what:
            text.append(f"\n{key}\n", style="bold underline")
        else:
            text.append(f"  {key:<14}", style="bold").append(f" {what}\n")
    return text


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(help_text())


class _Discard(io.StringIO):
    """A stream that keeps nothing written to it."""

    def write(self, text: str) -> int:
        return len(text)


class ExplorerCrashedError(RuntimeError):
    """The explorer stopped on an error it did not handle (the command says it in one
    line; the error itself, when Textual let it be seen, is chained as the cause)."""


class ExploreApp(App[None]):
    TITLE = "stabilize explore"
    CSS = CSS
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("question_mark", "help", "Help"),
        Binding("w", "runs", "Runs"),
        Binding("F", "failures", "Failures"),
        Binding("M", "metrics", "Metrics"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, source: ExploreSource, workflow_id: str | None = None) -> None:
        super().__init__()
        self.source = source
        self.first_run = workflow_id
        self.crash: Exception | None = None
        """The first error the app did not handle (seen through Textual's private hook)."""
        # Textual prints an unhandled error as a Rich traceback with the frames' local
        # variables (rows as the database holds them, unredacted) on ``error_console``
        # (public): whatever it prints there goes nowhere; the command says it instead.
        self.error_console = Console(file=_Discard(), markup=False, highlight=False)
        if self.no_color:  # Textual exposes its filters only as this list
            make_legible(self._filters)

    def _handle_exception(self, error: Exception) -> None:
        """Textual's private hook for an unhandled error: only noted here, then Textual
        exits as it does (a Textual without this hook leaves ``crash`` None, and
        :func:`run_explorer` still tells the crash from the public ``return_code``)."""
        if self.crash is None:
            self.crash = error
        super()._handle_exception(error)

    def on_mount(self) -> None:
        self.push_screen(RunsScreen(self.source))
        if self.first_run is not None:
            self.open_run(self.first_run)

    # Screens past the first load when first opened: the runs are drawn sooner.

    def open_run(self, workflow_id: str) -> None:
        from .run import RunScreen  # noqa: PLC0415

        self.push_screen(RunScreen(self.source, workflow_id))

    def open_events(self, workflow_id: str, start: int | None = None) -> None:
        from .events import EventsScreen  # noqa: PLC0415

        self.push_screen(EventsScreen(self.source, workflow_id, start))

    def to_runs(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def action_runs(self) -> None:
        self.to_runs()

    def action_failures(self) -> None:
        from .tables import FailuresScreen  # noqa: PLC0415

        self.to_runs()
        self.push_screen(FailuresScreen(self.source))

    def action_metrics(self) -> None:
        from .tables import MetricsScreen  # noqa: PLC0415

        self.to_runs()
        self.push_screen(MetricsScreen(self.source))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def run_explorer(
    source: ExploreSource,
    workflow_id: str | None = None,
    *,
    headless: bool = False,
    size: tuple[int, int] | None = None,
) -> None:
    """Run the explorer in this terminal until the user quits (``headless``: without a
    terminal, for tests). An error it did not handle is raised here, after the terminal
    is restored, for the command to say in one line (never Textual's traceback)."""
    app = ExploreApp(source, workflow_id)
    app.run(headless=headless, size=size)
    if app.return_code not in (None, 0):
        raise ExplorerCrashedError(
            f"the explorer stopped on {type(app.crash).__name__}"
            if app.crash is not None
            else "the explorer stopped on an error"
        ) from app.crash
