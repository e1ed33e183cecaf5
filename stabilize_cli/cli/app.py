"""The `stabilize` command: the command tree, registered in one place."""

import signal
import sys
from typing import Annotated, Any

import typer

from .. import __version__
from .coercion import QuickCoercionGroup
from .commands import (
    demo,
    diff,
    events,
    failures,
    history,
    metrics,
    snapshots,
    state,
    subscriptions,
    timeline,
    verify,
    workflows,
)
from .errors import NeutralUsageErrors
from .exit_codes import ExitCode, help_table
from .redact import NO_REDACT_ENV, choose

ENGINE_COMMANDS = frozenset(
    {
        "mg-up",
        "mg-status",
        "mg-check-grants",
        "prompt",
        "monitor",
        "prune-signals",
        "prune-processed",
        "purge-workflows",
    }
)


def _engine_hint(name: str) -> None:
    """A hidden stand-in for one of the engine's commands: say where it lives."""

    def hint(ctx: typer.Context) -> None:
        sys.stderr.write(
            f"error: '{name}' is a command of the Stabilize engine's own CLI (package "
            "'stabilize'), not of this audit tool; run the engine's 'stabilize' script "
            "(where both are installed, this tool is also 'stabilize-audit').\n"
        )
        raise typer.Exit(int(ExitCode.USAGE))

    app.command(
        name,
        hidden=True,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )(hint)


class RootGroup(NeutralUsageErrors, QuickCoercionGroup):
    """One-line usage errors; parameters parsed without Pydantic where Typer's rules allow."""


app = typer.Typer(
    name="stabilize",
    help="Audit and debug Stabilize's event store: timelines, diffs, metrics, integrity.",
    epilog="Exit codes:\n\n" + help_table(),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=RootGroup,
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"stabilize-cli {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    no_redact: Annotated[
        bool,
        typer.Option(
            "--no-redact",
            envvar=NO_REDACT_ENV,
            help="Show secrets (passwords, tokens, keys, declared secrets) in clear; "
            "they are hidden as *** by default.",
        ),
    ] = False,
) -> None:
    """Audit and debug Stabilize's event store: timelines, diffs, metrics, integrity."""
    choose(no_redact)


app.command("workflows")(workflows.workflows)
app.command("timeline")(timeline.timeline)
app.command("state")(state.state)
app.command("diff")(diff.diff)
app.command("metrics")(metrics.metrics)
app.command("failures")(failures.failures)
app.command("history")(history.history)
app.command("events")(events.events)
app.command("verify")(verify.verify)
app.add_typer(snapshots.app, name="snapshots")
app.add_typer(subscriptions.app, name="subscriptions")
app.command("demo")(demo.demo)

for _name in sorted(ENGINE_COMMANDS):
    _engine_hint(_name)


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so private copies of the database are removed."""
    sys.exit(128 + signum)


def main(*args: Any) -> None:
    """Console-script entry point; a closed pipe ends quietly with 141."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        app(prog_name="stabilize")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(int(ExitCode.BROKEN_PIPE))
