"""Root options wherever people put them, decided once for every command.

``stabilize state WF --no-redact`` and ``stabilize --db x.db workflows`` are both habits
(kubectl, docker, Temporal). Before Click parses, the root's own options typed after the
command name move in front of it, and the options every data command has, typed before the
command name, move behind it (so the command's own precedence applies: command line, then
environment, then profile, then the default). Nothing after ``--`` moves.
"""

from __future__ import annotations

from collections.abc import Sequence

ROOT_FLAGS = frozenset({"--no-redact"})
ROOT_VALUED = frozenset({"--profile"})
COMMAND_FLAGS = frozenset({"--json"})
COMMAND_VALUED = frozenset({"--db", "--output", "-o", "--format", "-f"})
"""Declared by every command that reads a store (see ``options.py``)."""


def _name(token: str) -> str:
    return token.split("=", 1)[0] if token.startswith("--") else token


def _takes_value(token: str, valued: frozenset[str]) -> bool:
    """``--db x`` takes the next token; ``--db=x`` and ``-ojson`` carry theirs."""
    return token in valued


def _is(token: str, names: frozenset[str]) -> bool:
    if _name(token) in names:
        return True
    # -ojson / -fjson: a short option with its value attached
    return any(token.startswith(n) and len(token) > 2 for n in names if len(n) == 2)


def normalise(args: Sequence[str]) -> list[str]:
    """``args`` (without the program name) with root options before the command name and
    shared command options after it."""
    tokens = list(args)
    end = tokens.index("--") if "--" in tokens else len(tokens)
    head, rest = tokens[:end], tokens[end:]
    root: list[str] = []
    moved: list[str] = []
    command_at: int | None = None
    i = 0
    out: list[str] = []
    while i < len(head):
        token = head[i]
        if command_at is None:
            if _is(token, COMMAND_VALUED | COMMAND_FLAGS):
                width = 2 if _takes_value(token, COMMAND_VALUED) else 1
                moved += head[i : i + width]
                i += width
                continue
            if _takes_value(token, ROOT_VALUED):
                root += head[i : i + 2]
                i += 2
                continue
            if not token.startswith("-"):
                command_at = len(root)
            (root if command_at is None else out).append(token)
            i += 1
            continue
        if _is(token, ROOT_FLAGS | ROOT_VALUED):
            width = 2 if _takes_value(token, ROOT_VALUED) else 1
            root += head[i : i + width]
            i += width
            continue
        out.append(token)
        i += 1
    return root + out + moved + rest
