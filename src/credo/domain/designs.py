"""A group's certificate and badge design: a built-in look, branded with colours, a logo,
a signature image and the signatory's name. Pure: parsing and validation, no rendering."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import asdict, dataclass, fields
from typing import Any

from credo.domain.errors import InvalidInput

CERTIFICATE_LOOKS = ("classic", "modern", "minimal")
BADGE_LOOKS = ("medal", "shield", "ribbon")
PAPER_SIZES = ("a4", "letter")
ORIENTATIONS = ("landscape", "portrait")

_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
# Images are embedded as data URIs: rendering never fetches anything from the network.
_DATA_URI = re.compile(r"data:(image/(?:png|jpeg|svg\+xml));base64,([A-Za-z0-9+/=\s]+)")
MAX_IMAGE_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class Design:
    certificate: str = "classic"
    badge: str = "medal"
    primary_color: str = "#1f3a5f"
    accent_color: str = "#c9a227"
    logo: str | None = None  # data:image/...;base64,...
    signature_image: str | None = None
    signatory_name: str | None = None
    signatory_title: str | None = None
    paper: str = "a4"
    orientation: str = "landscape"

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT = Design()


def _image(value: object, field: str, errors: list[dict[str, str]]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or (m := _DATA_URI.fullmatch(value)) is None:
        errors.append({"field": field, "message": "must be a data URI of a PNG, JPEG or SVG image"})
        return None
    try:
        raw = base64.b64decode(m.group(2), validate=False)
    except (binascii.Error, ValueError):
        errors.append({"field": field, "message": "is not valid base64"})
        return None
    if len(raw) > MAX_IMAGE_BYTES:
        errors.append({"field": field, "message": f"must be at most {MAX_IMAGE_BYTES} bytes"})
        return None
    return value


def _choice(
    value: object, allowed: tuple[str, ...], field: str, errors: list[dict[str, str]]
) -> None:
    if value not in allowed:
        errors.append({"field": field, "message": f"must be one of {', '.join(allowed)}"})


def parse(raw: object, base: Design = DEFAULT, prefix: str = "design.") -> Design:
    """A design from API input: given fields replace those of `base`."""
    if not isinstance(raw, dict):
        raise InvalidInput(
            "design must be an object", [{"field": prefix[:-1], "message": "must be an object"}]
        )
    known = {f.name for f in fields(Design)}
    errors: list[dict[str, str]] = []
    for name in raw:
        if name not in known:
            errors.append({"field": prefix + str(name)[:100], "message": "is not a design field"})
    values = base.as_dict()
    values.update({k: v for k, v in raw.items() if k in known})
    _choice(values["certificate"], CERTIFICATE_LOOKS, prefix + "certificate", errors)
    _choice(values["badge"], BADGE_LOOKS, prefix + "badge", errors)
    _choice(values["paper"], PAPER_SIZES, prefix + "paper", errors)
    _choice(values["orientation"], ORIENTATIONS, prefix + "orientation", errors)
    for name in ("primary_color", "accent_color"):
        v = values[name]
        if not (isinstance(v, str) and _COLOUR.fullmatch(v)):
            errors.append({"field": prefix + name, "message": "must be a colour like #1f3a5f"})
    for name in ("logo", "signature_image"):
        values[name] = _image(values[name], prefix + name, errors)
    for name in ("signatory_name", "signatory_title"):
        v = values[name]
        if v is not None and not (isinstance(v, str) and 0 < len(v.strip()) <= 200):
            errors.append({"field": prefix + name, "message": "must be 1 to 200 characters"})
    if errors:
        raise InvalidInput(f"{len(errors)} design field(s) are invalid", errors)
    return Design(**values)


def load(stored: str | None) -> Design:
    """The design kept with a group (validated when it was stored)."""
    if not stored:
        return DEFAULT
    return Design(**json.loads(stored))
