"""Copies of appended events carrying their assigned sequence, without ``dataclasses.replace``.

``replace`` rebuilds each event through ``__init__`` from a keyword dict: about 10 µs an
event, a third of what ``append_batch`` spent on a batch of 1,000. The copy here sets the
slots directly (the values are already validated: they come from a constructed event).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from ..base import Event

_NAMES = tuple(f.name for f in dataclasses.fields(Event))
_VALUES = attrgetter(*_NAMES)
_SEQUENCE = _NAMES.index("sequence")
_SETTERS = tuple(getattr(Event, name).__set__ for name in _NAMES)


def with_sequences(events: Sequence[Event], first: int) -> list[Event]:
    """``[e.with_sequence(first + i) for i, e in enumerate(events)]``, faster."""
    copies: list[Event] = []
    for offset, event in enumerate(events):
        values: list[Any] = list(_VALUES(event))
        values[_SEQUENCE] = first + offset
        copy = object.__new__(Event)
        for setter, value in zip(_SETTERS, values, strict=True):
            setter(copy, value)
        copies.append(copy)
    return copies
