"""What the explorer reads from, as the command opened it, and the command lines it shows.

The app never opens the database itself: the command hands it a store opened for audit
(read-only, redacting), so the explorer reads exactly as every other command does.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..events.store import AuditableStore
from ..events.store.raw import ReadNotes, ranges_text
from ..redaction import Redactor

if TYPE_CHECKING:
    from ..audit.metrics_cache import MetricsCache

PROGRAM = "stabilize"


@dataclass(frozen=True)
class RunFilter:
    """The ``workflows`` filters the Runs screen starts with (``/`` narrows further)."""

    statuses: frozenset[str] = frozenset()
    application: str | None = None
    name: str | None = None
    since: datetime | None = None
    limit: int = 200


@dataclass
class ExploreSource:
    store: AuditableStore
    redactor: Redactor
    db: str
    """The database as the user gave it (shown in the equivalent command lines)."""
    notes: ReadNotes = field(default_factory=ReadNotes)
    runs: RunFilter = field(default_factory=RunFilter)
    metrics_cache: Callable[[], MetricsCache | None] = lambda: None
    export_dir: Path = field(default_factory=Path.cwd)
    refresh_seconds: float = 2.0
    """How often the Runs screen and a running workflow look for new events."""

    def __post_init__(self) -> None:
        # a screen shows every readable row and marks itself from the notes: a stream
        # past a damaged page must end, not raise after its rows
        self.store.quiet_damage = True

    def left_out(self, workflow_id: str, upto: int | None = None) -> list[int]:
        """Unreadable events of the workflow met so far (at or before ``upto``)."""
        return sorted(
            sequence
            for sequence, row in self.notes.unreadable.items()
            if row.workflow_id == workflow_id and (upto is None or sequence <= upto)
        )

    def run_left_out(self, workflow_id: str | None, upto: int | None = None) -> ReadNotes:
        """What a view left out, for its export's mark: the workflow's unreadable events
        (every one: None), the sequences damaged pages kept from being read (any of them
        may be the workflow's: their rows cannot tell), and the engine's tables a damaged
        page kept from being read whole (their rows give the real causes); ``upto``: only
        what lies at or before that sequence (a state as of it)."""
        unreadable = {
            s: row
            for s, row in self.notes.unreadable.items()
            if (workflow_id is None or row.workflow_id == workflow_id)
            and (upto is None or s <= upto)
        }
        damaged = [(a, b) for a, b in list(self.notes.damaged) if upto is None or a <= upto]
        tables = dict(self.notes.damaged_tables)
        return ReadNotes(unreadable=unreadable, damaged=damaged, damaged_tables=tables)

    def damage_text(self) -> str | None:
        """``INCOMPLETE: events 1-2, stage_executions damaged``: the title's mark of a view
        whose reads went past damaged pages (None: none did)."""
        parts = [ranges_text(self.notes.damaged)] if self.notes.damaged else []
        parts += sorted(self.notes.damaged_tables)
        return f"INCOMPLETE: {', '.join(parts)} damaged" if parts else None

    def command(self, *args: str) -> str:
        """The command line that prints the current view's JSON (to copy into a script)."""
        words = [PROGRAM, *args, "--db", self.db, "--json"]
        return " ".join(shlex.quote(w) for w in words)
