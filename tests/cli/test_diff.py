"""`stabilize diff WF SEQ1 SEQ2`: what changed in a workflow's state between two sequences."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events.base import EntityType, EventType
from stabilize_cli.events.replay import EventReplayer
from stabilize_cli.events.store.sqlite import SqliteEventStore

from ..conftest import ENGINE_STATUSES, REAL_DB, sha256
from .conftest import Invoke, make_event, run_process

WORKFLOWS = [line.split()[0] for line in ENGINE_STATUSES.read_text().splitlines() if line.strip()]
FAILED = "01M8HAZSBBC9YVRF09H4BCF2ZP"
PAYLOAD = "[red]boom[/] \x1b[2J \u202e [link=https://evil.example]x[/link]"
WF = "wf-diff"
LONG = "x" * 500


event = functools.partial(make_event, workflow_id=WF)


@pytest.fixture
def payload_db(tmp_path: Path) -> Path:
    """Sequences 1-2 start a stage named with a payload; 3 completes it with long outputs."""
    path = tmp_path / "diff.db"
    store = SqliteEventStore(str(path))
    try:
        store.append_batch(
            [
                event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, WF, 0, context={}),
                event(EventType.STAGE_STARTED, EntityType.STAGE, "st-1", 1, name=PAYLOAD),
                event(
                    EventType.STAGE_COMPLETED,
                    EntityType.STAGE,
                    "st-1",
                    2,
                    outputs={"log": LONG, "note": PAYLOAD},
                ),
            ]
        )
    finally:
        store.close()
    return path


def pinned(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.splitlines()) + "\n"


def diff_json(invoke: Invoke, *args: str, db: Path = REAL_DB) -> dict[str, Any]:
    result = invoke("diff", *args, "--json", db=db)
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_json_before_and_after_are_the_engines_compare_states(
    invoke: Invoke, engine_report: dict[str, Any], workflow_id: str
) -> None:
    expected = engine_report["workflows"][workflow_id]["compare"]
    span = expected["sequence_range"]
    document = diff_json(invoke, workflow_id, str(span["from"]), str(span["to"]))
    assert (document["before"], document["after"]) == (expected["before"], expected["after"])
    assert (document["from_sequence"], document["to_sequence"]) == (span["from"], span["to"])
    assert document["workflow_id"] == workflow_id


@pytest.mark.parametrize("workflow_id", WORKFLOWS)
def test_json_changes_are_the_librarys(
    invoke: Invoke, engine_report: dict[str, Any], workflow_id: str
) -> None:
    span = engine_report["workflows"][workflow_id]["compare"]["sequence_range"]
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as store:
        library = EventReplayer(store).compare_states(workflow_id, span["from"], span["to"])
    document = diff_json(invoke, workflow_id, str(span["from"]), str(span["to"]))
    assert document["changes"] == library["changes"]
    assert document["changes"], "the engine's two states differ"


def test_the_tree_is_pinned(invoke: Invoke, snapshot: Any) -> None:
    result = invoke("diff", FAILED, "3", "10")
    assert result.exit_code == 0, result.stderr
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "diff"
    snapshot.assert_match(pinned(result.stdout), "failed-3-10.txt")


def test_equal_sequences_have_no_changes(invoke: Invoke) -> None:
    assert diff_json(invoke, FAILED, "5", "5")["changes"] == []
    assert "no changes" in invoke("diff", FAILED, "5", "5").stdout


def test_a_reversed_range_is_a_usage_error_naming_both(invoke: Invoke) -> None:
    result = invoke("diff", FAILED, "10", "3")
    assert result.exit_code == 2
    assert result.stderr == "error: SEQ2 (3) is before SEQ1 (10): give the earlier one first\n"
    assert result.stdout == ""


def test_a_negative_sequence_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("diff", "--db", str(REAL_DB), "--", FAILED, "-1", "3", db=None)
    assert result.exit_code == 2
    assert result.stderr == "error: SEQ1 must not be negative (got -1)\n"


def test_a_sequence_beyond_sqlite_integers_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("diff", FAILED, "1", str(2**63))
    assert result.exit_code == 2
    assert result.stderr == f"error: SEQ2 must be at most 2^63-1 (got {2**63})\n"


def test_a_non_integer_sequence_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("diff", FAILED, "three", "10")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr


def test_long_values_are_cut_in_the_tree_but_whole_in_json(
    invoke: Invoke, payload_db: Path
) -> None:
    tree = invoke("diff", WF, "2", "3", db=payload_db, env={"COLUMNS": "400"}).stdout
    assert "+ log: " + "x" * 200 + "\u2026 (300 more characters)\n" in tree
    assert "x" * 201 not in tree
    changes = diff_json(invoke, WF, "2", "3", db=payload_db)["changes"]
    assert {"path": ["stages", "st-1", "outputs"], "op": "added", "before": None,
            "after": {"log": LONG, "note": PAYLOAD}} in changes  # fmt: skip


def test_markup_and_escapes_in_names_and_values_are_shown_literally(
    invoke: Invoke, payload_db: Path
) -> None:
    result = invoke("diff", WF, "1", "3", db=payload_db)
    assert result.exit_code == 0, result.stderr
    assert "[red]boom[/]" in result.stdout
    assert "[link=https://evil.example]x[/link]" in result.stdout
    assert "\x1b" not in result.stdout
    assert "\u202e" not in result.stdout


def test_an_unknown_workflow_is_exit_6(invoke: Invoke) -> None:
    result = invoke("diff", "nope", "1", "2")
    assert result.exit_code == 6
    assert result.stderr == "error: no workflow 'nope' in the store\n"


def test_latest_resolves_to_the_newest_workflow(invoke: Invoke) -> None:
    assert diff_json(invoke, "latest", "0", "1000")["workflow_id"] == "01M8HB08C9H7SYB8SPXPFPZ44M"


def test_an_ascii_terminal_gets_ascii_arrows() -> None:
    done = run_process(
        "diff", FAILED, "3", "10", "--db", str(REAL_DB), env={"PYTHONIOENCODING": "ascii"}
    )
    assert done.returncode == 0, done.stderr
    assert "status: RUNNING -> SUCCEEDED" in done.stdout


def test_the_real_process_diffs_and_changes_nothing() -> None:
    before = sha256(REAL_DB)
    done = run_process("diff", FAILED, "3", "10", "--json", "--db", str(REAL_DB))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["from_sequence"] == 3
    assert sha256(REAL_DB) == before
