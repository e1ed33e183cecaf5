"""ULIDs, the engine's ids, in one place: made, recognised, read back.

A ULID is 128 bits, 48 of epoch milliseconds then 80 of randomness, written as 26
Crockford base32 characters (``0-9A-Z`` without ``I L O U``); the first character is at
most ``7``, since 26 characters hold 130 bits. Ids sort by creation time.

Making them is python-ulid's job (imported on use: its import costs
about 25 ms, which Tab completion and read-only commands never pay); the pattern that
recognises one in free text is ours, since masking needs a regular expression, and so
is reading the time back (below).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from random import Random

LENGTH = 26
CHARACTER = "[0-9A-HJKMNP-TV-Z]"
"""One Crockford base32 character, upper case, as a regular-expression class."""
ULID = re.compile(f"[0-7]{CHARACTER}{{{LENGTH - 1}}}", re.IGNORECASE)
"""A whole ULID, in either case (``fullmatch`` it): what ``verify`` accepts."""
_TO_BASE32_DIGITS = str.maketrans(
    "0123456789ABCDEFGHJKMNPQRSTVWXYZ", "0123456789abcdefghijklmnopqrstuv"
)
"""Crockford's digits to the ones ``int(text, 32)`` reads."""


def is_ulid(text: object) -> bool:
    return isinstance(text, str) and ULID.fullmatch(text) is not None


def encode(ms: int, randomness: int) -> str:
    """The ULID of epoch millisecond ``ms`` with these 80 bits of randomness."""
    from ulid import ULID as Ulid  # noqa: PLC0415 - see the module docstring

    value = ((ms & (2**48 - 1)) << 80) | (randomness & (2**80 - 1))
    return str(Ulid.from_bytes(value.to_bytes(16, "big")))


def timestamp_ms(text: str) -> int:
    """The epoch milliseconds of a ULID (any case; check it with :func:`is_ulid` first).

    Read here rather than by python-ulid, whose validating parse costs 8 µs: ``verify``
    reads one per event."""
    return int(text[:10].upper().translate(_TO_BASE32_DIGITS), 32)


def new_ulid() -> str:
    """A fresh ULID for now, with 80 random bits, as the engine makes its ids."""
    from ulid import ULID as Ulid  # noqa: PLC0415 - see the module docstring

    return str(Ulid())


class UlidSource:
    """Monotonic ULIDs from a seeded RNG: ids sort in the order they were made, and one
    seed always gives the same ids (the demo and benchmark stores)."""

    def __init__(self, rng: Random) -> None:
        self._rng = rng
        self._ms = -1
        self._randomness = 0

    def at(self, ms: int) -> str:
        if ms > self._ms:
            self._ms, self._randomness = ms, self._rng.getrandbits(79)
        else:
            self._randomness += 1
        return encode(self._ms, self._randomness)
