"""QR codes for certificates (segno)."""

from __future__ import annotations

import segno

# Pixels per QR module. The image is drawn without interpolation (image-rendering:
# pixelated), so each module stays a sharp square at any zoom; 8 keeps the PNG small while
# leaving viewers that ignore that hint with clean edges.
SCALE = 8


def qr_png_data_uri(url: str, dark: str = "#000000") -> str:
    """A PNG data URI of the QR code of `url` (error correction M: survives a crease or a
    smudge on paper) without a quiet zone: the template's padding gives it one."""
    return str(
        segno.make(url, error="m", micro=False).png_data_uri(scale=SCALE, border=0, dark=dark)
    )
