"""`stabilize history` on the engine's own database and on small hand-made stores."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events import EntityType, Event, EventMetadata, EventType, SqliteEventStore
from stabilize_cli.events.base import RAW_EVENT_TYPE_KEY

from ..conftest import ENGINE_REPORT, REAL_DB, sha256
from .conftest import Invoke, run_process
from .rendered import shown

RETRIED_TASK = "01M8HB01H7THNFHHYA5FBYMY6E"
FAILED_WORKFLOW = "01M8HAZSBBC9YVRF09H4BCF2ZP"
RETRY_WORKFLOW = "01M8HB01H8HTPRK0G9SR6K69M2"
SHARED_ID = "01SHAREDSHAREDSHAREDSHARED"
PAYLOAD = "[link=http://x]click[/link]\x1b]8;;http://evil\x07 [red]boom[/] \u202e"


def _engine_entities() -> list[tuple[str, str, str]]:
    report = json.loads(ENGINE_REPORT.read_text())
    return [
        (wf, *key.split(":"))
        for wf, facts in report["workflows"].items()
        for key in facts["entity_histories"]
    ]


def _snapshot_text(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.splitlines()) + "\n"


def _event(entity_type: EntityType, entity_id: str, kind: EventType, **data: Any) -> Event:
    return Event(
        event_type=kind,
        entity_type=entity_type,
        entity_id=entity_id,
        workflow_id="01WORKFLOWWORKFLOWWORKFLOW",
        version=1,
        data=data,
        metadata=EventMetadata(correlation_id="01WORKFLOWWORKFLOWWORKFLOW"),
    )


@pytest.fixture
def shared_id_db(tmp_path: Path) -> Path:
    """A store where a stage and a task carry the same id."""
    path = tmp_path / "shared.db"
    with SqliteEventStore(str(path)) as store:
        store.append_batch(
            [
                _event(EntityType.STAGE, SHARED_ID, EventType.STAGE_STARTED, name="Build"),
                _event(EntityType.TASK, SHARED_ID, EventType.TASK_STARTED, name="Compile"),
            ]
        )
    return path


@pytest.fixture
def hostile_db(tmp_path: Path) -> Path:
    """A task whose payload holds markup, an OSC 8 link, BEL and a bidi override."""
    path = tmp_path / "hostile.db"
    with SqliteEventStore(str(path)) as store:
        store.append_batch(
            [
                _event(EntityType.TASK, "01HOSTILE", EventType.TASK_FAILED, error=PAYLOAD),
                _event(
                    EntityType.TASK,
                    "01HOSTILE",
                    EventType.UNKNOWN,
                    **{RAW_EVENT_TYPE_KEY: "custom.deployed", "target": "prod"},
                ),
            ]
        )
    return path


@pytest.mark.parametrize(("workflow_id", "entity_type", "entity_id"), _engine_entities())
def test_json_is_the_history_the_engine_reported(
    invoke: Invoke,
    engine_report: dict[str, Any],
    workflow_id: str,
    entity_type: str,
    entity_id: str,
) -> None:
    result = invoke("history", entity_id, "--type", entity_type, "--json")
    assert result.exit_code == 0, result.stderr
    histories = engine_report["workflows"][workflow_id]["entity_histories"]
    events = json.loads(result.stdout)
    causes = [e.pop("cause") for e in events if "cause" in e]  # ours, beside the engine's
    assert events == histories[f"{entity_type}:{entity_id}"]
    failed = [e for e in events if e["event_type"] in ("stage.failed", "task.failed")]
    assert len(causes) == len(failed)


def test_json_without_type_finds_the_entity_and_writes_nothing_on_stderr(
    invoke: Invoke, engine_report: dict[str, Any]
) -> None:
    result = invoke("history", RETRIED_TASK, "--json")
    assert result.exit_code == 0
    assert result.stderr == ""
    histories = engine_report["workflows"][RETRY_WORKFLOW]["entity_histories"]
    assert json.loads(result.stdout) == histories[f"task:{RETRIED_TASK}"]


def test_table_of_the_retried_task(invoke: Invoke, snapshot: Any) -> None:
    result = invoke("history", RETRIED_TASK)
    assert result.exit_code == 0, result.stderr
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "history"
    snapshot.assert_match(_snapshot_text(result.stdout), "retried_task.txt")


def test_table_of_a_failed_workflow(invoke: Invoke, snapshot: Any) -> None:
    result = invoke("history", FAILED_WORKFLOW)
    assert result.exit_code == 0, result.stderr
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "history"
    snapshot.assert_match(_snapshot_text(result.stdout), "failed_workflow.txt")


def test_table_of_every_event_of_a_workflow(invoke: Invoke, snapshot: Any) -> None:
    result = invoke("history", RETRY_WORKFLOW, "--all")
    assert result.exit_code == 0, result.stderr
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "history"
    snapshot.assert_match(_snapshot_text(result.stdout), "workflow_all.txt")


def test_a_workflow_history_holds_only_the_workflow_entitys_events(
    invoke: Invoke, engine_report: dict[str, Any]
) -> None:
    rows = json.loads(invoke("history", FAILED_WORKFLOW, "--json").stdout)
    assert {r["entity_type"] for r in rows} == {"workflow"}
    histories = engine_report["workflows"][FAILED_WORKFLOW]["entity_histories"]
    assert rows == histories[f"workflow:{FAILED_WORKFLOW}"]


def test_all_lists_every_event_of_the_workflow_in_sequence_order(
    invoke: Invoke, engine_report: dict[str, Any]
) -> None:
    rows = json.loads(invoke("history", RETRY_WORKFLOW, "--all", "--json").stdout)
    assert [r["sequence"] for r in rows] == engine_report["workflows"][RETRY_WORKFLOW]["sequences"]
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as store:
        assert rows == [e.to_dict() for e in store.get_events_for_workflow(RETRY_WORKFLOW)]


def test_all_on_a_task_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("history", RETRIED_TASK, "--all")
    assert result.exit_code == 2
    assert result.stderr == f"error: --all is for workflows; '{RETRIED_TASK}' is a task\n"


def test_an_unknown_id_is_exit_6_with_one_line(invoke: Invoke) -> None:
    result = invoke("history", "01NOSUCHENTITY")
    assert result.exit_code == 6
    assert result.stderr == "error: no workflow, stage or task '01NOSUCHENTITY' in the store\n"
    assert result.stdout == ""


def test_a_type_the_id_does_not_have_is_exit_6_and_names_the_one_it_has(invoke: Invoke) -> None:
    result = invoke("history", RETRIED_TASK, "--type", "stage")
    assert result.exit_code == 6
    assert result.stderr == (
        f"error: no stage '{RETRIED_TASK}' in the store (it is the id of a task)\n"
    )


def test_an_id_shared_by_a_stage_and_a_task_needs_type(invoke: Invoke, shared_id_db: Path) -> None:
    result = invoke("history", SHARED_ID, db=shared_id_db)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: '{SHARED_ID}' is the id of a stage and a task: say which with --type\n"
    )


def test_type_picks_one_of_two_entities_sharing_an_id(invoke: Invoke, shared_id_db: Path) -> None:
    stage = json.loads(
        invoke("history", SHARED_ID, "-t", "stage", "--json", db=shared_id_db).stdout
    )
    task = json.loads(invoke("history", SHARED_ID, "-t", "TASK", "--json", db=shared_id_db).stdout)
    assert [e["event_type"] for e in stage] == ["stage.started"]
    assert [e["event_type"] for e in task] == ["task.started"]


def test_csv_holds_the_table_rows(invoke: Invoke) -> None:
    result = invoke("history", RETRIED_TASK, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == [
        "sequence",
        "timestamp",
        "event_type",
        "version",
        "actor",
        "source_handler",
        "summary",
    ]
    assert [r["event_type"] for r in rows] == [
        "task.started",
        "task.retried",
        "task.retried",
        "task.completed",
    ]
    assert rows[2]["summary"] == 'attempt=2 last_error=null name="Call Call API"'


def test_ndjson_is_one_engine_event_per_line(invoke: Invoke, engine_report: dict[str, Any]) -> None:
    lines = invoke("history", RETRIED_TASK, "-f", "ndjson").stdout.splitlines()
    histories = engine_report["workflows"][RETRY_WORKFLOW]["entity_histories"]
    assert [json.loads(line) for line in lines] == histories[f"task:{RETRIED_TASK}"]


def test_an_unknown_event_type_shows_its_raw_name(invoke: Invoke, hostile_db: Path) -> None:
    result = invoke("history", "01HOSTILE", db=hostile_db)
    assert result.exit_code == 0, result.stderr
    assert "custom.deployed" in result.stdout
    assert "unknown.event" not in result.stdout


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_hostile_payloads_are_shown_literally_and_inert(
    invoke: Invoke, hostile_db: Path, fmt: str
) -> None:
    result = invoke("history", "01HOSTILE", "-f", fmt, db=hostile_db, env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.stderr
    assert "[link=http://x]click[/link]" in shown(result.stdout, fmt)
    assert "[red]boom[/]" in shown(result.stdout, fmt)
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in result.stdout


def test_the_real_process_prints_the_history_and_leaves_the_database_alone() -> None:
    before = sha256(REAL_DB)
    done = run_process("history", RETRIED_TASK, "--db", str(REAL_DB), "-f", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.count("\n") == 5
    assert sha256(REAL_DB) == before


def test_history_takes_latest_and_a_workflow_prefix_like_other_commands(invoke: Invoke) -> None:
    latest = json.loads(invoke("history", "latest", "--json").stdout)
    by_prefix = json.loads(invoke("history", "01M8HB08C9", "--json").stdout)
    assert latest == by_prefix
    assert {e["entity_id"] for e in latest} == {"01M8HB08C9H7SYB8SPXPFPZ44M"}


def test_a_narrow_terminal_drops_actor_and_handler_but_keeps_sequence_and_ids(
    invoke: Invoke,
) -> None:
    result = invoke("history", "01M8HB01H8HTPRK0G9SR6K69M2", "--all", env={"COLUMNS": "80"})
    header = result.stdout.splitlines()[1]
    assert header.split()[:2] == ["SEQ", "TIME"]
    assert "HANDLER" not in header
    assert all(len(line) <= 80 for line in result.stdout.splitlines()[1:])
    assert "01M8HB01H7THNFHHYA5FBYMY6E" in result.stdout
