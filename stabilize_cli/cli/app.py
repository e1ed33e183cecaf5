"""The `stabilize` command: the command tree, registered in one place."""

import os
import signal
import sys
from functools import partial
from typing import Annotated, Any

import typer

from .. import __version__
from .argv import normalise
from .coercion import QuickCoercionGroup
from .errors import NeutralUsageErrors
from .exit_codes import ExitCode, help_table
from .lazy_commands import Builder, LazyCommands, command_from, single_command
from .profiles import PROFILE_ENV, Profile, default_map, load_profile
from .redact import NO_REDACT_ENV
from .run import NO_REDACT_KEY, PROFILE_KEY
from .typer_private import Command, Context, ParameterSource

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
    "config": "app",
}
"""Each command's module under ``cli.commands`` (named as the command) and the function,
or Typer app for a group, it defines; in the order ``--help`` lists them."""

SUBCOMMANDS = frozenset({"list", "show", "create", "verify", "prune"})
"""Every subcommand name of the groups above (a test keeps this in step)."""

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

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        """Root options after the command name, shared ones before it: see ``argv``."""
        return super().parse_args(ctx, normalise(args))

    def list_commands(self, ctx: Context) -> list[str]:
        """Names only: completing ``stabilize ti<Tab>`` builds just the commands that match."""
        return list(self.commands)


app = typer.Typer(
    name="stabilize",
    help="Audit and debug Stabilize's event store: timelines, diffs, metrics, integrity.",
    epilog="--db, --output/-o, --json, --profile and --no-redact may come before or after "
    "the command name.\n\nExit codes:\n\n" + help_table(),
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
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            envvar=PROFILE_ENV,
            metavar="NAME",
            help="Take the database and option defaults from this profile of config.toml "
            "(see 'stabilize config show').",
            show_default=False,
        ),
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", metavar="DB", help="The event database.")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--output", "-o", "--format", "-f", metavar="FORMAT", help="Output format."),
    ] = None,
    json_flag: Annotated[bool, typer.Option("--json", help="Short for --output json.")] = False,
) -> None:
    """Audit and debug Stabilize's event store: timelines, diffs, metrics, integrity."""
    # --db, --output and --json typed here were moved behind the command (``argv``): these
    # declarations only list them in the root's help.
    ctx.meta[NO_REDACT_KEY] = no_redact
    if ctx.resilient_parsing:  # Tab completion: no files, no errors
        return
    ctx.meta[PROFILE_KEY] = chosen = _profile(ctx, profile)
    if chosen.name is not None:
        ctx.default_map = default_map(chosen.defaults(), frozenset(COMMANDS), SUBCOMMANDS)


def _profile(ctx: typer.Context, name: str | None) -> Profile:
    """The profile in use; a config problem is one error line and exit 2."""
    from ..queries.errors import InvalidInputError  # noqa: PLC0415 - light, on use
    from ..render.sanitize import clean  # noqa: PLC0415

    source = ctx.get_parameter_source("profile")
    commandline = ParameterSource is not None and source is ParameterSource.COMMANDLINE
    how = "--profile" if commandline else PROFILE_ENV
    try:
        return load_profile(name, how)
    except InvalidInputError as error:
        sys.stderr.write(f"error: {clean(str(error))}\n")
        raise typer.Exit(int(ExitCode.USAGE)) from None


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM and SIGHUP (a closed SSH session) unwind like Ctrl-C, so private copies
    of the database are removed."""
    sys.exit(128 + signum)


def _program() -> str:
    """``stabilize-audit`` when run by that name (its Tab completion reads
    ``_STABILIZE_AUDIT_COMPLETE``), else ``stabilize``."""
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    return "stabilize-audit" if name.startswith("stabilize-audit") else "stabilize"


def main(*args: Any) -> None:
    """Console-script entry point; a closed pipe ends quietly with 141."""
    signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # nohup asked to ignore it
        signal.signal(signal.SIGHUP, _terminate)
    try:
        app(prog_name=_program())
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(int(ExitCode.BROKEN_PIPE))
