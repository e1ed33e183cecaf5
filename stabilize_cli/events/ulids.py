"""ULIDs, the engine's ids, in one place: made, recognised, read back, masked.

A ULID is 128 bits, 48 of epoch milliseconds then 80 of randomness, written as 26
Crockford base32 characters (``0-9A-Z`` without ``I L O U``); the first character is at
most ``7``, since 26 characters hold 130 bits. Ids sort by creation time.
"""

from __future__ import annotations

import base64
import os
import re
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from random import Random

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 26
CHARACTER = "[0-9A-HJKMNP-TV-Z]"
"""One Crockford base32 character, upper case, as a regular-expression class."""
ULID = re.compile(f"[0-7]{CHARACTER}{{{LENGTH - 1}}}", re.IGNORECASE)
"""A whole ULID, in either case (``fullmatch`` it): what ``verify`` accepts."""
_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", CROCKFORD.encode())


def is_ulid(text: object) -> bool:
    return isinstance(text, str) and ULID.fullmatch(text) is not None


def encode(ms: int, randomness: int) -> str:
    """The ULID of epoch millisecond ``ms`` with these 80 bits of randomness."""
    value = ((ms & (2**48 - 1)) << 80) | (randomness & (2**80 - 1))
    # base32 of 20 bytes is 32 characters; the last 26 hold the low 130 bits
    return base64.b32encode(value.to_bytes(20, "big"))[-LENGTH:].translate(_TO_CROCKFORD).decode()


def timestamp_ms(text: str) -> int:
    """The epoch milliseconds in a ULID's first ten characters (any case)."""
    value = 0
    for char in text[:10].upper():
        value = value * 32 + CROCKFORD.index(char)
    return value


def new_ulid() -> str:
    """A fresh ULID for now, with 80 random bits, as the engine makes its ids."""
    return encode(time.time_ns() // 1_000_000, int.from_bytes(os.urandom(10), "big"))


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
