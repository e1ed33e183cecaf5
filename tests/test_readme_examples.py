"""Every example in the README is what the command prints today.

A fenced block that starts with ``$ `` is run as written (with its ``COLUMNS=80`` when it
has one, else piped, as the README was made), from the repository's root, on the bundled
fixtures, and its output must equal the rest of the block, stdout then stderr. Trailing
spaces are not compared: the README cannot keep them. To refresh an example, run its
command and paste the output.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
EXAMPLES = re.findall(r"^```\n(\$ [^\n]*)\n(.*?)^```$", README, re.MULTILINE | re.DOTALL)


def run_example(command: str, cache: Path) -> subprocess.CompletedProcess[str]:
    words = shlex.split(command.removeprefix("$ "))
    env = {k: v for k, v in os.environ.items() if not k.startswith("STABILIZE_")}
    env.pop("COLUMNS", None)
    env.update(STABILIZE_CONFIG=str(cache / "no-config.toml"), STABILIZE_CACHE_DIR=str(cache))
    while "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == "stabilize", command
    return subprocess.run(
        [sys.executable, "-m", "stabilize_cli", *words[1:]],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _name(command: str) -> str:
    """The subcommand an example runs: the word after ``stabilize``."""
    words = shlex.split(command)
    return words[words.index("stabilize") + 1]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


@pytest.mark.parametrize(("command", "shown"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_the_readme_example_is_what_the_command_prints(
    command: str, shown: str, tmp_path: Path
) -> None:
    done = run_example(command, tmp_path)
    assert done.returncode == 0, done.stderr
    assert _lines(done.stdout + done.stderr) == _lines(shown)


def test_the_examples_at_80_columns_fit_80_columns() -> None:
    narrow = [(c, s) for c, s in EXAMPLES if c.startswith("$ COLUMNS=80 ")]
    shown = {_name(c) for c, _ in narrow}
    assert {"workflows", "metrics", "failures", "diff", "state"} <= shown
    for command, output in narrow:
        assert all(len(line) <= 80 for line in _lines(output)), command


def test_the_readme_has_examples_of_every_kind_of_output() -> None:
    """Not vacuous: the pattern above finds the README's examples."""
    commands = {_name(c) for c, _ in EXAMPLES}
    assert {"workflows", "timeline", "graph", "compare", "history", "metrics"} <= commands
    assert len(EXAMPLES) >= 12
