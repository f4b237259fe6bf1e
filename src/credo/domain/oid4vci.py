"""OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow, format `ldp_vc`.

The server is one credential issuer for every organization on it (its base URL), and its
own authorization server. A credential offer carries a pre-authorized code; the wallet
trades the code for an access token at the token endpoint, fetches a nonce, and proves with
a JWT signed by its holder key (`did:key` or `did:jwk`) that it holds the key the credential
is to be bound to. What it receives is the credential signed anew with
`credentialSubject.id` set to that DID. Everything here is pure: the caller brings the
clock, the randomness and the signature check.

Errors are problem JSON like every other refusal, with the members OAuth 2.0 and
OID4VCI clients read (`error`, `error_description`) beside them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from credo.domain.errors import (
    InvalidCredentialRequest,
    InvalidNonce,
    InvalidProof,
)
from credo.domain.openbadges import OB_V3, VC_V2

CONFIGURATION_ID = "OpenBadgeCredential_ldp_vc"
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYPE = "openid4vci-proof+jwt"
OFFER_SCHEME = "openid-credential-offer://"
CRYPTOSUITES = ("eddsa-rdfc-2022", "eddsa-jcs-2022")
PROOF_ALGS = ("EdDSA", "Ed25519", "ES256")
BINDING_METHODS = ("did:key", "did:jwk")

# An offer is shown on a screen or sent to the recipient, and scanned soon after.
OFFER_LIFETIME = timedelta(minutes=15)
TOKEN_LIFETIME = timedelta(minutes=5)
NONCE_LIFETIME = timedelta(minutes=5)
# A wallet's clock may run a little ahead of ours.
FUTURE_SKEW = timedelta(minutes=1)
MAX_JWT = 8192


def credential_configuration() -> dict[str, Any]:
    return {
        "format": "ldp_vc",
        "scope": "OpenBadgeCredential",
        "credential_definition": {
            "@context": [VC_V2, OB_V3],
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
        },
        "cryptographic_binding_methods_supported": list(BINDING_METHODS),
        "credential_signing_alg_values_supported": list(CRYPTOSUITES),
        "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": list(PROOF_ALGS)}},
        "credential_metadata": {
            "display": [
                {
                    "name": "Open Badge",
                    "locale": "en",
                    "description": "An Open Badges 3.0 credential",
                }
            ]
        },
    }


def endpoints(base_url: str) -> dict[str, str]:
    return {
        "token": f"{base_url}/oid4vci/token",
        "nonce": f"{base_url}/oid4vci/nonce",
        "credential": f"{base_url}/oid4vci/credential",
    }


def issuer_metadata(base_url: str) -> dict[str, Any]:
    """What `/.well-known/openid-credential-issuer` answers (OID4VCI 1.0, section 12.2)."""
    urls = endpoints(base_url)
    return {
        "credential_issuer": base_url,
        "authorization_servers": [base_url],
        "credential_endpoint": urls["credential"],
        "nonce_endpoint": urls["nonce"],
        "display": [{"name": "Credo", "locale": "en"}],
        "credential_configurations_supported": {CONFIGURATION_ID: credential_configuration()},
    }


def authorization_server_metadata(base_url: str) -> dict[str, Any]:
    """What `/.well-known/oauth-authorization-server` answers (RFC 8414): a token endpoint
    for pre-authorized codes, taken without client authentication."""
    return {
        "issuer": base_url,
        "token_endpoint": endpoints(base_url)["token"],
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
        "pre-authorized_grant_anonymous_access_supported": True,
    }


def offer(base_url: str, code: str) -> dict[str, Any]:
    """The credential offer object (section 4.1.1)."""
    return {
        "credential_issuer": base_url,
        "credential_configuration_ids": [CONFIGURATION_ID],
        "grants": {PRE_AUTHORIZED_GRANT: {"pre-authorized_code": code}},
    }


def offer_url(base_url: str, handle: str) -> str:
    return f"{base_url}/oid4vci/offers/{handle}"


def offer_uri(base_url: str, handle: str) -> str:
    """The link a wallet app opens (or scans as a QR code): the offer by reference."""
    return f"{OFFER_SCHEME}?credential_offer_uri={quote(offer_url(base_url, handle), safe='')}"


def digest(secret: str) -> str:
    """How codes, tokens and offer addresses are kept: their SHA-256, never themselves."""
    return hashlib.sha256(secret.encode()).hexdigest()


# Nonces need no table: each carries when it was made, under an HMAC every process of a
# deployment can check (the key derives from the master key). A wallet may use one for
# any proof inside its lifetime; the access token it goes with is spent once.
def mint_nonce(secret: bytes, now: datetime, random: bytes) -> str:
    body = int(now.timestamp()).to_bytes(8, "big") + random
    mac = hmac.new(secret, b"oid4vci nonce:" + body, hashlib.sha256).digest()[:16]
    return b64url(body + mac)


def nonce_ok(secret: bytes, nonce: object, now: datetime) -> bool:
    if not isinstance(nonce, str) or not secret or len(nonce) > 200:
        return False
    try:
        raw = unb64url(nonce)
    except ValueError:
        return False
    if len(raw) < 8 + 16 + 1:
        return False
    body, mac = raw[:-16], raw[-16:]
    good = hmac.new(secret, b"oid4vci nonce:" + body, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(mac, good):
        return False
    made = int.from_bytes(body[:8], "big")
    age = now.timestamp() - made
    return -FUTURE_SKEW.total_seconds() <= age <= NONCE_LIFETIME.total_seconds()


@dataclass(frozen=True, slots=True)
class ProofJwt:
    """A compact JWT, split and decoded; its signature is not checked yet."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes


def parse_jwt(text: object) -> ProofJwt:
    if not isinstance(text, str) or not text:
        raise InvalidProof("the proof's jwt is missing")
    if len(text) > MAX_JWT:
        raise InvalidProof(f"the proof's jwt is longer than {MAX_JWT} characters")
    parts = text.split(".")
    if len(parts) != 3:
        raise InvalidProof("the proof's jwt is not a compact JWS (three parts)")
    try:
        header = strict_json(unb64url(parts[0]))
        payload = strict_json(unb64url(parts[1]))
        signature = unb64url(parts[2])
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidProof("the proof's jwt is not base64url-encoded JSON") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise InvalidProof("the proof's jwt header and payload must be JSON objects")
    return ProofJwt(header, payload, f"{parts[0]}.{parts[1]}".encode(), signature)


def check_claims(jwt: ProofJwt, *, audience: str, now: datetime, nonce_secret: bytes) -> None:
    """Section 8.2.1.1 and appendix F.1: the type, the algorithm, the audience, when it
    was made, and a nonce of ours. InvalidProof or InvalidNonce otherwise."""
    h, p = jwt.header, jwt.payload
    if h.get("typ") != PROOF_TYPE:
        raise InvalidProof(f"the proof's typ must be {PROOF_TYPE!r}")
    if h.get("alg") not in PROOF_ALGS:
        raise InvalidProof(f"the proof's alg must be one of {', '.join(PROOF_ALGS)}")
    if ("kid" in h) == ("jwk" in h):
        raise InvalidProof("the proof names its key by exactly one of kid (a DID URL) or jwk")
    aud = p.get("aud")
    if aud != audience and not (isinstance(aud, list) and audience in aud):
        raise InvalidProof(f"the proof's aud must be this credential issuer, {audience}")
    iat = p.get("iat")
    if not isinstance(iat, int | float) or isinstance(iat, bool) or not math.isfinite(iat):
        raise InvalidProof("the proof needs iat, the time it was made (seconds since 1970)")
    if iat > now.timestamp() + FUTURE_SKEW.total_seconds():
        raise InvalidProof("the proof's iat is in the future")
    if iat < now.timestamp() - NONCE_LIFETIME.total_seconds():
        raise InvalidNonce("the proof is older than its nonce may be: ask for a new nonce")
    if not nonce_ok(nonce_secret, p.get("nonce"), now):
        raise InvalidNonce("the proof's nonce is missing, not ours, or expired")


def holder_id(binding: str) -> str:
    """The DID a credential is bound to, from the proof's kid (a DID URL): its DID part."""
    return binding.split("#", 1)[0]


def bound(document: dict[str, Any], holder: str) -> dict[str, Any]:
    """The unsigned credential bound to `holder`: the same credential (its id, status
    entries and dates), its subject named by the holder's DID, no proof."""
    doc = {k: v for k, v in document.items() if k != "proof"}
    subject = doc.get("credentialSubject")
    if not isinstance(subject, dict):
        raise InvalidCredentialRequest("the credential has no single subject to bind")
    doc["credentialSubject"] = {"id": holder, **{k: v for k, v in subject.items() if k != "id"}}
    return doc


def strict_json(raw: bytes) -> object:
    """JSON as RFC 8259 has it: no NaN or Infinity (Python's json takes them, and every
    comparison with NaN is false). ValueError or RecursionError otherwise."""

    def refuse(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    return json.loads(raw, parse_constant=refuse)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    if not text or any(c not in _B64_CHARS for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
