"""Tab on a value (a workflow id, ``--status``, ``--type``, ``--stage-type``) answered
without Typer.

Importing Typer and building the app takes most of a Tab's time (tens of milliseconds
before the first candidate is looked up), and issue 11 gives a Tab 100 ms, process start
to output. So the console script looks here first: from the completion variables and
:data:`COMMANDS` (each command's options and arguments, as the app declares them; a test
rebuilds this table from the app and fails when they differ), it finds the value being
completed and answers it in the shell's format, as Typer would. Anything it is not sure
of (option names, command names, a ``--``, an option it does not know, a shell it does
not know) returns None and Typer answers: slower, never different (a test compares both
on every case).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import NamedTuple

from .completion import (
    DEFAULT_DB,
    EVENT_TYPE,
    FROM_DATABASE,
    STAGE_TYPE,
    STATUS,
    WORKFLOW,
    candidates,
    database,
)

COMMON = ("--db", "--format", "--output", "-f", "-o")
"""Valued options every command that reads a store declares (``options.py``)."""


class Spec(NamedTuple):
    """One command's parameters as far as Tab needs them (a NamedTuple: ``dataclasses``
    costs a Tab 7 ms to import)."""

    valued: frozenset[str]
    """Every option name that takes a value."""
    flags: frozenset[str]
    options: Mapping[str, str]
    """Option name -> the kind of value it completes."""
    arguments: tuple[str | None, ...] = ()
    """The kind each positional argument completes (None: not completed from the data)."""


def _spec(
    valued: tuple[str, ...] = (),
    flags: tuple[str, ...] = (),
    options: Mapping[str, str] | None = None,
    arguments: tuple[str | None, ...] = (),
    *,
    common: bool = True,
) -> Spec:
    """``common``: the store options (:data:`COMMON` and ``--json``) besides these."""
    shared_flags = ("--help", "-h", "--json") if common else ("--help", "-h")
    return Spec(
        frozenset((*COMMON, *valued) if common else valued),
        frozenset((*shared_flags, *flags)),
        dict(options or {}),
        arguments,
    )


ROOT = Spec(
    frozenset({*COMMON, "--profile"}),
    frozenset(
        {"--help", "-h", "--install-completion", "--json", "--no-redact", "--show-completion"}
    ),
    {},
)
"""The root's parameters, less ``--version`` (eager: Typer answers a Tab after it)."""
COMMANDS: dict[str, Spec] = {
    "compare": _spec(flags=("--all", "--full"), arguments=(None, None)),
    "config show": _spec(),
    "demo": _spec(("--seed",), ("--force",), arguments=(None,), common=False),
    "diff": _spec(arguments=(WORKFLOW, None, None)),
    "events": _spec(
        (
            *("--entity-type", "--from-seq", "--interval", "--limit", "--since", "--to-seq"),
            *("--type", "--until", "--workflow", "-t", "-w"),
        ),
        ("--follow", "--reverse"),
        {"--type": EVENT_TYPE, "-t": EVENT_TYPE, "--workflow": WORKFLOW, "-w": WORKFLOW},
    ),
    "explore": _spec(
        ("--app", "--db", "--limit", "--name", "--since", "--status"),
        arguments=(None,),
        common=False,
    ),
    "failures": _spec(("--app", "--limit", "--since", "--until")),
    "graph": _spec(arguments=(WORKFLOW,)),
    "history": _spec(("--type", "-t"), ("--all",), arguments=(None,)),
    "metrics": _spec(
        ("--app", "--since", "--stage-type", "--top", "--until"),
        ("--no-cache",),
        {"--stage-type": STAGE_TYPE},
    ),
    "snapshots create": _spec(("--at",), arguments=(WORKFLOW,)),
    "snapshots list": _spec(arguments=(None,)),
    "snapshots prune": _spec(("--keep",), ("--dry-run",)),
    "snapshots show": _spec(arguments=(None,)),
    "snapshots verify": _spec(),
    "state": _spec(("--at", "--at-time"), ("--exit-status",), arguments=(WORKFLOW,)),
    "subscriptions list": _spec(),
    "timeline": _spec(
        ("--export", "--gap"), ("--exit-status", "--failures", "--full"), arguments=(WORKFLOW,)
    ),
    "verify": _spec(("--tolerance",), ("--full",)),
    "workflows": _spec(
        ("--app", "--limit", "--name", "--since", "--status", "--until"),
        options={"--status": STATUS},
    ),
}
"""Every visible command (a group's as ``group sub``) with the parameters it declares."""
GROUPS = frozenset(name.split()[0] for name in COMMANDS if " " in name)
MOVED_VALUED = frozenset({"--profile"})
MOVED_FLAGS = frozenset({"--no-redact"})
"""Root options that may follow the command name (``argv.normalise`` moves them back)."""


class _Unsure(Exception):
    """Typer should answer this one."""


class Wanted(NamedTuple):
    kind: str
    incomplete: str
    db: str | None
    profile: str | None


def split_words(text: str) -> list[str]:
    """As the shell classes split their input (Click's ``split_arg_string``): shlex,
    keeping a last token whose quote is not closed."""
    import shlex  # noqa: PLC0415 - only on Tab

    lex = shlex.shlex(text, posix=True)
    lex.whitespace_split = True
    lex.commenters = ""
    out: list[str] = []
    try:
        out.extend(lex)
    except ValueError:
        out.append(lex.token)
    return out


def _option(token: str, spec: Spec, *, root: bool) -> tuple[str, bool]:
    """The option's name and whether the next token is its value."""
    valued = spec.valued if root else spec.valued | MOVED_VALUED
    flags = spec.flags if root else spec.flags | MOVED_FLAGS
    if token.startswith("--"):
        name, equals, _ = token.partition("=")
        if name in valued:
            return name, not equals
    else:
        name, equals = token[:2], ""
        if name in valued:
            return name, len(token) == 2
    if token in flags and token not in ("--help", "-h") and not equals:
        return token, False
    raise _Unsure(token)


def wanted(args: list[str], incomplete: str) -> Wanted:
    """What is being completed, from the words before it; raises :class:`_Unsure`."""
    if "--" in args or incomplete.startswith("-"):
        raise _Unsure("an option name, or after --")
    found: dict[str, str] = {}
    command: list[str] = []
    positionals = 0
    pending: str | None = None  # an option whose value is the next token
    for token in args:
        if pending is not None:
            found[pending] = token
            pending = None
            continue
        in_group = len(command) == 1 and command[0] in GROUPS
        if token.startswith("-") and token != "-":
            if in_group:
                raise _Unsure(token)
            spec = COMMANDS[" ".join(command)] if command else ROOT
            name, takes_next = _option(token, spec, root=not command)
            if takes_next:
                pending = name
            elif token.startswith(("--db=", "--profile=")):
                found[name] = token.partition("=")[2]
            continue
        if not command or in_group:
            command.append(token)
            if " ".join(command) not in COMMANDS and command[0] not in GROUPS:
                raise _Unsure(token)
            if in_group and " ".join(command) not in COMMANDS:
                raise _Unsure(token)
        else:
            positionals += 1
    leaf = COMMANDS.get(" ".join(command))
    if leaf is None:
        raise _Unsure("no command yet")
    if pending is None and args and args[-1] in leaf.valued:
        raise _Unsure("an option name taken as the value of the one before")  # Click: ambiguous
    if pending is not None:
        kind = leaf.options.get(pending)
    elif positionals < len(leaf.arguments):
        kind = leaf.arguments[positionals]
    else:
        kind = None
    if kind is None:
        raise _Unsure("not a value completed from the data")
    return Wanted(kind, incomplete, found.get("--db"), found.get("--profile"))


def _words(shell: str, environ: Mapping[str, str]) -> tuple[list[str], str]:
    if shell == "bash":
        words = split_words(environ["COMP_WORDS"])
        cword = int(environ["COMP_CWORD"])
        return words[1:cword], words[cword] if cword < len(words) else ""
    typed = environ.get("_TYPER_COMPLETE_ARGS", "")
    args = split_words(typed)[1:]
    if args and not typed.endswith(" "):
        return args[:-1], args[-1]
    return args, ""


def _zsh_escape(text: str) -> str:
    return (
        text.replace('"', '""')
        .replace("'", "''")
        .replace("$", "\\$")
        .replace("`", "\\`")
        .replace(":", r"\\:")
    )


def answer(program: str, environ: Mapping[str, str] = os.environ) -> tuple[str, int] | None:
    """The output and exit status Typer would give this Tab, or None to let Typer answer."""
    variable = "_" + program.replace("-", "_").upper() + "_COMPLETE"
    instruction, _, shell = environ.get(variable, "").partition("_")
    if instruction != "complete" or shell not in ("bash", "zsh", "fish"):
        return None
    if shell == "fish" and environ.get("_TYPER_COMPLETE_FISH_ACTION") not in (
        "get-args",
        "is-args",
    ):
        return None
    try:
        args, incomplete = _words(shell, environ)
        want = wanted(args, incomplete)
    except (_Unsure, KeyError, ValueError, IndexError):
        return None
    # statuses and event types need no database (nor the profile module, 5-30 ms)
    db = database(want.db, want.profile, environ) if want.kind in FROM_DATABASE else DEFAULT_DB
    # Typer keeps only candidates that start with the word as typed, case and all
    found = [c for c in candidates(want.kind, want.incomplete, db) if c.startswith(want.incomplete)]
    if shell == "bash":
        return "\n".join(found) + "\n", 0
    if shell == "zsh":
        if not found:
            return "_files\n", 0
        listed = "\n".join(f'"{_zsh_escape(value)}"' for value in found)
        return f"_arguments '*: :(({listed}))'\n", 0
    if environ["_TYPER_COMPLETE_FISH_ACTION"] == "is-args":
        return "", 0 if found else 1
    return ("\n".join(found) + "\n", 0) if found else ("\n", 0)


def main() -> None:
    """The console scripts' entry point: a Tab on a value is answered here, anything else
    (and every run of a command) goes to the app."""
    name = os.path.basename(sys.argv[0]) if sys.argv else ""
    program = "stabilize-audit" if name.startswith("stabilize-audit") else "stabilize"
    if any(key.endswith("_COMPLETE") for key in os.environ):
        done = answer(program)
        if done is not None:
            sys.stdout.write(done[0])
            sys.stdout.flush()
            sys.exit(done[1])
    from .app import main as app_main  # noqa: PLC0415 - Typer, only when needed

    app_main()
