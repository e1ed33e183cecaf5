"""Durations for people, shared by the terminal tree and the exported chart (no Rich here)."""

from __future__ import annotations


def seconds(ms: float) -> str:
    """A duration for people: 0.35s, 2m05.3s, 1h02m03s."""
    if ms < 59_995:
        return f"{ms / 1000:.2f}s"
    if ms < 3_599_950:
        minutes, tenths = divmod(round(ms / 100), 600)
        return f"{minutes}m{tenths / 10:04.1f}s"
    hours, rest = divmod(round(ms / 1000), 3600)
    return f"{hours}h{rest // 60:02d}m{rest % 60:02d}s"
