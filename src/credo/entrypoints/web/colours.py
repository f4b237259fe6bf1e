"""Readable colours from an organization's brand colours (WCAG 2.x contrast)."""

from __future__ import annotations

WHITE = "#ffffff"
BLACK = "#000000"
AA = 4.5  # WCAG AA for body text


def _channel(v: int) -> float:
    s = v / 255
    return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """Relative luminance of `#rrggbb`."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """White or black, whichever reads better on `background`; one of them always reaches
    AA (the worst case, a mid grey, still gives 4.58:1 with black)."""
    return WHITE if contrast(WHITE, background) >= contrast(BLACK, background) else BLACK


def ink(colour: str) -> str:
    """`colour`, darkened just enough to be read as text on white: a pale brand colour
    (a light gold, say) still tints headings and links without failing AA."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(21):
        f = 1 - step / 20
        shade = f"#{round(r * f):02x}{round(g * f):02x}{round(b * f):02x}"
        if contrast(shade, WHITE) >= AA:
            return shade
    return BLACK  # pragma: no cover - the last step is black, 21:1
