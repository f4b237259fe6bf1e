"""A credential someone uploads to verify: its signed JSON, or a badge image with it baked
in. Read in memory only; a URL inside it stays a string, never fetched."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from credo.adapters.images import baking
from credo.domain import vcdm
from credo.domain.errors import BakingError, InvalidInput

_KINDS = {"VerifiableCredential", "VerifiablePresentation"}


class NotACredential(InvalidInput):
    title = "Not a credential"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, [{"field": "file", "message": detail}])


def document_from_bytes(raw: bytes) -> dict[str, Any]:
    """The credential or presentation in `raw`; NotACredential, said in words, when there
    is none."""
    if not raw.strip():
        raise NotACredential("The file is empty.")
    if baking.is_image(raw):
        try:
            document: Any = baking.credential_from_image(raw)
        except BakingError as exc:
            raise NotACredential(f"This image carries no credential: {exc.detail}.") from None
    else:
        try:
            document = json.loads(raw.removeprefix(b"\xef\xbb\xbf"))
        except (ValueError, RecursionError):
            raise NotACredential(
                "This file is neither a JSON document nor a badge image (PNG or SVG)."
            ) from None
    # A VC API answer ({"verifiableCredential": ...}) holds the credential.
    if isinstance(document, dict) and "@context" not in document:
        for name in ("verifiableCredential", "verifiablePresentation"):
            if isinstance(document.get(name), dict):
                document = document[name]
                break
    if not isinstance(document, dict) or not _KINDS & set(vcdm.types_of(document)):
        raise NotACredential(
            "This JSON document is not a verifiable credential: "
            "its type names neither VerifiableCredential nor VerifiablePresentation."
        )
    return document


def _name(node: object) -> str | None:
    if isinstance(node, Mapping):
        value = node.get("name")
        if isinstance(value, str) and value.strip():
            return value.strip()[:200]
    return None


def claims(document: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the file says of itself, as (label, value): who earned what, from whom. Shown
    beside the verdict, which says whether to believe it."""
    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    lines = []
    if recipient := _name(subject):
        lines.append(("Recipient", recipient))
    if achievement := _name(subject.get("achievement") if isinstance(subject, Mapping) else None):
        lines.append(("Achievement", achievement))
    issuer = document.get("issuer")
    if name := _name(issuer) or (issuer if isinstance(issuer, str) else None):
        lines.append(("Issuer", name[:200]))
    return lines


def issuer_name(document: Mapping[str, Any]) -> str:
    issuer = document.get("issuer")
    return _name(issuer) or "the issuer"


def expires_on(document: Mapping[str, Any]) -> date | None:
    for name in ("validUntil", "expirationDate"):
        value = document.get(name)
        if isinstance(value, str):
            try:
                return date.fromisoformat(value[:10])
            except ValueError:
                return None
    return None
