"""If Typer renames the private names this tool uses for speed, the app still works."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stabilize_cli.cli import typer_private

from ..conftest import REAL_DB

HIDE = """
import builtins, sys
real_import = builtins.__import__

def renamed(name, globals=None, locals=None, fromlist=(), level=0):
    # As if Typer had renamed its private modules: only our one module is refused them.
    caller = (globals or {}).get("__name__", "")
    if caller == "stabilize_cli.cli.typer_private" and (name.startswith("typer._") or
            (name == "typer.core" and "_TyperParameter" in (fromlist or ()))):
        raise ImportError(f"cannot import {name}")
    return real_import(name, globals, locals, fromlist, level)

builtins.__import__ = renamed
from stabilize_cli.cli import typer_private
assert not typer_private.AVAILABLE, "the private names were still found"
from stabilize_cli.cli.app import main
sys.argv = ["stabilize", *sys.argv[1:]]
main()
"""

ROOT = Path(__file__).resolve().parents[2]


def plain_typer(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HIDE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )


def test_the_private_names_are_found_with_the_pinned_typer() -> None:
    assert typer_private.AVAILABLE


@pytest.mark.parametrize(
    "argv",
    [
        ["workflows", "--json"],
        ["timeline", "latest", "--json"],
        ["metrics", "--json", "--no-cache"],
        ["events", "--limit", "5", "--json"],
        ["--json", "history", "latest"],
    ],
    ids=" ".join,
)
def test_without_them_commands_give_the_same_answers(argv: list[str]) -> None:
    slow = plain_typer(*argv, "--db", str(REAL_DB))
    assert slow.returncode == 0, slow.stderr
    fast = subprocess.run(
        [sys.executable, "-m", "stabilize_cli", *argv, "--db", str(REAL_DB)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert json.loads(slow.stdout) == json.loads(fast.stdout)


def test_without_them_input_errors_still_exit_2_and_help_still_shows() -> None:
    assert plain_typer("workflows", "--limit", "many", "--db", str(REAL_DB)).returncode == 2
    assert plain_typer("workflows", "--no-such-option").returncode == 2
    shown = plain_typer("events", "--help")
    assert shown.returncode == 0
    assert "--since" in shown.stdout
    assert "<bool>" not in shown.stdout
