"""Structural differences between two JSON-like values, for ``compare_states`` and ``diff``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Op = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    """One difference: where (a list of keys), what kind, and the values on each side."""

    path: tuple[str | int, ...]
    op: Op
    before: Any = None
    after: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": list(self.path), "op": self.op, "before": self.before, "after": self.after}


def diff_values(before: Any, after: Any) -> list[Change]:
    """Changes that turn ``before`` into ``after``; dicts are walked key by key.

    Lists are compared as whole values: positions in event payload lists carry no
    identity, so an element-wise diff would mostly report noise.
    """
    changes: list[Change] = []
    _walk((), before, after, changes)
    return changes


def _walk(path: tuple[str | int, ...], before: Any, after: Any, out: list[Change]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in before:
            if key not in after:
                out.append(Change((*path, key), "removed", before[key], None))
            else:
                _walk((*path, key), before[key], after[key], out)
        for key in after:
            if key not in before:
                out.append(Change((*path, key), "added", None, after[key]))
        return
    if not _same(before, after):
        out.append(Change(path, "changed", before, after))


def _same(a: Any, b: Any) -> bool:
    """Equal and of the same JSON kind (``1 == True`` but they are different values).

    The kinds are compared all the way down, also inside lists (``[1] == [True]``).
    """
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)
