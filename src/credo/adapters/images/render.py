"""Badge images: an SVG from a Jinja2 template per look, a PNG painted with Pillow from the
same layout, each baked with the signed credential (adapters/images/baking.py)."""

from __future__ import annotations

import base64
import binascii
import functools
import io
import threading
import warnings
from importlib.metadata import version

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from PIL import Image, ImageDraw

from credo import timing
from credo.adapters import drawing
from credo.adapters.images import baking, fonts
from credo.adapters.images.layout import Layout
from credo.adapters.images.looks import layout
from credo.domain.entities import BadgeContent

SCALE = 2  # the PNG is painted at twice its size and scaled down: Pillow draws shapes aliased
# An e-mail shows the badge at 160 CSS pixels: twice that stays sharp on dense screens, and
# 256 colours hold its flat fills and smoothed edges. About 10 KB instead of 56 KB, which
# counts when a bulk sends thousands of e-mails (and for the recipient's mailbox).
EMAIL_SIDE = 320
MAX_LOGO_PIXELS = 4096 * 4096
FAMILY = (
    "'Noto Sans', 'Noto Sans CJK SC', 'Noto Sans Arabic', 'Noto Sans Hebrew', "
    "'Noto Sans Devanagari', 'DejaVu Sans', sans-serif"
)


def _layout(content: BadgeContent) -> Layout:
    d = content.design
    return layout(
        d.badge,
        content.achievement_name,
        content.issuer_name,
        d.primary_color,
        d.accent_color,
        d.logo is not None,
    )


def _logo(data_uri: str) -> Image.Image | None:
    """The design's PNG or JPEG logo; None for an SVG logo (Pillow cannot draw one: the
    PNG goes without) or one that does not decode."""
    media, _, payload = data_uri.partition(";base64,")
    if media == "data:image/svg+xml":
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(base64.b64decode(payload)))
            if im.width * im.height > MAX_LOGO_PIXELS:
                return None
            return im.convert("RGBA")
    except (binascii.Error, ValueError, OSError, Image.DecompressionBombError, Warning):
        return None


class BadgeImages:
    """Renders and bakes badge images; thread-safe (one Jinja environment, read-only)."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("credo", "templates/badges"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._lock = threading.Lock()

    @functools.cached_property
    def fingerprint(self) -> str:
        """What draws a badge: templates, this code, the fonts it may pick, Pillow."""
        return drawing.fingerprint(
            templates="templates/badges",
            code=[
                "credo.adapters.images.render",
                "credo.adapters.images.layout",
                "credo.adapters.images.looks",
                "credo.adapters.images.fonts",
            ],
            font_dirs=fonts.FONT_DIRS,
            versions=[f"pillow {version('pillow')}"],
        )

    def svg(self, content: BadgeContent) -> str:
        """The badge as an SVG, not yet baked."""
        lay = _layout(content)
        return self._env.get_template(f"{lay.look}.svg.j2").render(
            size=lay.size,
            shapes=lay.shapes,
            lines=lay.lines,
            logo=content.design.logo,
            logo_box=lay.logo,
            label=f"{content.achievement_name} \u2013 {content.issuer_name}",
            family=FAMILY,
        )

    def png(self, content: BadgeContent) -> bytes:
        """The badge as a PNG, not yet baked."""
        lay = _layout(content)
        big = lay.size * SCALE
        im = Image.new("RGBA", (big, big), (0, 0, 0, 0))
        draw = ImageDraw.Draw(im)
        for s in lay.shapes:
            width = round(s.stroke_width * SCALE)
            if s.is_circle:
                (x, y), r = s.centre, s.radius
                box = [(x - r) * SCALE, (y - r) * SCALE, (x + r) * SCALE, (y + r) * SCALE]
                draw.ellipse(box, fill=s.fill, outline=s.stroke, width=width)
            else:
                points = [(x * SCALE, y * SCALE) for x, y in s.points]
                draw.polygon(points, fill=s.fill, outline=s.stroke, width=width)
        logo = _logo(content.design.logo) if content.design.logo else None
        if logo is not None and lay.logo is not None:
            x, y, w, h = (v * SCALE for v in lay.logo)
            logo.thumbnail((round(w), round(h)), Image.Resampling.LANCZOS)
            at = (round(x + (w - logo.width) / 2), round(y + (h - logo.height) / 2))
            im.alpha_composite(logo, at)
        for line in lay.lines:
            font = fonts.font_for(line.text, line.size * SCALE)
            xy = (line.x * SCALE, line.y * SCALE)
            draw.text(xy, line.text, font=font, fill=line.colour, anchor="ms")
        out = io.BytesIO()
        im.resize((lay.size, lay.size), Image.Resampling.LANCZOS).save(out, "PNG", optimize=True)
        return out.getvalue()

    def email_png(self, content: BadgeContent) -> bytes:
        with self._lock:  # as in render
            big = Image.open(io.BytesIO(self.png(content)))
        small = big.resize((EMAIL_SIDE, EMAIL_SIDE), Image.Resampling.LANCZOS)
        few = small.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
        out = io.BytesIO()
        few.save(out, "PNG", optimize=True)
        return out.getvalue()

    def render(self, content: BadgeContent, fmt: str) -> bytes:
        with timing.phase("render_badge"):
            if fmt == "svg":
                return baking.bake_svg(self.svg(content), content.document).encode("utf-8")
            with self._lock:  # FreeType faces are shared between threads via the font cache
                png = self.png(content)
            return baking.bake_png(png, content.document)
