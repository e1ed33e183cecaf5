"""Only the user's input exits 2; a bug is one 'internal error' line, exit 70, and a hint."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from stabilize_cli.cli.app import app
from stabilize_cli.cli.exit_codes import ExitCode, help_table
from stabilize_cli.queries import workflows as workflow_queries

from ..conftest import REAL_DB


def broken(*args: object, **kwargs: object) -> None:
    raise ValueError("a bug deep inside")


@pytest.mark.parametrize("kind", [ValueError, KeyError, TypeError, RuntimeError])
def test_a_bug_is_exit_70_with_a_hint(monkeypatch: pytest.MonkeyPatch, kind: type) -> None:
    def fails(*args: object, **kwargs: object) -> None:
        raise kind("a bug deep inside")

    monkeypatch.setattr(workflow_queries, "list_workflows", fails)
    result = CliRunner().invoke(app, ["workflows", "--db", str(REAL_DB)], env={})
    assert result.exit_code == ExitCode.INTERNAL == 70
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: internal error ({kind.__name__}: ")
    assert line.endswith("rerun with STABILIZE_DEBUG=1 for the traceback")


def test_stabilize_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workflow_queries, "list_workflows", broken)
    result = CliRunner().invoke(
        app, ["workflows", "--db", str(REAL_DB)], env={"STABILIZE_DEBUG": "1"}
    )
    assert isinstance(result.exception, ValueError)
    assert "internal error" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["workflows", "--db", ":memory:"], 2),
        (["workflows", "--json", "--format", "csv"], 2),
        (["events", "--follow", "--json"], 2),
        (["workflows", "--limit", "-1"], 2),
    ],
)
def test_input_errors_stay_exit_2(argv: list[str], code: int) -> None:
    if "--db" not in argv:
        argv = [*argv, "--db", str(REAL_DB)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == code, result.stderr
    assert "internal error" not in result.stderr


def test_the_exit_code_table_has_70_and_no_blank_lines() -> None:
    table = help_table()
    assert " 70  internal error" in table
    assert "\n\n" not in table
