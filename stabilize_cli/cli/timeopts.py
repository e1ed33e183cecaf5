"""Times typed by users: naive means UTC, as everything in the store is."""

from __future__ import annotations

from datetime import datetime

from ..events.timeutil import TIME_RANGE, TimeRangeError, ensure_utc
from ..queries.errors import InvalidInputError


def as_utc(value: datetime | None, option: str) -> datetime | None:
    """The typed time in UTC; one that has no UTC datetime (``9999-12-31T23:59-01:00``)
    is a usage error naming ``option``, not an overflow deep inside a query."""
    if value is None:
        return None
    try:
        return ensure_utc(value)
    except TimeRangeError:
        raise InvalidInputError(
            f"{option} {value.isoformat()} is outside the times this tool can hold ({TIME_RANGE})"
        ) from None
