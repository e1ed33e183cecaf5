"""`stabilize state`: the rebuilt state, now or as of a sequence or a time."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events.base import EntityType, EventType
from stabilize_cli.events.store.sqlite import SqliteEventStore

from ..conftest import ENGINE_STATUSES, REAL_DB, sha256
from .conftest import Invoke, make_event, run_process

WORKFLOWS = [line.split()[0] for line in ENGINE_STATUSES.read_text().splitlines() if line.strip()]
FAILED = "01M8HAZSBBC9YVRF09H4BCF2ZP"
SUCCEEDED = "01M8HAZVN51R0GZ2NVTT2DCYFJ"
CANCELED = "01M8HAZYWT69QYJS5TWX7ZPJGG"
PAYLOAD = "[red]boom[/] \x1b[2J \u202e [link=https://evil.example]x[/link]"
WF = "wf-state"


event = functools.partial(make_event, workflow_id=WF)


@pytest.fixture
def running_db(tmp_path: Path) -> Path:
    """Created, started, one stage started, with untrusted text in names and context."""
    path = tmp_path / "running.db"
    store = SqliteEventStore(str(path))
    try:
        store.append_batch(
            [
                event(EventType.WORKFLOW_CREATED, EntityType.WORKFLOW, WF, 0, name=PAYLOAD),
                event(
                    EventType.WORKFLOW_STARTED,
                    EntityType.WORKFLOW,
                    WF,
                    1,
                    context={PAYLOAD: {"nested": PAYLOAD}, "items": [{"k": PAYLOAD}]},
                ),
                event(EventType.STAGE_STARTED, EntityType.STAGE, "st-1", 2, name=PAYLOAD),
            ]
        )
    finally:
        store.close()
    return path


def pinned(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.splitlines()) + "\n"


def state_json(invoke: Invoke, *args: str) -> dict[str, Any]:
    result = invoke("state", *args, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def engine_fields(document: dict[str, Any]) -> dict[str, Any]:
    """The state without the real causes added beside the engine's fields."""
    stages = document.get("stages") or {}
    for stage in stages.values():
        stage.pop("cause", None)
    return document


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_json_is_the_engines_rebuilt_state(
    invoke: Invoke, engine_report: dict[str, Any], workflow_id: str
) -> None:
    expected = engine_report["workflows"][workflow_id]["state"]
    assert engine_fields(state_json(invoke, workflow_id)) == expected


def test_a_failed_stage_carries_its_real_cause_from_the_engines_tables(invoke: Invoke) -> None:
    stages = state_json(invoke, "01M8HB0192C39KFA3JFF10TM4D")["stages"]
    causes = {s["status"]: s.get("cause") for s in stages.values()}
    assert causes["TERMINAL"]["summary"] == "KeyError: 'missing'"
    assert causes["TERMINAL"]["source"] == "stage_executions.context"


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_json_at_a_sequence_is_the_engines_state_as_of_it(
    invoke: Invoke, engine_report: dict[str, Any], workflow_id: str
) -> None:
    for sequence, expected in engine_report["workflows"][workflow_id]["states_as_of"].items():
        assert engine_fields(state_json(invoke, workflow_id, "--at", sequence)) == expected


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_json_at_a_time_is_the_engines_time_travel(
    invoke: Invoke, engine_report: dict[str, Any], workflow_id: str
) -> None:
    for when, expected in engine_report["workflows"][workflow_id]["time_travel"].items():
        assert state_json(invoke, workflow_id, "--at-time", when) == expected, when


def test_at_before_the_first_event_gives_the_empty_state(invoke: Invoke) -> None:
    document = state_json(invoke, CANCELED, "--at", "1")
    assert document["status"] is None
    assert (document["stages"], document["tasks"], document["context"]) == ({}, {}, {})


def test_the_tree_is_pinned(invoke: Invoke, snapshot: Any) -> None:
    result = invoke("state", FAILED)
    assert result.exit_code == 0, result.stderr
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "state"
    snapshot.assert_match(pinned(result.stdout), "failed.txt")


def test_the_tree_as_of_a_sequence_is_pinned(invoke: Invoke, snapshot: Any) -> None:
    result = invoke("state", FAILED, "--at", "6")
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "state"
    snapshot.assert_match(pinned(result.stdout), "failed-at-6.txt")


def test_at_and_at_time_together_are_a_usage_error(invoke: Invoke) -> None:
    result = invoke("state", FAILED, "--at", "3", "--at-time", "2026-11-28T15:04:42")
    assert result.exit_code == 2
    assert result.stderr == "error: --at and --at-time cannot be used together\n"
    assert result.stdout == ""


def test_a_negative_at_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("state", FAILED, "--at", "-1")
    assert result.exit_code == 2
    assert result.stderr == "error: --at must not be negative (got -1)\n"


def test_an_at_beyond_sqlite_integers_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("state", FAILED, "--at", str(2**63))
    assert result.exit_code == 2
    assert result.stderr == f"error: --at must be at most 2^63-1 (got {2**63})\n"


def test_a_malformed_at_time_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("state", FAILED, "--at-time", "yesterday")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("workflow_id", "code"), [(FAILED, 1), (CANCELED, 1), (SUCCEEDED, 0)])
def test_exit_status_says_how_the_workflow_ended(
    invoke: Invoke, workflow_id: str, code: int
) -> None:
    result = invoke("state", workflow_id, "--exit-status")
    assert result.exit_code == code
    assert result.stdout.startswith(workflow_id)


def test_exit_status_of_a_running_workflow_is_8(invoke: Invoke, running_db: Path) -> None:
    assert invoke("state", WF, "--exit-status", db=running_db).exit_code == 8


def test_exit_status_as_of_a_mid_run_sequence_is_8(invoke: Invoke) -> None:
    assert invoke("state", FAILED, "--at", "6", "--exit-status").exit_code == 8


def test_markup_and_escapes_in_names_and_context_are_shown_literally(
    invoke: Invoke, running_db: Path
) -> None:
    result = invoke("state", WF, db=running_db)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("[red]boom[/]") == 5
    assert "[link=https://evil.example]x[/link]" in result.stdout
    assert "\\x1b[2J" in result.stdout
    assert "\x1b" not in result.stdout
    assert "\u202e" not in result.stdout


def test_json_keeps_the_payload_exact_and_ascii(invoke: Invoke, running_db: Path) -> None:
    result = invoke("state", WF, "--json", db=running_db)
    assert json.loads(result.stdout)["name"] == PAYLOAD
    assert "\x1b" not in result.stdout


def test_a_prefix_resolves_to_the_workflow(invoke: Invoke) -> None:
    assert state_json(invoke, "01M8HAZSBB")["workflow_id"] == FAILED


def test_an_unknown_workflow_is_exit_6(invoke: Invoke) -> None:
    result = invoke("state", "nope")
    assert result.exit_code == 6
    assert result.stderr == "error: no workflow 'nope' in the store\n"


def test_the_real_process_prints_json_and_changes_nothing() -> None:
    before = sha256(REAL_DB)
    done = run_process("state", "latest-failed", "--json", "--db", str(REAL_DB))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "TERMINAL"
    assert done.stderr == ""
    assert sha256(REAL_DB) == before
