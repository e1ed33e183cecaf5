"""Text from the database is untrusted: make every character of it visible and inert.

Rich strips only a few control characters, and ``Text`` stops markup but not escape
sequences, so every untrusted string goes through :func:`clean` first: C0 (but newline
and tab in multi-line views), DEL, C1, bidi controls and zero-width characters become
visible escapes. No Rich import here: error messages use it too.
"""

from __future__ import annotations

import re
from typing import Any

_ALWAYS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff"
_SINGLE_LINE = re.compile(f"[\t\n{_ALWAYS}]")
_MULTI_LINE = re.compile(f"[{_ALWAYS}]")
NULL_MARK = "∅"


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def clean(value: str, *, multiline: bool = False) -> str:
    """The string with every control, bidi and zero-width character shown as an escape."""
    pattern = _MULTI_LINE if multiline else _SINGLE_LINE
    return pattern.sub(_escape, value)


def display(value: Any) -> str:
    """How a value reads in a table cell; NULL is a distinct mark, never 'None'."""
    if value is None:
        return NULL_MARK
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):  # a BLOB where text belongs: its SQL literal, not b'...'
        return f"X'{value.hex().upper()}'"
    return str(value)
