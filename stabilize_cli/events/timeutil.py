"""Timestamps as the engine writes them: UTC-aware datetimes, ISO 8601 on disk."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def ensure_utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC (the engine only ever writes UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


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
