"""The fingerprint of what draws kept files changes with templates, code, fonts and
library versions, and with nothing else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from credo.adapters import drawing
from credo.adapters.images.render import BadgeImages
from credo.adapters.pdf.renderer import WeasyCertificates


def _print(fonts: Path, versions: tuple[str, ...] = ("lib 1",)) -> str:
    return drawing.fingerprint(
        templates="templates/badges",
        code=["credo.adapters.images.render"],
        font_dirs=[fonts],
        versions=versions,
    )


def test_it_is_stable_and_follows_fonts_and_versions(tmp_path: Path) -> None:
    font = tmp_path / "Sans.ttf"
    font.write_bytes(b"glyphs")
    first = _print(tmp_path)
    assert _print(tmp_path) == first
    (tmp_path / "readme.txt").write_text("not a font")
    assert _print(tmp_path) == first
    assert _print(tmp_path, ("lib 2",)) != first
    os.utime(font, ns=(1, 1))  # an upgraded package's font
    assert _print(tmp_path) != first
    moved = _print(tmp_path)
    (tmp_path / "Serif.otf").write_bytes(b"more glyphs")  # a font installed
    assert _print(tmp_path) != moved


def test_it_follows_the_templates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    before = _print(tmp_path)
    original = drawing._package_files

    def changed(folder: str) -> list[object]:
        files = original(folder)
        first = files[0]

        class Edited:
            name = first.name

            def read_bytes(self) -> bytes:
                return first.read_bytes() + b"<!-- a new ribbon -->"

        return [Edited(), *files[1:]]

    monkeypatch.setattr(drawing, "_package_files", changed)
    assert _print(tmp_path) != before


def test_the_renderers_fingerprints_differ_and_are_kept() -> None:
    pdf, badges = WeasyCertificates(), BadgeImages()
    assert len(pdf.fingerprint) == 64 and len(badges.fingerprint) == 64
    assert pdf.fingerprint != badges.fingerprint
    assert pdf.fingerprint == pdf.fingerprint  # computed once per renderer
