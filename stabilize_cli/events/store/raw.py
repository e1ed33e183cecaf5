"""Rows the codec refuses, kept as stored, and what a tolerant read met (ours).

An audit must show a row it cannot decode, never stop at it or invent values for it:
a store's ``get_rows`` yields an :class:`UnreadableRow` in its place, and a
store opened with :class:`ReadNotes` leaves such a row out of ``get_events`` (instead of
raising :class:`EventDecodeError`) and notes its sequence, so that a report built from
the other events can say it is incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import base
from ..base import Event
from ..errors import EventDecodeError
from ..timeutil import parse_timestamp
from .codec import EventRow
from .columns import EVENT_COLUMNS


def json_value(value: object) -> Any:
    """A stored value JSON can carry: a BLOB becomes its SQL literal, ``X'0A1B'``."""
    if isinstance(value, bytes):
        return f"X'{value.hex().upper()}'"
    return value


@dataclass(frozen=True)
class UnreadableRow:
    """An ``events`` row the codec refused: every column as stored, and why."""

    columns: dict[str, Any]
    column: str
    """The first column found unreadable."""
    reason: str
    timestamp: datetime | None = None
    """The row's time when its timestamp itself is readable (for time filters)."""

    @classmethod
    def of(cls, row: EventRow, error: EventDecodeError) -> UnreadableRow:
        columns = dict(zip(EVENT_COLUMNS, row, strict=True))
        return cls(columns, error.column, error.reason, _moment(columns["timestamp"]))

    @property
    def sequence(self) -> int:
        return int(self.columns["sequence"])

    @property
    def raw(self) -> Any:
        return self.columns[self.column]

    @property
    def workflow_id(self) -> Any:
        return self.columns["workflow_id"]

    @property
    def error(self) -> EventDecodeError:
        return EventDecodeError(self.sequence, self.column, self.raw, self.reason)

    def to_dict(self) -> dict[str, Any]:
        """``sequence``, ``unreadable`` {column, reason, raw}, then every column as stored."""
        unreadable = {"column": self.column, "reason": self.reason, "raw": json_value(self.raw)}
        document: dict[str, Any] = {"sequence": self.sequence, "unreadable": unreadable}
        document.update((k, json_value(v)) for k, v in self.columns.items() if k != "sequence")
        return document


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


@dataclass(eq=False)
class ReadNotes:
    """What reads through a store met instead of failing; given to the store when opened.

    Sequences are kept once each, however often a report reads the same event.
    """

    unreadable: dict[int, UnreadableRow] = field(default_factory=dict)
    newer_schema: dict[int, tuple[str, int]] = field(default_factory=dict)
    """sequence -> (event id, ``schema_version``), for events newer than this library reads."""
    newer_schema_ids: set[str] = field(default_factory=set)
    """Their event ids (a caller can tell the replay's own warnings about them apart)."""
    naive_timestamps: set[int] = field(default_factory=set)
    """Events whose timestamp has no UTC offset: read as UTC."""
    extra_columns: tuple[str, ...] = ()
    """Columns of ``events`` this library does not know (a newer engine's)."""

    def met_unreadable(self, row: UnreadableRow) -> None:
        self.unreadable.setdefault(row.sequence, row)

    def met_event(self, row: EventRow, event: Event) -> None:
        """Called for each decoded event: cheap tests first, the engine's form passes fast."""
        if event.schema_version > base.CURRENT_SCHEMA_VERSION:
            self.newer_schema[event.sequence] = (event.event_id, event.schema_version)
            self.newer_schema_ids.add(event.event_id)
        text: str = row[3]
        if text[-6:-5] not in ("+", "-") and _is_naive(text):
            self.naive_timestamps.add(event.sequence)


def _is_naive(text: str) -> bool:
    try:
        return datetime.fromisoformat(text.strip()).tzinfo is None
    except ValueError:
        return False
