"""Timestamps as the engine writes them: UTC-aware datetimes, ISO 8601 on disk."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


class TimeRangeError(ValueError):
    """A time whose UTC instant lies outside what a datetime can hold (years 1 to 9999):
    ``9999-12-31T23:59:59-01:00`` is valid ISO 8601 but has no UTC datetime."""


TIME_RANGE = "0001-01-01 to 9999-12-31 UTC"
"""The instants this library can place in time, in words for messages."""
OUT_OF_RANGE = f"a time outside {TIME_RANGE} once read as UTC"
"""Why a valid ISO 8601 text such as ``9999-12-31T23:59:59-01:00`` cannot be placed."""


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the engine only ever writes UTC).

    Raises :class:`TimeRangeError` (a ValueError) instead of OverflowError for an instant
    outside ``datetime``'s range, so every caller's "not a time" path handles it."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise TimeRangeError(
            f"{value.isoformat()} is outside the times this tool can hold ({TIME_RANGE})"
        ) from None


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (``+00:00`` or ``Z``); raises ValueError if it is not one,
    also when a damaged row holds no text at all (a BLOB, a number)."""
    if not isinstance(text, str):
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    return ensure_utc(datetime.fromisoformat(text.strip()))


def format_timestamp(value: datetime) -> str:
    """The engine's on-disk form: ``isoformat()`` of the UTC datetime."""
    return ensure_utc(value).isoformat()


def epoch_ms(value: datetime) -> int:
    """Epoch milliseconds, the unit of ``start_time``/``end_time`` inside payloads."""
    return int(ensure_utc(value).timestamp() * 1000)
