"""A wallet's holder key, from each way a proof may name it, and the nonces proofs carry."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credo.adapters.signing.holder_proofs import JwtHolderProofs, did_jwk, resolve
from credo.adapters.signing.multibase import encode
from credo.domain import oid4vci
from credo.domain.errors import InvalidProof

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SECRET = b"k" * 32


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(header: dict[str, object], sign: object) -> oid4vci.ProofJwt:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(b'{}')}"
    signature = sign(signing_input.encode())  # type: ignore[operator]
    return oid4vci.parse_jwt(f"{signing_input}.{b64(signature)}")


def p256_signer(key: ec.EllipticCurvePrivateKey) -> object:
    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def test_a_p256_did_key_names_its_compressed_point() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    point = key.public_key().public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    ident = encode(b"\x80\x24" + point)
    did = f"did:key:{ident}"
    proof = jwt({"alg": "ES256", "kid": f"{did}#{ident}"}, p256_signer(key))
    assert JwtHolderProofs().holder(proof) == did
    with pytest.raises(InvalidProof, match="fragment"):
        resolve(did, "other")
    with pytest.raises(InvalidProof, match="point"):
        resolve("did:key:" + encode(bytes([0x80, 0x24, 0x02]) + bytes([0xFF]) * 32))


def test_an_ed25519_did_jwk_and_what_is_not_a_holder_key() -> None:
    key = Ed25519PrivateKey.generate()
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    did = did_jwk(key.public_key())
    jwk = {"crv": "Ed25519", "kty": "OKP", "x": b64(raw)}
    assert did == "did:jwk:" + b64(json.dumps(jwk, separators=(",", ":")).encode())
    assert JwtHolderProofs().holder(jwt({"alg": "EdDSA", "kid": f"{did}#0"}, key.sign)) == did
    # Signed by another key: refused.
    other = Ed25519PrivateKey.generate()
    with pytest.raises(InvalidProof, match="signature"):
        JwtHolderProofs().holder(jwt({"alg": "EdDSA", "kid": f"{did}#0"}, other.sign))
    for bad in ("did:web:example.com", "did:key:nope", "did:jwk:!!!", "did:key:z6Mk"):
        with pytest.raises(InvalidProof):
            resolve(bad)
    rsa = {"kty": "RSA", "n": "AQAB", "e": "AQAB"}
    with pytest.raises(InvalidProof, match="Ed25519"):
        resolve("did:jwk:" + b64(json.dumps(rsa).encode()))
    # did:jwk fixes no member order: the wallet's own spelling names its key ...
    reordered = json.dumps({"x": b64(raw), "kty": "OKP", "crv": "Ed25519"})
    assert isinstance(resolve("did:jwk:" + b64(reordered.encode())), Ed25519PublicKey)
    # ... but base64url is strict (no padding, no +/), and an OKP key has no y.
    for spelling in (json.dumps(jwk | {"x": b64(raw) + "="}), json.dumps(jwk | {"y": "AAAA"})):
        with pytest.raises(InvalidProof):
            resolve("did:jwk:" + b64(spelling.encode()))
    with pytest.raises(InvalidProof):
        resolve("did:jwk:" + b64(json.dumps(jwk).encode()) + "=")


# The Ed25519 points of order 1, 2, 4 and 8 (their canonical encodings): keys whose every
# signature of a fitting form verifies, so nobody can be said to hold them.
SMALL_ORDER = [
    bytes(32),
    (1).to_bytes(32, "little"),
    (2**255 - 20).to_bytes(32, "little"),
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85"),
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa"),
]


@pytest.mark.parametrize("point", SMALL_ORDER, ids=lambda p: p.hex()[:8])
def test_a_small_order_key_proves_nothing(point: bytes) -> None:
    ident = encode(b"\xed\x01" + point)
    # The identity's forged signature verifies with the library alone; Credo refuses the key.
    with pytest.raises(InvalidProof, match="small-order"):
        resolve(f"did:key:{ident}")
    with pytest.raises(InvalidProof, match="small-order"):
        JwtHolderProofs().holder(
            jwt(
                {"alg": "EdDSA", "jwk": {"kty": "OKP", "crv": "Ed25519", "x": b64(point)}},
                lambda _: bytes(64),
            )
        )


def test_a_full_order_key_passes_the_small_order_check() -> None:
    for _ in range(20):
        raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        key = resolve("did:key:" + encode(b"\xed\x01" + raw))
        assert isinstance(key, Ed25519PublicKey) and key.public_bytes_raw() == raw


def test_a_nonce_is_ours_and_fresh() -> None:
    made = oid4vci.mint_nonce(SECRET, NOW, b"r" * 16)
    assert oid4vci.nonce_ok(SECRET, made, NOW)
    assert oid4vci.nonce_ok(SECRET, made, NOW + oid4vci.NONCE_LIFETIME)
    assert not oid4vci.nonce_ok(SECRET, made, NOW + oid4vci.NONCE_LIFETIME + timedelta(seconds=1))
    assert not oid4vci.nonce_ok(SECRET, made, NOW - timedelta(minutes=2))  # made "later"
    assert not oid4vci.nonce_ok(b"other" * 7, made, NOW)
    raw = bytearray(oid4vci.unb64url(made))
    raw[10] ^= 1  # one bit of its random part
    tampered = oid4vci.b64url(bytes(raw))
    for bad in (tampered, "", None, 42, "not base64!", "x" * 500, oid4vci.b64url(b"short")):
        assert not oid4vci.nonce_ok(SECRET, bad, NOW), bad
