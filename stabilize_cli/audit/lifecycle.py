"""A workflow's status from its last lifecycle event, as the replay would end on it.

Both catalog dialects fetch that event with their own SQL; what it means is decided here once.
"""

from __future__ import annotations

from typing import Any

STATUS_OF_EVENT = {
    "workflow.started": "RUNNING",
    "workflow.resumed": "RUNNING",
    "workflow.paused": "PAUSED",
    "workflow.canceled": "CANCELED",
}


def status_after(event_type: str | None, payload: dict[str, Any] | None) -> str | None:
    """The status after ``event_type``; ``payload`` is its data as an object, None when the
    stored data is not one (the decoder refuses such a row, so the status is unknown, not
    the default a readable payload would get)."""
    if event_type is None:
        return None
    if event_type in STATUS_OF_EVENT:
        return STATUS_OF_EVENT[event_type]
    if payload is None:
        return None
    default = "SUCCEEDED" if event_type == "workflow.completed" else "TERMINAL"
    value = payload.get("status", default)
    return None if value is None else str(value)
