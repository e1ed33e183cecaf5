"""Reading events in the order their transactions committed (PostgreSQL >= 13).

``sequence`` is taken at INSERT, but a row becomes visible at COMMIT, so a reader that
pages by ``sequence > last`` can step past a row whose transaction was still open and
never see it. The safe frontier is ``pg_snapshot_xmin(pg_current_snapshot())``: no
transaction below it can still commit. Rows below it are read in ``(commit_xid,
sequence)`` order and paging resumes after the last pair actually returned, so a page
cut by its limit loses nothing (the engine's reader jumps to the frontier instead).

A position is the engine's two subscription columns: ``last_commit_cursor`` (an xid as
text: every row below it was delivered) and ``last_sequence``. When the row numbered
``last_sequence`` itself carries that xid, the position is inside that transaction:
its rows up to ``last_sequence`` were delivered, the rest were not. The engine reading
such a position re-delivers that transaction's first rows (at least once), never skips.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...base import Event
from ..raw import UnreadableRow

MIN_SEQUENCE = -(2**63)


@dataclass(frozen=True, order=True)
class CommitCursor:
    """Rows with ``commit_xid < xid`` were read; of ``xid`` itself, those with a sequence
    up to ``sequence`` (None: none of them). Rows without a commit_xid count as xid 0."""

    xid: int
    sequence: int | None = None

    def text(self) -> str:
        """``"xid"``, or ``"xid:sequence"`` inside a transaction (our cursor strings)."""
        return str(self.xid) if self.sequence is None else f"{self.xid}:{self.sequence}"

    @classmethod
    def parse(cls, text: str) -> CommitCursor:
        """The engine's cursor (an xid as text, ``"0"`` at the start) or ours."""
        head, sep, tail = str(text).strip().partition(":")
        try:
            xid = int(head or "0")
            sequence = int(tail) if sep else None
        except ValueError:
            raise ValueError(f"not a commit cursor: {text!r}") from None
        if xid < 0:
            raise ValueError(f"not a commit cursor: {text!r}")
        return cls(xid, sequence)


@dataclass(frozen=True)
class FeedPosition:
    """Where a reader stands, as the engine's subscription row stores it."""

    last_sequence: int = 0
    commit_cursor: str = "0"


@dataclass
class FeedPage:
    """Events in delivery order, the position after each, and the position after all."""

    events: list[Event] = field(default_factory=list)
    positions: list[FeedPosition] = field(default_factory=list)
    rows: list[Event | UnreadableRow] = field(default_factory=list)
    """Every row read, in order: the events, and (when read notes are kept) the rows the
    codec refused, which a follower shows as stored."""
    end: FeedPosition = field(default_factory=FeedPosition)
    commit_ordered: bool = True
    fallback_reason: str | None = None
    """Why this page was read in sequence order instead (None when commit-ordered)."""
