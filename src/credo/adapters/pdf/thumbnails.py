"""A PDF's first page as a small PNG, through poppler's `pdftoppm` (scripts/system-deps.sh).

Used for the dashboard's certificate previews, where an <img> works everywhere (the
dashboard's content security policy allows no frames or plugins). Where poppler is missing,
`available()` is False and the dashboard links to the PDF instead."""

from __future__ import annotations

import shutil
import subprocess

TIMEOUT_SECONDS = 10


class ThumbnailError(Exception):
    pass


def available() -> bool:
    return shutil.which("pdftoppm") is not None


def first_page_png(pdf: bytes, dpi: int = 60) -> bytes:
    """The first page at `dpi` (60: an A4 page is about 700 pixels wide)."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        raise ThumbnailError("pdftoppm is not installed")
    try:
        done = subprocess.run(
            [exe, "-png", "-r", str(dpi), "-singlefile", "-f", "1", "-l", "1", "-"],
            input=pdf,
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ThumbnailError("pdftoppm took too long") from exc
    if done.returncode != 0 or not done.stdout.startswith(b"\x89PNG"):
        raise ThumbnailError(done.stderr.decode("utf-8", "replace")[:200] or "no image")
    return done.stdout
