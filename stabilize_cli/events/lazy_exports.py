"""Package attributes imported on first use (PEP 562 ``__getattr__``).

The CLI's start-up (and every Tab) must not load the whole API: a package lists where
each public name lives, and the module is imported when the name is first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str, homes: Mapping[str, str], namespace: dict[str, Any]
) -> Callable[[str], Any]:
    """A module ``__getattr__`` importing ``homes[name]`` (relative to ``package``) and
    keeping the value in ``namespace``, so each name is looked up once."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home, package), name)
        namespace[name] = value
        return value

    return __getattr__
