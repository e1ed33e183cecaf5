"""Text from the database is untrusted: make every character of it visible and inert.

Rich strips only a few control characters, and ``Text`` stops markup but not escape
sequences, so every untrusted string goes through :func:`clean` first. What is escaped is
decided by class, not by a list of examples: every character of the Unicode categories
Cc, Cf, Zl, Zp, Co, Cs and Cn (controls, format characters such as bidi controls, tag
characters and zero-width spaces, line and paragraph separators, private use, lone
surrogates, unassigned), the other default-ignorable code points (Hangul fillers, the
combining grapheme joiner, Mongolian and other variation selectors), and U+FE0E/U+FE0F
unless they follow a symbol (an emoji presentation sequence). Newline and tab stay in
multi-line views.

Escapes read ``\\x1b``, ``\\u200b``, ``\\U000e0041``. So that the text ``\\x1b`` and a real
ESC never look the same in data (:func:`inert`), a run of backslashes standing before
something that reads as an escape written here is doubled: the stored text ``\\x1b`` is
shown as ``\\\\x1b`` (``\\xff`` stays: ``ÿ`` is never escaped). Other backslashes (Windows
paths, regexes) are left as they are. No Rich import here: error messages use it too
(:func:`clean`).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

NULL_MARK = "∅"

_SUSPECT = re.compile(r"\\+|[^\x20-\x5b\x5d-\x7e]")
"""A backslash run or any character but printable ASCII: the only places a change can be."""
_LOOKS_LIKE_ESCAPE = re.compile(r"x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}")
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0D),  # variation selectors 1-14
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
"""Default-ignorable code points outside the hidden categories (Unicode's
DerivedCoreProperties): they render as nothing, so they are escaped too."""
_EMOJI_SELECTORS = (0xFE0E, 0xFE0F)
_EMOJI_BASES = frozenset("#*0123456789\u203c\u2049")
_EMOJI_BASE_CATEGORIES = frozenset({"So", "Sm", "Sk"})


def _hidden(text: str, index: int, multiline: bool) -> bool:
    """Whether the character at ``index`` is shown as an escape."""
    char = text[index]
    code = ord(char)
    if code < 0x80:
        return (code < 0x20 or code == 0x7F) and not (multiline and char in "\t\n")
    if unicodedata.category(char) in _HIDDEN_CATEGORIES:
        return True
    if code in _EMOJI_SELECTORS:
        return not (index > 0 and _emoji_base(text[index - 1]))
    return any(low <= code <= high for low, high in _IGNORABLE_RANGES)


def _reads_as_escape(text: str, index: int) -> bool:
    """Whether the text at ``index`` (after a backslash) reads as an escape this module
    writes: ``x1b`` does, ``xff`` does not (``ÿ`` is shown as itself)."""
    match = _LOOKS_LIKE_ESCAPE.match(text, index)
    if match is None:
        return False
    code = int(match.group()[1:], 16)
    return code > 0x10FFFF or _hidden(chr(code), 0, False)


def _emoji_base(char: str) -> bool:
    return char in _EMOJI_BASES or (
        ord(char) > 0x7F and unicodedata.category(char) in _EMOJI_BASE_CATEGORIES
    )


def _escape(code: int) -> str:
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def clean(value: str, *, multiline: bool = False) -> str:
    """A message line (an error, a warning) with every invisible or controlling character
    shown as an escape. Messages quote values with ``repr``, which already doubles their
    backslashes, so backslashes are left alone here; data goes through :func:`inert`."""
    return _escaped(value, multiline=multiline, backslashes=False)


def inert(value: str, *, multiline: bool = False) -> str:
    """Text from the database as shown in tables, views, CSV and Markdown: every invisible
    or controlling character as an escape, and a backslash run doubled where it stands
    before something that would read as an escape (the text ``\\x1b`` shows as
    ``\\\\x1b``, a real ESC as ``\\x1b``)."""
    return _escaped(value, multiline=multiline, backslashes=True)


def _escaped(value: str, *, multiline: bool, backslashes: bool) -> str:
    if _SUSPECT.search(value) is None:
        return value

    def replace(match: re.Match[str]) -> str:
        found, start, end = match.group(), match.start(), match.end()
        if found[0] == "\\":
            ahead = backslashes and end < len(value)
            if ahead and (_hidden(value, end, multiline) or _reads_as_escape(value, end)):
                return found * 2
            return found
        return _escape(ord(found)) if _hidden(value, start, multiline) else found

    return _SUSPECT.sub(replace, value)


def display(value: Any) -> str:
    """How a value reads in a table cell; NULL is a distinct mark, never 'None'."""
    if value is None:
        return NULL_MARK
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):  # a BLOB where text belongs: its SQL literal, not b'...'
        return f"X'{value.hex().upper()}'"
    return str(value)


# -- exports: text that spreadsheets and Markdown renderers must not interpret -------------

_FORMULA_START = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
"""What makes a spreadsheet read a cell as a formula (OWASP's list; fullwidth forms too)."""


def csv_text(text: str) -> str:
    """A CSV cell a spreadsheet shows as text: one that starts (after spaces) with ``=``,
    ``+``, ``-``, ``@``, or starts with a tab or CR, gets a leading ``'`` (OWASP)."""
    if text[:1] in ("\t", "\r") or text.lstrip(" ")[:1] in _FORMULA_START:
        return "'" + text
    return text


_MARKDOWN = str.maketrans(
    {
        **{c: "\\" + c for c in "\\`*_[]()|"},
        "<": "&lt;",
        ">": "&gt;",
        "&": "&amp;",
        "~": "&#126;",
    }
)
"""Backslash escapes where both CommonMark and Python-Markdown honour them, entities where
one of them does not: every renderer shows the characters, none builds an element."""


def markdown_text(text: str) -> str:
    """A Markdown table cell that renders as exactly this text: no HTML, link, image,
    code span, emphasis or cell break can come out of it."""
    return text.translate(_MARKDOWN)
