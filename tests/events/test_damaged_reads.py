"""Reads past a damaged page, at the store and read-model level, for every leaf of the
``events`` table of both engine databases (a class of pages, not examples):

- the keyset read gives every row outside the noted ranges, in order, and the ranges
  hold no more than one page's rows;
- the metrics SQL over the readable ranges equals the projection over the readable
  events, and is marked incomplete (so never cached);
- the workflow listing built from readable rows equals the catalog's SQL on the
  undamaged file for every workflow none of whose events was left out;
- without notes (not an audit) the damage still raises.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from stabilize_cli.audit import read_models_for
from stabilize_cli.audit.metrics_cache import MetricsCache
from stabilize_cli.audit.sqlite.newest import readable_summaries
from stabilize_cli.events.errors import StoreCorruptError
from stabilize_cli.events.projections.metrics import StageMetricsProjection
from stabilize_cli.events.store import UNLIMITED, EventQuery
from stabilize_cli.events.store.raw import ReadNotes
from stabilize_cli.events.store.sqlite import SqliteEventStore
from stabilize_cli.queries.metrics import MetricsFilter, stage_metrics, summarise

from ..conftest import REAL_DB, SHAPES_DB

STORES = {"small": REAL_DB, "shapes": SHAPES_DB}


def leaves(db: Path) -> list[int]:
    with sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf'"
        ).fetchall()
    return sorted(r[0] for r in rows)


CASES = [
    pytest.param(name, page, id=f"{name}-page{page}")
    for name, db in STORES.items()
    for page in leaves(db)
]


def damaged_copy(tmp_path: Path, source: Path, page: int) -> Path:
    copy = tmp_path / "damaged.db"
    shutil.copyfile(source, copy)
    with copy.open("r+b") as stream:
        stream.seek((page - 1) * 4096)
        stream.write(b"\x00" * 8)
    return copy


def opened(path: Path, notes: ReadNotes | None) -> SqliteEventStore:
    return SqliteEventStore(str(path), create_tables=False, read_only=True, notes=notes)


def held(ranges: list[tuple[int, int | None]], sequence: int) -> bool:
    return any(a <= sequence and (b is None or sequence <= b) for a, b in ranges)


@pytest.mark.parametrize(("name", "page"), CASES)
class TestEveryLeafOfEvents:
    def test_keyset_read_gives_every_row_outside_the_noted_ranges(
        self, tmp_path: Path, name: str, page: int
    ) -> None:
        with opened(STORES[name], None) as whole:
            every = [e.sequence for e in whole.get_events(EventQuery(limit=UNLIMITED))]
        notes = ReadNotes()
        with opened(damaged_copy(tmp_path, STORES[name], page), notes) as store:
            shown = [row[0] for row in store.readable_rows("sequence")]
            events = [e.sequence for e in store.readable_events(EventQuery(limit=UNLIMITED))]
            newest_first = [
                e.sequence
                for e in store.readable_events(EventQuery(limit=UNLIMITED, ascending=False))
            ]
        assert notes.damaged
        assert shown == events == [s for s in every if not held(notes.damaged, s)]
        assert newest_first == shown[::-1]
        assert 0 < sum(held(notes.damaged, s) for s in every) <= 40  # one page's rows

    def test_metrics_equal_the_projection_over_the_readable_events(
        self, tmp_path: Path, name: str, page: int
    ) -> None:
        copy = damaged_copy(tmp_path, STORES[name], page)
        with opened(copy, ReadNotes()) as store:
            result = stage_metrics(store, MetricsFilter(), cache=MetricsCache(tmp_path / "c"))
        with opened(copy, ReadNotes()) as store:
            projection = StageMetricsProjection()
            projection.apply_all(store.readable_events(EventQuery(limit=UNLIMITED)))
        expected = summarise(projection.get_state(), projection.get_task_state(), MetricsFilter())
        assert result.to_json() == expected.to_json()
        assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())

    def test_the_sql_over_readable_ranges_is_marked_incomplete(
        self, tmp_path: Path, name: str, page: int
    ) -> None:
        notes = ReadNotes()
        with opened(damaged_copy(tmp_path, STORES[name], page), notes) as store:
            figures = read_models_for(store).analytics.stage_and_task_figures()
        assert figures.complete is False  # shown, never cached
        assert notes.damaged  # and said

    def test_workflows_from_readable_rows_match_the_catalog(
        self, tmp_path: Path, name: str, page: int
    ) -> None:
        with opened(STORES[name], None) as whole:
            before = {s.workflow_id: s for s in read_models_for(whole).catalog.summaries()}
        notes = ReadNotes()
        with opened(damaged_copy(tmp_path, STORES[name], page), notes) as store:
            after = readable_summaries(store)
            listed = list(read_models_for(store).newest.newest_first())
        assert [s.workflow_id for s in listed] == [s.workflow_id for s in after]
        firsts = [s.first_sequence for s in after]
        assert firsts == sorted(firsts, reverse=True)
        shown = {s.workflow_id: s for s in after}
        assert set(shown) <= set(before)
        for summary in before.values():  # none of its events left out: exactly as it was
            if not any(
                a <= summary.last_sequence and (b is None or summary.first_sequence <= b)
                for a, b in notes.damaged
            ):
                assert shown[summary.workflow_id] == summary

    def test_without_notes_the_damage_still_raises(
        self, tmp_path: Path, name: str, page: int
    ) -> None:
        with (
            opened(damaged_copy(tmp_path, STORES[name], page), None) as store,
            pytest.raises(StoreCorruptError),
        ):
            list(store.get_events(EventQuery(limit=UNLIMITED)))
