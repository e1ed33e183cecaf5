"""PostgreSQL connection strings: recognising them and hiding their passwords.

Kept free of psycopg so that the CLI can decide which backend a ``--db`` names, and
redact it in any message, without loading the driver (SQLite runs and Tab completion
must not pay for it).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

URL_PREFIXES = ("postgresql://", "postgres://")
LIBPQ_KEYWORDS = frozenset(
    {
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "password",
        "passfile",
        "connect_timeout",
        "client_encoding",
        "options",
        "application_name",
        "fallback_application_name",
        "keepalives",
        "sslmode",
        "sslcert",
        "sslkey",
        "sslrootcert",
        "service",
        "target_session_attrs",
        "gssencmode",
        "requiressl",
        "sslpassword",
        "krbsrvname",
        "channel_binding",
        "load_balance_hosts",
    }
)
_KEYWORD_START = re.compile(r"\s*([A-Za-z_]+)\s*=")
_PASSWORD_PAIR = re.compile(r"(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)", re.IGNORECASE)
_URL_USERINFO = re.compile(r"^(postgres(?:ql)?://)([^@/?#]*)@", re.IGNORECASE)
_URL_QUERY_PASSWORD = re.compile(r"([?&](?:ssl)?password=)([^&#]*)", re.IGNORECASE)
MASK = "***"


def is_postgres_dsn(text: str) -> bool:
    """A ``postgresql://``/``postgres://`` URL, or libpq ``key=value`` text.

    ``key=value`` counts only when the first key is a libpq keyword, so a SQLite file
    named ``a=b.db`` stays a file.
    """
    stripped = text.strip()
    if stripped.lower().startswith(URL_PREFIXES):
        return True
    match = _KEYWORD_START.match(stripped)
    return match is not None and match.group(1).lower() in LIBPQ_KEYWORDS


def redact_dsn(text: str) -> str:
    """The connection string with any password replaced by ``***``."""
    redacted = _URL_USERINFO.sub(_mask_userinfo, text)
    redacted = _URL_QUERY_PASSWORD.sub(lambda m: m.group(1) + MASK, redacted)
    return _PASSWORD_PAIR.sub(lambda m: m.group(1) + MASK, redacted)


def _mask_userinfo(match: re.Match[str]) -> str:
    user, sep, _password = match.group(2).partition(":")
    return f"{match.group(1)}{user}{':' + MASK if sep else ''}@"


def dsn_passwords(text: str) -> list[str]:
    """The password values written in the string (to scrub them from server messages)."""
    found: list[str] = []
    stripped = text.strip()
    if stripped.lower().startswith(URL_PREFIXES):
        try:
            parts = urlsplit(stripped)
        except ValueError:
            parts = None
        if parts is not None and parts.password:
            found.append(unquote(parts.password))
        found.extend(unquote(m.group(2)) for m in _URL_QUERY_PASSWORD.finditer(stripped))
    for match in _PASSWORD_PAIR.finditer(stripped):
        value = match.group(2)
        if value.startswith("'") and value.endswith("'") and len(value) >= 2:
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        found.append(value)
    return [p for p in found if p]


def scrub(message: str, dsn: str) -> str:
    """A message with the DSN's passwords (raw or inside the DSN itself) removed."""
    cleaned = message.replace(dsn, redact_dsn(dsn)) if dsn else message
    for password in sorted(dsn_passwords(dsn), key=len, reverse=True):
        cleaned = cleaned.replace(password, MASK)
    return cleaned
