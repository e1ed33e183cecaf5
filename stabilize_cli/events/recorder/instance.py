"""The process-wide recorder's functions under the engine's module path
(``stabilize.events.recorder.instance``), so code importing them from there needs only
its package prefix changed. They live in the package itself."""

from __future__ import annotations

from . import configure_event_recorder, get_event_recorder, reset_event_recorder

__all__ = ["configure_event_recorder", "get_event_recorder", "reset_event_recorder"]
