"""Rows the library cannot decode (reliability matrix, BI "Rows"), through the real CLI.

Each case is the engine's database with one column of one event (sequence 65, the
``task.completed`` of task ...YFE in workflow ...YFJ) rewritten the way a foreign writer,
a bug or tampering might leave it. ``events`` and ``history`` show such a row as stored,
marked ``unreadable``; replay-based commands leave it out, say so in one warning line,
mark their output incomplete and exit 4. Nothing ever shows ``{}`` or the current time
in its place.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events import EventQuery, SqliteEventStore
from stabilize_cli.events.state import apply_event, empty_state

from ..conftest import REAL_DB
from .conftest import Invoke

WF = "01M8HAZVN51R0GZ2NVTT2DCYFJ"
TASK = "01M8HAZVN51R0GZ2NVTT2DCYFE"
SEQ = 65
FAILED_WF = "01M8HAZSBBC9YVRF09H4BCF2ZP"
VERIFY_HINT = "run 'stabilize verify' for every finding"

UNREADABLE = {
    "malformed JSON": ("data", '\'{"status": "SUCCEEDED",\'', "not valid JSON", '{"status"'),
    "non-object JSON": ("data", "'[1, 2]'", "JSON is not an object (a list)", "[1, 2]"),
    "byte order mark": (
        "data",
        "char(65279) || '{}'",
        "not valid JSON (starts with a byte order mark)",
        "\\ufeff{}",
    ),
    "BLOB payload": ("data", "X'7B7D'", "stored as a BLOB, not JSON text", "X'7B7D'"),
    "BLOB actor": ("actor", "X'41FF'", "stored as a BLOB, not text", "X'41FF'"),
    "version as text": ("version", "'two'", "stored as text, not an integer", "two"),
    "unknown entity type": ("entity_type", "'gadget'", "unknown entity type", "gadget"),
    "invalid timestamp": ("timestamp", "'yesterday'", "not an ISO 8601 time", "yesterday"),
    "timestamp as a BLOB": ("timestamp", "X'00'", "stored as a BLOB, not text", "X'00'"),
    "5,000-digit integer": (
        "data",
        "'{\"n\": 1' || printf('%.5000d', 0) || '}'",
        "not readable JSON (an integer with more than 4300 digits)",
        '{"n": 1000',
    ),
    "100k-deep nesting": (
        "data",
        "'{\"a\": ' || replace(printf('%.100000d', 0), '0', '[') || "
        "replace(printf('%.100000d', 0), '0', ']') || '}'",
        "not valid JSON (nested too deeply to read)",
        '{"a": [[[',
    ),
}
CASES = [pytest.param(*value, id=key) for key, value in UNREADABLE.items()]


def rewritten(tmp_path: Path, assignment: str, where: str = f"sequence = {SEQ}") -> Path:
    """A copy of the engine's database with ``UPDATE events SET <assignment> WHERE ...``."""
    path = tmp_path / "rewritten.db"
    shutil.copyfile(REAL_DB, path)
    conn = sqlite3.connect(path)
    conn.execute(f"UPDATE events SET {assignment} WHERE {where}")
    conn.commit()
    conn.close()
    return path


def _one_warning(stderr: str, *fragments: str) -> None:
    (line,) = stderr.splitlines()
    assert line.startswith("warning: ")
    for fragment in fragments:
        assert fragment in line


def _by_sequence(items: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {item["sequence"]: item for item in items}


# -- events and history: shown as stored, marked ----------------------------------------


@pytest.mark.parametrize(("column", "value", "reason", "raw"), CASES)
def test_history_json_shows_an_unreadable_row_as_stored_and_marked(
    invoke: Invoke, tmp_path: Path, column: str, value: str, reason: str, raw: str
) -> None:
    db = rewritten(tmp_path, f"{column} = {value}")
    result = invoke("history", WF, "--all", "--json", db=db)
    assert result.exit_code == 0, result.stderr
    shown = _by_sequence(json.loads(result.stdout))
    assert sorted(shown) == list(range(61, 73))
    row = shown[SEQ]
    assert row["unreadable"]["column"] == column
    assert row["unreadable"]["reason"] == reason
    assert row["unreadable"]["raw"] == row[column]
    assert row["event_id"] == "01M8HAZVTS5R9QVC4B7E83METT"
    assert "metadata" not in row  # the table's columns as stored, not the engine's form
    assert shown[SEQ + 1]["data"]["status"] == "SUCCEEDED"  # the rows around it: decoded
    _one_warning(result.stderr, f"event {SEQ} could not be read ({column}: {reason})")


@pytest.mark.parametrize(("column", "value", "reason", "raw"), CASES)
def test_history_table_marks_an_unreadable_row_and_shows_its_raw_value(
    invoke: Invoke, tmp_path: Path, column: str, value: str, reason: str, raw: str
) -> None:
    db = rewritten(tmp_path, f"{column} = {value}")
    result = invoke("history", WF, "--all", db=db, env={"COLUMNS": "400"})
    assert result.exit_code == 0
    (line,) = [line for line in result.stdout.splitlines() if line.lstrip().startswith("65 ")]
    assert f"unreadable {column}: {reason}; raw: {raw}" in line


@pytest.mark.parametrize(("column", "value", "reason", "raw"), CASES)
def test_events_ndjson_and_csv_carry_the_unreadable_row_in_its_place(
    invoke: Invoke, tmp_path: Path, column: str, value: str, reason: str, raw: str
) -> None:
    db = rewritten(tmp_path, f"{column} = {value}")
    lines = invoke("events", "--workflow", WF, "-f", "ndjson", db=db).stdout.splitlines()
    assert [json.loads(line)["sequence"] for line in lines] == list(range(61, 73))
    assert json.loads(lines[SEQ - 61])["unreadable"]["reason"] == reason
    rows = list(csv.DictReader(io.StringIO(invoke("events", "-f", "csv", db=db).stdout)))
    assert rows[SEQ - 1]["summary"].startswith(f"unreadable {column}: {reason}; raw: ")


def test_a_long_unreadable_value_is_cut_in_the_summary_and_whole_in_json(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = rewritten(tmp_path, "data = '{' || printf('%.50000d', 7)")
    summary = invoke("events", "-f", "csv", "--from-seq", "65", "--to-seq", "65", db=db).stdout
    assert "… (50001 characters)" in summary
    assert len(summary) < 1000
    (row,) = json.loads(invoke("events", "--json", "--from-seq", "65", db=db).stdout)[:1]
    assert row["data"] == "{" + "0" * 49999 + "7"


# -- replay-based commands: what they can, marked incomplete, exit 4 ---------------------


def _state_without(sequence: int) -> dict[str, Any]:
    """The library's fold of the workflow's events but one, on the untouched database."""
    state = empty_state(WF)
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as store:
        for event in store.get_events(EventQuery(workflow_id=WF, limit=1000)):
            if event.sequence != sequence:
                apply_event(state, event)
    return state


@pytest.mark.parametrize(("column", "value", "reason", "raw"), CASES)
def test_state_leaves_the_unreadable_event_out_and_says_so(
    invoke: Invoke, tmp_path: Path, column: str, value: str, reason: str, raw: str
) -> None:
    db = rewritten(tmp_path, f"{column} = {value}")
    result = invoke("state", WF, "--json", db=db)
    assert result.exit_code == 4
    document = json.loads(result.stdout)
    assert document.pop("incomplete") is True
    assert document.pop("unreadable_sequences") == [SEQ]
    assert document == _state_without(SEQ)
    assert document["tasks"][TASK]["status"] == "RUNNING"  # its completion was not invented
    _one_warning(result.stderr, f"event {SEQ} could not be read", "output incomplete", VERIFY_HINT)


@pytest.mark.parametrize(
    "args",
    [["timeline", WF], ["state", WF], ["diff", WF, "61", "70"], ["metrics"]],
    ids=lambda args: args[0],
)
def test_a_replay_command_marks_its_json_incomplete_and_exits_4(
    invoke: Invoke, tmp_path: Path, args: list[str]
) -> None:
    db = rewritten(tmp_path, "data = '{oops'")
    result = invoke(*args, "--json", db=db)
    assert result.exit_code == 4
    document = json.loads(result.stdout)
    assert (document["incomplete"], document["unreadable_sequences"]) == (True, [SEQ])
    _one_warning(result.stderr, "event 65 could not be read (data: not valid JSON)")


@pytest.mark.parametrize(
    "args",
    [["timeline", WF], ["state", WF], ["diff", WF, "61", "70"], ["metrics"]],
    ids=lambda args: args[0],
)
def test_a_replay_command_ends_its_table_with_an_incomplete_line(
    invoke: Invoke, tmp_path: Path, args: list[str]
) -> None:
    db = rewritten(tmp_path, "data = '{oops'")
    result = invoke(*args, db=db)
    assert result.exit_code == 4
    last = result.stdout.rstrip().splitlines()[-1]
    assert last == "INCOMPLETE: event 65 could not be read and left out"


def test_an_incomplete_timeline_shows_the_rest_and_never_invents_the_missing_end(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = rewritten(tmp_path, "data = '{oops'")
    whole = invoke("timeline", WF).stdout.splitlines()
    shown = invoke("timeline", WF, db=db).stdout.splitlines()
    assert shown[:2] == whole[:2]
    top = next(i for i, line in enumerate(whole) if line.startswith(("├", "└")))  # tree start
    words = [line.split() for line in (*shown[top + 2 : top + 4], *whole[top + 2 : top + 4])]
    assert words[:2] == words[2:]  # the other stage and its task, as on the whole store
    (task,) = [line for line in shown if "Run Prepare" in line]
    assert task.split()[4:7] == ["RUNNING", "+0.05s", "running"]


def test_failures_with_an_unreadable_failure_event_exits_4_with_a_whole_json_list(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = rewritten(tmp_path, "data = 'not json'", where="sequence = 10")
    result = invoke("failures", "--json", db=db)
    assert result.exit_code == 4
    assert isinstance(json.loads(result.stdout), list)  # no room for a mark in a list
    _one_warning(result.stderr, "event 10 could not be read", "output incomplete")


def test_a_readable_store_says_nothing_and_exits_0(invoke: Invoke) -> None:
    result = invoke("state", WF, "--json")
    assert (result.exit_code, result.stderr) == (0, "")
    assert "incomplete" not in json.loads(result.stdout)
