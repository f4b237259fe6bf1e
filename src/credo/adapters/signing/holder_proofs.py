"""A wallet's proof of possession (OID4VCI JWT proofs): its key from a `did:key` or
`did:jwk` DID URL in `kid`, or from a `jwk` header (then named as its did:jwk), and the
JWS signature checked with that key: EdDSA (Ed25519) or ES256 (P-256)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from credo.adapters.signing.multibase import decode
from credo.domain.errors import InvalidKey, InvalidProof
from credo.domain.oid4vci import ProofJwt, b64url, strict_json, unb64url

PublicKey = Ed25519PublicKey | ec.EllipticCurvePublicKey

_ED25519_PUB = b"\xed\x01"  # multicodec ed25519-pub, as a varint
_P256_PUB = b"\x80\x24"  # multicodec p256-pub (0x1200), as a varint
MAX_DID = 2000


class JwtHolderProofs:
    """The `HolderProofs` port: the holder's DID, once the proof's signature verifies."""

    def holder(self, jwt: ProofJwt) -> str:
        header = jwt.header
        if "jwk" in header:
            key = _from_jwk(_jwk(header["jwk"]))
            did = did_jwk(key)  # the key's one did:jwk, however its JWK was spelled
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
            jwk = strict_json(unb64url(did.removeprefix("did:jwk:")))
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InvalidProof("the did:jwk does not hold base64url JSON") from None
        # The DID stays as the wallet spelled it (did:jwk fixes no member order): it is the
        # name the wallet presents the credential under.
        return _from_jwk(_jwk(jwk))
    raise InvalidProof("the holder's key must be named by a did:key or did:jwk")


def did_jwk(key: PublicKey) -> str:
    """The key's did:jwk: its public JWK, members sorted, in base64url."""
    if isinstance(key, Ed25519PublicKey):
        jwk = {"crv": "Ed25519", "kty": "OKP", "x": b64url(key.public_bytes_raw())}
    else:
        numbers = key.public_numbers()
        jwk = {
            "crv": "P-256",
            "kty": "EC",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }
    text = json.dumps(jwk, separators=(",", ":"), sort_keys=True)
    return "did:jwk:" + b64url(text.encode())


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
            return _ed25519(raw[2:])
        if raw.startswith(_P256_PUB) and len(raw) == 35:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:])
    except ValueError:
        raise InvalidProof("the did:key's public key is not a point of its curve") from None
    raise InvalidProof("the did:key must be an Ed25519 or P-256 key")


def _from_jwk(jwk: dict[str, Any]) -> PublicKey:
    try:
        if jwk.get("kty") == "OKP" and jwk.get("crv") == "Ed25519" and "y" not in jwk:
            return _ed25519(_b64(jwk.get("x")))
        if jwk.get("kty") == "EC" and jwk.get("crv") == "P-256":
            x, y = _b64(jwk.get("x")), _b64(jwk.get("y"))
            if len(x) != 32 or len(y) != 32:
                raise ValueError("coordinates are 32 bytes")
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b"\x04" + x + y)
    except ValueError:
        raise InvalidProof("the JWK's public key is not a point of its curve") from None
    raise InvalidProof("the holder's key must be Ed25519 (OKP) or P-256 (EC)")


def _b64(value: object) -> bytes:
    if not isinstance(value, str) or len(value) > 100:
        raise ValueError("not a key's base64url")
    return unb64url(value)


# Edwards25519 (RFC 8032, section 5.1): only to refuse the keys no one holds a secret of.
_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)


def _ed25519(raw: bytes) -> Ed25519PublicKey:
    """An Ed25519 public key of full order. A small-order point (the identity, say) is a
    key whose every "signature" of a fitting form verifies: with it, anyone could prove
    possession of a DID nobody holds (RFC 8032 verifiers need not refuse them)."""
    point = _decode_point(raw)
    for _ in range(3):  # [8]P
        point = _add(point, point)
    if point == (0, 1):
        raise InvalidProof("the holder's Ed25519 key is a small-order point: no one holds it")
    return Ed25519PublicKey.from_public_bytes(raw)


def _decode_point(raw: bytes) -> tuple[int, int]:
    if len(raw) != 32:
        raise ValueError("an Ed25519 key has 32 bytes")
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= _P:
        raise ValueError("not a canonical encoding")
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * _SQRT_M1 % _P
    if (x * x - x2) % _P:
        raise ValueError("not a point of the curve")
    if x == 0 and sign:
        raise ValueError("not a canonical encoding")
    if x & 1 != sign:
        x = _P - x
    return x, y


def _add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2 % _P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, _P - 2, _P) % _P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P
    return x3, y3


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
