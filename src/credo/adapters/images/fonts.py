"""Fonts for badge text, found by path among Debian's Noto and DejaVu packages
(fonts-noto-core, fonts-noto-cjk, fonts-dejavu-core).

Pillow draws a line with one font and has no glyph fallback, so a line gets the first font
whose character map covers all of it: Noto Sans, then the Noto face of the line's own
script, then CJK and DejaVu. With no font installed at all, Pillow's built-in one is used:
a worse badge, never a failed request.
"""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont  # type: ignore[import-untyped]
from PIL import ImageFont

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/noto"),  # other distributions
    Path("/usr/share/fonts/dejavu"),
)
FIRST = ("NotoSans-Bold.ttf",)
LAST = ("NotoSansCJK-Bold.ttc", "DejaVuSans-Bold.ttf", "NotoSansSymbols-Bold.ttf")
# unicodedata names the script first ("ARABIC LETTER ALEF"); these share the CJK face.
_CJK = {"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "IDEOGRAPHIC", "BOPOMOFO", "FULLWIDTH"}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.lru_cache(maxsize=64)
def _find(name: str) -> Path | None:
    for folder in FONT_DIRS:
        if (folder / name).is_file():
            return folder / name
    return None


@functools.lru_cache(maxsize=64)
def _coverage(path: Path) -> frozenset[int]:
    try:
        if path.suffix == ".ttc":
            with TTCollection(str(path), lazy=True) as collection:
                return frozenset(collection.fonts[0].getBestCmap() or {})
        with TTFont(str(path), lazy=True) as font:
            return frozenset(font.getBestCmap() or {})
    except Exception:  # an unreadable font file covers nothing; another will do
        return frozenset()


def _script_faces(text: str) -> list[str]:
    faces: list[str] = []
    for ch in text:
        if ord(ch) < 0x250 or ch.isspace():
            continue  # Latin: Noto Sans has it
        word = unicodedata.name(ch, "").split(" ", 1)[0]
        if word in _CJK:
            faces.append("NotoSansCJK-Bold.ttc")
        elif word:
            title = word.title()
            faces += [f"NotoSans{title}-Bold.ttf", f"NotoSans{title}-Regular.ttf"]
    return list(dict.fromkeys(faces))


def font_path(text: str) -> Path | None:
    """The installed font that draws most of `text`, preferring one that draws all of it."""
    needed = {ord(ch) for ch in text if not ch.isspace() and unicodedata.category(ch)[0] != "C"}
    best: tuple[int, Path] | None = None
    for name in (*FIRST, *_script_faces(text), *LAST):
        path = _find(name)
        if path is None:
            continue
        missing = len(needed - _coverage(path))
        if missing == 0:
            return path
        if best is None or missing < best[0]:
            best = (missing, path)
    return best[1] if best else None


@functools.lru_cache(maxsize=256)
def _load(path: Path | None, size: int) -> Font:
    if path is not None:
        try:
            return ImageFont.truetype(str(path), size)
        except OSError:
            pass
    return ImageFont.load_default(size)


def font_for(text: str, size: int) -> Font:
    return _load(font_path(text), size)


def width(text: str, size: int) -> float:
    return float(font_for(text, size).getlength(text))
