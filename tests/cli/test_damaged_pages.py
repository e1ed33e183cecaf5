"""A damaged page of the database: every row that can still be read, in order, then the
incomplete mark and exit 4, wherever the page falls (copies of the engine's database)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from ..conftest import REAL_DB
from .conftest import run_process


def invoke(*args: str, db: Path = REAL_DB) -> subprocess.CompletedProcess[str]:
    """A real process each time: nothing a test before left in this one is shared."""
    return run_process(*args, "--db", str(db))


def event_pages() -> list[int]:
    """The leaf pages of the ``events`` table, from SQLite's own page map."""
    with sqlite3.connect(f"{REAL_DB.as_uri()}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf'"
        ).fetchall()
    return sorted(row[0] for row in rows)


PAGES = event_pages()
SAMPLED = sorted({PAGES[0], PAGES[len(PAGES) // 3], PAGES[2 * len(PAGES) // 3], PAGES[-2]})
"""The last leaf is left out: opening the store reads the newest row (its schema version),
so damage there still stops a run before its first row (not yet handled)."""


def damaged(tmp_path: Path, page: int) -> Path:
    copy = tmp_path / f"damaged-{page}.db"
    shutil.copyfile(REAL_DB, copy)
    with copy.open("r+b") as stream:
        stream.seek((page - 1) * 4096)  # the b-tree page header: type 0 is no page type
        stream.write(b"\x00" * 8)
    return copy


def sequences(text: str) -> tuple[list[int], list[dict[str, object]]]:
    lines = [json.loads(line) for line in text.splitlines()]
    rows = [line for line in lines if "sequence" in line]
    return [int(str(row["sequence"])) for row in rows], lines


@pytest.mark.parametrize("page", SAMPLED)
def test_events_show_every_readable_row_in_order_then_the_mark(tmp_path: Path, page: int) -> None:
    whole, _ = sequences(invoke("events", "--limit", "1000", "-o", "ndjson").stdout)
    db = damaged(tmp_path, page)
    result = invoke("events", "--limit", "1000", "-o", "ndjson", db=db)
    assert result.returncode == 4, (result.stderr, len(result.stdout.splitlines()), db)
    shown, lines = sequences(result.stdout)
    assert shown == sorted(shown)
    assert set(shown) <= set(whole)
    assert lines[-1]["incomplete"] is True
    assert result.stderr.startswith("error: ")
    assert "corrupt" in result.stderr
    # One leaf holds a few dozen rows at most: everything else is still shown, on both
    # sides of the damage (before this change one bad page could empty the output).
    assert len(shown) >= len(whole) - 40
    assert shown[-1] == whole[-1]


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown"])
def test_every_format_shows_the_readable_rows_and_exits_4(tmp_path: Path, fmt: str) -> None:
    db = damaged(tmp_path, SAMPLED[1])
    result = invoke("events", "--limit", "1000", "-o", fmt, db=db)
    assert result.returncode == 4
    assert "01M8HB08C9H7SYB8SPXPFPZ44M" in result.stdout  # the newest workflow, after it


@pytest.mark.parametrize("page", SAMPLED)
def test_history_of_a_workflow_shows_what_is_readable(tmp_path: Path, page: int) -> None:
    db = damaged(tmp_path, page)
    result = invoke("history", "01M8HB08C9H7SYB8SPXPFPZ44M", "--all", "--json", db=db)
    assert result.returncode in (0, 4)
    if result.returncode == 4:
        assert "corrupt" in result.stderr
