"""The command as a whole: help, version, exit codes, the engine's commands, entry points."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import typer
from typer.main import get_command

from stabilize_cli import __version__
from stabilize_cli.cli.app import COMMANDS, ENGINE_COMMANDS, app
from stabilize_cli.cli.exit_codes import MEANINGS
from stabilize_cli.events import EventRecorder, SqliteEventStore, WorkflowRecord

from ..conftest import REAL_DB
from .conftest import Invoke, run_process


def all_commands() -> list[tuple[str, object]]:
    """Every visible command, subcommands of groups included, as (path, click command)."""
    root = get_command(app)
    found: list[tuple[str, object]] = []

    def walk(prefix: str, group: object) -> None:
        for name, command in getattr(group, "commands", {}).items():
            if getattr(command, "hidden", False):
                continue
            path = f"{prefix} {name}".strip()
            if getattr(command, "commands", None):
                walk(path, command)
            else:
                found.append((path, command))

    walk("", root)
    return found


def test_version_prints_the_package_version(invoke: Invoke) -> None:
    result = invoke("--version", db=None)
    assert (result.exit_code, result.stdout) == (0, f"stabilize-cli {__version__}\n")


def test_help_lists_every_exit_code(invoke: Invoke) -> None:
    result = invoke("--help", db=None)
    assert result.exit_code == 0
    for code, meaning in MEANINGS.items():
        assert f"{int(code):>3}  {meaning}" in result.stdout


@pytest.mark.parametrize("path", [p for p, _ in all_commands()])
def test_every_command_has_help_text(path: str, invoke: Invoke) -> None:
    result = invoke(*path.split(), "--help", db=None)
    assert result.exit_code == 0
    assert "Usage:" in result.stdout
    command = dict(all_commands())[path]
    assert (getattr(command, "help", None) or "").strip(), f"{path} has no docstring"


@pytest.mark.parametrize("name", sorted(ENGINE_COMMANDS))
def test_an_engine_command_gets_a_hint_and_exit_2(name: str, invoke: Invoke) -> None:
    result = invoke(name, "--anything", db=None)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: '{name}' is a command of the Stabilize engine")
    assert result.stdout == ""


def test_an_unknown_command_is_a_usage_error_without_traceback(invoke: Invoke) -> None:
    result = invoke("no-such-command", db=None)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_python_dash_m_runs_the_same_app() -> None:
    done = run_process("--version")
    assert (done.returncode, done.stdout) == (0, f"stabilize-cli {__version__}\n")


def test_the_app_is_a_typer_app_with_locals_hidden_from_tracebacks() -> None:
    assert isinstance(app, typer.Typer)
    assert app.pretty_exceptions_show_locals is False


def test_an_ascii_only_terminal_gets_escapes_instead_of_an_encoding_error(tmp_path) -> None:
    db = tmp_path / "unicode.db"
    with SqliteEventStore(str(db)) as store:
        recorder = EventRecorder(store, publish_to_bus=False)
        recorder.record_workflow_created(WorkflowRecord(id="W1", application="é", name="déploi"))
    done = run_process("workflows", "--db", str(db), env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert "d\\xe9ploi" in done.stdout
    assert done.stderr == ""


def test_sigterm_unwinds_and_removes_the_private_copy_of_the_database(tmp_path) -> None:
    db, private = tmp_path / "idle-wal.db", tmp_path / "private"
    private.mkdir()
    db.write_bytes(REAL_DB.read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    assert not (tmp_path / "idle-wal.db-wal").exists()
    # An empty -wal without -shm (as a crashed writer may leave): always read via a copy.
    (tmp_path / "idle-wal.db-wal").touch()
    env = {**os.environ, "TMPDIR": str(private)}
    follower = subprocess.Popen(
        [sys.executable, "-m", "stabilize_cli", "events", "--follow", "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    deadline = time.monotonic() + 20
    while not list(private.glob("*/snapshot.db")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(private.glob("*/snapshot.db")), "the follower never made its private copy"
    time.sleep(0.5)  # let it reach its polling loop
    follower.send_signal(signal.SIGTERM)
    _, stderr = follower.communicate(timeout=20)
    assert follower.returncode == 128 + signal.SIGTERM
    assert "Traceback" not in stderr
    assert list(private.iterdir()) == []


REPORT_COMMAND_MODULES = """
import sys
from stabilize_cli.cli.app import main
try:
    main()
except SystemExit:
    pass
prefix = "stabilize_cli.cli.commands."
loaded = sorted(m[len(prefix):] for m in sys.modules if m.startswith(prefix))
print("LOADED:" + ",".join(loaded), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("args", "loaded"),
    [
        (["--version"], ""),
        (["timeline", "latest"], "timeline"),
        (["subscriptions", "list"], "subscriptions"),
        (["mg-up"], ""),
        (["--help"], ",".join(sorted(COMMANDS))),
    ],
)
def test_a_run_imports_the_module_of_its_command_only(args: list[str], loaded: str) -> None:
    """Every start (every Tab too) would otherwise import and build all commands."""
    done = subprocess.run(
        [sys.executable, "-c", REPORT_COMMAND_MODULES, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "STABILIZE_DB": str(REAL_DB)},
        timeout=60,
        check=False,
    )
    assert done.stderr.splitlines()[-1] == f"LOADED:{loaded}", done.stderr


def test_help_lists_the_commands_in_registration_order(invoke: Invoke) -> None:
    result = invoke("--help", db=None)
    rows = [line.strip("│ ").split(" ", 1)[0] for line in result.stdout.splitlines()]
    listed = [word for word in rows if word in COMMANDS or word in ENGINE_COMMANDS]
    assert listed == list(COMMANDS)


@pytest.mark.parametrize("path", ["workflows", "timeline", "snapshots list", "subscriptions"])
def test_only_the_root_offers_the_completion_options(path: str, invoke: Invoke) -> None:
    result = invoke(*path.split(), "--help", db=None)
    assert result.exit_code == 0
    assert "--install-completion" not in result.stdout
    assert "--show-completion" not in result.stdout


def test_an_engine_command_with_a_completion_option_still_gets_the_hint(invoke: Invoke) -> None:
    result = invoke("mg-up", "--show-completion", db=None)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: 'mg-up' is a command of the Stabilize engine")
