"""Named profiles: a database and option defaults, from the user's ``config.toml``.

::

    default_profile = "prod"          # optional: used when none is named

    [profiles.prod]
    db = "postgresql://audit@db.internal/stabilize"
    password_env = "STABILIZE_PROD_PASSWORD"   # the password, read from the environment
    output = "json"

    [profiles.prod.defaults]          # any command option, by its long name
    limit = 20
    since = "7d"

A profile is chosen by ``--profile NAME``, else ``STABILIZE_PROFILE``, else
``default_profile``. Its values are defaults: the command line and the environment
(``STABILIZE_DB``) still win. A password never sits in the file, and is never printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ..queries.errors import InvalidInputError
from .dirs import config_file

PROFILE_ENV = "STABILIZE_PROFILE"
PROFILE_KEYS = frozenset({"db", "password_env", "output", "defaults"})
ALIASES = {"format": "fmt", "output": "fmt", "json": "json_flag", "type": "event_type"}
"""Option long names whose Python parameter is named otherwise."""
NEVER_DEFAULTED = frozenset({"no_redact", "no-redact"})
"""Showing secrets is asked for on each run, never left on in a file."""
HIDDEN = "***"


@dataclass(frozen=True)
class Profile:
    """The profile in use (``name`` None: none) and where it came from."""

    name: str | None
    source: str
    path: Path
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def password_env(self) -> str | None:
        value = self.settings.get("password_env")
        return str(value) if value else None

    def db(self, environ: Mapping[str, str] = os.environ, *, shown: bool = False) -> str | None:
        """The profile's database, with the password from ``password_env`` put into a
        URL (``shown``: as ``***``, for printing)."""
        raw = self.settings.get("db")
        if raw is None:
            return None
        url, variable = str(raw), self.password_env
        if variable is None:
            return url
        if shown:
            return with_password(url, HIDDEN, encode=False)
        password = environ.get(variable)
        if password is None:
            sys.stderr.write(
                f"warning: profile {self.name}: ${variable} is not set; "
                "connecting without a password\n"
            )
            return url
        return with_password(url, password)

    def defaults(self, environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
        """Parameter name -> default, as Click's ``default_map`` takes them."""
        values: dict[str, Any] = {}
        for key, value in dict(self.settings.get("defaults", {})).items():
            values[_parameter(key)] = value
        if "output" in self.settings:
            values["fmt"] = self.settings["output"]
        if "db" in self.settings:
            values["db"] = lambda: self.db(environ)
        return values


def _parameter(key: str) -> str:
    name = ALIASES.get(key.lstrip("-"), key.lstrip("-").replace("-", "_"))
    if name in NEVER_DEFAULTED:
        raise InvalidInputError(
            f"profile defaults cannot turn redaction off ({key}); pass --no-redact on the run"
        )
    return name


def with_password(url: str, password: str, *, encode: bool = True) -> str:
    """``scheme://user@host/db`` with the password set (percent-encoded unless not
    ``encode``: a placeholder for printing); other strings as they are."""
    parts = urlsplit(url)
    if not parts.scheme or "://" not in url or parts.password is not None:
        return url
    user = quote(parts.username or "", safe="")
    host = parts.netloc.rsplit("@", 1)[-1]
    secret = quote(password, safe="") if encode else password
    netloc = f"{user}:{secret}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def load_profile(name: str | None, source: str, environ: Mapping[str, str] = os.environ) -> Profile:
    """The named profile, the file's ``default_profile``, or none; a name the file does
    not have, a file that is not TOML or an unknown key is an ``InvalidInputError``."""
    path = config_file(environ)
    if not path.is_file():
        if name is not None:
            raise InvalidInputError(f"no profile {name!r}: {path} does not exist")
        return Profile(None, "none", path)
    data = _read(path)
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        raise InvalidInputError(f"{path}: 'profiles' must be a table")
    if name is None and data.get("default_profile") is not None:
        name, source = str(data["default_profile"]), "default_profile"
    if name is None:
        return Profile(None, "none", path)
    if name not in profiles or not isinstance(profiles[name], dict):
        known = ", ".join(sorted(profiles)) or "none"
        raise InvalidInputError(f"no profile {name!r} in {path} (profiles: {known})")
    settings = profiles[name]
    unknown = sorted(set(settings) - PROFILE_KEYS)
    if unknown:
        allowed = ", ".join(sorted(PROFILE_KEYS))
        raise InvalidInputError(
            f"profile {name!r} in {path}: unknown key {unknown[0]!r} (keys: {allowed})"
        )
    profile = Profile(name, source, path, settings)
    profile.defaults(environ)  # a key that cannot be a default fails here, not mid-parse
    return profile


def _read(path: Path) -> dict[str, Any]:
    import tomllib  # noqa: PLC0415 - only when a config file exists

    try:
        with path.open("rb") as stream:
            return tomllib.load(stream)
    except tomllib.TOMLDecodeError as error:
        raise InvalidInputError(f"{path}: not valid TOML: {error}") from None
    except OSError as error:
        raise InvalidInputError(f"{path}: cannot be read: {error.strerror}") from None


def default_map(
    values: Mapping[str, Any], commands: frozenset[str], subcommands: frozenset[str]
) -> dict[str, Any]:
    """Click's ``default_map`` giving every command, and every subcommand of a group, the
    same defaults (a parameter's default by its name)."""
    level: dict[str, Any] = {**values, **{key: dict(values) for key in subcommands}}
    return dict.fromkeys(commands, level)
