"""The `stabilize` command: the command tree, registered in one place."""

import signal
import sys
from functools import partial
from typing import Annotated, Any

import typer
from typer._click import Command, Context

from .. import __version__
from .coercion import QuickCoercionGroup
from .errors import NeutralUsageErrors
from .exit_codes import ExitCode, help_table
from .lazy_commands import Builder, LazyCommands, command_from, single_command
from .redact import NO_REDACT_ENV
from .run import NO_REDACT_KEY

COMMANDS = {
    "workflows": "workflows",
    "timeline": "timeline",
    "graph": "graph",
    "compare": "compare",
    "state": "state",
    "diff": "diff",
    "metrics": "metrics",
    "failures": "failures",
    "history": "history",
    "events": "events",
    "verify": "verify",
    "snapshots": "app",
    "subscriptions": "app",
    "explore": "explore",
    "demo": "demo",
}
"""Each command's module under ``cli.commands`` (named as the command) and the function,
or Typer app for a group, it defines; in the order ``--help`` lists them."""

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


def _engine_hint(name: str) -> Command:
    """A hidden stand-in for one of the engine's commands: say where it lives."""

    def hint(ctx: typer.Context) -> None:
        sys.stderr.write(
            f"error: '{name}' is a command of the Stabilize engine's own CLI (package "
            "'stabilize'), not of this audit tool; run the engine's 'stabilize' script "
            "(where both are installed, this tool is also 'stabilize-audit').\n"
        )
        raise typer.Exit(int(ExitCode.USAGE))

    return single_command(
        name,
        hint,
        hidden=True,
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


def _as_is(command: Command) -> Command:
    return command


def _builders() -> dict[str, Builder]:
    package = __name__.rsplit(".", 1)[0] + ".commands"
    builders = {
        name: command_from(f"{package}.{name}", attribute, name)
        for name, attribute in COMMANDS.items()
    }
    builders.update({name: partial(_engine_hint, name) for name in sorted(ENGINE_COMMANDS)})
    return builders


class RootGroup(NeutralUsageErrors, QuickCoercionGroup):
    """One-line usage errors; parameters parsed without Pydantic where Typer's rules allow;
    a command's module imported only when that command runs (or help lists it)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        registered = {name: partial(_as_is, command) for name, command in self.commands.items()}
        self.commands = LazyCommands({**_builders(), **registered})

    def list_commands(self, ctx: Context) -> list[str]:
        """Names only: completing ``stabilize ti<Tab>`` builds just the commands that match."""
        return list(self.commands)


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
    ctx: typer.Context,
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
    ctx.meta[NO_REDACT_KEY] = no_redact


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM and SIGHUP (a closed SSH session) unwind like Ctrl-C, so private copies
    of the database are removed."""
    sys.exit(128 + signum)


def main(*args: Any) -> None:
    """Console-script entry point; a closed pipe ends quietly with 141."""
    signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # nohup asked to ignore it
        signal.signal(signal.SIGHUP, _terminate)
    try:
        app(prog_name="stabilize")
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(int(ExitCode.BROKEN_PIPE))
