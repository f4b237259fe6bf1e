"""The three badge looks (domain.designs.BADGE_LOOKS) as layouts: medal, shield, ribbon."""

from __future__ import annotations

from collections.abc import Callable

from credo.adapters.images.layout import (
    SIZE,
    Box,
    Layout,
    Point,
    Shape,
    centred,
    circle,
    fit,
    ink,
    scaled,
    shield_outline,
    star,
)

TITLE_SIZES = (44, 40, 36, 32, 28, 24, 20)
ISSUER_SIZES = (22, 20, 18, 16, 14)
LOGO = (216.0, 66.0, 80.0, 60.0)  # x, y, width, height: above the title in every look


def _tails(fill: str) -> list[Shape]:
    left = ((168.0, 330.0), (250.0, 372.0), (222.0, 500.0), (190.0, 472.0), (148.0, 494.0))
    right = tuple((SIZE - x, y) for x, y in left)
    return [Shape(fill, points=left), Shape(fill, points=right)]


def medal(title: str, issuer: str, primary: str, accent: str, logo: bool) -> Layout:
    c = ink(primary)
    lines, size = fit(title, Box(256, 0, 290, 3), TITLE_SIZES)
    org, org_size = fit(issuer, Box(256, 0, 240, 1), ISSUER_SIZES)
    shapes = [
        *_tails(primary),
        circle(256, 226, 200, accent),
        circle(256, 226, 180, primary),
        circle(256, 226, 168, None, stroke=accent, stroke_width=3),
    ]
    text = centred(lines, size, 256, 240 if logo else 216, c)
    text += centred(org, org_size, 256, 350, c)
    return Layout("medal", shapes, text, LOGO if logo else None)


def shield(title: str, issuer: str, primary: str, accent: str, logo: bool) -> Layout:
    c = ink(primary)
    outline = shield_outline()
    lines, size = fit(title, Box(256, 0, 300, 3), TITLE_SIZES)
    org, org_size = fit(issuer, Box(256, 0, 210, 1), ISSUER_SIZES)
    shapes = [
        Shape(accent, points=outline),
        Shape(primary, points=scaled(outline, (256, 250), 0.92)),
        Shape(None, points=scaled(outline, (256, 250), 0.86), stroke=accent, stroke_width=3),
    ]
    text = centred(lines, size, 256, 250 if logo else 226, c)
    text += centred(org, org_size, 256, 372, c)
    return Layout("shield", shapes, text, (LOGO[0], 80.0, LOGO[2], LOGO[3]) if logo else None)


def ribbon(title: str, issuer: str, primary: str, accent: str, logo: bool) -> Layout:
    c = ink(primary)
    lines, size = fit(title, Box(256, 0, 270, 3), TITLE_SIZES[2:])
    org, org_size = fit(issuer, Box(256, 0, 340, 1), ISSUER_SIZES)
    banner: tuple[Point, ...] = ((30.0, 318.0), (482.0, 318.0), (456.0, 352.0), (482.0, 386.0))
    banner += ((30.0, 386.0), (56.0, 352.0))
    shapes = [
        *_tails(primary),
        Shape(accent, points=star(256, 214, 212, 192, 24)),
        circle(256, 214, 174, primary),
        Shape(accent, points=banner),
    ]
    text = centred(lines, size, 256, 214 if logo else 196, c)
    text += centred(org, org_size, 256, 352, ink(accent))
    return Layout("ribbon", shapes, text, (LOGO[0], 58.0, LOGO[2], LOGO[3]) if logo else None)


LOOKS: dict[str, Callable[[str, str, str, str, bool], Layout]] = {
    "medal": medal,
    "shield": shield,
    "ribbon": ribbon,
}


def layout(look: str, title: str, issuer: str, primary: str, accent: str, logo: bool) -> Layout:
    return LOOKS.get(look, medal)(title, issuer, primary, accent, logo)
