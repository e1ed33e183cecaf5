"""Who and what caused the events being recorded, per thread and per async task.

A ``ContextVar`` rather than a global, so that two workflows run by two threads (or
two asyncio tasks) never stamp each other's correlation id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from ..base import EventMetadata


@dataclass(frozen=True, slots=True)
class EventContext:
    correlation_id: str
    causation_id: str | None = None
    actor: str = "system"


_current: ContextVar[EventContext | None] = ContextVar("stabilize_event_context", default=None)


def set_event_context(
    correlation_id: str, causation_id: str | None = None, actor: str = "system"
) -> None:
    """Stamp events recorded from here on (in this thread or task) with these ids."""
    _current.set(EventContext(correlation_id, causation_id, actor))


def clear_event_context() -> None:
    _current.set(None)


def get_event_context() -> EventContext | None:
    return _current.get()


@contextmanager
def event_context(
    correlation_id: str, causation_id: str | None = None, actor: str = "system"
) -> Iterator[EventContext]:
    """Scoped form of :func:`set_event_context`; the previous context comes back on exit."""
    context = EventContext(correlation_id, causation_id, actor)
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def get_event_metadata(
    source_handler: str | None = None, default_correlation_id: str = ""
) -> EventMetadata:
    """Metadata for a new event; without a context the workflow id correlates."""
    context = _current.get()
    if context is None:
        return EventMetadata(default_correlation_id, None, "system", source_handler)
    return EventMetadata(
        correlation_id=context.correlation_id or default_correlation_id,
        causation_id=context.causation_id,
        actor=context.actor,
        source_handler=source_handler,
    )
