"""`stabilize graph` on the engine's database: the edges are the engine's rows."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ..conftest import SHAPES_DB
from .conftest import Invoke
from .test_run_story import CERT, SHARDS, rows


def engine_edges(workflow_id: str) -> set[tuple[str, str]]:
    return {
        (need, ref)
        for ref, needs in rows(
            "SELECT ref_id, requisite_stage_ref_ids FROM stage_executions WHERE execution_id = ?",
            workflow_id,
        )
        for need in json.loads(needs)
    }


def graph_json(invoke: Invoke, workflow_id: str, db: Path = SHAPES_DB) -> dict[str, Any]:
    result = invoke("graph", workflow_id, "--json", db=db)
    assert result.exit_code == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


@pytest.mark.parametrize("workflow_id", [SHARDS, CERT])
def test_edges_and_statuses_are_the_engines(invoke: Invoke, workflow_id: str) -> None:
    doc = graph_json(invoke, workflow_id)
    assert {(e["from"], e["to"]) for e in doc["edges"]} == engine_edges(workflow_id)
    statuses = dict(
        rows("SELECT ref_id, status FROM stage_executions WHERE execution_id = ?", workflow_id)
    )
    assert {s["ref_id"]: s["status"] for s in doc["stages"]} == statuses


def test_the_join_sits_below_all_its_branches(invoke: Invoke) -> None:
    layers = {s["ref_id"]: s["layer"] for s in graph_json(invoke, SHARDS)["stages"]}
    assert layers == {"plan": 0, "shard-1": 1, "shard-2": 1, "shard-3": 1, "merge": 2, "notify": 3}


def test_the_terminal_layout_is_pinned(invoke: Invoke, snapshot: Any) -> None:
    result = invoke("graph", SHARDS, db=SHAPES_DB)
    assert result.exit_code == 0, result.stderr
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "graph"
    snapshot.assert_match(result.stdout, "shard-rebalance.txt")


@pytest.mark.parametrize(("fmt", "arrow"), [("mermaid", " --> "), ("dot", " -> ")])
def test_mermaid_and_dot_have_one_line_per_edge(invoke: Invoke, fmt: str, arrow: str) -> None:
    result = invoke("graph", SHARDS, "--format", fmt, db=SHAPES_DB)
    assert result.exit_code == 0, result.stderr
    assert sum(arrow in line for line in result.stdout.splitlines()) == len(engine_edges(SHARDS))


def test_a_hostile_stage_name_stays_a_label(invoke: Invoke, tmp_path: Path) -> None:
    db = tmp_path / "hostile.db"
    shutil.copyfile(SHAPES_DB, db)
    evil = 'x"] --> s9["owned"];\n s0 -> s9; "\x1b[31m'
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE stage_executions SET name = ? WHERE execution_id = ? AND ref_id = 'plan'",
            (evil, SHARDS),
        )
    edges = len(engine_edges(SHARDS))
    mermaid = invoke("graph", SHARDS, "-f", "mermaid", db=db).stdout
    assert sum(" --> " in line for line in mermaid.splitlines()) == edges
    dot = invoke("graph", SHARDS, "-f", "dot", db=db).stdout
    assert sum(" -> " in line for line in dot.splitlines() if "label" not in line) == edges
    table = invoke("graph", SHARDS, db=db).stdout
    assert "\x1b" not in table


def test_without_the_tables_the_stages_are_listed_and_the_edges_said_unknown(
    invoke: Invoke, tmp_path: Path
) -> None:
    db = tmp_path / "events-only.db"
    shutil.copyfile(SHAPES_DB, db)
    with sqlite3.connect(db) as conn:
        for table in ("task_executions", "stage_executions", "pipeline_executions"):
            conn.execute(f"DROP TABLE {table}")
    doc = graph_json(invoke, SHARDS, db)
    assert (doc["edges_known"], doc["edges"]) == (False, [])
    assert "edges unknown" in invoke("graph", SHARDS, db=db).stdout


def test_an_unknown_format_is_a_usage_error(invoke: Invoke) -> None:
    result = invoke("graph", SHARDS, "--format", "png", db=SHAPES_DB)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
