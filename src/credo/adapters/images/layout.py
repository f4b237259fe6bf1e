"""What a badge draws, as plain shapes and text lines on a 512x512 canvas: one layout feeds
both the SVG template and the PNG painter, so the two files show the same badge."""

from __future__ import annotations

import math
from dataclasses import dataclass

from credo.adapters.images import fonts

SIZE = 512
Point = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Shape:
    """A circle (`centre`, `radius`) or a polygon (`points`), filled and/or stroked."""

    fill: str | None
    points: tuple[Point, ...] = ()
    centre: Point = (0.0, 0.0)
    radius: float = 0.0
    stroke: str | None = None
    stroke_width: float = 0.0

    @property
    def is_circle(self) -> bool:
        return not self.points

    @property
    def svg_points(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in self.points)


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    x: float
    y: float  # the baseline
    size: int
    colour: str


@dataclass(frozen=True, slots=True)
class Layout:
    look: str
    shapes: list[Shape]
    lines: list[Line]
    logo: tuple[float, float, float, float] | None = None  # x, y, width, height
    size: int = SIZE


@dataclass(frozen=True, slots=True)
class Box:
    """Where a look puts its text: centred on `x`, lines within `width`, from `top`."""

    x: float
    top: float
    width: float
    lines: int


def ink(background: str) -> str:
    """Near-black or white, whichever reads better on `background` (#rrggbb)."""
    r, g, b = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return "#111111" if luminance > 0.4 else "#ffffff"


def _ellipsize(text: str, size: int, limit: float) -> str:
    if fonts.width(text, size) <= limit:
        return text
    while text and fonts.width(text + "\u2026", size) > limit:
        text = text[:-1]
    return text.rstrip() + "\u2026"


def _wrap(text: str, size: int, limit: float) -> list[str]:
    """Greedy word wrap; a word wider than the line (or a script without spaces) breaks
    between characters."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if fonts.width(candidate, size) <= limit:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = ""
        for ch in word:
            if current and fonts.width(current + ch, size) > limit:
                lines.append(current)
                current = ""
            current += ch
    if current:
        lines.append(current)
    return lines


def fit(text: str, box: Box, sizes: tuple[int, ...]) -> tuple[list[str], int]:
    """The largest size at which `text` wraps within the box; at the smallest, the last
    line is shortened with an ellipsis."""
    text = " ".join(text.split()) or " "
    for size in sizes:
        lines = _wrap(text, size, box.width)
        if len(lines) <= box.lines:
            return lines, size
    size = sizes[-1]
    lines = _wrap(text, size, box.width)
    kept = lines[: box.lines - 1]
    return [*kept, _ellipsize(" ".join(lines[len(kept) :]), size, box.width)], size


def centred(
    lines: list[str], size: int, x: float, middle: float, colour: str, leading: float = 1.2
) -> list[Line]:
    """Lines whose block is vertically centred on `middle`."""
    step = size * leading
    first = middle - step * (len(lines) - 1) / 2 + size * 0.35
    return [Line(t, x, first + i * step, size, colour) for i, t in enumerate(lines)]


def circle(x: float, y: float, r: float, fill: str | None, **kw: object) -> Shape:
    return Shape(fill, centre=(x, y), radius=r, **kw)  # type: ignore[arg-type]


def star(x: float, y: float, outer: float, inner: float, points: int) -> tuple[Point, ...]:
    """A scalloped rosette's outline: `points` tips alternating with notches."""
    out: list[Point] = []
    for i in range(points * 2):
        r = outer if i % 2 == 0 else inner
        a = math.pi * i / points - math.pi / 2
        out.append((x + r * math.cos(a), y + r * math.sin(a)))
    return tuple(out)


def scaled(points: tuple[Point, ...], about: Point, k: float) -> tuple[Point, ...]:
    cx, cy = about
    return tuple((cx + (x - cx) * k, cy + (y - cy) * k) for x, y in points)


def shield_outline() -> tuple[Point, ...]:
    """A heater shield: straight top and sides, then two curves meeting at the point."""
    top, side_end, tip = 44.0, 250.0, (256.0, 486.0)
    left, right = 70.0, 442.0
    pts: list[Point] = [(left, top), (right, top), (right, side_end)]
    for i in range(1, 17):  # quadratic curve from the right side to the tip
        t = i / 16
        c = (right, 400.0)
        pts.append(
            (
                (1 - t) ** 2 * right + 2 * (1 - t) * t * c[0] + t**2 * tip[0],
                (1 - t) ** 2 * side_end + 2 * (1 - t) * t * c[1] + t**2 * tip[1],
            )
        )
    mirrored = [(SIZE - x, y) for x, y in reversed(pts[2:-1])]
    return (*pts, *mirrored)
