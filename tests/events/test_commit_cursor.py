"""The engine's commit-cursor API on SQLite, where commit order is sequence order."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from stabilize_cli.events import Event, EventType, SqliteEventStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEventStore]:
    with SqliteEventStore(str(tmp_path / "events.db")) as opened:
        yield opened


def test_sqlite_supports_the_commit_cursor(store: SqliteEventStore) -> None:
    assert store.supports_commit_cursor() is True


def test_reading_by_commit_cursor_pages_through_every_event_once(store: SqliteEventStore) -> None:
    assert store.get_events_since_committed("0") == ([], "0")
    store.append_batch([Event(event_id=f"E{n}") for n in range(5)])

    pages, cursor = [], "0"
    while True:
        events, cursor = store.get_events_since_committed(cursor, limit=2)
        if not events:
            break
        pages.append([e.event_id for e in events])

    assert pages == [["E0", "E1"], ["E2", "E3"], ["E4"]]
    assert cursor == "5"


def test_a_cursor_that_is_not_a_sequence_number_is_refused(store: SqliteEventStore) -> None:
    store.append(Event())

    for bad in ("abc", "", "2.5"):
        with pytest.raises(ValueError, match="commit cursor must be a sequence number"):
            store.get_events_since_committed(bad)


def test_update_subscription_cursor_stores_both_positions(store: SqliteEventStore) -> None:
    store.save_subscription("sub", [EventType.TASK_FAILED], None, 1)

    store.update_subscription_cursor("sub", 4, "4")
    store.update_subscription_cursor("missing", 9, "9")  # no such row: nothing happens

    row = store.get_subscription("sub")
    assert row is not None
    assert (row["last_sequence"], row["last_commit_cursor"]) == (4, "4")
    assert store.get_subscription("missing") is None
