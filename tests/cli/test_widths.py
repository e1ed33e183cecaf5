"""Every table at 80, 120 and 200 columns: nothing disappears, no id is cut, no line is
wider than the terminal (pinned by snapshots)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from stabilize_cli.cli.app import app

from ..conftest import FIXTURES, REAL_DB

DEMO_DB = FIXTURES / "demo.db"
ULID = re.compile(r"\b[0-9A-HJKMNP-TV-Z]{26}\b")
TABLES: dict[str, tuple[Path, list[str]]] = {
    "workflows": (REAL_DB, ["workflows"]),
    "history": (REAL_DB, ["history", "01M8HB01H7THNFHHYA5FBYMY6E"]),
    "history-all": (REAL_DB, ["history", "01M8HAZVN51R0GZ2NVTT2DCYFJ", "--all"]),
    "events": (REAL_DB, ["events", "--limit", "12"]),
    "timeline": (REAL_DB, ["timeline", "01M8HAZVN51R0GZ2NVTT2DCYFJ"]),
    "timeline-failed": (REAL_DB, ["timeline", "01M8HB0192C39KFA3JFF10TM4D"]),
    "failures": (REAL_DB, ["failures"]),
    "metrics": (REAL_DB, ["metrics", "--no-cache"]),
    "snapshots": (DEMO_DB, ["snapshots", "list"]),
    "subscriptions": (DEMO_DB, ["subscriptions", "list"]),
    "verify": (DEMO_DB, ["verify"]),
    "diff": (REAL_DB, ["diff", "01M8HAZVN51R0GZ2NVTT2DCYFJ", "63", "70"]),
}
WIDTHS = (80, 120, 200)


def shown(argv: list[str], db: Path, width: int) -> str:
    result = CliRunner().invoke(
        app,
        [*argv, "--db", str(db)],
        prog_name="stabilize",
        env={"COLUMNS": str(width)},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    return "\n".join(line.rstrip() for line in result.stdout.splitlines()) + "\n"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(TABLES))
def test_table_fits_and_is_pinned(name: str, width: int, snapshot: Any) -> None:
    db, argv = TABLES[name]
    text = shown(argv, db, width)
    too_wide = [line for line in text.splitlines() if len(line) > width]
    assert too_wide == []
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots" / "widths"
    snapshot.assert_match(text, f"{name}-{width}.txt")


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["workflows", "events", "history-all", "snapshots", "failures"])
def test_every_id_and_number_of_the_json_is_in_the_table_whole(name: str, width: int) -> None:
    db, argv = TABLES[name]
    text = shown(argv, db, width)
    document = shown([*argv, "--json"], db, 200)
    for ulid in set(ULID.findall(document)):
        if name not in ("events", "history-all") or f'"entity_id": "{ulid}"' in document:
            assert ulid in text, ulid
    if name in ("events", "history-all"):
        for event in json.loads(document):
            assert re.search(rf"^\s*{event['sequence']}\s", text, re.M), event["sequence"]


@pytest.mark.parametrize("width", WIDTHS)
def test_metrics_figures_are_never_cut(width: int) -> None:
    text = shown(["metrics", "--no-cache"], REAL_DB, width)
    assert "…" not in text
    for stage in ("flaky", "python", "optional"):
        assert stage in text
    for figure in ("4.40s", "6.25s", "2.55s", "93.5%", "723ms"):
        assert figure in text
