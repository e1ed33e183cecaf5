"""What a read met besides its answer, told after the output: one ``warning:`` line per
kind of trouble, and exit 4 when a report had to leave unreadable events out.

A command's :class:`~stabilize_cli.cli.run.CommandRun` keeps the :class:`ReadNotes` of
its reads (``run.open(db, notes=True)``); the command writes its output (marked with
``render.incomplete.mark_incomplete``), then calls ``run.conclude()``, which ends here.
"""

from __future__ import annotations

import sys
from collections.abc import Sized

import typer

from ..events import base
from ..events.store.raw import ReadNotes, ranges_text
from ..render.incomplete import sequence_list
from ..render.sanitize import clean
from .exit_codes import ExitCode

VERIFY_HINT = "run 'stabilize verify' for every finding"


def conclude(notes: ReadNotes, *, shown_raw: bool = False) -> None:
    """Warn about what the read met; exit 4 if events were left out of the output.

    ``shown_raw``: the command showed unreadable rows in place, as stored (events,
    history): nothing is missing, so it exits 0 after the warning.
    """
    for line in warnings(notes, shown_raw=shown_raw):
        sys.stderr.write(f"warning: {clean(line)}\n")
    if (notes.unreadable and not shown_raw) or notes.damaged or notes.damaged_tables:
        raise typer.Exit(int(ExitCode.CORRUPT))


def warnings(notes: ReadNotes, *, shown_raw: bool = False) -> list[str]:
    lines: list[str] = []
    if notes.extra_columns:
        extra = ", ".join(notes.extra_columns)
        lines.append(f"the events table has columns this tool does not know ({extra}): not shown")
    if notes.newer_schema:
        first = min(notes.newer_schema)
        event_id, version = notes.newer_schema[first]
        more = len(notes.newer_schema) - 1
        lines.append(
            f"skipping event {event_id} (sequence {first})"
            + (f" and {more} more" if more else "")
            + f" in rebuilt states: schema_version {version} is newer than this tool reads "
            f"({base.CURRENT_SCHEMA_VERSION})"
        )
    if notes.naive_timestamps:
        lines.append(
            f"{sequence_list(notes.naive_timestamps)} {_have(notes.naive_timestamps)} a "
            "timestamp without a UTC offset: read as UTC"
        )
    if notes.unreadable:
        row = notes.unreadable[min(notes.unreadable)]
        why = f"{row.column}: {row.reason}"
        done = "shown as stored, marked unreadable" if shown_raw else "left out: output incomplete"
        lines.append(
            f"{sequence_list(notes.unreadable)} could not be read ({why}): {done}; {VERIFY_HINT}"
        )
    if notes.damaged:
        lines.append(
            f"{ranges_text(notes.damaged)} could not be read (the database is corrupt: a "
            f"damaged page): left out: output incomplete; {VERIFY_HINT}"
        )
    if notes.index_damage:
        named = ", ".join(notes.damaged_indexes)
        which = f"a damaged index ({named})" if named else "a damaged index"
        lines.append(
            f"the database is corrupt: {which}; every row was read from its table instead: "
            f"nothing left out; {VERIFY_HINT}"
        )
    for table, reason in sorted(notes.damaged_tables.items()):
        lines.append(
            f"the engine's table {table} could not be read whole ({reason}): the rows on its "
            f"damaged pages are left out: output incomplete; {VERIFY_HINT}"
        )
    return lines


def _have(sequences: Sized) -> str:
    return "has" if len(sequences) == 1 else "have"
