"""A damaged index page loses no row: every command gives its whole answer, read from the
tables themselves, with a warning naming the index, and exits 0.

Generated over every page (leaf and interior) of every index on ``events`` and on the
engine's tables, of both real stores; each command's output is compared with its output
on the undamaged file. In-process (the CLI runner): some 500 runs.
"""

from __future__ import annotations

import shutil
import sqlite3
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stabilize_cli.cli.app import app
from stabilize_cli.events.store import UNLIMITED, EventQuery
from stabilize_cli.events.store.raw import ReadNotes
from stabilize_cli.events.store.sqlite import SqliteEventStore
from stabilize_cli.events.store.sqlite.unindexed import TABLES, AuditConnection, without_indexes

from ..conftest import REAL_DB, SHAPES_DB

PAGE_SIZE = 4096
STORES = {"small": REAL_DB, "shapes": SHAPES_DB}


def index_pages(db: Path) -> list[tuple[str, int, str]]:
    """(index, page, leaf or internal) for each page of each index on TABLES."""
    marks = ",".join("?" * len(TABLES))
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT name, pageno, pagetype FROM dbstat WHERE name IN (SELECT name FROM "
            f"sqlite_master WHERE type = 'index' AND tbl_name IN ({marks})) ORDER BY pageno",
            TABLES,
        ).fetchall()
    return [(str(name), int(page), str(kind)) for name, page, kind in rows]


@cache
def commands(store: str) -> tuple[tuple[str, ...], ...]:
    db = STORES[store]
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as con:
        failed, other = (
            str(
                con.execute(
                    "SELECT id FROM pipeline_executions WHERE status = ? ORDER BY rowid", (status,)
                ).fetchone()[0]
            )
            for status in ("TERMINAL", "SUCCEEDED")
        )
    return (
        ("workflows", "-o", "json"),
        ("metrics", "--no-cache", "-o", "json"),
        ("failures", "-o", "json"),
        ("events", "-o", "json"),
        ("history", failed, "--all", "-o", "json"),
        ("timeline", failed, "-o", "json"),
        ("state", failed, "-o", "json"),
        ("graph", failed, "-o", "json"),
        ("compare", failed, other, "-o", "json"),
    )


def run(args: tuple[str, ...], db: Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [*args, "--db", str(db)], prog_name="stabilize")
    return result.exit_code, result.stdout, result.stderr


@cache
def undamaged(store: str, args: tuple[str, ...]) -> str:
    code, out, err = run(args, STORES[store])
    assert code == 0, err
    return out


CASES = [
    pytest.param(store, name, page, id=f"{store}-{name}-{kind}-page{page}")
    for store, db in STORES.items()
    for name, page, kind in index_pages(db)
]


def test_every_index_has_pages_here() -> None:
    """The generated cases cover every index on the tables, leaves and interior pages."""
    for db in STORES.values():
        with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as con:
            indexes = {
                row[0]
                for row in con.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN "
                    f"({','.join('?' * len(TABLES))})",
                    TABLES,
                )
            }
        pages = index_pages(db)
        assert {name for name, _, _ in pages} == indexes
        assert {kind for _, _, kind in pages} == {"leaf", "internal"}


@pytest.mark.parametrize(("store", "index", "page"), CASES)
def test_a_damaged_index_page_leaves_nothing_out(
    tmp_path: Path, store: str, index: str, page: int
) -> None:
    copy = tmp_path / "damaged.db"
    shutil.copyfile(STORES[store], copy)
    with copy.open("r+b") as stream:
        stream.seek((page - 1) * PAGE_SIZE)  # the b-tree page header: type 0 is no page type
        stream.write(b"\x00" * 8)
    for args in commands(store):
        code, out, err = run(args, copy)
        assert "Traceback" not in err
        assert (code, out) == (0, undamaged(store, args)), f"{args[0]}: {err}"
        warned = [line for line in err.splitlines() if "damaged index" in line]
        assert warned in (
            [],
            [
                f"warning: the database is corrupt: a damaged index ({index}); "
                "every row was read from its table instead: nothing left out; "
                "run 'stabilize verify' for every finding"
            ],
        ), err


@pytest.mark.parametrize(
    ("sql", "plain"),
    [
        ("SELECT a FROM events WHERE b", "SELECT a FROM events NOT INDEXED WHERE b"),
        ("x JOIN events AS e ON e.s = 1", "x JOIN events AS e NOT INDEXED ON e.s = 1"),
        (
            "FROM stage_executions s JOIN task_executions t ON",
            "FROM stage_executions s NOT INDEXED JOIN task_executions t NOT INDEXED ON",
        ),
        ("FROM events INDEXED BY idx_events_workflow WHERE", "FROM events NOT INDEXED WHERE"),
        ("FROM events NOT INDEXED WHERE", "FROM events NOT INDEXED WHERE"),
        (
            "FROM pipeline_executions\nORDER BY id",
            "FROM pipeline_executions NOT INDEXED\nORDER BY id",
        ),
        ("FROM events_archive WHERE", "FROM events_archive WHERE"),
        ("FROM sqlite_master WHERE", "FROM sqlite_master WHERE"),
        ("(SELECT 1 FROM events)", "(SELECT 1 FROM events NOT INDEXED)"),
    ],
)
def test_without_indexes(sql: str, plain: str) -> None:
    assert without_indexes(sql) == plain


def damaged_copy(tmp_path: Path, page: int) -> Path:
    copy = tmp_path / "damaged.db"
    shutil.copyfile(REAL_DB, copy)
    with copy.open("r+b") as stream:
        stream.seek((page - 1) * PAGE_SIZE)
        stream.write(b"\x00" * 8)
    return copy


def test_the_store_notes_the_index_and_nothing_left_out(tmp_path: Path) -> None:
    (page,) = [p for name, p, kind in index_pages(REAL_DB) if name == "idx_events_workflow"][:1]
    notes = ReadNotes()
    with SqliteEventStore(
        str(damaged_copy(tmp_path, page)), create_tables=False, read_only=True, notes=notes
    ) as store:
        workflow = store.fetch_all("SELECT workflow_id FROM events NOT INDEXED LIMIT 1")[0][0]
        events = store.get_events_for_workflow(workflow)
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as healthy:
        assert events == healthy.get_events_for_workflow(workflow)
    assert notes.index_damage
    assert notes.damaged_indexes == ["idx_events_workflow"]
    assert not notes.incomplete


def test_a_damaged_table_page_is_no_index_damage(tmp_path: Path) -> None:
    with sqlite3.connect(f"{REAL_DB.as_uri()}?mode=ro", uri=True) as con:
        (page,) = con.execute(
            "SELECT min(pageno) FROM dbstat WHERE name = 'events' AND pagetype = 'leaf'"
        ).fetchone()
    notes = ReadNotes()
    with SqliteEventStore(
        str(damaged_copy(tmp_path, page)), create_tables=False, read_only=True, notes=notes
    ) as store:
        list(store.readable_events(EventQuery(limit=UNLIMITED)))
    assert notes.damaged
    assert not notes.index_damage
    assert not notes.damaged_indexes


def test_a_healthy_store_reads_through_its_indexes() -> None:
    with SqliteEventStore(str(REAL_DB), create_tables=False, read_only=True) as store:
        store.fetch_all("SELECT count(*) FROM events WHERE workflow_id = 'x'")
        conn = store.read(lambda conn: conn)
    assert isinstance(conn, AuditConnection)
    assert not conn.tables_only
    assert not conn.index_damaged
