"""Tables and messages that never mislead: filters that reject typos, pages that say they
are full, states before a workflow existed, ids of the wrong kind, exports that cannot be
written."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from stabilize_cli.queries.workflows import STATUSES

from ..conftest import REAL_DB, sha256
from .conftest import Invoke

FLAKY = "01M8HAZVN51R0GZ2NVTT2DCYFJ"  # events 61-72
TASK = "01M8HB01H7THNFHHYA5FBYMY6E"
STAGE = "01M8HAZVN51R0GZ2NVTT2DCYFF"


def test_workflows_name_keeps_that_name(invoke: Invoke) -> None:
    rows = json.loads(invoke("workflows", "--name", "flaky-api", "--json").stdout)
    assert rows
    assert {r["name"] for r in rows} == {"flaky-api"}
    assert json.loads(invoke("workflows", "--name", "nope", "--json").stdout) == []


@pytest.mark.parametrize("status", ["TERMINL", "done", "FAILED"])
def test_a_status_that_is_not_one_lists_the_valid_ones(invoke: Invoke, status: str) -> None:
    result = invoke("workflows", "--status", status)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "is not a status; use one of: " + ", ".join(STATUSES) in result.stderr


def test_every_status_is_accepted_in_any_case(invoke: Invoke) -> None:
    for status in STATUSES:
        assert invoke("workflows", "--status", status.lower()).exit_code == 0


@pytest.mark.parametrize("fmt", ["table", "json", "ndjson", "csv", "markdown"])
def test_a_full_page_of_events_says_so_on_stderr(invoke: Invoke, fmt: str) -> None:
    result = invoke("events", "-o", fmt)  # 189 events, default --limit 100
    assert result.exit_code == 0
    assert "showing the first 100 matching events; more match" in result.stderr
    exact = invoke("events", "-o", fmt, "--limit", "189")
    assert "more match" not in exact.stderr
    tail = invoke("events", "-o", fmt, "--from-seq", "180", "--limit", "10")
    assert "more match" not in tail.stderr


def test_a_full_reversed_page_says_newest(invoke: Invoke) -> None:
    result = invoke("events", "--reverse", "--limit", "5")
    assert "showing the newest 5 matching events" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_a_full_page_of_workflows_says_so_in_every_format(invoke: Invoke, fmt: str) -> None:
    assert "--limit N for more" in invoke("workflows", "--limit", "2", "-o", fmt).stderr


def test_workflows_csv_has_the_columns_the_readme_names(invoke: Invoke) -> None:
    rows = list(csv.DictReader(io.StringIO(invoke("workflows", "-o", "csv").stdout)))
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for named in ("end_time", "first_sequence", "last_sequence"):
        assert f"`{named}`" in readme
        assert all(row[named] for row in rows if row["status"] != "RUNNING")
    documents = json.loads(invoke("workflows", "--json").stdout)
    assert list(rows[0]) == list(documents[0])


@pytest.mark.parametrize("point", [["--at", "5"], ["--at-time", "2026-11-28T10:00:00"]])
def test_a_state_before_the_workflow_existed_says_so(invoke: Invoke, point: list[str]) -> None:
    table = invoke("state", FLAKY, *point)
    assert table.exit_code == 0
    assert "did not exist yet: its events are 61-72" in table.stdout
    as_json = invoke("state", FLAKY, *point, "--json")
    assert json.loads(as_json.stdout)["status"] is None  # the engine's form, unchanged
    assert "note: as of " in as_json.stderr
    assert "its events are 61-72" in as_json.stderr
    later = invoke("state", FLAKY, "--at", "61")
    assert "did not exist" not in later.stdout + later.stderr


@pytest.mark.parametrize(("entity", "kind"), [(TASK, "task"), (STAGE, "stage")])
@pytest.mark.parametrize("command", [["timeline"], ["state"], ["diff", "*", "1", "2"]])
def test_a_stage_or_task_id_where_a_workflow_belongs_says_whose_it_is(
    invoke: Invoke, entity: str, kind: str, command: list[str]
) -> None:
    argv = [entity if word == "*" else word for word in command]
    if len(argv) == 1:
        argv.append(entity)
    result = invoke(*argv)
    assert result.exit_code == 6
    assert f"is the id of a {kind} of workflow 01M8HB" in result.stderr or (
        f"is the id of a {kind} of workflow {FLAKY}" in result.stderr
    )
    assert f"stabilize history {entity}" in result.stderr


@pytest.mark.parametrize(
    "target", ["/nonexistent-dir/run.svg", "{tmp}", "{tmp}/missing/run.html"], ids=str
)
def test_an_export_that_cannot_be_written_fails_first_with_exit_3(
    invoke: Invoke, tmp_path: Path, target: str
) -> None:
    path = target.format(tmp=tmp_path)
    if path == str(tmp_path):
        path = str(tmp_path / "a-dir.svg")
        Path(path).mkdir()
    before = sha256(REAL_DB)
    result = invoke("timeline", "latest", "--export", path)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: cannot write {path}: ")
    assert sha256(REAL_DB) == before


def test_checking_an_export_path_leaves_no_file_behind_on_failure(
    invoke: Invoke, tmp_path: Path
) -> None:
    result = invoke("timeline", "no-such-workflow", "--export", str(tmp_path / "x.svg"))
    assert result.exit_code == 6
    assert list(tmp_path.iterdir()) == []
