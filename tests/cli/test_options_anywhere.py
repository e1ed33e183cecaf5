"""Root options before or after the command name, for every command (generated), and
profiles from config.toml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from stabilize_cli.cli.app import COMMANDS, SUBCOMMANDS, app
from stabilize_cli.cli.argv import normalise
from stabilize_cli.cli.lazy_commands import command_from
from stabilize_cli.cli.run import NO_REDACT_WARNING

from ..conftest import REAL_DB

COMMAND_ARGS: dict[str, list[str]] = {
    "workflows": [],
    "timeline": ["latest"],
    "state": ["latest"],
    "diff": ["latest", "1", "5"],
    "metrics": ["--no-cache"],
    "failures": [],
    "history": ["latest"],
    "events": ["--limit", "3"],
    "verify": [],
    "snapshots list": [],
    "snapshots verify": [],
    "subscriptions list": [],
    "config show": [],
    "graph": ["latest"],
    "compare": ["latest-failed"],
}
JSON_SPELLINGS = [
    ["--json"],
    ["-o", "json"],
    ["--output", "json"],
    ["--format", "json"],
    ["-f", "json"],
    ["--output=json"],
    ["-ojson"],
]


def run(argv: list[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, argv, prog_name="stabilize", env=env, catch_exceptions=False)


def placed(command: str, option: list[str], before: bool) -> list[str]:
    words = command.split() + COMMAND_ARGS[command]
    return option + words if before else words + option


@pytest.fixture
def config(tmp_path: Path) -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[profiles.small]\ndb = "{REAL_DB}"\n\n[profiles.json]\ndb = "{REAL_DB}"\n'
        'output = "json"\n'
    )
    return {"STABILIZE_CONFIG": str(path)}


def test_every_command_of_the_app_is_in_the_matrix() -> None:
    groups = {name.split()[0] for name in COMMAND_ARGS}
    assert groups == set(COMMANDS) - {"demo", "explore"}  # demo writes; explore is a TUI


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
@pytest.mark.parametrize("command", list(COMMAND_ARGS))
def test_db_in_either_place(command: str, before: bool) -> None:
    result = run(placed(command, ["--db", str(REAL_DB), "--json"], before))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == run(placed(command, ["--db", str(REAL_DB), "--json"], False)).stdout
    missing = run(placed(command, ["--db", "/nonexistent/x.db"], before))
    assert missing.exit_code == (0 if command == "config show" else 3), missing.stderr


@pytest.mark.parametrize("spelling", JSON_SPELLINGS, ids=" ".join)
@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
@pytest.mark.parametrize("command", list(COMMAND_ARGS))
def test_json_in_either_place(command: str, before: bool, spelling: list[str]) -> None:
    result = run(placed(command, [*spelling, "--db", str(REAL_DB)], before))
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
@pytest.mark.parametrize("command", list(COMMAND_ARGS))
def test_no_redact_in_either_place(command: str, before: bool) -> None:
    result = run(placed(command, ["--no-redact", "--db", str(REAL_DB)], before))
    assert result.exit_code == 0, result.stderr
    assert NO_REDACT_WARNING in result.stderr
    plain = run(placed(command, ["--db", str(REAL_DB)], before))
    assert NO_REDACT_WARNING not in plain.stderr


@pytest.mark.parametrize("before", [True, False], ids=["before", "after"])
@pytest.mark.parametrize("command", list(COMMAND_ARGS))
def test_profile_in_either_place(command: str, before: bool, config: dict[str, str]) -> None:
    result = run(placed(command, ["--profile", "json"], before), env=config)
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)  # the profile's db and output were used
    env = {**config, "STABILIZE_PROFILE": "json"}
    assert run(placed(command, [], before), env=env).stdout == result.stdout


def test_command_line_and_environment_beat_the_profile(config: dict[str, str]) -> None:
    table = run(["--profile", "json", "workflows", "-o", "table"], env=config)
    assert table.stdout.startswith("WORKFLOW")
    env = {**config, "STABILIZE_DB": "/nonexistent/y.db"}
    assert run(["--profile", "small", "workflows"], env=env).exit_code == 3


def test_an_unknown_profile_lists_the_known_ones(config: dict[str, str]) -> None:
    result = run(["--profile", "prod", "workflows"], env=config)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no profile 'prod'")
    assert "(profiles: json, small)" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profiles.x\n", "not valid TOML"),
        ("[profiles.x]\ndatabase = 'a'\n", "unknown key 'database'"),
        ("[profiles.x]\n[profiles.x.defaults]\nno-redact = true\n", "cannot turn redaction off"),
    ],
)
def test_a_bad_config_is_one_error_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    result = run(["--profile", "x", "workflows"], env={"STABILIZE_CONFIG": str(path)})
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.count("\n") == 1


def test_profile_defaults_apply_to_commands_that_have_the_option(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f'default_profile = "p"\n[profiles.p]\ndb = "{REAL_DB}"\n'
        "[profiles.p.defaults]\nlimit = 2\nsince = '10000w'\n"
    )
    env = {"STABILIZE_CONFIG": str(path)}
    rows = json.loads(run(["workflows", "--json"], env=env).stdout)
    assert len(rows) == 2
    assert len(json.loads(run(["workflows", "--json", "--limit", "5"], env=env).stdout)) == 5
    assert run(["timeline", "latest"], env=env).exit_code == 0  # no --limit there


def test_a_password_comes_from_the_environment_and_is_never_printed(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[profiles.pg]\ndb = "postgresql://audit@db.example:5432/stab"\npassword_env = "AUDIT_PW"\n'
    )
    env = {"STABILIZE_CONFIG": str(path), "AUDIT_PW": "hunter2-s3cret"}
    for fmt in ("table", "json", "csv"):
        shown = run(["--profile", "pg", "config", "show", "-o", fmt], env=env)
        assert shown.exit_code == 0, shown.stderr
        assert "hunter2" not in shown.stdout + shown.stderr
        assert "$AUDIT_PW (set)" in shown.stdout
        assert "audit:***@db.example" in shown.stdout


def test_config_show_says_where_each_value_came_from(config: dict[str, str]) -> None:
    shown = json.loads(run(["config", "show", "--profile", "small", "--json"], env=config).stdout)
    assert shown["profile"] == "small"
    assert shown["db"] == str(REAL_DB)
    rows = run(["config", "show", "--profile", "small", "-o", "csv"], env=config).stdout
    assert f"db,{REAL_DB},profile" in rows.splitlines()


def test_subcommand_names_are_complete() -> None:
    found: set[str] = set()
    for name, attribute in COMMANDS.items():
        command = command_from(f"stabilize_cli.cli.commands.{name}", attribute, name)()
        if isinstance(command, typer.core.TyperGroup):
            found |= set(command.commands)
            for sub in command.commands.values():
                assert not {p.name for p in sub.params} & SUBCOMMANDS
        else:
            assert not {p.name for p in command.params} & SUBCOMMANDS
    assert found == SUBCOMMANDS


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--db", "x", "workflows"], ["workflows", "--db", "x"]),
        (["state", "WF", "--no-redact"], ["--no-redact", "state", "WF"]),
        (["events", "--profile=p", "-w", "WF"], ["--profile=p", "events", "-w", "WF"]),
        (["-ojson", "snapshots", "list"], ["snapshots", "list", "-ojson"]),
        (["history", "WF", "--", "--no-redact"], ["history", "WF", "--", "--no-redact"]),
        (
            ["--profile", "p", "--json", "metrics", "--top", "3"],
            ["--profile", "p", "metrics", "--top", "3", "--json"],
        ),
    ],
)
def test_normalise(argv: list[str], expected: list[str]) -> None:
    assert normalise(argv) == expected
