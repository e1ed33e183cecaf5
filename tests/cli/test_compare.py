"""`stabilize compare` on the engine's two checkout-deploy runs, and on small stores."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.events.base import EntityType, EventType
from stabilize_cli.events.store.sqlite import SqliteEventStore

from ..conftest import SHAPES_DB
from .conftest import Invoke, make_event
from .test_run_story import CHECKOUT, CHECKOUT_OK, rows, stage_row


def compared(invoke: Invoke, *args: str, db: Path = SHAPES_DB) -> dict[str, Any]:
    result = invoke("compare", *args, "--json", db=db)
    assert result.exit_code == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_the_trigger_and_context_differences_are_the_engines(invoke: Invoke) -> None:
    doc = compared(invoke, CHECKOUT, CHECKOUT_OK)
    trigger = {
        wf: json.loads(t)
        for wf, t in rows(
            "SELECT id, trigger FROM pipeline_executions WHERE name = 'checkout-deploy'"
        )
    }
    changes = {tuple(c["path"]): (c["before"], c["after"]) for c in doc["context_changes"]}
    for key in ("git_sha", "version"):
        before, after = (
            trigger[CHECKOUT_OK]["parameters"][key],
            trigger[CHECKOUT]["parameters"][key],
        )
        assert changes[("trigger", "parameters", key)] == (before, after)
        assert changes[("context", key)] == (before, after)
    assert ("trigger", "parameters", "branch") not in changes  # the same in both


def test_the_new_failure_carries_its_cause_and_later_stages_never_ran(invoke: Invoke) -> None:
    doc = compared(invoke, CHECKOUT, CHECKOUT_OK)
    assert doc["new_failures"] == ["test"]
    stages = {s["ref_id"]: s for s in doc["stages"]}
    assert (
        stages["test"]["cause"]["fields"]["stderr"]
        == stage_row(CHECKOUT, "test")["context"]["stderr"]
    )
    assert (stages["deploy"]["status_before"], stages["deploy"]["status_after"]) == (
        "SUCCEEDED",
        "NOT_STARTED",
    )
    assert [t["status_after"] for t in stages["deploy"]["tasks"]] == ["NOT_STARTED"] * 3
    assert doc["stages_added"] == doc["stages_missing"] == []


def test_durations_are_the_difference_of_the_two_runs(invoke: Invoke) -> None:
    doc = compared(invoke, CHECKOUT, CHECKOUT_OK)
    a = json.loads(invoke("timeline", CHECKOUT, "--json", db=SHAPES_DB).stdout)
    b = json.loads(invoke("timeline", CHECKOUT_OK, "--json", db=SHAPES_DB).stdout)
    build = next(s for s in doc["stages"] if s["ref_id"] == "build")["duration"]
    before = next(s for s in b["stages"] if s["ref_id"] == "build")["duration_ms"]
    after = next(s for s in a["stages"] if s["ref_id"] == "build")["duration_ms"]
    assert (build["before_ms"], build["after_ms"], build["delta_ms"]) == (
        before,
        after,
        after - before,
    )
    assert build["delta_percent"] == round(100 * (after - before) / before, 1)


def test_a_run_compared_with_itself_has_no_differences(invoke: Invoke) -> None:
    doc = compared(invoke, CHECKOUT, CHECKOUT)
    assert doc["context_changes"] == []
    assert doc["new_failures"] == []
    assert all(not s["status_changed"] for s in doc["stages"])


def test_the_tree_and_markdown_are_pinned(invoke: Invoke, snapshot: Any) -> None:
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "compare"
    tree = invoke("compare", CHECKOUT, CHECKOUT_OK, db=SHAPES_DB, env={"COLUMNS": "120"})
    assert tree.exit_code == 0, tree.stderr
    snapshot.assert_match(tree.stdout, "checkout-deploy.txt")
    markdown = invoke("compare", CHECKOUT, CHECKOUT_OK, "-f", "markdown", db=SHAPES_DB)
    snapshot.assert_match(markdown.stdout, "checkout-deploy.md")


def test_without_an_earlier_success_b_must_be_named(invoke: Invoke) -> None:
    result = invoke("compare", CHECKOUT, db=SHAPES_DB)
    assert result.exit_code == 6
    assert result.stderr.startswith("error: no successful run of 'checkout-deploy'")
    assert CHECKOUT_OK in result.stderr  # the later success, as a hint
    assert len(result.stderr.strip().splitlines()) == 1


# -- small stores: the default B, hostile text --------------------------------------------

NAME = "deploy | <img src=x onerror=alert(1)> `x` [l](http://e) [red]r[/] \x1b[2J\u202e"


def run(
    workflow_id: str, at: float, status: str, *, app: str = "payments", sha: str = "aaa"
) -> list[Any]:
    event = functools.partial(make_event, workflow_id=workflow_id)
    w, s, t = EntityType.WORKFLOW, EntityType.STAGE, EntityType.TASK
    stage, task = f"{workflow_id}-st", f"{workflow_id}-tk"
    failed = status != "SUCCEEDED"
    return [
        event(EventType.WORKFLOW_CREATED, w, workflow_id, at, application=app, name="ship"),
        event(EventType.WORKFLOW_STARTED, w, workflow_id, at + 0.1, context={"git_sha": sha}),
        event(EventType.STAGE_STARTED, s, stage, at + 0.2, ref_id="build", name=NAME),
        event(EventType.TASK_STARTED, t, task, at + 0.3, name="compile", stage_id=stage),
        event(
            EventType.TASK_FAILED if failed else EventType.TASK_COMPLETED,
            t,
            task,
            at + 0.5,
            status=status,
            error="boom" if failed else None,
        ),
        event(
            EventType.STAGE_FAILED if failed else EventType.STAGE_COMPLETED,
            s,
            stage,
            at + 0.6,
            status=status,
            error=f"{NAME} failed" if failed else None,
            outputs={"artifact": f"build-{sha}.tar", "_task_completion": {"x": sha}},
        ),
        event(
            EventType.WORKFLOW_FAILED if failed else EventType.WORKFLOW_COMPLETED,
            w,
            workflow_id,
            at + 0.7,
            status=status,
        ),
    ]


@pytest.fixture
def runs_db(tmp_path: Path) -> Path:
    path = tmp_path / "runs.db"
    store = SqliteEventStore(str(path))
    try:
        store.append_batch(
            [
                *run("wf-old-ok", 0, "SUCCEEDED", sha="111"),
                *run("wf-other-app-ok", 10, "SUCCEEDED", app="search"),
                *run("wf-last-ok", 20, "SUCCEEDED", sha="222"),
                *run("wf-failed", 30, "TERMINAL", sha="333"),
                *run("wf-after-ok", 40, "SUCCEEDED", sha="444"),
            ]
        )
    finally:
        store.close()
    return path


def test_by_default_a_is_the_latest_failure_and_b_the_last_success_before_it(
    invoke: Invoke, runs_db: Path
) -> None:
    doc = compared(invoke, db=runs_db)
    assert (doc["a"]["workflow_id"], doc["b"]["workflow_id"]) == ("wf-failed", "wf-last-ok")
    changes = {tuple(c["path"]): (c["before"], c["after"]) for c in doc["context_changes"]}
    assert changes == {("context", "git_sha"): ("222", "333")}
    assert doc["new_failures"] == ["build"]


def test_markdown_keeps_database_text_literal(invoke: Invoke, runs_db: Path) -> None:
    result = invoke("compare", "-f", "markdown", db=runs_db)
    assert result.exit_code == 0, result.stderr
    assert "<img" not in result.stdout
    assert "&lt;img src=x onerror=alert(1)&gt;" in result.stdout
    assert "deploy \\| " in result.stdout
    assert "\\[l\\](http://e)" in result.stdout


def test_the_tree_keeps_database_text_inert(invoke: Invoke, runs_db: Path) -> None:
    result = invoke("compare", db=runs_db)
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert "\u202e" not in result.stdout
    assert "[red]r[/]" in result.stdout  # markup shown, not applied
    assert "\\x1b[2J" in result.stdout


def test_outputs_that_differ_are_listed_and_engine_keys_are_not(
    invoke: Invoke, runs_db: Path
) -> None:
    doc = compared(invoke, "wf-last-ok", "wf-old-ok", db=runs_db)
    (build,) = doc["stages"]
    assert build["outputs"] == [
        {
            "path": ["artifact"],
            "op": "changed",
            "before": "build-111.tar",
            "after": "build-222.tar",
        }
    ]
    shown = invoke("compare", "wf-last-ok", "wf-old-ok", db=runs_db).stdout
    assert "~ artifact: build-111.tar \u2192 build-222.tar" in shown
