"""An error the explorer does not handle ends as the project's one line, exit 70: never
Textual's crash report, which prints every frame's local variables (rows as the database
holds them, unredacted). Run as a real process, its stderr as a user sees it; the
process pretends to have a terminal and runs the app headless."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ..conftest import REAL_DB
from .conftest import FAILED

SECRET = "sk_live_Qm7Zt2Vx9Lp4Wc8N"

DRIVER = textwrap.dedent(
    f"""
    import sys, types
    from stabilize_cli.cli import app as cli
    from stabilize_cli.cli.commands import explore as command
    from stabilize_cli.explore import app as explorer
    from stabilize_cli.explore.app import ExploreApp
    from stabilize_cli.explore.source import ExploreSource
    from textual.app import App

    hook = sys.argv.pop(1)
    terminal = types.SimpleNamespace(isatty=lambda: True)
    command.sys = types.SimpleNamespace(stdin=terminal, stdout=terminal)
    real_run = explorer.run_explorer

    def headless(source, workflow_id=None):
        real_run(source, workflow_id, headless=True, size=(100, 30))

    explorer.run_explorer = headless

    def damage_text(self):
        token = "{SECRET}"  # a local: Textual's report would print it
        raise RuntimeError("the title could not be drawn")

    ExploreSource.damage_text = damage_text
    if hook == "no-hook":  # a Textual without the private hook: nothing noted
        ExploreApp._handle_exception = App._handle_exception
    sys.argv[0] = "stabilize"
    cli.main()
    """
)


def crash(hook: str, *args: str, debug: bool = False) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STABILIZE_DEBUG"}
    if debug:
        env["STABILIZE_DEBUG"] = "1"
    return subprocess.run(
        [sys.executable, "-c", DRIVER, hook, "explore", *args, "--db", str(REAL_DB)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("args", [(), (FAILED,)], ids=["runs", "a-run"])
def test_an_unhandled_error_is_one_line_and_exit_70(args: tuple[str, ...]) -> None:
    result = crash("hook", *args)
    assert result.returncode == 70, result.stderr[-2000:]
    assert result.stderr == (
        "error: internal error (ExplorerCrashedError: the explorer stopped on RuntimeError); "
        "rerun with STABILIZE_DEBUG=1 for the traceback\n"
    )
    assert SECRET not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_without_textuals_private_hook_it_is_still_one_line() -> None:
    """The tested fallback: the crash is told from the public ``return_code`` alone."""
    result = crash("no-hook")
    assert result.returncode == 70, result.stderr[-2000:]
    assert result.stderr == (
        "error: internal error (ExplorerCrashedError: the explorer stopped on an error); "
        "rerun with STABILIZE_DEBUG=1 for the traceback\n"
    )
    assert SECRET not in result.stdout + result.stderr


def test_the_debug_traceback_shows_no_local_variable() -> None:
    result = crash("hook", debug=True)
    assert result.returncode != 0
    assert "RuntimeError: the title could not be drawn" in result.stderr  # the cause, chained
    assert "ExplorerCrashedError" in result.stderr
    assert SECRET not in result.stdout + result.stderr
