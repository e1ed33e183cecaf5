"""`stabilize workflows` on the engine's own database."""

from __future__ import annotations

import csv
import io
import json

from ..conftest import ENGINE_STATUSES, REAL_DB, sha256
from .conftest import Invoke, run_process


def engine_statuses() -> dict[str, str]:
    rows = (line.split() for line in ENGINE_STATUSES.read_text().splitlines() if line.strip())
    return {wf: status for wf, _name, status in rows}


def test_json_lists_every_workflow_with_the_status_the_engine_reported(invoke: Invoke) -> None:
    result = invoke("workflows", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    listed = {w["workflow_id"]: w["status"] for w in json.loads(result.stdout)}
    assert listed == engine_statuses()


def test_rows_are_newest_first(invoke: Invoke) -> None:
    rows = json.loads(invoke("workflows", "--json").stdout)
    firsts = [r["first_sequence"] for r in rows]
    assert firsts == sorted(firsts, reverse=True)


def test_status_filter_is_case_insensitive_and_repeatable(invoke: Invoke) -> None:
    rows = json.loads(
        invoke("workflows", "--status", "terminal", "--status", "CANCELED", "--json").stdout
    )
    expected = {wf for wf, s in engine_statuses().items() if s in ("TERMINAL", "CANCELED")}
    assert {r["workflow_id"] for r in rows} == expected


def test_app_filter_and_limit(invoke: Invoke) -> None:
    rows = json.loads(invoke("workflows", "--app", "app-4", "--json").stdout)
    assert {r["name"] for r in rows} == {"flaky-api"}
    assert len(rows) == 2
    assert len(json.loads(invoke("workflows", "--limit", "3", "--json").stdout)) == 3


def test_since_and_until_select_by_start_time(invoke: Invoke) -> None:
    rows = json.loads(invoke("workflows", "--json").stdout)
    middle = sorted(r["start_time"] for r in rows)[7]
    later = json.loads(invoke("workflows", "--since", middle, "--json").stdout)
    earlier = json.loads(invoke("workflows", "--until", middle, "--json").stdout)
    assert len(later) == 7
    assert len(earlier) == 8


def test_reversed_time_range_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("workflows", "--since", "2026-12-01", "--until", "2026-01-01")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert result.stdout == ""


def test_csv_has_a_header_and_one_row_per_workflow(invoke: Invoke) -> None:
    result = invoke("workflows", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 14
    assert {r["workflow_id"]: r["status"] for r in rows} == engine_statuses()


def test_ndjson_is_one_object_per_line(invoke: Invoke) -> None:
    lines = invoke("workflows", "-f", "ndjson").stdout.splitlines()
    assert len(lines) == 14
    assert all(json.loads(line)["workflow_id"] for line in lines)


def test_json_and_a_row_format_together_are_a_usage_error(invoke: Invoke) -> None:
    assert invoke("workflows", "--json", "--format", "csv").exit_code == 2


def test_missing_database_is_one_line_and_exit_3_and_creates_nothing(
    invoke: Invoke, tmp_path
) -> None:
    missing = tmp_path / "nope.db"
    result = invoke("workflows", db=missing)
    assert result.exit_code == 3
    assert result.stderr == f"error: {missing}: no such file\n"
    assert not missing.exists()


def test_the_real_process_lists_workflows_and_leaves_the_database_alone() -> None:
    before = sha256(REAL_DB)
    done = run_process("workflows", "--db", str(REAL_DB), "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("\n") == 15
    assert sha256(REAL_DB) == before


def test_a_full_page_says_on_stderr_that_there_may_be_more(invoke: Invoke) -> None:
    result = invoke("workflows", "--limit", "3")
    assert len(result.stdout.splitlines()) == 4  # a header and three unwrapped rows
    assert result.stderr == "showing the newest 3 workflows; --limit N for more\n"
    assert invoke("workflows", "--limit", "3", "--json").stderr == result.stderr
