"""The whole story of a run on the engine's own database (fixtures/real-shapes.db): the real
cause of each failure from the engine's tables, restarts and attempts, stages that never
ran, pauses, cancels and the trigger. The expected values are the engine's: its rows and
events, read with sqlite3 here, not through the code under test.
"""

from __future__ import annotations

import functools
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events.base import EntityType, EventType
from stabilize_cli.events.store.sqlite import SqliteEventStore

from ..conftest import SHAPES, SHAPES_DB, sha256
from .conftest import Invoke, make_event

IDS = {
    line.split()[1] + ("-ok" if line.split()[3] == "SUCCEEDED" else ""): line.split()[0]
    for line in SHAPES.read_text().splitlines()
    if line.strip()
}
LEDGER = IDS["ledger-migrate"]  # PythonTask: traceback in stderr, exit code 1
CHECKOUT = IDS["checkout-deploy"]  # failed run of two with the same name
CHECKOUT_OK = IDS["checkout-deploy-ok"]
REINDEX = IDS["reindex-catalog"]  # ShellTask: returncode 3, stderr
SHARDS = IDS["shard-rebalance"]  # parallel branches; the join never starts
CERT = IDS["cert-rotate-ok"]  # restarted once
DNS = IDS["dns-cutover-ok"]  # restarted twice
CRAWL = IDS["nightly-crawl-ok"]  # paused and resumed
FLAG = IDS["flag-rollout"]  # is_enabled raised
CANARY = IDS["canary-rollout"]  # canceled with a reason
FRAUD = IDS["fraud-model-train-ok"]  # FAILED_CONTINUE
PARSER = IDS["query-parser"]  # a long unicode error with control characters
WEBHOOK = IDS["webhook-relay"]  # TransientError until attempts ran out


def rows(sql: str, *params: Any, db: Path = SHAPES_DB) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql, params).fetchall()


def stage_row(workflow_id: str, ref_id: str) -> dict[str, Any]:
    ((status, context, outputs),) = rows(
        "SELECT status, context, outputs FROM stage_executions WHERE execution_id = ? "
        "AND ref_id = ?",
        workflow_id,
        ref_id,
    )
    return {"status": status, "context": json.loads(context), "outputs": json.loads(outputs)}


def document(invoke: Invoke, *args: str, db: Path = SHAPES_DB) -> dict[str, Any]:
    result = invoke("timeline", *args, "--json", db=db)
    assert result.exit_code == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def stage(doc: dict[str, Any], ref_id: str) -> dict[str, Any]:
    (found,) = [s for s in doc["stages"] if s["ref_id"] == ref_id]
    return found


def tree(invoke: Invoke, *args: str, db: Path = SHAPES_DB) -> str:
    result = invoke("timeline", *args, db=db, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.stderr
    return str(result.stdout)


# -- the real cause ----------------------------------------------------------------------


def test_a_failed_script_shows_its_traceback_and_exit_code_not_unknown_error(
    invoke: Invoke,
) -> None:
    row = stage_row(LEDGER, "s2")
    doc = document(invoke, LEDGER)
    s2 = stage(doc, "s2")
    assert s2["error"] == "Unknown error"  # the engine's own field stays as it is
    assert s2["cause"]["source"] == "stage_executions.context"
    assert s2["cause"]["kind"] == "script"
    assert s2["cause"]["fields"]["exit_code"] == row["context"]["exit_code"] == 1
    assert s2["cause"]["fields"]["stderr"] == row["context"]["stderr"]
    last = row["context"]["stderr"].strip().splitlines()[-1]
    assert s2["cause"]["summary"] == last
    shown = tree(invoke, LEDGER)
    assert f"cause (exit code 1): {last}" in shown
    assert "Unknown error" not in shown
    assert "Task failed" not in shown


def test_a_failed_command_shows_its_returncode_and_stderr(invoke: Invoke) -> None:
    row = stage_row(REINDEX, "run")
    cause = stage(document(invoke, REINDEX), "run")["cause"]
    assert (cause["kind"], cause["fields"]["returncode"]) == (
        "command",
        row["context"]["returncode"],
    )
    assert f"cause (exit code 3): {row['context']['stderr']}" in tree(invoke, REINDEX)


@pytest.mark.parametrize(
    ("workflow_id", "ref_id", "code"),
    [(SHARDS, "shard-2", "UNKNOWN"), (WEBHOOK, "push", "NETWORK_ERROR")],
)
def test_an_exception_shows_its_text_and_code(
    invoke: Invoke, workflow_id: str, ref_id: str, code: str
) -> None:
    details = stage_row(workflow_id, ref_id)["context"]["exception"]["details"]
    cause = stage(document(invoke, workflow_id), ref_id)["cause"]
    assert (cause["kind"], cause["message"]) == ("exception", details["error"])
    assert cause["fields"]["error_code"] == details["error_code"] == code
    assert f"cause ({code}" in tree(invoke, workflow_id)


def test_an_is_enabled_error_comes_from_the_task_row(invoke: Invoke) -> None:
    ((details,),) = rows(
        "SELECT t.task_exception_details FROM task_executions t JOIN stage_executions s "
        "ON s.id = t.stage_id WHERE s.execution_id = ? AND s.ref_id = 'g1'",
        FLAG,
    )
    doc = document(invoke, FLAG)
    gate = stage(doc, "g1")
    assert gate["cause"]["source"] == "task_executions.task_exception_details"
    assert gate["cause"]["message"] == json.loads(details)["exception"]["details"]["error"]
    # the task failed before it ran (no task.started): it still sits under its stage
    assert [t["status"] for t in gate["tasks"]] == ["TERMINAL"]
    assert doc["loose_tasks"] == []


def test_a_soft_failure_takes_the_output_from_outputs(invoke: Invoke) -> None:
    row = stage_row(FRAUD, "lint")
    cause = stage(document(invoke, FRAUD), "lint")["cause"]
    assert row["status"] == "FAILED_CONTINUE"
    assert cause["source"] == "stage_executions.outputs"
    assert cause["fields"]["stderr"] == row["outputs"]["stderr"]


def test_upstream_output_copied_into_a_stage_is_not_its_cause(invoke: Invoke) -> None:
    """Every stage after a script gets its stdout/stderr in context (``_hydrated_keys``)."""
    doc = document(invoke, FRAUD)
    assert [s["ref_id"] for s in doc["stages"] if s["cause"]] == ["lint", "scan"]


def test_a_long_unicode_error_is_inert_and_shown_as_its_last_lines(invoke: Invoke) -> None:
    shown = tree(invoke, PARSER)
    assert "\x1b" not in shown
    assert "\u202e" not in shown
    assert "\u200b" not in shown
    assert "\\x1b[31mRED" in shown
    assert "\\u202eevil-rtl" in shown
    assert "more with --full" in shown
    full = tree(invoke, PARSER, "--full")
    assert "more with --full" not in full
    assert len(full.splitlines()) > len(shown.splitlines())


def test_events_only_the_timeline_is_as_before(invoke: Invoke, tmp_path: Path) -> None:
    """Without the engine's tables: no cause, and the header counts the silent stages."""
    db = tmp_path / "events-only.db"
    shutil.copyfile(SHAPES_DB, db)
    with sqlite3.connect(db) as conn:
        for table in ("task_executions", "stage_executions", "pipeline_executions"):
            conn.execute(f"DROP TABLE {table}")
    doc = document(invoke, SHARDS, db=db)
    assert all(s["cause"] is None and s["requires"] is None for s in doc["stages"])
    assert doc["run"]["tables"] is False
    assert (doc["run"]["stage_count"], doc["run"]["stages_without_events"]) == (6, 2)
    assert "2 of 6 stages have no events" in tree(invoke, SHARDS, db=db)


# -- stages that never ran, requires -------------------------------------------------------


def test_stages_that_never_started_come_from_stage_executions(invoke: Invoke) -> None:
    expected = rows(
        "SELECT ref_id, status, requisite_stage_ref_ids FROM stage_executions "
        "WHERE execution_id = ? ORDER BY rowid",
        SHARDS,
    )
    doc = document(invoke, SHARDS)
    got = {s["ref_id"]: (s["status"], sorted(s["requires"])) for s in doc["stages"]}
    assert got == {ref: (status, sorted(json.loads(req))) for ref, status, req in expected}
    silent = [s for s in doc["stages"] if s["first_sequence"] is None]
    assert [s["ref_id"] for s in silent] == ["merge", "notify"]
    shown = tree(invoke, SHARDS)
    assert "Merge shard maps" in shown
    assert "NOT_STARTED" in shown


# -- restarts ----------------------------------------------------------------------------


def terminal_events(workflow_id: str) -> list[tuple[int, str]]:
    return [
        (seq, kind)
        for seq, kind in rows(
            "SELECT sequence, event_type FROM events WHERE workflow_id = ? AND event_type IN "
            "('workflow.failed', 'workflow.completed', 'workflow.canceled') ORDER BY sequence",
            workflow_id,
        )
    ]


@pytest.mark.parametrize(("workflow_id", "ref_id", "runs"), [(CERT, "r2", 2), (DNS, "r2", 3)])
def test_a_restarted_stage_shows_each_attempt(
    invoke: Invoke, workflow_id: str, ref_id: str, runs: int
) -> None:
    ends = terminal_events(workflow_id)
    doc = document(invoke, workflow_id)
    assert [r["sequence"] for r in doc["run"]["restarts"]] == [seq for seq, _ in ends[:-1]]
    restarted = stage(doc, ref_id)
    statuses = [a["status"] for a in restarted["attempts"]]
    assert statuses == ["TERMINAL"] * (runs - 1) + ["SUCCEEDED"]
    assert [a["before_restart"] for a in restarted["attempts"]] == [True] * (runs - 1) + [False]
    # the final outcome succeeded: the earlier attempt's error is not the stage's error
    assert (restarted["status"], restarted["error"]) == ("SUCCEEDED", None)
    assert restarted["cause"] is None
    shown = tree(invoke, workflow_id)
    assert f"restarted {'once' if runs == 2 else f'{runs - 1} times'}" in shown
    assert f"TERMINAL at seq {ends[0][0]}" in shown
    assert shown.count("(before restart)") >= runs - 1


def test_what_the_failed_attempt_left_in_context_is_labelled_as_such(invoke: Invoke) -> None:
    left = stage_row(CERT, "r2")["context"]["error"]
    doc = document(invoke, CERT)
    assert stage(doc, "r2")["earlier_cause"]["message"] == left
    assert f"left in the stage's context by this run: cause: {left}" in tree(invoke, CERT)


def test_failures_keeps_attempts_that_failed_before_a_restart(invoke: Invoke) -> None:
    doc = document(invoke, CERT, "--failures")
    assert [s["ref_id"] for s in doc["stages"]] == ["r2"]
    assert "(before restart)" in tree(invoke, CERT, "--failures")


# -- pause, cancel, trigger ----------------------------------------------------------------


def test_a_pause_is_shown_from_the_row(invoke: Invoke) -> None:
    ((paused,),) = rows("SELECT paused FROM pipeline_executions WHERE id = ?", CRAWL)
    doc = document(invoke, CRAWL)
    assert doc["run"]["paused"] == json.loads(paused)
    assert f"paused by {json.loads(paused)['paused_by']}" in tree(invoke, CRAWL)


def test_a_cancel_says_who_and_why_in_the_header(invoke: Invoke) -> None:
    ((by, reason),) = rows(
        "SELECT canceled_by, cancellation_reason FROM pipeline_executions WHERE id = ?", CANARY
    )
    header = tree(invoke, CANARY).split("├")[0]
    assert f"canceled by {by}: {reason}" in header


def test_the_trigger_and_context_are_in_the_header(invoke: Invoke) -> None:
    ((trigger,),) = rows("SELECT trigger FROM pipeline_executions WHERE id = ?", CHECKOUT)
    parameters = json.loads(trigger)["parameters"]
    header = tree(invoke, CHECKOUT).split("├")[0]
    assert "trigger git-push by ci-bot" in header
    assert f"git_sha={parameters['git_sha']}" in header
    assert document(invoke, CHECKOUT)["run"]["trigger"] == json.loads(trigger)


def test_table_text_is_redacted(invoke: Invoke, tmp_path: Path) -> None:
    db = tmp_path / "secret.db"
    shutil.copyfile(SHAPES_DB, db)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE stage_executions SET context = json_set(context, '$.stderr', "
            "'login failed for postgres://admin:hunter2@db/x', '$.api_token', 'tok-123') "
            "WHERE execution_id = ? AND ref_id = 's2'",
            (LEDGER,),
        )
        conn.execute(
            "UPDATE pipeline_executions SET trigger = json_set(trigger, "
            "'$.parameters.deploy_token', 'tok-456'), canceled_by = 'postgres://admin:hunter2@db' "
            "WHERE id = ?",
            (LEDGER,),
        )
    result = invoke("timeline", LEDGER, "--json", db=db)
    assert "tok-456" not in result.stdout
    assert "tok-456" not in invoke("timeline", LEDGER, db=db).stdout
    assert "tok-456" not in invoke("compare", LEDGER, LEDGER, "--json", db=db).stdout
    assert "hunter2" not in result.stdout
    assert "tok-123" not in result.stdout
    assert "hunter2" not in invoke("timeline", LEDGER, db=db).stdout


def test_reading_the_tables_changes_nothing(invoke: Invoke) -> None:
    before = sha256(SHAPES_DB)
    for workflow_id in IDS.values():
        assert invoke("timeline", workflow_id, db=SHAPES_DB).exit_code == 0
    assert sha256(SHAPES_DB) == before


# -- failures grouped by the real cause ------------------------------------------------------


def failure_groups(invoke: Invoke, db: Path = SHAPES_DB) -> dict[str, dict[str, Any]]:
    result = invoke("failures", "--json", db=db)
    assert result.exit_code == 0, result.stderr
    return {g["signature"]: g for g in json.loads(result.stdout)}


def test_failures_are_grouped_by_their_real_cause(invoke: Invoke) -> None:
    groups = failure_groups(invoke)
    stderr = stage_row(LEDGER, "s2")["context"]["stderr"]
    (ledger,) = [g for g in groups.values() if LEDGER in g["example_workflow_ids"]]
    assert ledger["signature"].startswith("RuntimeError: column 'amount_minor' already exists")
    assert ledger["example_error"] == stderr
    assert ledger["event_types"] == ["stage.failed", "task.failed"]
    assert ledger["cause_sources"] == ["stage_executions.context"]
    # only failures of stages whose row did not fail (before a restart) keep the events' text
    generic = {s: g for s, g in groups.items() if s in ("Task failed", "Unknown error")}
    assert all(set(g["example_workflow_ids"]) <= {CERT, DNS} for g in generic.values())


def test_failures_without_the_tables_group_as_before(invoke: Invoke, tmp_path: Path) -> None:
    db = tmp_path / "events-only.db"
    shutil.copyfile(SHAPES_DB, db)
    with sqlite3.connect(db) as conn:
        for table in ("task_executions", "stage_executions", "pipeline_executions"):
            conn.execute(f"DROP TABLE {table}")
    groups = failure_groups(invoke, db)
    assert (
        LEDGER in groups["Unknown error"]["example_workflow_ids"]
        or groups["Unknown error"]["count"] >= 5
    )
    assert all(g["cause_sources"] == [] for g in groups.values())


# -- gaps ----------------------------------------------------------------------------------


def gap_store(tmp_path: Path) -> Path:
    """A run with 20 s of silence while a task runs and 30 s with nothing running."""
    wf = "wf-gaps"
    event = functools.partial(make_event, workflow_id=wf)
    w, s, t = EntityType.WORKFLOW, EntityType.STAGE, EntityType.TASK
    events = [
        event(EventType.WORKFLOW_CREATED, w, wf, 0, application="a", name="gaps", stage_count=3),
        event(EventType.WORKFLOW_STARTED, w, wf, 0.1, context={}),
        event(EventType.STAGE_STARTED, s, "st-1", 0.2, ref_id="one", name="One"),
        event(EventType.TASK_STARTED, t, "tk-1", 0.3, name="slow", stage_id="st-1"),
        event(EventType.TASK_COMPLETED, t, "tk-1", 20.3, status="SUCCEEDED"),
        event(EventType.STAGE_COMPLETED, s, "st-1", 20.4, status="SUCCEEDED"),
        event(EventType.STAGE_STARTED, s, "st-2", 50.4, ref_id="two", name="Two"),
    ]
    path = tmp_path / "gaps.db"
    store = SqliteEventStore(str(path))
    try:
        store.append_batch(events)
    finally:
        store.close()
    return path


def test_silences_longer_than_the_threshold_are_marked_and_explained_when_they_can_be(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = gap_store(tmp_path)
    gaps = document(invoke, "wf-gaps", db=db)["run"]["gaps"]
    assert [(g["duration_ms"], g["explanation"]) for g in gaps] == [
        (20000, "task running"),
        (30000, None),
    ]
    shown = tree(invoke, "wf-gaps", db=db)
    assert "no events for 30.00s after seq 6 (+20.30s): unexplained" in shown
    assert "20.00s" not in shown.split("├")[0]  # a running task's silence: JSON only
    assert document(invoke, "wf-gaps", "--gap", "40", db=db)["run"]["gaps"] == []
    # an events-only store: the header counts the stage that left no event
    assert "1 of 3 stages have no events" in shown
    assert "trigger" not in shown  # no trigger_type in the events: nothing to say


@pytest.mark.parametrize(
    ("name", "workflow_id"),
    [
        ("ledger-migrate-script.txt", LEDGER),
        ("cert-rotate-restart.txt", CERT),
        ("shard-rebalance-not-started.txt", SHARDS),
        ("nightly-crawl-pause.txt", CRAWL),
        ("canary-rollout-cancel.txt", CANARY),
        ("flag-rollout-is-enabled.txt", FLAG),
    ],
)
def test_the_story_trees_are_pinned(
    invoke: Invoke, snapshot: Any, name: str, workflow_id: str
) -> None:
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "timeline"
    shown = tree(invoke, workflow_id)
    snapshot.assert_match("\n".join(line.rstrip() for line in shown.splitlines()) + "\n", name)


@pytest.mark.parametrize("value", ["-1", "nan", "inf", "1e300", "soon"])
def test_a_bad_gap_is_one_usage_error_line(invoke: Invoke, value: str) -> None:
    result = invoke("timeline", CERT, "--gap", value, db=SHAPES_DB)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1


def test_without_the_tables_a_cancel_is_still_in_the_header(invoke: Invoke, tmp_path: Path) -> None:
    db = tmp_path / "events-only.db"
    shutil.copyfile(SHAPES_DB, db)
    with sqlite3.connect(db) as conn:
        for table in ("task_executions", "stage_executions", "pipeline_executions"):
            conn.execute(f"DROP TABLE {table}")
    ((data,),) = rows(
        "SELECT data FROM events WHERE workflow_id = ? AND event_type = 'workflow.canceled'",
        CANARY,
    )
    canceled = json.loads(data)
    header = tree(invoke, CANARY, db=db).split("├")[0]
    assert f"canceled by {canceled['canceled_by']}: {canceled['reason']}" in header


def test_odd_table_values_are_read_as_stored_never_a_crash(invoke: Invoke, tmp_path: Path) -> None:
    """A BLOB name, context that is not JSON, requisites that are not a list."""
    db = tmp_path / "odd.db"
    shutil.copyfile(SHAPES_DB, db)
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE stage_executions SET name = X'41FF', context = '{oops', "
            "requisite_stage_ref_ids = '\"plan\"' WHERE execution_id = ? AND ref_id = 'merge'",
            (SHARDS,),
        )
        conn.execute(
            "UPDATE stage_executions SET context = '[1, 2]' WHERE execution_id = ? "
            "AND ref_id = 'shard-2'",
            (SHARDS,),
        )
    doc = document(invoke, SHARDS, db=db)
    merge = stage(doc, "merge")
    assert (merge["name"], merge["requires"]) == ("X'41FF'", [])
    assert stage(doc, "shard-2")["cause"] is None  # no JSON object: nothing to read a cause from
    assert invoke("graph", SHARDS, db=db).exit_code == 0
