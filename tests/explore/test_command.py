"""`stabilize explore` as a command: the errors it can meet before the app starts, and
that nothing but this command loads Textual."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stabilize_cli.cli.app import app
from stabilize_cli.cli.commands import explore as command

from ..conftest import REAL_DB


def run(*args: str) -> Any:
    return CliRunner().invoke(app, ["explore", *args], catch_exceptions=False)


def test_without_textual_it_says_how_to_install_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def missing(name: str, *args: Any) -> Any:
        return None if name == "textual" else real(name, *args)

    monkeypatch.setattr(command.importlib.util, "find_spec", missing)
    result = run("--db", str(REAL_DB))
    assert result.exit_code == 2
    assert result.stderr == (
        "error: stabilize explore needs the optional 'tui' extra (Textual): "
        "pip install 'stabilize-cli[tui]'\n"
    )
    assert result.stdout == ""


def test_without_a_terminal_it_refuses_in_one_line() -> None:
    result = run("--db", str(REAL_DB))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: stabilize explore needs a terminal")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--db", "/nonexistent/x.db"), 3, "error: /nonexistent/x.db: no such file\n"),
        (("nope", "--db", str(REAL_DB)), 6, "error: no workflow 'nope' in the store\n"),
        (
            ("--db", str(REAL_DB), "--since", "yesterday"),
            2,
            None,
        ),
    ],
)
def test_a_bad_database_workflow_or_option_is_said_before_the_app_starts(
    args: tuple[str, ...], code: int, message: str | None
) -> None:
    result = run(*args)
    assert result.exit_code == code
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1
    if message is not None:
        assert result.stderr == message


def test_the_audited_database_is_left_as_it_was(tmp_path: Path) -> None:
    copy = tmp_path / "real.db"
    copy.write_bytes(REAL_DB.read_bytes())
    run("latest", "--db", str(copy))
    assert copy.read_bytes() == REAL_DB.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["real.db"]


def test_importing_the_cli_does_not_import_textual() -> None:
    code = (
        "import sys, stabilize_cli.cli.app as a; "
        "a.app  # noqa\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual',) "
        "or m.startswith('stabilize_cli.explore')))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert output.strip() == "[]"


def test_explore_help_does_not_import_textual() -> None:
    code = (
        "import sys\n"
        "from stabilize_cli.cli.app import main\n"
        "sys.argv = ['stabilize', 'explore', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write(str('textual' in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert "Explore the store interactively" in result.stdout
    assert result.stderr == "False"
