"""What a kept PDF or badge image was drawn with, as one fingerprint: the templates and
the drawing code (their bytes), the fonts (each file's path, size and modification time:
installing, removing or upgrading one changes it) and the drawing libraries' versions.
Kept files are looked up by it, so changing any of these draws them again, as changing a
design does."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path


def _package_files(folder: str) -> list[Traversable]:
    root = resources.files("credo").joinpath(folder)
    return sorted((f for f in root.iterdir() if f.is_file()), key=lambda f: f.name)


def _font_files(dirs: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for folder in dirs:
        if folder.is_dir():
            found.extend(p for p in folder.rglob("*") if p.suffix.lower() in _FONT_SUFFIXES)
    return sorted(found)


_FONT_SUFFIXES = {".ttf", ".otf", ".ttc", ".otc", ".woff", ".woff2", ".pfb"}


def fingerprint(
    *,
    templates: str,
    code: Iterable[str],
    font_dirs: Iterable[Path],
    versions: Iterable[str],
) -> str:
    """sha256 of everything that draws: template files under `templates` (a folder of the
    credo package), the modules named in `code`, the fonts under `font_dirs`, `versions`."""
    h = hashlib.sha256()
    for f in _package_files(templates):
        h.update(f"template {f.name}\n".encode())
        h.update(f.read_bytes())
    for module in sorted(code):
        spec_path = resources.files("credo").joinpath(*module.split(".")[1:-1])
        source = spec_path.joinpath(module.rsplit(".", 1)[1] + ".py")
        h.update(f"code {module}\n".encode())
        h.update(source.read_bytes())
    for path in _font_files(font_dirs):
        try:
            st = path.stat()
        except OSError:
            continue
        h.update(f"font {path} {st.st_size} {st.st_mtime_ns}\n".encode())
    for version in versions:
        h.update(f"version {version}\n".encode())
    return h.hexdigest()
