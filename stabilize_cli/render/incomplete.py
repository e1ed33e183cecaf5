"""A report that had to leave something out says so in its own output, in every format.

One mark (:func:`incomplete_mark`) for every command: ``{"incomplete": true, ...}`` saying
what was left out. A JSON object gains its keys; a JSON list and NDJSON end with it as
their last item (as a stream the store broke off does); CSV ends with a row and Markdown
with a line starting ``INCOMPLETE:``; the table ends with a line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from ..events.errors import DamageSkippedError
from ..events.store.raw import ReadNotes, ranges_text
from .output import Report, StreamedDocument, rows_table

LISTED = 10
"""Sequences named in one line; the rest are counted."""


def sequence_list(sequences: Iterable[int]) -> str:
    """``event 65`` / ``events 65, 70 and 12 more``, in ascending order."""
    ordered = sorted(sequences)
    shown = ", ".join(str(s) for s in ordered[:LISTED])
    more = len(ordered) - LISTED
    return f"event{'s' if len(ordered) != 1 else ''} {shown}" + (
        f" and {more} more" if more > 0 else ""
    )


def incomplete_mark(error: Exception | None = None, **left_out: Any) -> dict[str, Any]:
    """The mark of an answer that is not whole: the error a stream broke off with, or
    what the reads left out (``unreadable_sequences``, ``damaged_sequences``, ...)."""
    mark: dict[str, Any] = {"incomplete": True}
    if error is not None:
        mark["error"] = str(error)
        if isinstance(error, DamageSkippedError):
            mark["damaged_sequences"] = [list(r) for r in error.ranges]
    mark.update(left_out)
    return mark


def left_out_of(notes: ReadNotes | Iterable[int]) -> tuple[dict[str, Any], str] | None:
    """The mark's fields and one line of text for what the reads left out (None: nothing):
    the run's notes, or just the sequences of unreadable events."""
    if not isinstance(notes, ReadNotes):
        return _left_out(sorted(notes), [], [])
    return _left_out(sorted(notes.unreadable), notes.damaged, sorted(notes.damaged_tables))


def _left_out(
    unreadable: list[int], damaged: list[tuple[int, int | None]], tables: list[str]
) -> tuple[dict[str, Any], str] | None:
    fields: dict[str, Any] = {}
    said: list[str] = []
    if unreadable:
        fields["unreadable_sequences"] = unreadable
        said.append(f"{sequence_list(unreadable)} could not be read and left out")
    if damaged:
        fields["damaged_sequences"] = [list(r) for r in sorted(damaged, key=lambda r: r[0])]
        said.append(f"{ranges_text(damaged)} are on damaged pages and left out")
    if tables:
        fields["damaged_tables"] = tables
        said.append(f"rows of {', '.join(tables)} are on damaged pages and left out")
    return (fields, "; ".join(said)) if fields else None


def the_mark(notes: ReadNotes) -> tuple[dict[str, Any], str] | None:
    """The incomplete mark and its line for what the reads left out (None: nothing), for a
    renderer that places the mark in its own format (compare, graph)."""
    found = left_out_of(notes)
    return None if found is None else (incomplete_mark(**found[0]), found[1])


def tables_left_out(notes: ReadNotes) -> ReadNotes:
    """Only the engine's tables the reads could not read whole: for a report whose events
    stream marks their own damage as they are written (events, history)."""
    return ReadNotes(damaged_tables=dict(notes.damaged_tables))


def mark_incomplete(report: Report, left_out: ReadNotes | Iterable[int]) -> Report:
    """The report as it is, or marked as missing what the reads left out (the run's
    notes, or the sequences of unreadable events)."""
    found = left_out_of(left_out)
    if found is None:
        return report
    fields, text = found
    mark = incomplete_mark(**fields)

    def document() -> Any:
        original = report.document()
        if isinstance(original, StreamedDocument):
            tail = original.tail
            return dataclasses.replace(original, tail=lambda: {**tail(), **mark})
        if isinstance(original, dict):
            return {**original, **mark}
        if isinstance(original, list):
            return [*original, mark]
        return original

    def view() -> RenderableType:
        if report.view is not None:
            shown = report.view()
        else:
            assert report.records is not None
            shown = rows_table(report.columns, report.records())
        return Group(shown, Text(f"INCOMPLETE: {text}", style="bold"))

    return dataclasses.replace(report, document=document, view=view, mark=(mark, text))
