"""`stabilize verify`: a clean engine store reports nothing; each tampering, exactly once."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events import EntityType, Event, EventType, SqliteEventStore

from ..conftest import REAL_DB, sha256
from .conftest import Invoke, run_process

WF_85 = "(SELECT workflow_id FROM events WHERE sequence = 85)"
WF_87 = "(SELECT workflow_id FROM events WHERE sequence = 87)"


def tamper(db: Path, *statements: str) -> Path:
    """Change the file with plain sqlite3, as an intruder or a bad migration would."""
    conn = sqlite3.connect(db)
    with conn:
        for statement in statements:
            conn.execute(statement)
    conn.close()
    return db


def audit(invoke: Invoke, db: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = invoke("verify", "--json", *args, db=db)
    assert result.stderr == "" or result.exit_code == 4, result.stderr
    return result.exit_code, json.loads(result.stdout)


def test_the_engine_database_verifies_clean_with_no_findings_at_all(
    invoke: Invoke, engine_report: dict[str, Any]
) -> None:
    code, report = audit(invoke, REAL_DB)
    assert code == 0
    assert report == {
        "ok": True,
        "checked": {"events": engine_report["count_events"], "snapshots": 0, "subscriptions": 0},
        "findings": [],
        "incomplete": False,
    }


def test_the_full_integrity_check_also_finds_the_engine_database_clean(invoke: Invoke) -> None:
    code, report = audit(invoke, REAL_DB, "--full")
    assert (code, report["findings"]) == (0, [])


ANOMALIES = {
    "invalid JSON data": (
        ["UPDATE events SET data = '{\"rows\": 1' WHERE sequence = 50"],
        ("error", "data-not-object", [50]),
        1,
    ),
    "data that is a JSON list": (
        ["UPDATE events SET data = '[1, 2]' WHERE sequence = 50"],
        ("error", "data-not-object", [50]),
        1,
    ),
    "unknown event type": (
        ["UPDATE events SET event_type = 'stage.exploded' WHERE sequence IN (24, 50)"],
        ("warning", "unknown-event-type", [24, 50]),
        0,
    ),
    "unknown entity type": (
        ["UPDATE events SET entity_type = 'gizmo' WHERE sequence = 24"],
        ("error", "unknown-entity-type", [24]),
        1,
    ),
    "unreadable timestamp": (
        ["UPDATE events SET timestamp = 'yesterday' WHERE sequence = 50"],
        ("error", "bad-timestamp", [50]),
        1,
    ),
    "version going backwards": (
        ["UPDATE events SET version = 1 WHERE sequence = 24"],
        ("error", "version-backwards", [18, 24]),
        1,
    ),
    "event before workflow.created": (
        [f"UPDATE events SET workflow_id = {WF_87} WHERE sequence = 85"],
        ("error", "before-created", [85, 87]),
        1,
    ),
    "event after the terminal event": (
        [f"UPDATE events SET workflow_id = {WF_85} WHERE sequence = 89"],
        ("error", "after-terminal", [86, 89]),
        1,
    ),
    "timestamp backwards beyond the tolerance": (
        ["UPDATE events SET timestamp = '2026-11-28T15:00:00+00:00' WHERE sequence = 50"],
        ("warning", "timestamp-backwards", [49, 50]),
        0,
    ),
    "sequence gap": (
        ["DELETE FROM events WHERE sequence = 50"],
        ("info", "sequence-gap", [49, 51]),
        0,
    ),
    "deleted tail": (
        ["DELETE FROM events WHERE sequence = 189"],
        ("warning", "deleted-tail", [188]),
        0,
    ),
    "event_id not a ULID": (
        ["UPDATE events SET event_id = 'evt-50' WHERE sequence = 50"],
        ("warning", "bad-event-id", [50]),
        0,
    ),
    "event_id out of time order": (
        ["UPDATE events SET event_id = '01AAAAAAAAAAAAAAAAAAAAAAAA' WHERE sequence = 50"],
        ("warning", "event-id-out-of-order", [49, 50]),
        0,
    ),
    "dangling causation_id": (
        ["UPDATE events SET causation_id = '01M8HAZZZZZZZZZZZZZZZZZZZZ' WHERE sequence = 50"],
        ("warning", "dangling-causation", [50]),
        0,
    ),
    "tampered snapshot hash": (
        [
            "INSERT INTO snapshots (entity_type, entity_id, workflow_id, version, sequence, "
            "state, state_hash) VALUES ('workflow', 'wf', 'wf', 3, 11, '{\"a\": 1}', "
            f"'{'0' * 64}')"
        ],
        ("error", "bad-snapshot", [11]),
        1,
    ),
    "snapshot state with duplicate keys": (
        [
            "INSERT INTO snapshots (entity_type, entity_id, workflow_id, version, sequence, "
            "state, state_hash) VALUES ('workflow', 'wf', 'wf', 3, 11, '{\"a\": 1, \"a\": 2}', "
            "'x')"
        ],
        ("error", "bad-snapshot", [11]),
        1,
    ),
    "subscription ahead of the store": (
        ["INSERT INTO event_subscriptions (id, last_sequence) VALUES ('sub', 500)"],
        ("error", "subscription-ahead", [189, 500]),
        1,
    ),
    "negative subscription position": (
        ["INSERT INTO event_subscriptions (id, last_sequence) VALUES ('sub', -3)"],
        ("error", "subscription-negative", [-3]),
        1,
    ),
    "subscription position not a number": (
        ["INSERT INTO event_subscriptions (id, last_sequence) VALUES ('sub', 'twelve')"],
        ("error", "subscription-not-a-number", []),
        1,
    ),
}


@pytest.mark.parametrize("case", sorted(ANOMALIES))
def test_each_anomaly_is_reported_exactly_once_with_its_sequences(
    invoke: Invoke, real_db_copy: Path, case: str
) -> None:
    statements, (severity, code, sequences), exit_code = ANOMALIES[case]
    status, report = audit(invoke, tamper(real_db_copy, *statements))
    found = [(f["severity"], f["code"], f["sequences"]) for f in report["findings"]]
    assert found == [(severity, code, sequences)]
    assert status == exit_code
    assert report["ok"] is (exit_code == 0)


def test_a_missing_workflow_created_is_an_error_listing_that_workflows_events(
    invoke: Invoke, real_db_copy: Path
) -> None:
    status, report = audit(invoke, tamper(real_db_copy, "DELETE FROM events WHERE sequence = 87"))
    found = {f["code"]: f["sequences"] for f in report["findings"]}
    assert found == {"missing-created": [88, 89, 90, 91, 92], "sequence-gap": [86, 88]}
    assert status == 1


def test_a_small_step_back_in_time_is_within_the_tolerance_unless_narrowed(
    invoke: Invoke, real_db_copy: Path
) -> None:
    tamper(
        real_db_copy,
        "UPDATE events SET timestamp = '2026-11-28T15:04:48.000000+00:00' WHERE sequence = 87",
    )  # event 86 is at 15:04:48.256794: 0.26 s earlier
    assert audit(invoke, real_db_copy)[1]["findings"] == []
    narrowed = audit(invoke, real_db_copy, "--tolerance", "0.1")[1]["findings"]
    assert [(f["code"], f["sequences"]) for f in narrowed] == [("timestamp-backwards", [86, 87])]


def test_a_negative_tolerance_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("verify", "--tolerance", "-1")
    assert result.exit_code == 2
    assert result.stderr == "error: --tolerance must be a number of seconds >= 0 (got -1.0)\n"


def test_repeated_versions_of_a_retried_task_are_normal(invoke: Invoke) -> None:
    with sqlite3.connect(f"{REAL_DB.resolve().as_uri()}?mode=ro", uri=True) as conn:
        repeats = conn.execute(
            "SELECT COUNT(*) FROM events AS a JOIN events AS b ON a.entity_id = b.entity_id "
            "AND b.sequence > a.sequence AND b.version = a.version"
        ).fetchone()[0]
    conn.close()
    assert repeats > 0  # the engine's own file has them, and verify is clean on it
    assert audit(invoke, REAL_DB)[1]["findings"] == []


def corrupt_page(db: Path, page: int) -> Path:
    with db.open("r+b") as handle:
        handle.seek((page - 1) * 4096 + 3)
        handle.write(b"\xff\x7f\x00\x00\x0f")
    return db


def index_root_page(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        page = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'idx_events_timestamp'"
        ).fetchone()[0]
    conn.close()
    return int(page)


def test_a_corrupt_page_exits_4_with_partial_output_marked_incomplete(
    invoke: Invoke, real_db_copy: Path
) -> None:
    corrupt_page(real_db_copy, index_root_page(real_db_copy))
    result = invoke("verify", "--json", db=real_db_copy)
    assert result.exit_code == 4
    assert result.stderr == "error: the database is corrupt: the audit above is incomplete\n"
    report = json.loads(result.stdout)
    assert report["incomplete"] is True
    assert report["ok"] is False
    assert [f["code"] for f in report["findings"]] == ["corrupt"]
    assert report["findings"][0]["message"].startswith("SQLite quick_check: Page ")
    assert report["checked"]["events"] == 189  # the table itself was still readable


def test_a_corrupt_events_table_still_reports_what_could_be_read(
    invoke: Invoke, real_db_copy: Path
) -> None:
    corrupt_page(real_db_copy, 41)  # the events table's root page
    result = invoke("verify", db=real_db_copy)
    assert result.exit_code == 4
    assert "INCOMPLETE" in result.stdout
    assert "cannot read events" in result.stdout


def test_verify_never_changes_the_file_even_when_it_finds_problems(
    invoke: Invoke, real_db_copy: Path
) -> None:
    tamper(real_db_copy, "UPDATE events SET data = 'nope' WHERE sequence = 3")
    before = sha256(real_db_copy)
    assert invoke("verify", "--full", db=real_db_copy).exit_code == 1
    assert sha256(real_db_copy) == before
    assert sorted(p.name for p in real_db_copy.parent.iterdir()) == ["real-small.db"]


def test_markup_and_escapes_in_an_unknown_type_are_shown_literally(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = tmp_path / "evil.db"
    store = SqliteEventStore(str(db))
    store.append_batch(
        [
            Event(event_type=EventType.WORKFLOW_CREATED, entity_id="wf", workflow_id="wf"),
            Event(
                event_type=EventType.STAGE_STARTED,
                entity_type=EntityType.STAGE,
                entity_id="st",
                workflow_id="wf",
            ),
        ]
    )
    store.close()
    evil = "[red]boom[/] \x1b[2J \u202e"
    tamper(db, f"UPDATE events SET event_type = '{evil}' WHERE sequence = 2")
    result = invoke("verify", db=db)
    assert result.exit_code == 0
    assert "[red]boom[/]" in result.stdout
    assert "\x1b" not in result.stdout
    assert "\u202e" not in result.stdout


def test_several_findings_render_as_one_table_with_a_summary(
    invoke: Invoke, real_db_copy: Path, snapshot: Any
) -> None:
    tamper(
        real_db_copy,
        "UPDATE events SET data = '[]' WHERE sequence = 3",
        "UPDATE events SET event_type = 'task.teleported' WHERE sequence = 4",
        "DELETE FROM events WHERE sequence = 100",
        "UPDATE events SET timestamp = '2026-11-28T14:00:00+00:00' WHERE sequence = 120",
        "INSERT INTO event_subscriptions (id, last_sequence) VALUES ('billing', 999)",
    )
    result = invoke("verify", db=real_db_copy)
    assert result.exit_code == 1
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "verify"
    text = "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"
    snapshot.assert_match(text, "findings.txt")


def test_csv_has_one_row_per_finding(invoke: Invoke, real_db_copy: Path) -> None:
    tamper(real_db_copy, "DELETE FROM events WHERE sequence IN (10, 20)")
    lines = invoke("verify", "--format", "csv", db=real_db_copy).stdout.splitlines()
    assert lines[0] == "severity,code,sequences,message"
    assert len(lines) == 3


def test_the_real_process_verifies_the_engine_database_and_leaves_it_alone(
    tmp_path: Path,
) -> None:
    db = tmp_path / "engine.db"
    shutil.copyfile(REAL_DB, db)
    before = sha256(db)
    done = run_process("verify", "--db", str(db), "--json")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(done.stdout)["ok"] is True
    assert sha256(db) == before
