"""Open Badges 3.0 baking: credentials round-trip through PNG and SVG badge images, other
tools read what we bake, and the unbaker refuses anything but plainly one credential with
its own error, whatever bytes it is given."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import zlib
from typing import Any
from xml.etree import ElementTree

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, PngImagePlugin

from credo.adapters.images import baking
from credo.adapters.images.baking import bake_png, bake_svg, unbake
from credo.domain.errors import BakingError
from tests.hypothesis_profiles import examples

CREDENTIAL = json.dumps(
    {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": "Données ]]> <b>&amp; 日本語",
        "proof": {"type": "DataIntegrityProof", "proofValue": "z3abc"},
    },
    ensure_ascii=False,
)
SVG = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" data-x="a>b">'
    '<circle cx="5" cy="5" r="4"/></svg>'
)
OB3 = "{https://purl.imsglobal.org/ob/v3p0}"


def png(size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (size, size), (200, 30, 30, 255)).save(out, "PNG")
    return out.getvalue()


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def with_chunks(image: bytes, *extra: bytes) -> bytes:
    """`image` with `extra` chunks inserted before its IEND (the last 12 bytes)."""
    return image[:-12] + b"".join(extra) + image[-12:]


def itxt(text: bytes, flag: int = 0, keyword: bytes = b"openbadgecredential") -> bytes:
    return chunk(b"iTXt", keyword + b"\0" + bytes([flag, 0]) + b"\0\0" + text)


def refused(image: bytes, words: str) -> None:
    with pytest.raises(BakingError) as caught:
        unbake(image)
    assert words in caught.value.detail


# ------------------------------------------------------------------------------ round trips


def test_a_png_round_trip_and_pillow_reads_the_chunk() -> None:
    baked = bake_png(png(), CREDENTIAL)
    assert unbake(baked) == CREDENTIAL
    assert baking.credential_from_image(baked) == json.loads(CREDENTIAL)
    # An independent reader: Pillow exposes iTXt chunks, and still decodes the image.
    im = Image.open(io.BytesIO(baked))
    im.load()
    assert isinstance(im, PngImagePlugin.PngImageFile)
    assert im.text["openbadgecredential"] == CREDENTIAL
    assert im.size == (8, 8)
    # OB 3.0: uncompressed, empty language tag and translated keyword, just before IEND.
    chunk_at = baked.index(b"iTXtopenbadgecredential")
    assert baked[chunk_at + 4 + 20 : chunk_at + 4 + 24] == b"\0\0\0\0"
    assert baked.endswith(b"IEND\xaeB`\x82")


def test_baking_a_png_again_replaces_its_credential() -> None:
    baked = bake_png(bake_png(png(), '{"old": 1}'), CREDENTIAL)
    assert baked.count(b"openbadgecredential") == 1
    assert unbake(baked) == CREDENTIAL


def test_an_svg_round_trip_and_elementtree_reads_the_element() -> None:
    baked = bake_svg(SVG, CREDENTIAL)
    assert unbake(baked.encode()) == CREDENTIAL
    root = ElementTree.fromstring(baked.encode())
    first = root[0]
    assert first.tag == f"{OB3}credential"  # the root's first child, as OB 3.0 says
    assert json.loads(first.text or "") == json.loads(CREDENTIAL)
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in baked
    assert 'data-x="a>b"' in baked and root[1].tag.endswith("circle")


def test_an_svg_baked_twice_is_refused_rather_than_ambiguous() -> None:
    with pytest.raises(BakingError, match="already carries"):
        bake_svg(bake_svg(SVG, CREDENTIAL), CREDENTIAL)


def test_a_compact_jws_is_read_but_not_taken_for_json() -> None:
    jws = "eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2ln"
    svg = SVG.replace(
        'data-x="a>b">',
        'data-x="a>b" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">'
        f'<openbadges:credential verify="{jws}"/>',
    )
    assert unbake(svg.encode()) == jws
    assert unbake(bake_png(png(), jws)) == jws
    with pytest.raises(BakingError, match="VC-JWT"):
        baking.credential_from_image(svg.encode())


def test_a_compressed_chunk_is_inflated_within_bounds() -> None:
    assert unbake(with_chunks(png(), itxt(zlib.compress(b'{"a": 1}'), flag=1))) == '{"a": 1}'
    bomb = zlib.compress(b" " * (baking.MAX_CREDENTIAL_BYTES + 10))
    refused(with_chunks(png(), itxt(bomb, flag=1)), "too large")
    refused(with_chunks(png(), itxt(zlib.compress(b"{}")[:-3], flag=1)), "truncated")


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.text(max_size=20), st.text(max_size=40) | st.integers() | st.booleans(), max_size=6
    )
)
def test_any_json_document_round_trips_through_both_formats(doc: dict[str, Any]) -> None:
    text = json.dumps(doc, ensure_ascii=False)
    assert json.loads(unbake(bake_png(png(2), text))) == doc
    assert json.loads(unbake(bake_svg(SVG, text).encode())) == doc


# ------------------------------------------------------------------------------- refusals

GOOD = bake_png(png(), CREDENTIAL)


@pytest.mark.parametrize(
    ("image", "words"),
    [
        pytest.param(with_chunks(GOOD, itxt(b"{}")), "several", id="two-chunks"),
        pytest.param(GOOD[:-20], "truncated", id="truncated"),
        pytest.param(GOOD + b"\0", "after its IEND", id="after-iend"),
        pytest.param(GOOD[:40] + bytes([GOOD[40] ^ 1]) + GOOD[41:], "CRC", id="bad-crc"),
        pytest.param(png(), "no credential", id="unbaked"),
        pytest.param(
            with_chunks(png(), chunk(b"iTXt", b"openbadges\0\0\0\0\0https://x.org/a")),
            "Open Badges 2.0",
            id="ob2",
        ),
        pytest.param(with_chunks(png(), itxt(b"\xff\xfe")), "UTF-8", id="not-utf8"),
        pytest.param(with_chunks(png(), itxt(b"{}", flag=7)), "compression flag", id="bad-flag"),
        pytest.param(
            with_chunks(png(), chunk(b"tEXt", b"openbadgecredential\0{}")), "tEXt", id="text"
        ),
        pytest.param(with_chunks(png(), chunk(b"iTXt", b"openbadgecredential")), "malformed"),
        pytest.param(b"\x89PNG\r\n\x1a\n", "truncated", id="signature-only"),
        pytest.param(b'{"a": 1}', "not a PNG or SVG", id="json"),
        pytest.param(b"", "not a PNG or SVG", id="empty"),
        pytest.param(b"<" + b" " * (baking.MAX_IMAGE_BYTES + 1), "limited", id="huge"),
    ],
)
def test_malformed_pngs_are_refused(image: bytes, words: str) -> None:
    refused(image, words)


BOMB = """<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">
<openbadges:credential>&c;</openbadges:credential></svg>"""
XXE = """<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0">
<openbadges:credential>&x;</openbadges:credential></svg>"""
NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"'


@pytest.mark.parametrize(
    ("svg", "words"),
    [
        pytest.param(BOMB, "DOCTYPE", id="billion-laughs"),
        pytest.param(XXE, "DOCTYPE", id="external-entity"),
        pytest.param(f"<svg {NS}><openbadges:credential>&x;</openbadges:credential></svg>", "XML"),
        pytest.param(
            f"<svg {NS}><openbadges:credential>{{}}</openbadges:credential>"
            "<openbadges:credential>{}</openbadges:credential></svg>",
            "several",
            id="two-elements",
        ),
        pytest.param(
            f"<svg {NS}><openbadges:credential><b/></openbadges:credential></svg>",
            "other elements",
            id="nested",
        ),
        pytest.param(
            f'<svg {NS}><openbadges:credential verify="a.b.c">{{}}</openbadges:credential></svg>',
            "both",
            id="verify-and-text",
        ),
        pytest.param(f"<svg {NS}><openbadges:credential> </openbadges:credential></svg>", "empty"),
        pytest.param(f"<svg {NS}><g/></svg>", "no credential", id="unbaked"),
        pytest.param(
            f"<html {NS}><openbadges:credential>{{}}</openbadges:credential></html>", "root"
        ),
        pytest.param("<svg " + NS + ">" + "<g>" * 300 + "</g>" * 300 + "</svg>", "deeply"),
        pytest.param(f"<svg {NS}><openbadges:credential>{{</svg>", "well-formed", id="truncated"),
        pytest.param('<?xml version="1.0" encoding="x-nonsense"?><svg/>', "SVG", id="encoding"),
    ],
)
def test_malformed_svgs_are_refused(svg: str, words: str) -> None:
    refused(svg.encode(), words)


@pytest.mark.parametrize(
    ("text", "words"),
    [("[1, 2]", "not a JSON object"), ("{nope", "not JSON"), ("[" * 100_000, "not JSON")],
)
def test_what_is_not_a_json_credential_is_refused(text: str, words: str) -> None:
    with pytest.raises(BakingError, match=words):
        baking.credential_from_image(bake_png(png(), text))


# ----------------------------------------------------------------------------- robustness


def _unbakes_or_refuses(data: bytes) -> None:
    with contextlib.suppress(BakingError):
        assert isinstance(unbake(data), str)


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    _unbakes_or_refuses(data)
    _unbakes_or_refuses(baking.PNG_SIGNATURE + data)
    _unbakes_or_refuses(b"<svg " + data)


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_corrupted_baked_images_never_raise_anything_else(data: st.DataObject) -> None:
    original = data.draw(st.sampled_from([GOOD, bake_svg(SVG, CREDENTIAL).encode()]))
    corrupted = bytearray(original)
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(0, len(corrupted) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            corrupted[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del corrupted[at : at + data.draw(st.integers(1, 64))]
        else:
            corrupted[at:at] = data.draw(st.binary(min_size=1, max_size=16))
        if not corrupted:
            break
    _unbakes_or_refuses(bytes(corrupted))
    with contextlib.suppress(BakingError):
        baking.credential_from_image(bytes(corrupted))
