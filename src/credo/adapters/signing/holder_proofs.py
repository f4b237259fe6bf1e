"""A wallet's proof of possession (OID4VCI JWT proofs): its key from a `did:key` or
`did:jwk` DID URL in `kid`, or from a `jwk` header (then named as its did:jwk), and the
JWS signature checked with that key: EdDSA (Ed25519) or ES256 (P-256)."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from credo.adapters.signing.multibase import decode
from credo.domain.errors import InvalidKey, InvalidProof
from credo.domain.oid4vci import ProofJwt

PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey

_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, as a varint
_P256_PUB = b"\x80\x24"  # multicodec p256-pub (0x1200), as a varint
MAX_DID = 2000


class JwtHolderProofs:
    """The `HolderProofs` port: the holder's DID, once the proof's signature verifies."""

    def holder(self, jwt: ProofJwt) -> str:
        header = jwt.header
        if "jwk" in header:
            did = did_jwk(_jwk(header["jwk"]))
            key = _from_jwk(_jwk(header["jwk"]))
        else:
            kid = header.get("kid")
            if not isinstance(kid, str) or len(kid) > MAX_DID:
                raise InvalidProof("the proof's kid must be a did:key or did:jwk DID URL")
            did, _, fragment = kid.partition("#")
            key = resolve(did, fragment)
        _verify(str(header.get("alg")), key, jwt.signing_input, jwt.signature)
        return did


def resolve(did: str, fragment: str = "") -> PublicKey:
    """The public key a did:key or did:jwk names. InvalidProof for any other DID."""
    if did.startswith("did:key:"):
        ident = did.removeprefix("did:key:")
        if fragment and fragment != ident:
            raise InvalidProof("a did:key DID URL's fragment is its own key")
        return _from_multikey(ident)
    if did.startswith("did:jwk:"):
        if fragment not in ("", "0"):
            raise InvalidProof("a did:jwk DID URL's fragment is #0")
        try:
            jwk = json.loads(_b64(did.removeprefix("did:jwk:")))
        except (ValueError, UnicodeDecodeError):
            raise InvalidProof("the did:jwk does not hold base64url JSON") from None
        return _from_jwk(_jwk(jwk))
    raise InvalidProof("the holder's key must be named by a did:key or did:jwk")


def did_jwk(jwk: dict[str, Any]) -> str:
    public = {k: jwk[k] for k in ("crv", "kty", "x", "y") if k in jwk}
    text = json.dumps(public, separators=(",", ":"), sort_keys=True)
    return "did:jwk:" + base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _jwk(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidProof("the proof's jwk must be a JSON Web Key object")
    if "d" in value:
        raise InvalidProof("the proof's jwk holds a private key: never send it")
    return value


def _from_multikey(ident: str) -> PublicKey:
    try:
        raw = decode(ident)
    except InvalidKey:
        raise InvalidProof("a did:key is a short base58btc multibase value (z...)") from None
    try:
        if raw.startswith(_ED25519_PUB) and len(raw) == 34:
            return Ed25519PublicKey.from_public_bytes(raw[2:])
        if raw.startswith(_P256_PUB) and len(raw) == 35:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:])
    except ValueError:
        raise InvalidProof("the did:key's public key is not a point of its curve") from None
    raise InvalidProof("the did:key must be an Ed25519 or P-256 key")


def _from_jwk(jwk: dict[str, Any]) -> PublicKey:
    try:
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519":
            return Ed25519PublicKey.from_public_bytes(_b64(jwk.get("x")))
        if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
            x, y = _b64(jwk.get("x")), _b64(jwk.get("y"))
            if len(x) != 32 or len(y) != 32:
                raise ValueError("coordinates are 32 bytes")
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except ValueError:
        raise InvalidProof("the JWK's public key is not a point of its curve") from None
    raise InvalidProof("the holder's key must be Ed25519 (OKP) or P-256 (EC)")


def _b64(value: object) -> bytes:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def _verify(alg: str, key: PublicKey, signing_input: bytes, signature: bytes) -> None:
    try:
        if alg in ("EdDSA", "Ed25519") and isinstance(key, Ed25519PublicKey):
            key.verify(signature, signing_input)
            return
        if alg == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
            if len(signature) != 64:
                raise InvalidSignature
            r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
            key.verify(encode_dss_signature(r, s), signing_input, ec.ECDSA(hashes.SHA256()))
            return
    except InvalidSignature:
        raise InvalidProof("the proof's signature does not verify with the holder's key") from None
    raise InvalidProof(f"the proof's alg {alg} does not fit the holder's key")
