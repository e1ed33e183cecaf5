"""Events read without their payload, when a caller provably needs none of it (ours).

A workflow of a million ``task.retried`` events costs its reader most of its time in
decoding and redacting payloads whose only contribution to a timeline is "one more
retry at this time". A caller that reads only a few keys of such events names them in an
:class:`Elision`; the store then leaves the payload of each event of those types
undecoded when it can prove, from the stored text, that the payload holds none of those
keys and that the codec would read it (it is not an unreadable row). Such an event comes
with :data:`ElidedPayload` as its ``data`` (it answers "absent" for the named keys and
raises :class:`ElidedKeyError` for any other) and with empty metadata (not read either):
nothing in it can hold a secret, so it is not redacted. Every other row is read as
without an elision. Only what a caller takes from an event's ids, type, time, sequence,
version and the named keys' absence may come from such an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from ..base import EventType


class ElidedKeyError(LookupError):
    """A key of an elided payload was read that the caller did not name: a bug."""


@dataclass(frozen=True)
class Elision:
    """Which events may come without their payload, and the keys the caller reads."""

    event_types: frozenset[EventType]
    read_keys: frozenset[str]

    @classmethod
    def of(cls, event_types: Iterable[EventType], read_keys: Iterable[str]) -> Elision:
        return cls(frozenset(event_types), frozenset(read_keys))

    def payload(self) -> ElidedPayload:
        return ElidedPayload(self.read_keys)


class ElidedPayload(dict[str, Any]):
    """An empty, read-only payload that knows which keys it was proven not to hold."""

    __slots__ = ("absent",)

    def __init__(self, absent: frozenset[str]) -> None:
        super().__init__()
        self.absent = absent

    def _check(self, key: object) -> None:
        if key not in self.absent:
            raise ElidedKeyError(f"payload key {key!r} was not read (elided payload)")

    def get(self, key: str, default: Any = None) -> Any:
        self._check(key)
        return default

    def __getitem__(self, key: str) -> Any:
        self._check(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        self._check(key)
        return False

    def _read_only(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("an elided payload is read-only")

    __setitem__ = _read_only
    __delitem__ = _read_only
    setdefault = _read_only
    update = _read_only
    pop = _read_only
    popitem = _read_only
    clear = _read_only
