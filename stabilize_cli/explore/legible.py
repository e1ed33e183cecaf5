"""NO_COLOR for the explorer: greys that keep every word readable.

Textual's own NO_COLOR filter maps each colour to its luminance, which turns red text on
the dark background (a TERMINAL status, an error) into near-black on near-black. Here
coloured text takes the plain foreground instead (the words and bold/dim/reverse carry
the meaning), greys stay greys, and backgrounds keep their luminance so the cursor and
selected rows still stand out.
"""

from __future__ import annotations

from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.filter import LineFilter, Monochrome

SATURATED = 0.15
"""HSL saturation above which a text colour is a hue, not a grey."""
LIGHT, DARK = Color(224, 224, 224), Color(32, 32, 32)


@lru_cache(1024)
def legible_style(style: Style, background: Color) -> Style:
    under = background if style.bgcolor is None else Color.from_rich_color(style.bgcolor)
    foreground = None
    if style.color is not None:
        color = Color.from_rich_color(style.color)
        if color.hsl.s > SATURATED:
            color = DARK if under.monochrome.brightness > 0.5 else LIGHT
        foreground = color.monochrome.rich_color
    behind = None if style.bgcolor is None else under.monochrome.rich_color
    return style + Style.from_color(foreground, behind)


class Legible(LineFilter):
    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [
            Segment(text, None if style is None else legible_style(style, background), None)
            for text, style, _ in segments
        ]


def make_legible(filters: list[LineFilter]) -> None:
    """Put :class:`Legible` where Textual put its luminance filter (NO_COLOR)."""
    for index, existing in enumerate(filters):
        if isinstance(existing, Monochrome):
            filters[index] = Legible(existing.enabled)
