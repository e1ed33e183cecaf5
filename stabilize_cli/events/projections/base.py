"""Projections fold events into a view; replaying the same events must give the same view."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from ..base import Event


class Projection(ABC):
    """A stateful view built by applying events; ``reset`` before replaying from scratch."""

    @property
    @abstractmethod
    def name(self) -> str:
        """Unique name for this projection."""

    @abstractmethod
    def apply(self, event: Event) -> None:
        """Fold one event in; applying the same event again must change nothing."""

    @abstractmethod
    def get_state(self) -> Any:
        """The view built so far."""

    def reset(self) -> None:  # noqa: B027 - optional hook, most projections override it
        """Forget everything applied so far."""

    def handles_event_type(self, event: Event) -> bool:
        """Whether ``apply`` would look at this event at all (lets callers pre-filter)."""
        return True

    def apply_all(self, events: Iterable[Event]) -> None:
        for event in events:
            self.apply(event)


def transition_key(event: Event) -> tuple[str, str, int | str]:
    """A logical transition, as the engine dedups it: entity, type and version.

    Version 0 (never assigned) falls back to the sequence, and an unsaved event to its id.
    """
    if event.version:
        return (event.entity_id, event.type_name, event.version)
    if event.sequence:
        return (event.entity_id, event.type_name, f"seq:{event.sequence}")
    return (event.entity_id, event.type_name, f"id:{event.event_id}")
