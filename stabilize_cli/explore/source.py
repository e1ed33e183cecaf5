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
from ..events.store.raw import ReadNotes
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

    def left_out(self, workflow_id: str, upto: int | None = None) -> list[int]:
        """Unreadable events of the workflow met so far (at or before ``upto``)."""
        return sorted(
            sequence
            for sequence, row in self.notes.unreadable.items()
            if row.workflow_id == workflow_id and (upto is None or sequence <= upto)
        )

    def run_left_out(self, workflow_id: str) -> ReadNotes:
        """What a run's view left out: its unreadable events, and the engine's tables a
        damaged page kept from being read whole (their rows give the real causes)."""
        unreadable = {
            s: row for s, row in self.notes.unreadable.items() if row.workflow_id == workflow_id
        }
        return ReadNotes(unreadable=unreadable, damaged_tables=dict(self.notes.damaged_tables))

    def command(self, *args: str) -> str:
        """The command line that prints the current view's JSON (to copy into a script)."""
        words = [PROGRAM, *args, "--db", self.db, "--json"]
        return " ".join(shlex.quote(w) for w in words)
