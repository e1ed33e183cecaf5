"""Where the user's configuration and cache live, as each platform expects.

Small enough to write here rather than add ``platformdirs`` (a dependency imported on
every run for three paths): XDG on Linux and other Unixes, ``~/Library`` on macOS,
``%APPDATA%`` / ``%LOCALAPPDATA%`` on Windows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

APP = "stabilize-cli"
CONFIG_ENV = "STABILIZE_CONFIG"
"""A config file to read instead of the platform's (tests, CI, several setups)."""


def _home(environ: Mapping[str, str]) -> Path:
    home = environ.get("HOME", "").strip()
    return Path(home) if home else Path.home()


def config_dir(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> Path:
    if platform == "win32":
        base = environ.get("APPDATA", "").strip()
        return (Path(base) if base else _home(environ) / "AppData" / "Roaming") / APP
    if platform == "darwin":
        return _home(environ) / "Library" / "Application Support" / APP
    base = environ.get("XDG_CONFIG_HOME", "").strip()
    return (Path(base) if base else _home(environ) / ".config") / APP


def config_file(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> Path:
    chosen = environ.get(CONFIG_ENV, "").strip()
    return Path(chosen).expanduser() if chosen else config_dir(environ, platform) / "config.toml"


def cache_dir(environ: Mapping[str, str] = os.environ, platform: str = sys.platform) -> Path:
    if platform == "win32":
        base = environ.get("LOCALAPPDATA", "").strip()
        root = Path(base) if base else _home(environ) / "AppData" / "Local"
        return root / APP / "Cache"
    if platform == "darwin":
        return _home(environ) / "Library" / "Caches" / APP
    base = environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else _home(environ) / ".cache") / APP
