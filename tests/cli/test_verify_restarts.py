"""`stabilize verify` on the engine's restarts: normal, an info line each; events after an
end that no restart explains are still errors."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from ..conftest import SHAPES_DB
from .conftest import Invoke
from .test_run_story import CERT, DNS, terminal_events


def findings(invoke: Invoke, db: Path = SHAPES_DB) -> tuple[int, list[dict[str, Any]]]:
    result = invoke("verify", "--json", db=db)
    document = json.loads(result.stdout)
    return result.exit_code, document["findings"]


def copy(tmp_path: Path, *statements: str, params: tuple[str, ...] = ()) -> Path:
    db = tmp_path / "shapes.db"
    shutil.copyfile(SHAPES_DB, db)
    with sqlite3.connect(db) as conn:
        for statement in statements:
            conn.execute(statement, params)
    return db


def test_each_restart_of_the_engine_is_one_info_line_and_the_store_verifies(
    invoke: Invoke,
) -> None:
    code, found = findings(invoke)
    assert code == 0
    assert {f["severity"] for f in found} == {"info"}
    restarted = [f["sequences"][0] for f in found if f["code"] == "restart"]
    ends = [seq for wf in (CERT, DNS) for seq, _ in terminal_events(wf)[:-1]]
    assert restarted == ends


def test_the_cancel_of_a_running_sibling_after_workflow_failed_is_normal(invoke: Invoke) -> None:
    _, found = findings(invoke)
    assert [f for f in found if f["code"] == "after-terminal"] == []


def test_an_event_after_the_final_end_is_still_an_error(invoke: Invoke, tmp_path: Path) -> None:
    (final, _) = terminal_events(CERT)[-1]
    db = copy(tmp_path, f"UPDATE events SET workflow_id = '{CERT}' WHERE sequence = {final + 1}")
    code, found = findings(invoke, db)
    assert code == 1
    late = [f for f in found if f["code"] == "after-terminal"]
    assert [f["sequences"] for f in late] == [[final, final + 1]]


def test_a_stage_that_never_ran_starting_after_the_end_is_not_a_restart(
    invoke: Invoke, tmp_path: Path
) -> None:
    """Only stages that already ran start again in a restart; a new one is an anomaly."""
    db = copy(
        tmp_path,
        "INSERT INTO events (event_id, event_type, timestamp, entity_type, entity_id, "
        "workflow_id, version, data, correlation_id) SELECT '01M9ZZZZZZZZZZZZZZZZZZZZZZ', "
        "'stage.started', timestamp, 'stage', 'never-seen-stage', ?, 2, '{}', ? FROM events "
        "ORDER BY sequence DESC LIMIT 1",
        params=(CERT, CERT),
    )
    code, found = findings(invoke, db)
    assert code == 1
    assert [f["code"] for f in found if f["severity"] == "error"] == ["after-terminal"]
