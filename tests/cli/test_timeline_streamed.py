"""`timeline --json` writes its entries as it reads them (issue 13 section 5): the same
bytes as the one-piece document it replaced, for every workflow of the fixtures, with
secrets, with unreadable rows, with elided retries."""

from __future__ import annotations

import io
import json
import sqlite3
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stabilize_cli.cli.run import open_for_audit
from stabilize_cli.events import EntityType, EventType, SqliteEventStore
from stabilize_cli.events.store.raw import ReadNotes
from stabilize_cli.queries.timeline import workflow_timeline
from stabilize_cli.redaction import Redactor
from stabilize_cli.render.incomplete import mark_incomplete
from stabilize_cli.render.output import StreamedDocument, dumps, write_json, write_json_streamed
from stabilize_cli.render.timeline import timeline_report

from ..conftest import FIXTURES, REAL_DB, SHAPES_DB
from .conftest import Invoke, make_event

WF = "01STREAMWF0000000000000WF1"
TASK = "01STREAMTK0000000000000TK1"


def _workflows(db: Path) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT DISTINCT workflow_id FROM events ORDER BY 1").fetchall()
    return [r[0] for r in rows if isinstance(r[0], str)]


def _one_piece(db: Path, workflow: str) -> str:
    """The document as it was written before: the whole result, every entry held."""
    notes = ReadNotes()
    store = open_for_audit(str(db), Redactor(), notes=notes)
    try:
        result = workflow_timeline(store, workflow, keep_entries=True)
    finally:
        store.close()
    document = mark_incomplete(timeline_report(result), notes.unreadable).document()
    return dumps(document, indent=2) + "\n"


CASES = [(db, wf) for db in (REAL_DB, SHAPES_DB, FIXTURES / "demo.db") for wf in _workflows(db)]


@pytest.mark.parametrize(("db", "workflow"), CASES, ids=[f"{d.stem}-{w}" for d, w in CASES])
def test_every_fixture_workflow_is_written_byte_for_byte_as_before(
    invoke: Invoke, db: Path, workflow: str
) -> None:
    result = invoke("timeline", workflow, "--json", db=db)
    assert result.stdout == _one_piece(db, workflow)


def _store_with_retries(path: Path, *, damaged: bool) -> None:
    event = make_event
    with SqliteEventStore(str(path)) as store:
        store.append_batch(
            [
                event(
                    EventType.WORKFLOW_CREATED,
                    EntityType.WORKFLOW,
                    WF,
                    0,
                    workflow_id=WF,
                    name="wf",
                    application="app",
                    secrets=["password"],
                ),
                event(EventType.WORKFLOW_STARTED, EntityType.WORKFLOW, WF, 1, workflow_id=WF),
                event(
                    EventType.TASK_STARTED,
                    EntityType.TASK,
                    TASK,
                    2,
                    workflow_id=WF,
                    name="Poll",
                    stage_id="nowhere",
                ),
                *(
                    event(
                        EventType.TASK_RETRIED,
                        EntityType.TASK,
                        TASK,
                        3 + i,
                        workflow_id=WF,
                        attempt=i,
                        last_error=f"token=ghp_{'a' * 36} attempt {i}",
                    )
                    for i in range(30)
                ),
                event(
                    EventType.TASK_RETRIED,
                    EntityType.TASK,
                    TASK,
                    40,
                    workflow_id=WF,
                    name="password=hunter2hunter2",
                    status="RETRYING",
                    duration_ms=5,
                ),
                event(
                    EventType.TASK_COMPLETED,
                    EntityType.TASK,
                    TASK,
                    41,
                    workflow_id=WF,
                    status="SUCCEEDED",
                ),
                event(
                    EventType.WORKFLOW_COMPLETED,
                    EntityType.WORKFLOW,
                    WF,
                    50,
                    workflow_id=WF,
                    status="SUCCEEDED",
                ),
            ]
        )
    if damaged:
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE events SET data = '{not json' WHERE sequence IN (10, 20)")
            conn.execute("UPDATE events SET timestamp = 'never' WHERE sequence = 25")


@pytest.mark.parametrize("damaged", [False, True])
def test_retries_secrets_and_unreadable_rows_are_written_as_before(
    invoke: Invoke, tmp_path: Path, damaged: bool
) -> None:
    db = tmp_path / "retries.db"
    _store_with_retries(db, damaged=damaged)
    result = invoke("timeline", WF, "--json", db=db)
    assert result.stdout == _one_piece(db, WF)
    document = json.loads(result.stdout)
    assert "hunter2hunter2" not in result.stdout
    assert len(document["entries"]) == (33 if damaged else 36)
    assert document.get("incomplete", False) is damaged
    assert result.exit_code == (4 if damaged else 0)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
OBJECTS = st.dictionaries(st.text(max_size=5), JSON, max_size=3)


@settings(max_examples=200, deadline=None)
@given(head=OBJECTS, key=st.text(max_size=5), items=st.lists(JSON, max_size=4), tail=OBJECTS)
def test_a_streamed_document_is_the_bytes_of_the_whole_one(
    head: dict[str, Any], key: str, items: list[Any], tail: dict[str, Any]
) -> None:
    tail = {k: v for k, v in tail.items() if k != key and k not in head}
    whole = {**{k: v for k, v in head.items() if k != key}, key: items, **tail}
    head = {k: v for k, v in head.items() if k != key}
    pieces, one = io.StringIO(), io.StringIO()
    with redirect_stdout(pieces):
        write_json_streamed(StreamedDocument(head, key, iter(items), lambda: tail))
    with redirect_stdout(one):
        write_json(whole)
    assert pieces.getvalue() == one.getvalue()
