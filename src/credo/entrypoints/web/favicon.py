"""The /favicon.ico that browsers ask for unprompted: Credo's mark (static/favicon.svg)
drawn again with Pillow, since nothing here renders SVG to pixels cheaply."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw

_NAVY, _GOLD, _WHITE = (31, 58, 95, 255), (201, 162, 39, 255), (255, 255, 255, 255)


def _mark(size: int) -> Image.Image:
    scale = 4  # drawn large, then reduced: smooth edges without an anti-aliasing engine
    n = size * scale
    u = n / 64  # the SVG's units
    image = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, n - 1, n - 1), radius=14 * u, fill=_NAVY)
    draw.polygon(
        [(22 * u, 44 * u), (17 * u, 60 * u), (26 * u, 55 * u), (32 * u, 62 * u), (36 * u, 45 * u)],
        fill=_GOLD,
    )
    draw.polygon([(42 * u, 44 * u), (47 * u, 60 * u), (38 * u, 55 * u)], fill=_GOLD)
    draw.ellipse((15 * u, 10 * u, 49 * u, 44 * u), outline=_GOLD, width=round(5 * u))
    tick = [(24 * u, 27 * u), (30 * u, 33 * u), (41 * u, 21 * u)]
    draw.line(tick, fill=_WHITE, width=round(5 * u), joint="curve")
    return image.resize((size, size), Image.Resampling.LANCZOS)


@cache
def ico() -> bytes:
    out = io.BytesIO()
    _mark(64).save(out, format="ICO", sizes=[(16, 16), (32, 32), (48, 48), (64, 64)])
    return out.getvalue()
