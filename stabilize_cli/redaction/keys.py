"""The key rule: which key names hold a secret, whatever the value looks like."""

from __future__ import annotations

import functools
import re

MARK = "***"
"""What a secret is replaced with: always this string, whatever the secret's type."""

LONG_NAMES = (
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "secret",
    "token",
    "apikey",
    "private_key",
    "privkey",
    "ssh_private",
    "credential",
    "authorization",
    "cookie",
    "session",
    "dsn",
    "connection_string",
    "database_url",
    "card_number",
    "credit_card",
    "cc_number",
    "mnemonic",
    "seed_phrase",
    "recovery_code",
    "backup_code",
    "2fa",
)
"""Names hidden wherever they occur in a key, separators ignored (``db_password``,
``X-Api-Key``): long and specific enough that no ordinary word contains them."""
SHORT_NAMES = frozenset(
    {
        "auth",
        "pwd",
        "pass",
        "pw",
        "key",
        "pin",
        "otp",
        "totp",
        "hotp",
        "mfa",
        "jwt",
        "hmac",
        "salt",
        "sig",
        "signature",
        "cvv",
        "cvc",
    }
)
"""Names hidden when they are a whole word of a key (``db_pass``, ``mfa_code``,
``signingSalt``), never inside another word: ``author``, ``keyboard``, ``monkey``,
``pinned``, ``opinion``, ``signed_off``, ``passage``, ``compass`` stay."""
_SQUASHED = tuple(name.replace("_", "") for name in LONG_NAMES)
_SEPARATORS = re.compile(r"[\s_.\-]+")
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
"""Words of a key: lower-case runs, capitalised words, acronyms (digits separate them)."""
LONG_IN_TEXT = "|".join(
    name.replace("_", "[_.-]?") if "_" in name else name for name in (*LONG_NAMES, "api_key")
)
"""The long names as a regex alternation, ``_`` also matching ``-``, ``.`` or nothing."""


@functools.lru_cache(maxsize=8192)
def is_secret_key(key: str) -> bool:
    """Whether a value stored under this key name is a secret (the key rule)."""
    visible = _INVISIBLE.sub("", key)
    squashed = _SEPARATORS.sub("", visible).casefold()
    if any(name in squashed for name in _SQUASHED):
        return True
    return any(word.casefold() in SHORT_NAMES for word in _WORDS.findall(visible))
