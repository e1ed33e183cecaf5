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


STRUCTURAL_KEYS = frozenset(
    {
        # ids and references
        "id",
        "event_id",
        "entity_id",
        "workflow_id",
        "correlation_id",
        "causation_id",
        "stage_id",
        "task_id",
        "execution_id",
        "parent_stage_id",
        "from_stage_id",
        "to_stage_id",
        "initial_stage_ids",
        "ref_id",
        "requisite_stage_ref_ids",
        # types, names, statuses
        "type",
        "event_type",
        "entity_type",
        "trigger_type",
        "jump_type",
        "_raw_event_type",
        "implementing_class",
        "name",
        "application",
        "signal_name",
        "actor",
        "source_handler",
        "status",
        "old_status",
        "new_status",
        "is_synthetic",
        # times, durations, counts
        "timestamp",
        "start_time",
        "end_time",
        "pause_time",
        "resume_time",
        "paused_ms",
        "duration_ms",
        "version",
        "schema_version",
        "sequence",
        "stage_count",
        "initial_stage_count",
        "task_count",
        "attempt",
        "retry_count",
    }
)
"""The engine's structural fields, kept (still redacted by the other rules) when every
other value of a workflow is hidden because its declaration may not have been read: what
a timeline, a state or a failure list needs to stay readable, and nothing free-form
(``error``, ``reason``, ``context``, ``outputs``, ``trigger`` and their contents go)."""


def is_structural_key(key: str) -> bool:
    return key.casefold() in STRUCTURAL_KEYS
