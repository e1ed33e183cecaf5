"""A report that had to leave unreadable events out says so in its own output.

JSON objects gain ``"incomplete": true`` and ``"unreadable_sequences"``; a JSON list has no
room for a mark (the warning line and exit code 4 say it); the table ends with a line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

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


def mark_incomplete(report: Report, left_out: Iterable[int]) -> Report:
    """The report as it is, or marked as missing the events ``left_out`` (sequences)."""
    sequences = sorted(left_out)
    if not sequences:
        return report

    mark = {"incomplete": True, "unreadable_sequences": sequences}

    def document() -> Any:
        original = report.document()
        if isinstance(original, StreamedDocument):
            tail = original.tail
            return dataclasses.replace(original, tail=lambda: {**tail(), **mark})
        if not isinstance(original, dict):
            return original
        return {**original, **mark}

    def view() -> RenderableType:
        if report.view is not None:
            shown = report.view()
        else:
            assert report.records is not None
            shown = rows_table(report.columns, report.records())
        note = f"INCOMPLETE: {sequence_list(sequences)} could not be read and left out"
        return Group(shown, Text(note, style="bold"))

    return dataclasses.replace(report, document=document, view=view)
