"""Times typed by users: naive means UTC, as everything in the store is."""

from __future__ import annotations

from datetime import datetime

from ..events.timeutil import ensure_utc


def as_utc(value: datetime | None) -> datetime | None:
    return None if value is None else ensure_utc(value)
