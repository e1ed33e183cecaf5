"""Settings the environment gives every command, read once at the CLI edge.

The library never reads the environment: values are parsed here and passed down.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

from ..queries.errors import InvalidInputError

BUSY_TIMEOUT_ENV = "STABILIZE_BUSY_TIMEOUT"
DEFAULT_BUSY_TIMEOUT = 5.0
"""Seconds to wait for the engine's lock before exit 5 (reliability matrix, CC)."""
MAX_BUSY_TIMEOUT = (2**31 - 1) / 1000
"""A limit, so larger values are clamped: SQLite waits at most 2^31-1 milliseconds (an
int), and a larger value overflowed into not waiting at all."""


def busy_timeout(environ: Mapping[str, str] = os.environ) -> float:
    """``STABILIZE_BUSY_TIMEOUT`` in seconds (a float), else the default."""
    raw = environ.get(BUSY_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_BUSY_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise InvalidInputError(
            f"{BUSY_TIMEOUT_ENV} must be a non-negative number of seconds (got {raw!r})"
        )
    return min(seconds, MAX_BUSY_TIMEOUT)


CACHE_DIR_ENV = "STABILIZE_CACHE_DIR"


def cache_directory(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where figures are kept between runs: ``STABILIZE_CACHE_DIR``, else the platform's
    user cache directory (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches``
    on macOS, ``%LOCALAPPDATA%`` on Windows) under ``stabilize-cli``; None when there is no
    home to find it in (then nothing is kept)."""
    from .dirs import cache_dir  # noqa: PLC0415 - metrics only

    chosen = environ.get(CACHE_DIR_ENV, "").strip()
    try:
        return Path(chosen).expanduser() if chosen else cache_dir(environ)
    except RuntimeError:  # no HOME and no passwd entry (a container, cron), or ~nobody
        return None
