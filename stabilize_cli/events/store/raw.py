"""Rows the codec refuses, kept as stored, and what a tolerant read met (ours).

An audit must show a row it cannot decode, never stop at it or invent values for it:
a store's ``get_rows`` yields an :class:`UnreadableRow` in its place, and a
store opened with :class:`ReadNotes` leaves such a row out of ``get_events`` (instead of
raising :class:`EventDecodeError`) and notes its sequence, so that a report built from
the other events can say it is incomplete.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from .. import base
from ..base import Event
from ..errors import DamageSkippedError, EventDecodeError
from ..timeutil import parse_timestamp
from .codec import EventRow
from .columns import EVENT_COLUMNS

T = TypeVar("T")


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
    damaged: list[tuple[int, int | None]] = field(default_factory=list)
    """Sequence ranges (first, last; None: to the end) a damaged page kept from being read."""
    damaged_tables: dict[str, str] = field(default_factory=dict)
    """Other tables (the engine's) a damaged page kept from being read whole: why."""
    damaged_indexes: list[str] = field(default_factory=list)
    """Indexes found damaged: every row was read from its table instead (nothing left out)."""
    index_damage: bool = False
    """An index was found damaged (``damaged_indexes`` names it when a walk could tell)."""

    @property
    def incomplete(self) -> bool:
        """Whether a report built from these reads had to leave something out."""
        return bool(self.unreadable or self.damaged or self.damaged_tables)

    def met_damage(self, first: int, last: int | None) -> None:
        """Sequences ``first``..``last`` (None: every later one) could not be read."""
        if last is not None and last < first:
            return
        self.damaged = merged([*self.damaged, (first, last)])

    def met_damaged_indexes(self, names: list[str]) -> None:
        self.index_damage = True
        self.damaged_indexes = sorted({*self.damaged_indexes, *names})

    def met_damaged_table(self, table: str, reason: str) -> None:
        self.damaged_tables.setdefault(table, reason)

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


def range_text(first: int, last: int | None) -> str:
    """``61``, ``61-120`` or ``61 on`` (every later one)."""
    if last is None:
        return f"{first} on"
    return str(first) if first == last else f"{first}-{last}"


def ranges_text(ranges: list[tuple[int, int | None]]) -> str:
    """``events 61-120 and 181 on``: what damaged pages kept from being read, in order."""
    parts = [range_text(a, b) for a, b in sorted(ranges, key=lambda r: r[0])]
    joined = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    single = len(ranges) == 1 and ranges[0][0] == ranges[0][1]
    return f"event{'' if single else 's'} {joined}"


def readable_part(rows: Iterable[T]) -> Iterator[T]:
    """The rows of a stream that could be read: the damage it raises at the end, after
    them, is left for the main read of the same rows to report."""
    try:
        yield from rows
    except DamageSkippedError:
        return


def merged(ranges: list[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
    """Ranges (first, last; None: open) sorted, with overlapping or adjacent ones joined:
    two reads that met one damaged page through different filters name it once."""
    out: list[tuple[int, int | None]] = []
    for first, last in sorted(ranges, key=lambda r: r[0]):
        if out:
            start, end = out[-1]
            if end is None or first <= end + 1:
                out[-1] = (start, None if end is None or last is None else max(end, last))
                continue
        out.append((first, last))
    return out
