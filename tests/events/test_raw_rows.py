"""Rows the codec refuses, kept as stored (store/raw.py, ``get_rows``, ``ReadNotes``).

Each row is written with plain SQL the way a foreign writer might leave it; the store
must name the column and the reason, never invent a value, and (with notes) leave the
row out of event reads while recording it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stabilize_cli.audit.sqlite.catalog import WorkflowCatalog
from stabilize_cli.events import EventType
from stabilize_cli.events.errors import EventDecodeError
from stabilize_cli.events.store import UNLIMITED, EventQuery, SqliteEventStore
from stabilize_cli.events.store.raw import ReadNotes, UnreadableRow, json_value

T0 = datetime(2026, 11, 28, 14, 40, 58, 128463, tzinfo=UTC)
GOOD = {
    "event_id": "01GOOD",
    "event_type": "workflow.started",
    "timestamp": T0.isoformat(),
    "entity_type": "workflow",
    "entity_id": "wf",
    "workflow_id": "wf",
    "version": 1,
    "data": "{}",
    "correlation_id": "wf",
    "causation_id": None,
    "actor": "system",
    "source_handler": "H",
    "schema_version": 1,
}


def insert(path: Path, **overrides: Any) -> None:
    """One row with plain SQL; ``sql_<column>`` gives an SQL expression instead of a value."""
    row = {**GOOD, **{k: v for k, v in overrides.items() if not k.startswith("sql_")}}
    exprs = {k[4:]: v for k, v in overrides.items() if k.startswith("sql_")}
    columns = list(row)
    values = [exprs.get(c, "?") for c in columns]
    params = [row[c] for c in columns if c not in exprs]
    conn = sqlite3.connect(path)
    conn.execute(f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join(values)})", params)
    conn.commit()
    conn.close()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    target = tmp_path / "events.db"
    SqliteEventStore(str(target)).close()
    return target


def reader(path: Path, notes: ReadNotes | None = None) -> SqliteEventStore:
    return SqliteEventStore(str(path), create_tables=False, read_only=True, notes=notes)


@pytest.fixture
def three_rows(path: Path) -> Path:
    """Good, unreadable (sequence 2, bad JSON), good."""
    insert(path, event_id="A")
    insert(path, event_id="B", data="{oops", timestamp=(T0 + timedelta(seconds=1)).isoformat())
    insert(path, event_id="C", timestamp=(T0 + timedelta(seconds=2)).isoformat())
    return path


REFUSED = [
    ({"data": "{oops"}, "data", "not valid JSON"),
    ({"data": '"text"'}, "data", "JSON is not an object (a string)"),
    ({"data": "null"}, "data", "JSON is not an object (null)"),
    ({"data": "[1]"}, "data", "JSON is not an object (a list)"),
    ({"sql_data": "X'7B7D'"}, "data", "stored as a BLOB, not JSON text"),
    ({"sql_data": "char(65279) || '{}'"}, "data", "not valid JSON (starts with a byte order mark)"),
    ({"sql_actor": "X'00'"}, "actor", "stored as a BLOB, not text"),
    ({"sql_entity_id": "X'00'"}, "entity_id", "stored as a BLOB, not text"),
    ({"sql_event_type": "X'00'"}, "event_type", "stored as a BLOB, not text"),
    ({"version": "two"}, "version", "stored as text, not an integer"),
    ({"version": 2.5}, "version", "stored as a number, not an integer"),
    ({"schema_version": "x"}, "schema_version", "stored as text, not an integer"),
    ({"entity_type": "gadget"}, "entity_type", "unknown entity type"),
    ({"timestamp": "yesterday"}, "timestamp", "not an ISO 8601 time"),
    ({"sql_timestamp": "X'00'"}, "timestamp", "stored as a BLOB, not text"),
]


@pytest.mark.parametrize(("row", "column", "reason"), REFUSED, ids=str)
def test_a_value_of_the_wrong_kind_is_refused_naming_its_column_and_why(
    path: Path, row: dict[str, Any], column: str, reason: str
) -> None:
    insert(path, **row)
    with reader(path) as store, pytest.raises(EventDecodeError) as caught:
        list(store.get_events(EventQuery()))
    assert (caught.value.sequence, caught.value.column, caught.value.reason) == (1, column, reason)


@pytest.mark.parametrize(("row", "column", "reason"), REFUSED, ids=str)
def test_get_rows_gives_the_refused_row_as_stored(
    path: Path, row: dict[str, Any], column: str, reason: str
) -> None:
    insert(path, **row)
    with reader(path) as store:
        (found,) = store.get_rows(EventQuery())
    assert isinstance(found, UnreadableRow)
    assert (found.sequence, found.column, found.reason) == (1, column, reason)
    assert found.to_dict()["unreadable"] == {
        "column": column,
        "reason": reason,
        "raw": json_value(found.columns[column]),
    }


def test_get_rows_keeps_an_unreadable_row_in_its_place(three_rows: Path) -> None:
    with reader(three_rows) as store:
        rows = list(store.get_rows(EventQuery()))
    assert [r.sequence for r in rows] == [1, 2, 3]
    assert [type(r).__name__ for r in rows] == ["Event", "UnreadableRow", "Event"]


def test_an_unreadable_row_counts_towards_the_limit(three_rows: Path) -> None:
    with reader(three_rows) as store:
        rows = list(store.get_rows(EventQuery(limit=2, ascending=False)))
    assert [r.sequence for r in rows] == [3, 2]


def test_an_unreadable_row_keeps_its_readable_time_for_time_filters(three_rows: Path) -> None:
    with reader(three_rows) as store:
        rows = list(store.get_rows(EventQuery(from_timestamp=T0 + timedelta(seconds=2))))
        late = list(store.get_rows(EventQuery(to_timestamp=T0 + timedelta(seconds=1))))
    assert [r.sequence for r in rows] == [3]
    assert [r.sequence for r in late] == [1, 2]


def test_a_row_whose_time_is_unreadable_is_kept_by_a_time_filter(path: Path) -> None:
    insert(path, event_id="A", timestamp="2026-11-28 sometime")
    with reader(path) as store:
        (row,) = store.get_rows(EventQuery(from_timestamp=T0 - timedelta(hours=1)))
    assert isinstance(row, UnreadableRow)
    assert row.timestamp is None


def test_the_json_form_is_sequence_unreadable_then_every_column_as_stored(
    path: Path,
) -> None:
    insert(path, sql_data="X'7B7D'")
    with reader(path) as store:
        (row,) = store.get_rows(EventQuery())
    assert isinstance(row, UnreadableRow)
    document = row.to_dict()
    assert list(document)[:2] == ["sequence", "unreadable"]
    assert document["data"] == "X'7B7D'"
    assert {k: v for k, v in document.items() if k not in ("sequence", "unreadable", "data")} == {
        k: v for k, v in GOOD.items() if k != "data"
    }


def test_with_notes_an_unreadable_row_is_left_out_of_every_event_read_and_noted(
    three_rows: Path,
) -> None:
    notes = ReadNotes()
    with reader(three_rows, notes) as store:
        reads = [
            [e.sequence for e in store.get_events(EventQuery())],
            [e.sequence for e in store.get_events(EventQuery(order_by="timestamp"))],
            [e.sequence for e in store.get_events_for_workflow("wf")],
            [e.sequence for e in store.iter_workflow_events("wf")],
        ]
    assert reads == [[1, 3]] * 4
    assert list(notes.unreadable) == [2]
    assert notes.unreadable[2].reason == "not valid JSON"


def test_without_notes_an_unreadable_row_still_raises(three_rows: Path) -> None:
    with reader(three_rows) as store, pytest.raises(EventDecodeError, match="event 2:"):
        store.get_events_for_workflow("wf")


def test_notes_record_events_of_a_newer_schema_once(path: Path) -> None:
    insert(path, event_id="NEW", schema_version=2)
    notes = ReadNotes()
    with reader(path, notes) as store:
        list(store.get_events(EventQuery()))
        list(store.get_events(EventQuery()))
    assert notes.newer_schema == {1: ("NEW", 2)}
    assert notes.newer_schema_ids == {"NEW"}


@pytest.mark.parametrize(
    ("timestamp", "naive"),
    [
        ("2026-11-28T14:40:58.128463", True),
        ("2026-11-28 14:40:58", True),
        ("2026-11-28T14:40:58.128463+00:00", False),
        ("2026-11-28T19:40:58+05:00", False),
        ("2026-11-28T14:40:58Z", False),
        ("2026-11-28T14:40:58+0000", False),
    ],
)
def test_notes_record_timestamps_without_an_offset(path: Path, timestamp: str, naive: bool) -> None:
    insert(path, timestamp=timestamp)
    notes = ReadNotes()
    with reader(path, notes) as store:
        (event,) = store.get_events(EventQuery())
    assert event.timestamp.tzinfo is not None
    assert notes.naive_timestamps == ({1} if naive else set())


def test_notes_name_the_columns_this_library_does_not_know(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE events ADD COLUMN tenant TEXT")
    conn.execute("ALTER TABLE events ADD COLUMN region TEXT")
    conn.close()
    notes = ReadNotes()
    reader(path, notes).close()
    assert notes.extra_columns == ("tenant", "region")


def test_a_null_actor_reads_as_none_not_as_system(path: Path) -> None:
    insert(path, actor=None, source_handler=None)
    with reader(path) as store:
        (event,) = store.get_events(EventQuery(limit=UNLIMITED))
    assert (event.metadata.actor, event.metadata.source_handler) == (None, None)
    assert event.to_dict()["metadata"]["actor"] is None


def test_a_null_schema_version_is_the_columns_default_1(path: Path) -> None:
    insert(path, schema_version=None)
    with reader(path) as store:
        (event,) = store.get_events(EventQuery())
    assert event.schema_version == 1


def test_an_unknown_event_type_still_reads_keeping_its_name(path: Path) -> None:
    insert(path, event_type="workflow.teleported")
    with reader(path) as store:
        (event,) = store.get_events(EventQuery())
    assert (event.event_type, event.type_name) == (EventType.UNKNOWN, "workflow.teleported")


def test_the_workflow_list_never_invents_a_status_from_an_unreadable_payload(
    path: Path,
) -> None:
    insert(path, event_id="A", event_type="workflow.created", data='{"application": "shop"}')
    insert(path, event_id="B", event_type="workflow.completed", data='{"status": "TERMINAL"')
    with reader(path) as store:
        (summary,) = WorkflowCatalog(store).summaries()
    assert (summary.application, summary.status) == ("shop", None)


def test_a_blob_becomes_its_sql_literal_in_json() -> None:
    assert (json_value(b"\x00\xff"), json_value("x"), json_value(None)) == ("X'00FF'", "x", None)
