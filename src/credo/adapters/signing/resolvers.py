"""From a proof's `verificationMethod` to the public key it may use, offline.

A resolver is any `Callable[[str], Ed25519PublicKey]` raising `KeyResolutionError` (or
`InvalidKey`) when the method cannot be used. `Resolver` resolves did:key locally and any
other method from controller documents handed to it (a did:web document, an issuer profile
with keys, the 1EdTech example's key document), following the "Retrieve Verification Method"
algorithm of W3C Controlled Identifiers: the method must be in its controller document, be
controlled by it, and be listed under the proof's relationship (`assertionMethod` for
credentials).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from credo.adapters.signing import multibase
from credo.adapters.signing.keys import DID_KEY_PREFIX, decode_public_key, parse_did_key
from credo.domain.errors import InvalidKey, KeyResolutionError

PublicKeyResolver = Callable[[str], Ed25519PublicKey]

# Every relationship of a did:key's one method, as the did:key method defines them.
_DID_KEY_RELATIONSHIPS = {
    "assertionMethod",
    "authentication",
    "capabilityInvocation",
    "capabilityDelegation",
}


def resolve_did_key(verification_method: str) -> Ed25519PublicKey:
    """The key of a `did:key:z6Mk...#z6Mk...` method, with no network."""
    try:
        return parse_did_key(verification_method)
    except InvalidKey as error:
        raise KeyResolutionError(error.detail, verification_method=verification_method) from None


def public_key_of(method: Mapping[str, Any]) -> Ed25519PublicKey:
    """The Ed25519 key in a verification method object: Multikey or
    Ed25519VerificationKey2020 (`publicKeyMultibase`), Ed25519VerificationKey2018
    (`publicKeyBase58`), or a JSON Web Key with `crv` Ed25519."""
    if isinstance(method.get("publicKeyMultibase"), str):
        return decode_public_key(method["publicKeyMultibase"])
    if isinstance(method.get("publicKeyBase58"), str):
        raw = multibase.b58decode(method["publicKeyBase58"][:60])
        if len(raw) != 32:
            raise InvalidKey("publicKeyBase58 is not a 32-byte Ed25519 key")
        return Ed25519PublicKey.from_public_bytes(raw)
    jwk = method.get("publicKeyJwk")
    if isinstance(jwk, Mapping) and jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
        x = jwk.get("x")
        if isinstance(x, str) and len(x) <= 60:
            try:
                raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            except ValueError:
                raise InvalidKey("publicKeyJwk has an invalid 'x'") from None
            if len(raw) == 32:
                return Ed25519PublicKey.from_public_bytes(raw)
    raise InvalidKey("the verification method holds no Ed25519 public key")


class Resolver:
    """Resolves did:key methods locally and others from `documents` (controller document id
    -> document), then from `lookup` (controller id -> document or None: our own did:web
    DIDs, read from the database). `relationship` is the verification relationship the
    method must be listed under."""

    def __init__(
        self,
        documents: Mapping[str, Any] | None = None,
        *,
        relationship: str = "assertionMethod",
        lookup: Callable[[str], Mapping[str, Any] | None] | None = None,
    ) -> None:
        self.documents = dict(documents or {})
        self.relationship = relationship
        self.lookup = lookup

    def __call__(self, verification_method: str) -> Ed25519PublicKey:
        if not isinstance(verification_method, str):
            raise KeyResolutionError("the verification method is not a URL")
        if verification_method.startswith(DID_KEY_PREFIX):
            if self.relationship not in _DID_KEY_RELATIONSHIPS:
                raise KeyResolutionError(
                    f"a did:key method cannot be used for {self.relationship}",
                    verification_method=verification_method,
                )
            return resolve_did_key(verification_method)
        return self._from_documents(verification_method)

    def _from_documents(self, method_id: str) -> Ed25519PublicKey:
        controller_id = method_id.partition("#")[0]
        document = self.documents.get(controller_id)
        if document is None and self.lookup is not None:
            document = self.lookup(controller_id)
        if not isinstance(document, Mapping):
            raise KeyResolutionError(
                f"no controller document for {method_id!r} (nothing is fetched)",
                verification_method=method_id,
            )
        doc_id = document.get("id", controller_id)
        methods = _methods(document, doc_id)
        method = methods.get(method_id)
        if method is None:
            raise KeyResolutionError(
                f"{method_id!r} is not in its controller document",
                verification_method=method_id,
            )
        if method.get("controller") != doc_id:
            raise KeyResolutionError(
                f"{method_id!r} is not controlled by {doc_id!r}", verification_method=method_id
            )
        listed = document.get(self.relationship, [])
        listed = listed if isinstance(listed, list) else [listed]
        if method_id not in {_ref_id(ref, doc_id) for ref in listed}:
            raise KeyResolutionError(
                f"{method_id!r} is not listed under {self.relationship}",
                verification_method=method_id,
            )
        try:
            return public_key_of(method)
        except InvalidKey as error:
            raise KeyResolutionError(error.detail, verification_method=method_id) from None


def _ref_id(ref: Any, base: str) -> str | None:
    value = ref.get("id") if isinstance(ref, Mapping) else ref
    return urljoin(base, value) if isinstance(value, str) else None


def _methods(document: Mapping[str, Any], base: str) -> dict[str, Mapping[str, Any]]:
    """Every verification method object in a controller document, by absolute id: those in
    `verificationMethod` and those embedded under a relationship."""
    found: dict[str, Mapping[str, Any]] = {}
    for key, value in document.items():
        if key in ("@context", "id", "controller", "service", "alsoKnownAs"):
            continue
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                method_id = _ref_id(item, base)
                if method_id is not None:
                    found.setdefault(method_id, item)
    return found
