"""A workflow's events by position, and its state as of any of them, for a moving cursor.

The explorer asks for the state after every cursor step. Rebuilding it each time, even
from a snapshot, would cost a replay per key press on a long run; :class:`StateCursor`
keeps the state it last gave and folds forward from there, and keeps copies every
``CHECKPOINT_EVERY`` events so that a step back starts from the nearest copy (or from a
verified snapshot, or the first event) instead of from the beginning.
"""

from __future__ import annotations

import bisect
import pickle
from array import array
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..audit import read_models_for
from ..events.base import EntityType
from ..events.diff import diff_values
from ..events.errors import StoreCorruptError
from ..events.snapshots import SnapshotStore
from ..events.state import apply_event, copy_state, empty_state, resumable
from ..events.store import UNLIMITED, AuditableStore, EventQuery
from ..events.store.columns import EVENT_COLUMNS
from ..events.store.raw import UnreadableRow, readable_part
from .events import StoredEvent
from .state import StateDiff

PAGE = 200
"""Events decoded per page of the list."""
PAGES_KEPT = 64
CHECKPOINT_EVERY = 250
"""Folded events between two kept copies of the state: a step back folds at most this many."""
CHECKPOINTS_KEPT = 1024
WARM_STEP = 500
"""Events :meth:`StateCursor.warm` folds per call (a few milliseconds)."""
FORWARD_LIMIT = 2 * CHECKPOINT_EVERY
"""Further ahead than this, a kept copy or snapshot nearer the target may be shorter."""


class RunEvents:
    """The workflow's events by position (0 = its first), decoded a page at a time."""

    def __init__(self, store: AuditableStore, workflow_id: str) -> None:
        self.store, self.workflow_id = store, workflow_id
        self._catalog = read_models_for(store).catalog
        self.sequences: array[int] = array("q", self._sequences())
        self._pages: OrderedDict[int, list[StoredEvent]] = OrderedDict()

    def _sequences(self, after: int = 0) -> list[int]:
        """From the index; a damaged page of it: from the rows that can be read."""
        try:
            return self._catalog.sequences_of(self.workflow_id, after=after)
        except StoreCorruptError:
            query = EventQuery(workflow_id=self.workflow_id, from_sequence=after, limit=UNLIMITED)
            return [row.sequence for row in readable_part(self.store.get_rows(query))]

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, index: int) -> StoredEvent:
        if not 0 <= index < len(self.sequences):
            raise IndexError(index)
        number, offset = divmod(index, PAGE)
        page = self._pages.get(number)
        if page is None:
            page = self._pages[number] = self._read(number)
            while len(self._pages) > PAGES_KEPT:
                self._pages.popitem(last=False)
        else:
            self._pages.move_to_end(number)
        return page[offset] if offset < len(page) else self._missing(index)

    def _read(self, number: int) -> list[StoredEvent]:
        """One page: a keyset read between its first and last sequence."""
        first = number * PAGE
        last = min(first + PAGE, len(self.sequences)) - 1
        query = EventQuery(
            workflow_id=self.workflow_id,
            from_sequence=self.sequences[first] - 1,
            to_sequence=self.sequences[last],
            limit=UNLIMITED,
        )
        rows = list(self.store.get_rows(query))
        wanted = self.sequences[first : last + 1]
        if [row.sequence for row in rows] == list(wanted):
            return rows
        # the index lists rows on a damaged page of the table: each keeps its place
        found = {row.sequence: row for row in rows}
        return [found.get(s) or damaged_row(self.workflow_id, s) for s in wanted]

    def _missing(self, index: int) -> StoredEvent:
        raise LookupError(f"event {self.sequences[index]} is no longer in the store")

    def index_of(self, sequence: int) -> int:
        """The position of the last event at or before ``sequence`` (0 if none is)."""
        return max(0, bisect.bisect_right(self.sequences, sequence) - 1)

    def grow(self) -> int | None:
        """Take in events committed since (a running workflow): how many were appended
        after the last one seen, or None when one took a lower sequence (PostgreSQL may
        commit a lower sequence later) and every position was read again."""
        count = self.store.count_events(EventQuery(workflow_id=self.workflow_id))
        if count == len(self.sequences):
            return 0
        last = self.sequences[-1] if self.sequences else 0
        new = self._sequences(after=last)
        if len(self.sequences) + len(new) != count:
            self.sequences = array("q", self._sequences())
            self._pages.clear()
            return None
        if self.sequences:  # the last page may have been read short
            self._pages.pop((len(self.sequences) - 1) // PAGE, None)
        self.sequences.extend(new)
        return len(new)


DAMAGED_PAGE = "on a damaged page of the database"


def damaged_row(workflow_id: str, sequence: int) -> UnreadableRow:
    """The place of an event the index lists but the table cannot give: nothing of it is
    known but its sequence and workflow (no value of the row is ever read)."""
    columns: dict[str, Any] = dict.fromkeys(EVENT_COLUMNS)
    columns.update(sequence=sequence, workflow_id=workflow_id)
    return UnreadableRow(columns, "data", DAMAGED_PAGE)


@dataclass
class _Held:
    sequence: int
    state: dict[str, Any]
    since_kept: int = 0
    """Events folded into it since it was last kept (or started from a kept copy)."""


class StateCursor:
    """The workflow's rebuilt state as of any sequence, cheaply for nearby sequences.

    Each answer equals ``EventReplayer.rebuild_workflow_state(workflow_id, sequence)``.
    """

    def __init__(self, store: AuditableStore, workflow_id: str) -> None:
        self.store, self.workflow_id = store, workflow_id
        self._snapshots = SnapshotStore(store) if store.has_snapshot_table() else None
        self._current: _Held | None = None
        self._kept: OrderedDict[int, bytes] = OrderedDict()
        """Copies of the state by sequence, pickled: hundreds of deep copies as live
        objects made each full garbage collection take half a second."""
        self._kept_order: list[int] = []
        self._warming: _Held | None = None
        self.folded = 0
        """Events folded since the cursor was made (for tests and benchmarks)."""

    def state_at(self, sequence: int) -> dict[str, Any]:
        """The state as of ``sequence`` (the caller must not change it; copy to keep it)."""
        current = self._current
        if current is None or not current.sequence <= sequence <= current.sequence + FORWARD_LIMIT:
            current = self._current = self._start_for(sequence)
        if current.sequence < sequence:
            self._fold(current, sequence)
        return current.state

    def forget(self) -> None:
        """Drop every state kept: an event committed below states already folded."""
        self._current = self._warming = None
        self._kept.clear()
        self._kept_order.clear()

    def warm(self, count: int = WARM_STEP) -> bool:
        """Fold the next ``count`` events of a pass over the whole run, keeping a copy
        every ``CHECKPOINT_EVERY`` events; True once the pass is done. Called a step at a
        time while the user looks, it makes any later jump fold at most that many."""
        held = self._warming
        if held is None:
            held = self._warming = _Held(0, empty_state(self.workflow_id))
        query = EventQuery(workflow_id=self.workflow_id, from_sequence=held.sequence, limit=count)
        folded = 0
        for event in self.store.get_events(query):
            apply_event(held.state, event)
            held.sequence = event.sequence
            held.since_kept += 1
            folded += 1
            if held.since_kept >= CHECKPOINT_EVERY:
                self._keep(held)
                held.since_kept = 0
        return folded < count

    def diff(self, first: int, second: int) -> StateDiff:
        """What ``diff WF first second`` shows, from the cursor's states."""
        low, high = sorted((first, second))
        before = copy_state(self.state_at(low))
        after = copy_state(self.state_at(high))
        changes = tuple(c.to_dict() for c in diff_values(before, after))
        return StateDiff(self.workflow_id, low, high, changes, before, after)

    def _start_for(self, sequence: int) -> _Held:
        """A copy of the nearest kept state, snapshot or empty state at or before it."""
        position = bisect.bisect_right(self._kept_order, sequence)
        kept_at = self._kept_order[position - 1] if position else None
        kept = None if kept_at is None else self._kept[kept_at]
        snapshot = None
        if self._snapshots is not None:
            snapshot = self._snapshots.get_snapshot_at(
                EntityType.WORKFLOW, self.workflow_id, sequence
            )
            if snapshot is not None and not resumable(snapshot.state):
                snapshot = None
        if snapshot is not None and (kept_at is None or snapshot.sequence > kept_at):
            return _Held(snapshot.sequence, copy_state(snapshot.state))
        if kept_at is not None and kept is not None:
            return _Held(kept_at, pickle.loads(kept))  # bytes this cursor pickled itself
        return _Held(0, empty_state(self.workflow_id))

    def _fold(self, held: _Held, sequence: int) -> None:
        query = EventQuery(
            workflow_id=self.workflow_id,
            from_sequence=held.sequence,
            to_sequence=sequence,
            limit=UNLIMITED,
        )
        for event in self.store.get_events(query):
            apply_event(held.state, event)
            held.sequence = event.sequence
            self.folded += 1
            held.since_kept += 1
            if held.since_kept >= CHECKPOINT_EVERY:
                self._keep(held)
                held.since_kept = 0
        held.sequence = sequence

    def _keep(self, held: _Held) -> None:
        """A copy of ``held`` (kept copies are never changed: a start copies one)."""
        if held.sequence in self._kept:
            return
        self._kept[held.sequence] = pickle.dumps(held.state, pickle.HIGHEST_PROTOCOL)
        bisect.insort(self._kept_order, held.sequence)
        while len(self._kept) > CHECKPOINTS_KEPT:
            dropped, _ = self._kept.popitem(last=False)
            self._kept_order.remove(dropped)
