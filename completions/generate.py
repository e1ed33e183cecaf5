"""Regenerate the shell completion scripts from the app: ``python completions/generate.py``.

The scripts are Typer's own (the ``_STABILIZE_COMPLETE=source_<shell>`` route), thin shims
that re-run ``stabilize`` at every Tab, with one exception: Typer's zsh script begins with
a blank line, and an ``$fpath`` file only loads when ``#compdef`` is its first line, so
``_stabilize`` is the two-line form (``#compdef stabilize`` and the completion call).
``tests/cli/test_completions.py`` fails when the committed files differ from these.

Install: bash ``source completions/stabilize.bash`` (or copy it into
``~/.local/share/bash-completion/completions/stabilize``); zsh: put ``_stabilize`` in a
directory on ``$fpath`` before ``compinit``; fish: copy ``stabilize.fish`` into
``~/.config/fish/completions/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from typer.testing import CliRunner

from stabilize_cli.cli.app import app

HERE = Path(__file__).resolve().parent
PROGRAMS = ("stabilize", "stabilize-audit")
"""Both entry points: where the engine's own package owns ``stabilize``, people type
``stabilize-audit``, and Tab must work there too."""
FILES = {
    name: (program, shell)
    for program in PROGRAMS
    for name, shell in (
        (f"{program}.bash", "bash"),
        (f"_{program}", "zsh"),
        (f"{program}.fish", "fish"),
    )
}


def complete_var(program: str) -> str:
    """Click's variable for ``program``: ``_STABILIZE_AUDIT_COMPLETE``."""
    return "_" + program.replace("-", "_").upper() + "_COMPLETE"


def typer_script(shell: str, program: str = "stabilize") -> str:
    """What ``_STABILIZE_COMPLETE=source_<shell> stabilize`` prints (or its stabilize-audit
    equivalent)."""
    env = {complete_var(program): f"source_{shell}"}
    result = CliRunner().invoke(app, [], prog_name=program, env=env)
    if result.exit_code != 0 or not result.stdout.strip():
        raise RuntimeError(f"source_{shell} failed ({result.exit_code}): {result.output}")
    return result.stdout


def zsh_fpath_file(script: str, program: str = "stabilize") -> str:
    """The ``eval`` line of Typer's zsh function, under ``#compdef`` on line 1."""
    evals = [line.strip() for line in script.splitlines() if line.strip().startswith("eval ")]
    if len(evals) != 1:
        raise RuntimeError(f"expected one eval line in Typer's zsh script, found {len(evals)}")
    return f"#compdef {program}\n{evals[0]}\n"


def render(name: str) -> str:
    """The committed content of one file (one trailing newline, LF only)."""
    program, shell = FILES[name]
    script = typer_script(shell, program)
    return zsh_fpath_file(script, program) if shell == "zsh" else script.strip() + "\n"


def main() -> int:
    for name in FILES:
        path = HERE / name
        path.write_text(render(name), encoding="utf-8", newline="\n")
        sys.stderr.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
