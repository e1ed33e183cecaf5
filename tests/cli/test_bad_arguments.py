"""Bad arguments through the real CLI (reliability matrix, BI "Arguments").

Values our code checks give exactly one ``error:`` line and the documented exit code; the
database is never touched. Cases already pinned elsewhere are not repeated: ``events``'
negative, reversed and oversized sequence/limit values (test_events.py), unknown history
ids (test_history.py), ``events -f ndjson | head -1`` (test_events.py).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stabilize_cli.events import EntityType, Event, EventMetadata, EventType, SqliteEventStore

from ..conftest import REAL_DB, sha256
from .conftest import Invoke, run_process
from .test_bad_input import assert_error_line, assert_one_error

WF = "01M8HAZVN51R0GZ2NVTT2DCYFJ"
TOO_BIG = str(2**63)
FOLLOW = (sys.executable, "-m", "stabilize_cli", "events", "--follow")
REVERSED = ["--since", "2026-12-01", "--until", "2026-11-01"]

CHECKED = [
    (["diff", WF, "10", "5"], 2, "SEQ2 (5) is before SEQ1 (10): give the earlier one first"),
    (["metrics", *REVERSED], 2, "--since is after --until"),
    (["failures", *REVERSED], 2, "--since is after --until"),
    (["workflows", *REVERSED], 2, "--since is after --until"),
    (["state", WF, "--at", "-1"], 2, "--at must not be negative (got -1)"),
    (["metrics", "--top", "-1"], 2, "--top must not be negative (got -1)"),
    (["failures", "--limit", "-1"], 2, "--limit must not be negative (got -1)"),
    (["state", WF, "--at", TOO_BIG], 2, f"--at must be at most 2^63-1 (got {TOO_BIG})"),
    (["diff", WF, "1", TOO_BIG], 2, f"SEQ2 must be at most 2^63-1 (got {TOO_BIG})"),
    (["events", "--from-seq", TOO_BIG], 2, f"--from-seq must be at most 2^63-1 (got {TOO_BIG})"),
    (["state", WF, "--at", "1", "--at-time", "2026-11-28"], 2, "--at and --at-time cannot"),
    (["timeline", "01NOPE"], 6, "no workflow '01NOPE' in the store"),
    (["state", "01NOPE"], 6, "no workflow '01NOPE' in the store"),
    (["diff", "01NOPE", "1", "2"], 6, "no workflow '01NOPE' in the store"),
    (["snapshots", "show", "999999"], 6, "no snapshot 999999 in the store"),
    (["timeline", "latest", "--export", str(REAL_DB)], 2, "would overwrite the database"),
    (["timeline", "latest", "--export", f"{REAL_DB}-wal"], 2, "would overwrite the database"),
    (["timeline", "latest", "--export", f"{REAL_DB}-journal"], 2, "would overwrite the database"),
]


@pytest.mark.parametrize(("args", "code", "fragment"), CHECKED, ids=str)
def test_a_bad_value_is_one_error_line_and_its_exit_code(
    invoke: Invoke, args: list[str], code: int, fragment: str
) -> None:
    before = sha256(REAL_DB)
    assert_one_error(invoke(*args), code, fragment)
    assert sha256(REAL_DB) == before


# Typer parses these itself and prints its usage box; the code and stdout are right.
PARSED_BY_TYPER = [
    (["events", "--since", "last tuesday"], "--since"),
    (["state", WF, "--at-time", "not a time"], "--at-time"),
    (["workflows", "--limit", "-1"], "--limit"),
    (["events", "--limit", "many"], "--limit"),
    (["diff", WF, "-1", "5"], "-1"),
]


@pytest.mark.parametrize(("args", "named"), PARSED_BY_TYPER, ids=str)
def test_a_value_typer_cannot_parse_is_exit_2_naming_it_without_output(
    invoke: Invoke, args: list[str], named: str
) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert named in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("args", "named"), PARSED_BY_TYPER[:2], ids=str)
def test_a_value_typer_cannot_parse_is_one_error_line(
    invoke: Invoke, args: list[str], named: str
) -> None:
    assert_error_line(invoke(*args).stderr, named)


# -- ids are matched exactly, never with LIKE ----------------------------------------------


def _workflow_events(workflow_id: str) -> list[Event]:
    return [
        Event(
            event_type=kind,
            entity_type=EntityType.WORKFLOW,
            entity_id=workflow_id,
            workflow_id=workflow_id,
            version=version,
            data={"application": "app", "name": workflow_id} if version == 1 else {},
            metadata=EventMetadata(correlation_id=workflow_id),
        )
        for version, kind in ((1, EventType.WORKFLOW_CREATED), (2, EventType.WORKFLOW_STARTED))
    ]


@pytest.fixture
def wildcard_db(tmp_path: Path) -> Path:
    """Workflows 'abc' and 'a%z': a LIKE match of 'a_c' or 'a%' would find them."""
    path = tmp_path / "wildcards.db"
    with SqliteEventStore(str(path)) as store:
        store.append_batch(_workflow_events("abc") + _workflow_events("a%z"))
    return path


@pytest.mark.parametrize(
    "args",
    [["timeline", "a_c"], ["state", "a_"], ["events", "--workflow", "a_c"], ["history", "a_c"]],
    ids=" ".join,
)
def test_an_underscore_in_an_id_is_not_a_wildcard(
    invoke: Invoke, wildcard_db: Path, args: list[str]
) -> None:
    result = invoke(*args, db=wildcard_db)
    assert result.exit_code == 6
    assert_error_line(result.stderr, "a_")


def test_a_percent_sign_is_a_literal_prefix(invoke: Invoke, wildcard_db: Path) -> None:
    result = invoke("state", "a%", "--json", db=wildcard_db)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["workflow_id"] == "a%z"


def test_a_percent_sign_matches_nothing_else(invoke: Invoke, wildcard_db: Path) -> None:
    assert_one_error(invoke("timeline", "%", db=wildcard_db), 6, "no workflow '%' in the store")


# -- the process and its terminal ----------------------------------------------------------


def test_stdout_closed_before_any_output_ends_quietly_with_141() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "stabilize_cli", "workflows", "--db", str(REAL_DB)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")


def test_ctrl_c_is_exit_130_with_one_line_and_no_traceback() -> None:
    process = subprocess.Popen(
        [*FOLLOW, "--interval", "0.05", "--db", str(REAL_DB)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline()  # following: the backlog is out
        time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 130
    assert err == "interrupted\n"


PLAIN_TERMINAL = {"LANG": "C", "LC_ALL": "C", "TERM": "dumb", "PYTHONIOENCODING": ""}


def test_a_c_locale_dumb_terminal_gets_plain_output_without_escape_codes() -> None:
    done = run_process("timeline", WF, "--db", str(REAL_DB), env=PLAIN_TERMINAL)
    assert (done.returncode, done.stderr) == (0, "")
    assert WF in done.stdout
    assert "\x1b" not in done.stdout


def test_a_c_locale_error_naming_a_unicode_path_is_one_line(tmp_path: Path) -> None:
    done = run_process("workflows", "--db", str(tmp_path / "dätä ☃.db"), env=PLAIN_TERMINAL)
    assert done.returncode == 3
    assert_error_line(done.stderr, "no such file")
