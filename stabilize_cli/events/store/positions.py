"""Where each event of one workflow sits: its global sequence numbers, in order.

A cursor over a workflow of 100,000 events needs "the n-th event" and "the position of
sequence s" without decoding every event before it (``EventQuery.offset`` decodes and
skips); the sequences alone come from the ``(workflow_id, sequence)`` index.
"""

from __future__ import annotations

from array import array

from .sqlite import SqliteEventStore

WORKFLOW_SEQUENCES = (
    "SELECT sequence FROM events WHERE workflow_id = ? AND sequence > ? ORDER BY sequence"
)


def workflow_sequences(store: SqliteEventStore, workflow_id: str, after: int = 0) -> array[int]:
    """The sequence numbers of the workflow's events after ``after``, ascending."""
    with store.reading() as conn:
        rows = conn.execute(WORKFLOW_SEQUENCES, (workflow_id, after)).fetchall()
    return array("q", (row[0] for row in rows))
