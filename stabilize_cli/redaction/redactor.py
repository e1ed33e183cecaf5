"""The redactor: walks a value, applies the three rules, counts what it hid."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Hashable
from typing import Any

from .declared import NO_SECRETS, DeclaredSecrets
from .keys import MARK, is_secret_key, is_structural_key
from .patterns import MAYBE, hide_patterns, hide_webhook_url

CACHED_LENGTH = 200
"""Strings up to this long are redacted once per process and remembered."""


class Redactor:
    """Hides secrets and counts them; ``enabled=False`` (``--no-redact``) passes all through.

    The count is thread-safe. A value redacted again under the same ``origin`` (an event
    read twice) is not counted twice.
    """

    def __init__(self, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self._hidden = 0
        self._origins: set[Hashable] = set()
        self._unread: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def hidden(self) -> int:
        """How many secrets were hidden so far."""
        return self._hidden

    def redact_value(
        self,
        value: Any,
        *,
        key: str | None = None,
        secrets: DeclaredSecrets = NO_SECRETS,
        origin: Hashable | None = None,
    ) -> Any:
        """A copy of a JSON-like value with every secret replaced by :data:`MARK`.

        When the workflow's declaration may not have been read whole (``secrets.unread``),
        every string and number is hidden but those under a structural key (ids, types,
        names, statuses, times), which the other rules still redact."""
        if not self.enabled or (key is None and not secrets and _plain(value)):
            return value
        walk = _Walk(secrets)
        if key is not None and walk.is_secret(key):
            result = walk.mask(value)
        else:
            hiding = secrets.unread is not None and (key is None or not is_structural_key(key))
            result = walk.run(value, hiding=hiding)
        self._add(walk.hidden, origin)
        return result

    def redact_text(self, text: str, *, secrets: DeclaredSecrets = NO_SECRETS) -> str:
        """A string (an error message, a path, a URL, a name) with its secret parts hidden:
        by the rules alone, even for a workflow whose every payload value is hidden."""
        if not self.enabled:
            return text
        walk = _Walk(secrets)
        result: str = walk.run(text, hiding=False)
        self._add(walk.hidden, None)
        return result

    def note_unread(self, workflow_id: str, why: str) -> None:
        """A workflow whose declaration may not have been read whole (said once, at the end)."""
        if self.enabled:
            with self._lock:
                self._unread.setdefault(workflow_id, why)

    @property
    def unread(self) -> dict[str, str]:
        """Workflow id -> why its declaration may be unread (every value of it is hidden)."""
        with self._lock:
            return dict(self._unread)

    def redact_webhook_url(self, url: str) -> str:
        """A webhook URL is a capability: hide its userinfo, every query and fragment value
        and long random path segments (Slack and Discord put the token in the path)."""
        if not self.enabled:
            return url
        walk = _Walk(NO_SECRETS)
        shown = hide_webhook_url(url, walk.hide)
        self._add(walk.hidden, None)
        return shown

    def _add(self, hidden: int, origin: Hashable | None) -> None:
        if not hidden:
            return
        with self._lock:
            if origin is not None:
                if origin in self._origins:
                    return
                self._origins.add(origin)
            self._hidden += hidden


class _Walk:
    """One redaction of one value: builds the copy with an explicit stack, counts the marks."""

    def __init__(self, secrets: DeclaredSecrets) -> None:
        self.secrets = secrets
        self.hidden = 0
        self._copies: dict[tuple[int, bool], Any] = {}
        self._stack: list[tuple[Any, Any, bool]] = []

    def is_secret(self, key: str) -> bool:
        return is_secret_key(key) or key.casefold() in self.secrets.names

    def mask(self, value: Any) -> Any:
        if value is None or value in ("", MARK):
            return value
        self.hidden += 1
        return MARK

    def run(self, value: Any, *, hiding: bool = False) -> Any:
        """``hiding``: every scalar is hidden but those under a structural key."""
        root = self._convert(value, hiding)
        while self._stack:
            source, target, hidden = self._stack.pop()
            if isinstance(target, dict):
                for key, item in source.items():
                    secret = isinstance(key, str) and self.is_secret(key)
                    name = self.text(key) if isinstance(key, str) else key
                    below = hidden and not (isinstance(key, str) and is_structural_key(key))
                    target[_free_key(target, name)] = (
                        self.mask(item) if secret else self._convert(item, below)
                    )
            else:
                target.extend(self._convert(item, hidden) for item in source)
        return root

    def _convert(self, value: Any, hiding: bool = False) -> Any:
        """Strings redacted now; containers get an empty copy, filled when popped."""
        if isinstance(value, str):
            return self.mask(value) if hiding else self.text(value)
        if not isinstance(value, dict | list | tuple):
            if hiding and isinstance(value, int | float) and not isinstance(value, bool):
                return self.mask(value)
            return value
        known = self._copies.get((id(value), hiding))
        if known is not None:
            return known
        copy: dict[Any, Any] | list[Any] = {} if isinstance(value, dict) else []
        self._copies[(id(value), hiding)] = copy
        self._stack.append((value, copy, hiding))
        return copy

    def text(self, text: str) -> str:
        if len(text) < 4:
            return text
        if len(text) > CACHED_LENGTH:
            return self.text_uncached(text)
        shown, hidden = _cached_text(text, self.secrets)
        self.hidden += hidden
        return shown

    def text_uncached(self, text: str) -> str:
        pattern = self.secrets._pattern
        if pattern is not None:
            text = pattern.sub(self._literal, text)
        return hide_patterns(text, self.hide)

    def _literal(self, match: re.Match[str]) -> str:
        self.hidden += 1
        return MARK

    def hide(self, secret: str) -> str:
        """The mark for one secret part of a string (counted unless already hidden)."""
        if not secret or secret == MARK:
            return secret
        self.hidden += 1
        return MARK


_PLAIN_KEYS: set[str] = set()
_PLAIN_TEXTS: set[str] = set()
"""Short strings seen to hide nothing (names, types, statuses repeat in every event)."""
_PLAIN_MAX = 65536


def _plain(value: Any) -> bool:
    """Whether redaction would change nothing (most payloads): then the value is kept as
    it is, uncopied. Only a quick look; anything that might hold a secret says False."""
    stack, seen = [value], set()
    while stack:
        node = stack.pop()
        if isinstance(node, dict | list | tuple):
            if id(node) in seen:
                continue  # a cycle: the walk copies it once
            seen.add(id(node))
        if isinstance(node, str):
            if node in _PLAIN_TEXTS:
                continue
            if _hides_something(node):
                return False
            if len(node) <= 64 and len(_PLAIN_TEXTS) < _PLAIN_MAX:
                _PLAIN_TEXTS.add(node)
        elif isinstance(node, dict):
            for key, item in node.items():
                if key not in _PLAIN_KEYS and not _plain_key(key):
                    return False
                stack.append(item)
        elif isinstance(node, list | tuple):
            stack.extend(node)
    return True


def _plain_key(key: Any) -> bool:
    if not isinstance(key, str) or is_secret_key(key):
        return False
    if _hides_something(key):
        return False
    if len(_PLAIN_KEYS) < _PLAIN_MAX:
        _PLAIN_KEYS.add(key)
    return True


def _hides_something(text: str) -> bool:
    if len(text) < 4 or MAYBE.search(text) is None:
        return False
    if len(text) <= CACHED_LENGTH:
        return _cached_text(text, NO_SECRETS)[1] > 0
    walk = _Walk(NO_SECRETS)
    walk.text_uncached(text)
    return walk.hidden > 0


@functools.lru_cache(maxsize=16384)
def _cached_text(text: str, secrets: DeclaredSecrets) -> tuple[str, int]:
    """Key names, statuses and types repeat in every event: redact each string once."""
    walk = _Walk(secrets)
    return walk.text_uncached(text), walk.hidden


def _free_key(target: dict[Any, Any], name: Any) -> Any:
    """Two keys that read the same once redacted must not overwrite each other."""
    if name not in target:
        return name
    n = 2
    while f"{name} ({n})" in target:
        n += 1
    return f"{name} ({n})"
