"""`stabilize snapshots`: create, list, show, verify and prune, on copies of the engine's file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events import EventReplayer, SqliteEventStore
from stabilize_cli.events.store import state_hash

from ..conftest import REAL_DB, sha256
from .conftest import Invoke, run_process

FAILED_WF = "01M8HAZSBBC9YVRF09H4BCF2ZP"  # events 1..11 of the engine's file
FIXED_TIME = "2026-11-28 16:00:00"


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def execute(db: Path, sql: str) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(sql)
    conn.close()


def create(invoke: Invoke, db: Path, *args: str) -> dict[str, Any]:
    result = invoke("snapshots", "create", *args, "--json", db=db)
    assert result.exit_code == 0, result.stderr
    created: dict[str, Any] = json.loads(result.stdout)
    return created


def test_create_saves_the_replayed_state_and_says_what_it_wrote_on_stderr(
    invoke: Invoke, real_db_copy: Path
) -> None:
    result = invoke("snapshots", "create", FAILED_WF, "--at", "7", "--json", db=real_db_copy)
    assert result.exit_code == 0
    assert result.stderr == f"created snapshot 1 of {FAILED_WF} at sequence 7\n"
    created = json.loads(result.stdout)
    store = SqliteEventStore(str(real_db_copy), create_tables=False)
    expected = EventReplayer(store).rebuild_workflow_state(FAILED_WF, as_of_sequence=7)
    (row,) = store.list_snapshots(FAILED_WF)
    store.close()
    assert json.loads(row["state"]) == expected
    assert (row["version"], row["sequence"]) == (7, 7)
    assert created["state_hash"] == row["state_hash"] == state_hash(expected)


def test_version_counts_only_the_workflows_own_events_up_to_at(
    invoke: Invoke, real_db_copy: Path
) -> None:
    later = "01M8HAZYWT69"  # a prefix: the canceled workflow of events 87..92
    created = create(invoke, real_db_copy, later, "--at", "90")
    assert (created["version"], created["sequence"]) == (4, 90)
    created = create(invoke, real_db_copy, later, "--at", "150")
    assert (created["version"], created["sequence"]) == (6, 92)


def test_create_without_at_snapshots_the_workflows_last_event(
    invoke: Invoke, real_db_copy: Path
) -> None:
    created = create(invoke, real_db_copy, FAILED_WF)
    assert (created["version"], created["sequence"]) == (11, 11)


def test_creating_the_same_point_twice_replaces_the_row_and_says_so(
    invoke: Invoke, real_db_copy: Path
) -> None:
    create(invoke, real_db_copy, FAILED_WF)
    result = invoke("snapshots", "create", FAILED_WF, db=real_db_copy)
    assert result.stderr == f"replaced snapshot 1 of {FAILED_WF} at sequence 11\n"
    assert rows(real_db_copy, "SELECT COUNT(*) FROM snapshots") == [(1,)]


def test_create_before_the_workflows_first_event_is_a_usage_error(
    invoke: Invoke, real_db_copy: Path
) -> None:
    result = invoke("snapshots", "create", "01M8HAZYWT69", "--at", "10", db=real_db_copy)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: workflow 01M8HAZYWT69")
    assert result.stderr.endswith("has no events at or before sequence 10\n")


def test_create_with_a_negative_sequence_is_a_usage_error_and_writes_nothing(
    invoke: Invoke, real_db_copy: Path
) -> None:
    before = sha256(real_db_copy)
    result = invoke("snapshots", "create", FAILED_WF, "--at", "-1", db=real_db_copy)
    assert result.exit_code == 2
    assert result.stderr == "error: --at must not be negative (got -1)\n"
    assert sha256(real_db_copy) == before


def test_create_for_an_unknown_workflow_is_exit_6(invoke: Invoke, real_db_copy: Path) -> None:
    result = invoke("snapshots", "create", "nope", db=real_db_copy)
    assert result.exit_code == 6
    assert result.stderr == "error: no workflow 'nope' in the store\n"


def test_round_trip_create_list_verify_tamper_prune(invoke: Invoke, real_db_copy: Path) -> None:
    create(invoke, real_db_copy, FAILED_WF, "--at", "5")
    create(invoke, real_db_copy, FAILED_WF)
    listed = json.loads(invoke("snapshots", "list", "--json", db=real_db_copy).stdout)
    assert [(s["id"], s["sequence"], s["ok"]) for s in listed] == [(1, 5, True), (2, 11, True)]
    assert invoke("snapshots", "verify", db=real_db_copy).exit_code == 0

    execute(real_db_copy, f"UPDATE snapshots SET state_hash = '{'0' * 64}' WHERE id = 2")
    result = invoke("snapshots", "verify", "--json", db=real_db_copy)
    assert result.exit_code == 1
    audit = json.loads(result.stdout)
    assert (audit["ok"], audit["checked"]) == (False, 2)
    assert [(p["id"], p["problem"]) for p in audit["problems"]] == [
        (2, "state_hash does not match the state")
    ]

    result = invoke("snapshots", "prune", "--keep", "0", db=real_db_copy)
    assert result.exit_code == 0
    assert result.stderr == f"deleted 2 snapshots of workflow {FAILED_WF} (keeping 0)\n"
    assert rows(real_db_copy, "SELECT COUNT(*) FROM snapshots") == [(0,)]


def test_list_shows_a_tampered_state_as_not_ok(invoke: Invoke, real_db_copy: Path) -> None:
    create(invoke, real_db_copy, FAILED_WF)
    execute(real_db_copy, 'UPDATE snapshots SET state = \'{"status": "SUCCEEDED"}\'')
    (listed,) = json.loads(invoke("snapshots", "list", "--json", db=real_db_copy).stdout)
    assert (listed["ok"], listed["problem"]) == (False, "state_hash does not match the state")


def test_list_filters_by_workflow(invoke: Invoke, real_db_copy: Path) -> None:
    create(invoke, real_db_copy, FAILED_WF)
    create(invoke, real_db_copy, "latest")
    listed = json.loads(
        invoke("snapshots", "list", FAILED_WF[:10], "--json", db=real_db_copy).stdout
    )
    assert [s["workflow_id"] for s in listed] == [FAILED_WF]


def test_prune_keeps_the_newest_per_entity_and_dry_run_deletes_nothing(
    invoke: Invoke, real_db_copy: Path
) -> None:
    for at in ("3", "7", "11"):
        create(invoke, real_db_copy, FAILED_WF, "--at", at)
    create(invoke, real_db_copy, "latest")
    before = sha256(real_db_copy)
    dry = invoke("snapshots", "prune", "--keep", "1", "--dry-run", "--json", db=real_db_copy)
    assert dry.stderr == f"would delete 2 snapshots of workflow {FAILED_WF} (keeping 1)\n"
    assert [r["sequence"] for r in json.loads(dry.stdout)["deleted"]] == [3, 7]
    assert sha256(real_db_copy) == before

    done = invoke("snapshots", "prune", "--keep", "1", db=real_db_copy)
    assert done.exit_code == 0
    left = rows(real_db_copy, "SELECT entity_id, sequence FROM snapshots ORDER BY id")
    assert left == [(FAILED_WF, 11), ("01M8HB08C9H7SYB8SPXPFPZ44M", 189)]


def test_prune_with_nothing_to_delete_says_so(invoke: Invoke, real_db_copy: Path) -> None:
    result = invoke("snapshots", "prune", "--keep", "3", db=real_db_copy)
    assert result.exit_code == 0
    assert result.stderr == "nothing to prune: no entity has more than 3 snapshots\n"


def test_prune_with_a_negative_keep_is_a_usage_error(invoke: Invoke, real_db_copy: Path) -> None:
    result = invoke("snapshots", "prune", "--keep", "-1", db=real_db_copy)
    assert result.exit_code == 2
    assert result.stderr == "error: --keep must not be negative (got -1)\n"


def table_dump(db: Path, table: str) -> list[tuple[Any, ...]]:
    return rows(db, f"SELECT * FROM {table} ORDER BY 1")


def test_create_and_prune_change_only_the_snapshots_table(
    invoke: Invoke, real_db_copy: Path
) -> None:
    tables = [t for (t,) in rows(real_db_copy, "SELECT name FROM sqlite_master WHERE type='table'")]
    others = [t for t in tables if t not in ("snapshots", "sqlite_sequence")]
    before = {t: table_dump(real_db_copy, t) for t in others}
    create(invoke, real_db_copy, FAILED_WF)
    assert len(table_dump(real_db_copy, "snapshots")) == 1
    invoke("snapshots", "prune", "--keep", "0", db=real_db_copy)
    assert {t: table_dump(real_db_copy, t) for t in others} == before
    assert table_dump(real_db_copy, "snapshots") == []


@pytest.mark.parametrize(
    "args",
    [("list",), ("list", FAILED_WF), ("show", "1"), ("show", "1", "--json"), ("verify",)],
)
def test_read_only_commands_leave_the_file_byte_identical(
    invoke: Invoke, real_db_copy: Path, args: tuple[str, ...]
) -> None:
    create(invoke, real_db_copy, FAILED_WF)
    before = sha256(real_db_copy)
    result = invoke("snapshots", *args, db=real_db_copy)
    assert result.exit_code == 0, result.stderr
    assert sha256(real_db_copy) == before
    assert sorted(p.name for p in real_db_copy.parent.iterdir()) == ["real-small.db"]


def test_show_an_unknown_id_is_exit_6(invoke: Invoke) -> None:
    result = invoke("snapshots", "show", "42")
    assert result.exit_code == 6
    assert result.stderr == "error: no snapshot 42 in the store\n"


@pytest.mark.parametrize("value", ["0", "-3"])
def test_show_an_id_below_1_is_a_usage_error(invoke: Invoke, value: str) -> None:
    result = invoke("snapshots", "show", "--db", str(REAL_DB), "--", value, db=None)
    assert result.exit_code == 2
    assert result.stderr == f"error: a snapshot id is a positive integer (got {value})\n"


def test_show_json_has_the_metadata_and_the_state(invoke: Invoke, real_db_copy: Path) -> None:
    create(invoke, real_db_copy, FAILED_WF)
    shown = json.loads(invoke("snapshots", "show", "1", "--json", db=real_db_copy).stdout)
    store = SqliteEventStore(str(real_db_copy), create_tables=False)
    expected = EventReplayer(store).rebuild_workflow_state(FAILED_WF)
    store.close()
    assert shown["state"] == expected
    assert (shown["id"], shown["ok"], shown["problem"], shown["state_raw"]) == (1, True, None, None)


def test_show_a_state_that_is_not_json_shows_it_raw(invoke: Invoke, real_db_copy: Path) -> None:
    create(invoke, real_db_copy, FAILED_WF)
    execute(real_db_copy, "UPDATE snapshots SET state = '{broken [red]x[/] ' || char(27) || '[2J'")
    result = invoke("snapshots", "show", "1", db=real_db_copy)
    assert result.exit_code == 0
    assert "state (not JSON, as stored): {broken [red]x[/] \\x1b[2J" in result.stdout
    assert "\x1b" not in result.stdout


def test_show_renders_a_tree_of_the_state(
    invoke: Invoke, real_db_copy: Path, snapshot: Any
) -> None:
    create(invoke, real_db_copy, FAILED_WF, "--at", "5")
    execute(real_db_copy, f"UPDATE snapshots SET created_at = '{FIXED_TIME}'")
    result = invoke("snapshots", "show", "1", db=real_db_copy)
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "snapshots"
    snapshot.assert_match(_stripped(result.stdout), "show.txt")


def test_list_renders_a_table_with_short_hashes(
    invoke: Invoke, real_db_copy: Path, snapshot: Any
) -> None:
    create(invoke, real_db_copy, FAILED_WF, "--at", "5")
    create(invoke, real_db_copy, FAILED_WF)
    create(invoke, real_db_copy, "latest")
    execute(real_db_copy, f"UPDATE snapshots SET created_at = '{FIXED_TIME}'")
    execute(real_db_copy, "UPDATE snapshots SET state = '{}' WHERE id = 2")
    result = invoke("snapshots", "list", db=real_db_copy)
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "snapshots"
    snapshot.assert_match(_stripped(result.stdout), "list.txt")


def _stripped(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def test_the_real_process_lists_snapshots_of_the_engine_database() -> None:
    before = sha256(REAL_DB)
    done = run_process("snapshots", "list", "--db", str(REAL_DB), "--json")
    assert done.returncode == 0, done.stderr
    assert (json.loads(done.stdout), done.stderr) == ([], "")
    assert sha256(REAL_DB) == before


def test_list_for_an_unknown_workflow_is_exit_6(invoke: Invoke) -> None:
    result = invoke("snapshots", "list", "nope")
    assert result.exit_code == 6
    assert result.stderr == "error: no workflow 'nope' in the store\n"
