"""`stabilize demo`: the demo database, written through our recorder, and the fixture it made."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli import demo as demo_lib
from stabilize_cli.cli.commands import demo as demo_cmd
from stabilize_cli.events import (
    EntityType,
    Event,
    EventQuery,
    EventReplayer,
    SqliteEventStore,
    StageMetricsProjection,
)

from ..conftest import FIXTURES, sha256
from .conftest import Invoke, run_process

DEMO_DB = FIXTURES / "demo.db"
ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
TERMINAL_STATUSES = {"SUCCEEDED", "TERMINAL", "CANCELED"}


def read_events(path: Path) -> list[Event]:
    store = SqliteEventStore(str(path), create_tables=False, read_only=True)
    try:
        return list(store.get_events(EventQuery(limit=2**63 - 1)))
    finally:
        store.close()


def read_snapshots(path: Path) -> list[tuple[Any, ...]]:
    """Snapshot rows without ``created_at``, which the database stamps with the real time."""
    store = SqliteEventStore(str(path), create_tables=False, read_only=True)
    try:
        sql = "SELECT entity_id, version, sequence, state, state_hash FROM snapshots ORDER BY id"
        return [tuple(row) for row in store.fetch_all(sql)]
    finally:
        store.close()


@pytest.fixture(scope="module")
def demo_events() -> list[Event]:
    return read_events(DEMO_DB)


@pytest.fixture(scope="module")
def states(demo_events: list[Event]) -> dict[str, dict[str, Any]]:
    store = SqliteEventStore(str(DEMO_DB), create_tables=False, read_only=True)
    try:
        replayer = EventReplayer(store)
        ids = dict.fromkeys(e.workflow_id for e in demo_events)
        return {wf: replayer.rebuild_workflow_state(wf) for wf in ids}
    finally:
        store.close()


def by_workflow(events: list[Event]) -> dict[str, list[Event]]:
    grouped: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        grouped[event.workflow_id].append(event)
    return grouped


# -- the command -------------------------------------------------------------------------


def test_demo_writes_the_database_and_says_so_in_one_line_on_stderr(
    invoke: Invoke, tmp_path: Path
) -> None:
    target = tmp_path / "demo.db"
    result = invoke("demo", str(target), db=None)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    events = read_events(target)
    workflows = {e.workflow_id for e in events}
    assert result.stderr == (
        f"wrote {len(events)} events, {len(workflows)} workflows to {target}; "
        f"try: stabilize timeline latest-failed --db {target}\n"
    )


def test_default_path_is_stabilize_demo_db_in_the_current_directory(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("demo", db=None)
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stabilize-demo.db"]
    assert result.stderr.endswith("--db stabilize-demo.db\n")


def test_an_existing_file_is_refused_without_force_and_left_untouched(
    invoke: Invoke, tmp_path: Path
) -> None:
    target = tmp_path / "taken.db"
    target.write_text("precious")
    result = invoke("demo", str(target), db=None)
    assert result.exit_code == 2
    assert result.stderr == f"error: {target} already exists; use --force to replace it\n"
    assert result.stdout == ""
    assert target.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.db"]


def test_force_replaces_an_existing_file_and_its_stale_journal(
    invoke: Invoke, tmp_path: Path
) -> None:
    target = tmp_path / "old.db"
    target.write_text("not a database")
    Path(f"{target}-journal").write_text("an old file's journal must never meet the new one")
    result = invoke("demo", str(target), "--force", db=None)
    assert result.exit_code == 0, result.stderr
    assert read_events(target) == read_events(DEMO_DB)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.db"]


def test_a_crash_while_writing_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "kept.db"
    target.write_bytes(DEMO_DB.read_bytes())
    before = sha256(target)

    def crash(*args: object) -> int:
        raise RuntimeError("power cut")

    monkeypatch.setattr(demo_lib, "_snapshot", crash)
    with pytest.raises(RuntimeError, match="power cut"):
        demo_lib.write_demo_database(target, seed=7, overwrite=True)
    assert sha256(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.db"]


def test_a_missing_directory_is_exit_3_with_one_line_and_nothing_created(
    invoke: Invoke, tmp_path: Path
) -> None:
    target = tmp_path / "no" / "such" / "demo.db"
    result = invoke("demo", str(target), db=None)
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: cannot write {target}: directory does not exist: {target.parent}\n"
    )
    assert not (tmp_path / "no").exists()


def test_a_directory_as_path_is_exit_3_with_one_line(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("demo", str(tmp_path), "--force", db=None)
    assert result.exit_code == 3
    assert result.stderr == f"error: cannot write {tmp_path}: is a directory\n"
    assert list(tmp_path.iterdir()) == []


def test_control_characters_in_the_path_never_reach_the_terminal_raw(
    invoke: Invoke, tmp_path: Path
) -> None:
    target = tmp_path / "evil\x1b[2J\u202e.db"
    result = invoke("demo", str(target), db=None)
    assert result.exit_code == 0, result.stderr
    assert target.is_file()
    assert "\x1b" not in result.stderr
    assert "\u202e" not in result.stderr
    assert "evil\\x1b[2J\\u202e.db" in result.stderr


def test_a_malformed_seed_is_a_usage_error(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("demo", str(tmp_path / "x.db"), "--seed", "abc", db=None)
    assert result.exit_code == 2
    assert not (tmp_path / "x.db").exists()


def test_sqlite_url_form_is_accepted_like_db(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("demo", "sqlite:///url.db", db=None)
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "url.db").is_file()


def test_command_default_seed_is_the_library_default() -> None:
    assert demo_cmd.DEFAULT_SEED == demo_lib.DEFAULT_SEED


def test_as_a_real_process_the_demo_and_its_hint_work(tmp_path: Path) -> None:
    target = tmp_path / "proc.db"
    written = run_process("demo", str(target))
    assert written.returncode == 0, written.stderr
    assert written.stdout == ""
    assert "try: stabilize timeline latest-failed --db" in written.stderr
    shown = run_process("timeline", "latest-failed", "--db", str(target))
    assert shown.returncode == 0, shown.stderr
    assert "AssertionError: assert Decimal(" in shown.stdout
    again = run_process("demo", str(target))
    assert again.returncode == 2
    assert again.stderr == f"error: {target} already exists; use --force to replace it\n"


# -- determinism -------------------------------------------------------------------------


def test_regenerating_with_the_default_seed_gives_the_committed_fixture(tmp_path: Path) -> None:
    """If this fails, the generator changed: rerun `stabilize demo fixtures/demo.db --force`."""
    target = tmp_path / "again.db"
    demo_lib.write_demo_database(target)
    assert [e.to_dict() for e in read_events(target)] == [e.to_dict() for e in read_events(DEMO_DB)]
    assert read_snapshots(target) == read_snapshots(DEMO_DB)


def test_another_seed_gives_other_events_and_ids(tmp_path: Path) -> None:
    target = tmp_path / "other.db"
    demo_lib.write_demo_database(target, seed=7)
    theirs, ours = read_events(target), read_events(DEMO_DB)
    assert {e.event_id for e in theirs}.isdisjoint(e.event_id for e in ours)
    assert [e.data for e in theirs] != [e.data for e in ours]


# -- what the demo database holds --------------------------------------------------------


def test_workflows_lists_succeeded_terminal_and_canceled(invoke: Invoke) -> None:
    result = invoke("workflows", "--json", "--limit", "100", db=DEMO_DB)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {r["status"] for r in rows} == TERMINAL_STATUSES
    assert {r["application"] for r in rows} == {"checkout", "payments", "search", "data-platform"}


def test_every_rebuilt_workflow_has_ended(states: dict[str, dict[str, Any]]) -> None:
    assert len(states) >= 20
    assert {s["status"] for s in states.values()} == TERMINAL_STATUSES
    assert all(s["end_time"] for s in states.values())


def test_failed_workflows_carry_their_stage_errors_as_stack_traces(
    states: dict[str, dict[str, Any]],
) -> None:
    failed = [s for s in states.values() if s["status"] == "TERMINAL"]
    assert len(failed) >= 3
    for state in failed:
        errors = [g["error"] for g in state["stages"].values() if g["status"] == "TERMINAL"]
        assert errors, state["workflow_id"]
        assert all(len(e.splitlines()) >= 3 for e in errors)


def test_the_latest_failure_is_a_test_stage_stack_trace(
    demo_events: list[Event], states: dict[str, dict[str, Any]]
) -> None:
    last = [e for e in demo_events if e.event_type.value == "workflow.failed"][-1]
    stages = states[last.workflow_id]["stages"].values()
    (failed,) = [g for g in stages if g["status"] == "TERMINAL"]
    assert failed["ref_id"] == "test"
    assert "Traceback (most recent call last):" in failed["error"]


def test_the_paused_workflow_was_resumed_and_succeeded(
    demo_events: list[Event], states: dict[str, dict[str, Any]]
) -> None:
    paused = {e.workflow_id: e for e in demo_events if e.event_type.value == "workflow.paused"}
    resumed = {e.workflow_id: e for e in demo_events if e.event_type.value == "workflow.resumed"}
    assert len(paused) == 1
    assert paused.keys() == resumed.keys()
    (wf,) = paused
    assert states[wf]["status"] == "SUCCEEDED"
    assert paused[wf].metadata.actor == paused[wf].data["paused_by"] != "system"
    assert resumed[wf].data["paused_ms"] > 0


def test_the_retried_task_has_retry_count_two(
    demo_events: list[Event], states: dict[str, dict[str, Any]]
) -> None:
    retried = [e for e in demo_events if e.event_type.value == "task.retried"]
    assert [e.data["attempt"] for e in retried[:2]] == [1, 2]
    task = states[retried[0].workflow_id]["tasks"][retried[0].entity_id]
    assert task["retry_count"] == 2
    assert task["status"] == "SUCCEEDED"


def test_the_skipped_stage_has_its_reason(states: dict[str, dict[str, Any]]) -> None:
    skipped = [g for s in states.values() for g in s["stages"].values() if g["status"] == "SKIPPED"]
    assert skipped
    assert all(g["skip_reason"] for g in skipped)


def test_cancel_ends_running_and_unstarted_stages_then_the_workflow(
    demo_events: list[Event],
) -> None:
    (canceled,) = [e for e in demo_events if e.event_type.value == "workflow.canceled"]
    events = by_workflow(demo_events)[canceled.workflow_id]
    assert events[-1] == canceled
    assert canceled.data["canceled_by"]
    assert canceled.data["reason"]
    stage_cancels = [e for e in events if e.event_type.value == "stage.canceled"]
    started = {e.entity_id for e in events if e.event_type.value == "stage.started"}
    assert [e.entity_id in started for e in stage_cancels] == [True, False]
    running_tasks = {e.entity_id for e in events if e.event_type.value == "task.started"}
    ended_tasks = {e.entity_id for e in events if e.event_type.value == "task.completed"}
    assert len(running_tasks - ended_tasks) == 1  # the engine never completes the running task


def test_metrics_cover_the_stage_types_with_durations(demo_events: list[Event]) -> None:
    metrics = StageMetricsProjection()
    metrics.apply_all(demo_events)
    stages = metrics.get_state()
    assert {"shell", "docker", "http", "python", "deploy", "approval"} <= stages.keys()
    assert all(m.min_duration_ms < m.max_duration_ms for m in stages.values())
    assert sum(m.skip_count for m in stages.values()) >= 1


def test_the_engine_ordering_holds_in_every_workflow(demo_events: list[Event]) -> None:
    for events in by_workflow(demo_events).values():
        kinds = [e.event_type.value for e in events]
        assert kinds[:2] == ["workflow.created", "workflow.started"]
        assert kinds[-1] in ("workflow.completed", "workflow.failed", "workflow.canceled")
        first_seen = {}
        for event in events:
            first_seen.setdefault(event.entity_id, event.sequence)
        for event in events:
            if event.event_type.value == "task.started":
                assert first_seen[event.data["stage_id"]] < event.sequence


def test_ids_are_ulids_in_time_order_and_timestamps_never_go_back(
    demo_events: list[Event],
) -> None:
    assert all(ULID.match(e.event_id) and ULID.match(e.entity_id) for e in demo_events)
    assert [e.event_id for e in demo_events] == sorted(e.event_id for e in demo_events)
    stamps = [e.timestamp for e in demo_events]
    assert stamps == sorted(stamps)
    assert len({e.event_id for e in demo_events}) == len(demo_events)


def test_events_carry_actors_and_causes_that_exist(demo_events: list[Event]) -> None:
    ids = {e.event_id for e in demo_events}
    causes = [e.metadata.causation_id for e in demo_events if e.metadata.causation_id]
    assert len(causes) == len(demo_events) - len(by_workflow(demo_events))
    assert set(causes) <= ids
    actors = {e.metadata.actor for e in demo_events}
    assert {"system", "ci-bot", "scheduler"} <= actors
    assert any("@" in actor for actor in actors)
    assert {e.metadata.correlation_id for e in demo_events} == {e.workflow_id for e in demo_events}


def test_workflows_interleave_as_concurrent_runs_do(demo_events: list[Event]) -> None:
    spans = [(ev[0].sequence, ev[-1].sequence, len(ev)) for ev in by_workflow(demo_events).values()]
    assert sum(last - first + 1 > count for first, last, count in spans) >= 3


def test_verify_finds_nothing_wrong_with_the_demo(invoke: Invoke) -> None:
    result = invoke("verify", db=DEMO_DB)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_entity_types_are_the_engine_three(demo_events: list[Event]) -> None:
    assert {e.entity_type for e in demo_events} == set(EntityType)
