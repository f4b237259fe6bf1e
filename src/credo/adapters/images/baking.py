"""Baking: a signed credential carried inside its badge image, as Open Badges 3.0 prescribes
(section 5.3, "Baking").

- PNG: one `iTXt` chunk with the keyword `openbadgecredential`, uncompressed, with empty
  language tag and translated keyword, placed before `IEND`; its text is the credential
  (JSON with an embedded proof, or a compact JWS for a VC-JWT).
- SVG: `xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"` on the root and an
  `<openbadges:credential>` element as its first child, holding the JSON in CDATA (or a
  compact JWS in its `verify` attribute).

Unbaking reads images from anyone, so it refuses whatever is not plainly one credential:
several credential chunks or elements, a bad CRC, a truncated stream, bytes after `IEND`,
oversized input, and any XML with a DOCTYPE (no DTD means no entity expansion and no
external entities: no billion laughs, no file disclosure). Every refusal is a
`BakingError`; no other exception escapes `unbake` or `credential_from_image`.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator
from typing import Any
from xml.parsers import expat

from credo.domain.errors import BakingError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
KEYWORD = b"openbadgecredential"
OB2_KEYWORD = b"openbadges"  # Open Badges 2.0 baked an assertion, not a credential
OB3_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
MAX_IMAGE_BYTES = 16 * 1024 * 1024
MAX_CREDENTIAL_BYTES = 4 * 1024 * 1024  # also caps what a compressed chunk may inflate to
MAX_XML_DEPTH = 256

# Characters XML 1.0 cannot carry, even in CDATA.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")


# ----------------------------------------------------------------------------------- PNG


def portable(credential: str) -> str:
    """The credential with what XML or UTF-8 cannot carry (control characters, U+FFFE,
    lone surrogates) written as JSON escapes: the same document to a JSON parser. Such
    characters can only sit inside JSON strings, where an escape means the character."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", credential)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _chunks(png: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, data) of each chunk up to and including IEND, every CRC checked."""
    if not png.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG image: the PNG signature is missing")
    at, end = len(PNG_SIGNATURE), len(png)
    while True:
        if at + 12 > end:
            raise BakingError("the PNG is truncated: it ends before its IEND chunk")
        length, kind = struct.unpack(">I4s", png[at : at + 8])
        if length > 0x7FFFFFFF or at + 12 + length > end:
            raise BakingError("the PNG is truncated or has a chunk longer than the file")
        if not kind.isalpha():
            raise BakingError("the PNG has a chunk whose type is not four letters")
        data = png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        if crc != zlib.crc32(kind + data):
            raise BakingError(f"the PNG's {kind.decode()} chunk fails its CRC check")
        at += 12 + length
        yield kind, data
        if kind == b"IEND":
            if at != end:
                raise BakingError("the PNG has data after its IEND chunk")
            return


def _keyword(kind: bytes, data: bytes) -> bytes | None:
    if kind not in (b"iTXt", b"tEXt", b"zTXt"):
        return None
    return data.split(b"\0", 1)[0]


def bake_png(png: bytes, credential: str) -> bytes:
    """The PNG with `credential` in its one `openbadgecredential` chunk (any earlier one is
    replaced)."""
    text = portable(credential).encode("utf-8")
    if len(text) > MAX_CREDENTIAL_BYTES:
        raise BakingError(f"a credential to bake must be at most {MAX_CREDENTIAL_BYTES} bytes")
    # keyword, NUL, compression flag 0, compression method 0, empty language tag (NUL),
    # empty translated keyword (NUL), then the text.
    itxt = _chunk(b"iTXt", KEYWORD + b"\0\0\0\0\0" + text)
    out = [PNG_SIGNATURE]
    for kind, data in _chunks(png):
        if _keyword(kind, data) == KEYWORD:
            continue
        if kind == b"IEND":
            out.append(itxt)
        out.append(_chunk(kind, data))
    return b"".join(out)


def _itxt_text(data: bytes) -> str:
    try:
        _, rest = data.split(b"\0", 1)
        flag, method, rest = rest[0], rest[1], rest[2:]
        _language, _translated, text = rest.split(b"\0", 2)
    except (ValueError, IndexError):
        raise BakingError("the PNG's openbadgecredential chunk is malformed") from None
    if flag == 1:
        # OB 3.0 says not to compress; inflate all the same, never beyond the cap.
        if method != 0:
            raise BakingError("the PNG's openbadgecredential chunk uses an unknown compression")
        inflater = zlib.decompressobj()
        try:
            text = inflater.decompress(text, MAX_CREDENTIAL_BYTES + 1)
        except zlib.error:
            raise BakingError("the PNG's openbadgecredential chunk does not inflate") from None
        if len(text) > MAX_CREDENTIAL_BYTES or inflater.unconsumed_tail:
            raise BakingError("the PNG's credential is too large")
        if not inflater.eof:
            raise BakingError("the PNG's openbadgecredential chunk is truncated")
    elif flag != 0:
        raise BakingError("the PNG's openbadgecredential chunk has an invalid compression flag")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise BakingError("the PNG's credential is not UTF-8 text") from None


def unbake_png(png: bytes) -> str:
    found: list[bytes] = []
    ob2 = False
    for kind, data in _chunks(png):
        keyword = _keyword(kind, data)
        if keyword == KEYWORD:
            if kind != b"iTXt":
                raise BakingError(f"the PNG carries its credential in a {kind.decode()} chunk")
            found.append(data)
        ob2 = ob2 or keyword == OB2_KEYWORD
    if len(found) > 1:
        raise BakingError("the PNG carries several openbadgecredential chunks")
    if not found:
        if ob2:
            raise BakingError("an Open Badges 2.0 image: it carries an assertion, not a credential")
        raise BakingError("the PNG carries no credential (no openbadgecredential iTXt chunk)")
    return _itxt_text(found[0])


# ----------------------------------------------------------------------------------- SVG


def _cdata(text: str) -> str:
    # "]]>" would end the section early: split it across two sections.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def credential_element(credential: str) -> str:
    return f"<openbadges:credential>{_cdata(portable(credential))}</openbadges:credential>"


class _Reader:
    """Walks an SVG once with expat: where its root's start tag is, and what the
    `openbadges:credential` element(s) hold."""

    def __init__(self) -> None:
        p = expat.ParserCreate(namespace_separator=" ")
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartDoctypeDeclHandler = self._refuse_dtd
        p.EntityDeclHandler = self._refuse_dtd
        p.ExternalEntityRefHandler = self._refuse_dtd
        p.StartElementHandler = self._start
        p.EndElementHandler = self._end
        p.CharacterDataHandler = self._text
        p.StartNamespaceDeclHandler = self._namespace
        self.parser = p
        self.depth = 0
        self.root: str | None = None
        self.root_at = -1
        self.inside = 0  # the depth of the credential element while in it
        self.count = 0
        self.verify: str | None = None
        self.parts: list[str] = []
        self.size = 0
        self.prefixes: dict[str, str] = {}

    def read(self, svg: bytes) -> None:
        try:
            self.parser.Parse(svg, True)
        except expat.ExpatError as exc:
            raise BakingError(f"the SVG is not well-formed XML: {exc}") from None
        except (ValueError, LookupError) as exc:  # an encoding Python cannot decode
            raise BakingError(f"the SVG cannot be read: {str(exc)[:100]}") from None

    def _refuse_dtd(self, *_: Any) -> Any:
        raise BakingError("the SVG has a DOCTYPE; badge images may not declare entities")

    def _namespace(self, prefix: str | None, uri: str) -> None:
        self.prefixes.setdefault(prefix or "", uri)

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if self.depth > MAX_XML_DEPTH:
            raise BakingError("the SVG is nested too deeply")
        if self.depth == 1:
            self.root, self.root_at = name, self.parser.CurrentByteIndex
        if self.inside:
            raise BakingError("the SVG's credential element holds other elements")
        if name == f"{OB3_NAMESPACE} credential":
            self.count += 1
            if self.count > 1:
                raise BakingError("the SVG carries several openbadges:credential elements")
            self.inside = self.depth
            self.verify = attrs.get("verify")

    def _end(self, _: str) -> None:
        if self.depth == self.inside:
            self.inside = 0
        self.depth -= 1

    def _text(self, data: str) -> None:
        if self.inside:
            self.size += len(data)
            if self.size > MAX_CREDENTIAL_BYTES:
                raise BakingError("the SVG's credential is too large")
            self.parts.append(data)


def _root_tag_end(svg: bytes, start: int) -> int:
    """The index of the `>` closing the start tag at `start` (quotes may hold `>`)."""
    quote = 0
    for i in range(start, len(svg)):
        c = svg[i]
        if quote:
            quote = 0 if c == quote else quote
        elif c in b"\"'":
            quote = c
        elif c == ord(">"):
            return i
    raise BakingError("the SVG's root start tag does not end")  # expat would have said so


def bake_svg(svg: str, credential: str) -> str:
    """The SVG with `credential` as the first child of its root."""
    element = credential_element(credential)
    raw = svg.encode("utf-8")
    reader = _Reader()
    reader.read(raw)
    if reader.root != f"{SVG_NAMESPACE} svg":
        raise BakingError("not an SVG image: its root is not an svg element")
    if reader.count:
        raise BakingError("the SVG already carries a credential")
    declared = reader.prefixes.get("openbadges")
    if declared not in (None, OB3_NAMESPACE):
        raise BakingError("the SVG uses the openbadges prefix for another namespace")
    end = _root_tag_end(raw, reader.root_at)
    if raw[end - 1 : end] == b"/":
        raise BakingError("the SVG is empty")
    attribute = b"" if declared else f' xmlns:openbadges="{OB3_NAMESPACE}"'.encode()
    return (raw[:end] + attribute + b">" + element.encode() + raw[end + 1 :]).decode("utf-8")


def unbake_svg(svg: bytes) -> str:
    reader = _Reader()
    reader.read(svg)
    if reader.root is None or reader.root.rsplit(" ", 1)[-1] != "svg":
        raise BakingError("not an SVG image: its root is not an svg element")
    if not reader.count:
        raise BakingError("the SVG carries no credential (no openbadges:credential element)")
    text = "".join(reader.parts).strip()
    if reader.verify is not None and text:
        raise BakingError("the SVG's credential element has both a verify attribute and text")
    text = reader.verify.strip() if reader.verify is not None else text
    if not text:
        raise BakingError("the SVG's credential element is empty")
    return text


# ------------------------------------------------------------------------------ any image


def is_image(data: bytes) -> bool:
    """Whether `data` looks like a PNG or an XML document: JSON never starts with `<`."""
    return data.startswith(PNG_SIGNATURE) or data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def unbake(image: bytes) -> str:
    """The credential text baked into a PNG or SVG badge image."""
    if len(image) > MAX_IMAGE_BYTES:
        raise BakingError(f"badge images are limited to {MAX_IMAGE_BYTES} bytes")
    if image.startswith(PNG_SIGNATURE):
        return unbake_png(image)
    if is_image(image):
        return unbake_svg(image)
    raise BakingError("not a PNG or SVG image")


def credential_from_image(image: bytes) -> dict[str, Any]:
    """The credential (JSON with an embedded proof) baked into a badge image."""
    text = unbake(image)
    if _JWS.fullmatch(text):
        raise BakingError(
            "the image carries a VC-JWT (compact JWS); only credentials with an embedded "
            "proof are verified here"
        )
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise BakingError("the image's credential is not JSON") from None
    if not isinstance(document, dict):
        raise BakingError("the image's credential is not a JSON object")
    return document
