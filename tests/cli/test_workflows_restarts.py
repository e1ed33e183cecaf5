"""`stabilize workflows` and `latest-failed` count the final outcome of a restarted run."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from ..conftest import SHAPES_DB
from .conftest import Invoke
from .test_run_story import CERT, CHECKOUT, DNS, FLAG, terminal_events


def listing(invoke: Invoke, db: Path = SHAPES_DB) -> dict[str, dict[str, object]]:
    result = invoke("workflows", "--json", db=db)
    assert result.exit_code == 0, result.stderr
    return {w["workflow_id"]: w for w in json.loads(result.stdout)}


def test_a_restarted_run_that_succeeded_has_no_failures_and_says_it_was_restarted(
    invoke: Invoke,
) -> None:
    rows = listing(invoke)
    for workflow_id in (CERT, DNS):
        ends = terminal_events(workflow_id)
        assert rows[workflow_id]["status"] == "SUCCEEDED"
        assert (rows[workflow_id]["failed_stages"], rows[workflow_id]["restarts"]) == (
            0,
            len(ends) - 1,
        )
    assert (rows[CHECKOUT]["failed_stages"], rows[CHECKOUT]["restarts"]) == (1, 0)
    table = invoke("workflows", db=SHAPES_DB, env={"COLUMNS": "140"}).stdout
    assert "RESTARTS" in table


def test_latest_failed_skips_a_run_whose_failure_a_restart_undid(
    invoke: Invoke, tmp_path: Path
) -> None:
    """dns-cutover failed twice and then succeeded: the latest failed run is the one before."""
    db = tmp_path / "shapes.db"
    shutil.copyfile(SHAPES_DB, db)
    final, _ = terminal_events(DNS)[-1]
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM events WHERE sequence > ?", (final,))
    result = invoke("timeline", "latest-failed", "--json", db=db)
    assert json.loads(result.stdout)["workflow_id"] == FLAG
