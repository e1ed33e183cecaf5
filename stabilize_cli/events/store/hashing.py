"""The engine's snapshot checksum, the same whichever backend holds the snapshot."""

from __future__ import annotations

import json
from typing import Any


def state_hash(state: dict[str, Any]) -> str:
    """The engine's snapshot checksum: SHA-256 of the sorted-key JSON of the state."""
    import hashlib  # noqa: PLC0415 - 3 ms at import, needed only by snapshot commands

    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()
