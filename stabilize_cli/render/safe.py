"""Untrusted values as Rich ``Text``: cleaned first, never parsed as markup."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from .sanitize import display, inert


def safe_text(value: Any, *, style: str = "", multiline: bool = False) -> Text:
    return Text(inert(display(value), multiline=multiline), style=style)
