"""Certificates as PDF: a Jinja2 HTML/CSS template per look, laid out by WeasyPrint.

Fonts come from fontconfig (Debian's Noto families, scripts/system-deps.sh); the templates
name a fallback family per script, so a name in any of the scripts Credo supports is drawn
with real glyphs. Nothing is fetched while rendering: images arrive as data URIs and every
other URL is refused.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from importlib.metadata import version
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from credo import timing
from credo.adapters import drawing
from credo.adapters.pdf.qr import qr_png_data_uri
from credo.domain import designs
from credo.domain.entities import CertificateContent

# Page sizes in millimetres, portrait (width, height).
PAPER_MM = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
# One family per script after the look's own face: Pango falls back glyph by glyph along
# these lists, so a name in Latin, Greek, Cyrillic, CJK, Arabic, Hebrew or Devanagari is
# drawn with a Noto face instead of boxes. Markup: they go into <style>, where HTML escapes
# would be read literally.
_SCRIPTS = (
    '"Noto Sans CJK SC", "Noto Naskh Arabic", "Noto Sans Arabic", "Noto Sans Hebrew", '
    '"Noto Sans Devanagari"'
)
SERIF = Markup(
    '"Noto Serif", "Noto Serif CJK SC", "Noto Naskh Arabic", "Noto Serif Hebrew", '
    f'"Noto Serif Devanagari", {_SCRIPTS}, "DejaVu Serif", serif'
)
SANS = Markup(f'"Noto Sans", {_SCRIPTS}, "DejaVu Sans", sans-serif')
QR_DARK = "#111111"  # near-black whatever the design's colours: scanners need contrast


def data_only() -> Any:
    """WeasyPrint's fetcher, for data URIs only: a design or template naming a remote or
    local file would otherwise make the server fetch it (SSRF, file disclosure)."""
    # WeasyPrint (and Pango through it) loads in 0.6 s of CPU: at the first render or the
    # server's warm-up, not while a process starts and must answer its health checks.
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


def direction(text: str) -> str:
    """`rtl` or `ltr`, from the first strongly directional character (Unicode's bidi rules
    P2 and P3). WeasyPrint ignores `dir="auto"` and lays out a right-to-left name in a
    left-to-right box word by word in the wrong order, so each field gets its direction."""
    for ch in text:
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def name_size_pt(name: str, orientation: str) -> float:
    """The recipient's name as large as fits one line on most certificates; long names
    step down rather than wrap into the achievement below."""
    n = len(name)
    size = 40.0 if n <= 22 else 34.0 if n <= 30 else 28.0 if n <= 42 else 22.0 if n <= 70 else 16.0
    return size * (0.82 if orientation == "portrait" else 1.0)


def title_size_pt(title: str) -> float:
    n = len(title)
    return 22.0 if n <= 40 else 18.0 if n <= 70 else 14.0 if n <= 120 else 11.0


class WeasyCertificates:
    """Thread-safe: renders run one at a time per process. Layout holds the GIL anyway, and
    one lock keeps Pango and fontconfig, whose thread safety varies by version, out of
    trouble."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("credo", "templates/certificates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["dir"] = direction
        self._lock = threading.Lock()
        self._fonts: Any = None  # weasyprint's FontConfiguration, made at the first render

    @functools.cached_property
    def fingerprint(self) -> str:
        """What draws a certificate: templates, this code, fontconfig's fonts, WeasyPrint."""
        return drawing.fingerprint(
            templates="templates/certificates",
            code=["credo.adapters.pdf.renderer", "credo.adapters.pdf.qr"],
            font_dirs=[Path("/usr/share/fonts"), Path("/usr/local/share/fonts")],
            versions=[f"weasyprint {version('weasyprint')}", f"segno {version('segno')}"],
        )

    def html(self, content: CertificateContent) -> str:
        d = content.design
        width, height = PAPER_MM[content.paper]
        if content.orientation == "landscape":
            width, height = height, width
        template = self._env.get_template(f"{d.certificate}.html")
        return template.render(
            recipient_name=content.recipient_name,
            achievement_name=content.achievement_name,
            achievement_description=content.achievement_description,
            issuer_name=content.issuer_name,
            issued_on=content.issued_on,
            expires_on=content.expires_on,
            credential_id=content.credential_id,
            verify_url=content.verify_url,
            qr=qr_png_data_uri(content.verify_url, QR_DARK),
            logo=d.logo,
            signature_image=d.signature_image,
            signatory_name=d.signatory_name,
            signatory_title=d.signatory_title,
            primary_color=d.primary_color,
            accent_color=d.accent_color,
            orientation=content.orientation,
            page_width_mm=width,
            page_height_mm=height,
            name_size=name_size_pt(content.recipient_name, content.orientation),
            title_size=title_size_pt(content.achievement_name),
            sample=content.sample,
            serif=SERIF,
            sans=SANS,
        )

    def render(self, content: CertificateContent) -> bytes:
        markup = self.html(content)
        with self._lock, timing.phase("render_pdf"):
            if self._fonts is None:
                from weasyprint.text.fonts import FontConfiguration

                self._fonts = FontConfiguration()
            from weasyprint import HTML

            document = HTML(string=markup, url_fetcher=data_only()).render(font_config=self._fonts)
            pdf: bytes = document.write_pdf()
        return pdf

    def warm_up(self) -> None:
        """Pay the first render's costs (fontconfig's font list, the templates' compilation,
        WeasyPrint's user-agent stylesheets) before a visitor waits for them."""
        self.render(SAMPLE)


SAMPLE = CertificateContent(
    recipient_name="Ada Lovelace",
    achievement_name="Sample achievement",
    achievement_description="",
    issuer_name="Credo",
    issued_on="1 January 2026",
    expires_on=None,
    credential_id="cred_sample",
    verify_url="https://example.org/c/cred_sample",
    design=designs.DEFAULT,
    paper="a4",
    orientation="landscape",
    sample=True,
)
