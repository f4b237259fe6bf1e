"""An organization's DID: `did:web:<domain>` when it has a domain, else the did:key of its
current key.

did:web (https://w3c-ccg.github.io/did-method-web/): `did:web:<domain>` resolves to
`https://<domain>/.well-known/did.json`. Credo serves that document at
`/.well-known/did.json` to requests whose Host is the organization's domain (and always at
`/orgs/{org_id}/did.json`), so an organization points its domain (or a reverse proxy for
`/.well-known/did.json`) at Credo. The document lists every key the organization ever had,
retired ones too, so that what an old key signed keeps verifying after a rotation. A key's
verification method is `did:web:<domain>#<publicKeyMultibase>`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from credo.domain.errors import InvalidInput

DID_WEB_PREFIX = "did:web:"
DID_V1_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1_CONTEXT = "https://w3id.org/security/multikey/v1"
MAX_DOMAIN = 253

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_TLD = re.compile(r"^(?=.*[a-z])[a-z0-9-]+$")  # a top-level label is never all digits


def normalize_domain(text: object, field: str = "domain") -> str:
    """A DNS host name, lower-case and in ASCII (IDNA): `Bücher.Example` ->
    `xn--bcher-kva.example`. No scheme, port, path, IP address or trailing dot; at least
    two labels. InvalidInput (422) otherwise."""

    def bad(why: str) -> InvalidInput:
        return InvalidInput(f"invalid domain: {why}", [{"field": field, "message": why}])

    if not isinstance(text, str) or not text:
        raise bad("a domain is a non-empty string")
    if len(text) > MAX_DOMAIN * 2:
        raise bad(f"a domain has at most {MAX_DOMAIN} characters")
    if any(c in text for c in "/:?#@[]\\ %") or any(ord(c) < 33 for c in text):
        raise bad("a bare host name, with no scheme, port, path or spaces")
    try:
        ascii_name = text.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise bad("not a valid internationalized domain name") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > MAX_DOMAIN or len(labels) < 2:
        raise bad("a fully qualified host name such as badges.example.org")
    if not all(_LABEL.match(label) for label in labels):
        raise bad("each label has 1 to 63 letters, digits or inner hyphens")
    if not _TLD.match(labels[-1]):
        raise bad("the last label is not a top-level domain (IP addresses are refused)")
    return ascii_name


def did_web(domain: str) -> str:
    return DID_WEB_PREFIX + domain


def did_web_domain(did: str) -> str | None:
    """The domain of a host-only `did:web:<domain>` (no path, no port), else None."""
    if not did.startswith(DID_WEB_PREFIX):
        return None
    rest = did[len(DID_WEB_PREFIX) :]
    if not rest or ":" in rest or "%" in rest or "#" in rest:
        return None
    return rest.lower()


def did_web_method(domain: str, public_key_multibase: str) -> str:
    return f"{did_web(domain)}#{public_key_multibase}"


def did_web_document(domain: str, public_keys: Sequence[str]) -> dict[str, Any]:
    """The DID document of `did:web:<domain>`: every key (publicKeyMultibase, oldest first)
    as a Multikey verification method usable for assertions."""
    did = did_web(domain)
    methods = [
        {
            "id": did_web_method(domain, key),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key,
        }
        for key in dict.fromkeys(public_keys)
    ]
    return {
        "@context": [DID_V1_CONTEXT, MULTIKEY_V1_CONTEXT],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": [m["id"] for m in methods],
    }
