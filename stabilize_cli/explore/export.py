"""``e``: the current view's JSON, byte for byte what the matching command writes."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from ..render.output import dumps

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def export_json(directory: Path, stem: str, document: Any) -> Path:
    """Write ``document`` to a new file in ``directory``; never replaces an existing one."""
    base = _UNSAFE.sub("_", stem).strip("._") or "export"
    text = dumps(document, indent=2) + "\n"
    for attempt in range(1, 1000):
        path = directory / (f"{base}.json" if attempt == 1 else f"{base}-{attempt}.json")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
        return path.resolve()
    raise FileExistsError(f"no free file name for {base}.json in {directory}")
