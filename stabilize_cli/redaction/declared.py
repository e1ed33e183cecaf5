"""Declared secrets: a workflow names its secret keys, ``"secrets": ["db_password"]``."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .keys import MARK

MIN_LITERAL = 4
"""Shorter declared values are hidden under their keys only, never searched for in text:
a one- to three-character value occurs by chance in unrelated text, so replacing it
everywhere would mangle the output, and the pattern of marks would show where the
secret's characters occur. An empty value would match between every two characters."""
DECLARATION_KEY = "secrets"
MIN_ENCODED = 6
"""The shortest piece of a base64 encoding searched for: shorter ones occur by chance."""


@dataclass(frozen=True, eq=False)
class DeclaredSecrets:
    """A workflow's declared secret key names and the literal values found under them.

    Compared by identity: it keys the cache of redacted strings, and each workflow's is
    built once."""

    names: frozenset[str] = frozenset()
    """Casefolded key names."""
    values: tuple[str, ...] = ()
    """Searched for in every string, longest first; none shorter than :data:`MIN_LITERAL`."""
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)
    unread: str | None = None
    """Where the declaration may be, unread (``"on a damaged page"``; None: it was read
    whole): the names and values above are then only those read, so every value of the
    workflow but its structural fields is hidden."""

    @classmethod
    def build(
        cls, names: Iterable[str], values: Iterable[str], *, unread: str | None = None
    ) -> DeclaredSecrets:
        kept = {v for v in values if len(v) >= MIN_LITERAL and v != MARK}
        ordered = tuple(sorted(kept, key=lambda v: (-len(v), v)))
        forms = {form for value in ordered for form in encoded_forms(value)} | set(ordered)
        searched = sorted(forms - {MARK}, key=lambda v: (-len(v), v))
        pattern = re.compile("|".join(map(re.escape, searched))) if searched else None
        return cls(frozenset(n.casefold() for n in names), ordered, pattern, unread)

    def __bool__(self) -> bool:
        return bool(self.names or self.values or self.unread)


NO_SECRETS = DeclaredSecrets()


def encoded_forms(value: str) -> set[str]:
    """How a secret's text may reach a message other than as itself: URL-encoded (upper-
    and lower-case hex, ``+`` for spaces), JSON-escaped, and base64 (standard and URL-safe,
    at any of the three byte offsets it can sit at inside a longer encoded text, such as
    ``Basic`` credentials of ``user:secret``)."""
    from urllib.parse import quote, quote_plus  # noqa: PLC0415 - only declared secrets need it

    forms = {quote(value, safe=""), quote_plus(value, safe=""), json.dumps(value)[1:-1]}
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group().lower(), f) for f in forms}
    raw = value.encode("utf-8")
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw).decode("ascii")
        first = -(-8 * offset // 6)  # the first character made of the secret's bits alone
        last = 8 * (offset + len(raw)) // 6  # past the last one
        piece = encoded[first:last]
        if len(piece) >= MIN_ENCODED:
            forms |= {piece, piece.replace("+", "-").replace("/", "_")}
    return {f for f in forms if len(f) >= MIN_LITERAL}


def declarations(payload: Any) -> tuple[set[str], list[str]]:
    """Names declared under ``"secrets"`` keys at any depth, and values declared inline.

    ``"secrets": ["db_password"]`` (or one string) names keys; ``"secrets": {"db_password":
    "..."}`` names its keys and holds their values.
    """
    names: set[str] = set()
    values: list[str] = []
    for key, value in _entries(payload):
        if key is None or key.casefold() != DECLARATION_KEY:
            continue
        if isinstance(value, str):
            names.add(value)
        elif isinstance(value, list | tuple):
            names.update(v for v in value if isinstance(v, str))
        elif isinstance(value, dict):
            names.update(k for k in value if isinstance(k, str))
            values.extend(_scalars(value))
    return names, values


def values_under(payload: Any, names: frozenset[str]) -> list[str]:
    """Every scalar stored (at any depth) under one of these casefolded key names."""
    found: list[str] = []
    for key, value in _entries(payload):
        if key is not None and key.casefold() in names:
            found.extend(_scalars(value))
    return found


def _entries(payload: Any) -> Iterator[tuple[str | None, Any]]:
    """Every (key, value) of every dict at any depth; list items come with key None."""
    stack: list[Any] = [payload]
    while stack:
        node = stack.pop()
        pairs: Iterable[tuple[Any, Any]]
        if isinstance(node, dict):
            pairs = node.items()
        elif isinstance(node, list | tuple):
            pairs = ((None, item) for item in node)
        else:
            continue
        for key, value in pairs:
            yield (key if isinstance(key, str) else None), value
            stack.append(value)


def _scalars(value: Any) -> Iterator[str]:
    """The leaves of a value as text (numbers too: a numeric PIN is quoted in messages)."""
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple):
            stack.extend(node)
        elif isinstance(node, str):
            yield node
        elif isinstance(node, int | float) and not isinstance(node, bool):
            yield str(node)
