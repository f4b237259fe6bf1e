"""Ed25519 key pairs and their Multikey and did:key forms.

- `publicKeyMultibase`: `z` + base58btc(0xed 0x01 + 32-byte public key), so `z6Mk...`.
- `secretKeyMultibase`: `z` + base58btc(0x80 0x26 + 32-byte seed), so `z3u2...`.
- `did:key:<publicKeyMultibase>` is the DID; its one verification method is
  `did:key:<publicKeyMultibase>#<publicKeyMultibase>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from credo.adapters.signing import multibase
from credo.domain.errors import InvalidKey

ED25519_PUB_HEADER = b"\xed\x01"  # multicodec ed25519-pub, as a varint
ED25519_PRIV_HEADER = b"\x80\x26"  # multicodec ed25519-priv, as a varint
DID_KEY_PREFIX = "did:key:"
DID_V1_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1_CONTEXT = "https://w3id.org/security/multikey/v1"


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def encode_public_key(key: Ed25519PublicKey) -> str:
    """The Multikey `publicKeyMultibase` of an Ed25519 public key (`z6Mk...`)."""
    return multibase.encode(ED25519_PUB_HEADER + public_key_bytes(key))


def decode_public_key(public_key_multibase: str) -> Ed25519PublicKey:
    """Parse a Multikey `publicKeyMultibase`; anything but a 32-byte Ed25519 key is refused."""
    raw = multibase.decode(public_key_multibase, max_chars=60)
    if len(raw) != 34 or not raw.startswith(ED25519_PUB_HEADER):
        raise InvalidKey(f"{public_key_multibase!r} is not an Ed25519 Multikey public key")
    return Ed25519PublicKey.from_public_bytes(raw[2:])


def encode_secret_key(seed: bytes) -> str:
    """The Multikey `secretKeyMultibase` of an Ed25519 seed (`z3u2...`)."""
    if len(seed) != 32:
        raise InvalidKey("an Ed25519 seed has 32 bytes")
    return multibase.encode(ED25519_PRIV_HEADER + seed)


def decode_secret_key(secret_key_multibase: str) -> bytes:
    """The 32-byte seed inside a Multikey `secretKeyMultibase`."""
    raw = multibase.decode(secret_key_multibase, max_chars=60)
    if len(raw) != 34 or not raw.startswith(ED25519_PRIV_HEADER):
        raise InvalidKey("not an Ed25519 Multikey secret key")
    return raw[2:]


def did_key(key: Ed25519PublicKey) -> str:
    return DID_KEY_PREFIX + encode_public_key(key)


def did_key_verification_method(key: Ed25519PublicKey) -> str:
    fingerprint = encode_public_key(key)
    return f"{DID_KEY_PREFIX}{fingerprint}#{fingerprint}"


def parse_did_key(did_or_method: str) -> Ed25519PublicKey:
    """The public key in `did:key:z6Mk...` or in its verification method id
    `did:key:z6Mk...#z6Mk...` (whose fragment must repeat the key)."""
    if not isinstance(did_or_method, str) or not did_or_method.startswith(DID_KEY_PREFIX):
        raise InvalidKey(f"{did_or_method!r} is not a did:key")
    did, hash_, fragment = did_or_method.partition("#")
    fingerprint = did[len(DID_KEY_PREFIX) :]
    if hash_ and fragment != fingerprint:
        raise InvalidKey(f"{did_or_method!r}: the fragment of a did:key method repeats the key")
    return decode_public_key(fingerprint)


def did_key_document(did_or_key: str | Ed25519PublicKey) -> dict[str, Any]:
    """The DID document of a did:key, resolved locally (did:key method, Multikey form). It has
    no `keyAgreement` (that would need an X25519 key derived from this one)."""
    key = parse_did_key(did_or_key) if isinstance(did_or_key, str) else did_or_key
    did = did_key(key)
    method_id = did_key_verification_method(key)
    return {
        "@context": [DID_V1_CONTEXT, MULTIKEY_V1_CONTEXT],
        "id": did,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": encode_public_key(key),
            }
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
        "capabilityInvocation": [method_id],
        "capabilityDelegation": [method_id],
    }


def verify_signature(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True, eq=False)
class KeyPair:
    """An Ed25519 key pair. `eq=False`: compare `public_key_multibase` instead. The public
    forms are derived once per pair (cached_property): every signature names the
    verification method, and its base58 was 2% of a publish's CPU."""

    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> KeyPair:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> KeyPair:
        if len(seed) != 32:
            raise InvalidKey("an Ed25519 seed has 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_multibase(
        cls, secret_key_multibase: str, public_key_multibase: str | None = None
    ) -> KeyPair:
        """From a Multikey secret key; if the public key is given too, it must match."""
        pair = cls.from_seed(decode_secret_key(secret_key_multibase))
        if public_key_multibase is not None and public_key_multibase != pair.public_key_multibase:
            raise InvalidKey("the public key does not belong to the secret key")
        return pair

    @cached_property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def seed(self) -> bytes:
        return self.private_key.private_bytes_raw()

    @cached_property
    def public_key_multibase(self) -> str:
        return encode_public_key(self.public_key)

    @property
    def secret_key_multibase(self) -> str:
        return encode_secret_key(self.seed)

    @cached_property
    def did(self) -> str:
        return did_key(self.public_key)

    @cached_property
    def verification_method(self) -> str:
        """The did:key verification method id, `did:key:z6Mk...#z6Mk...`."""
        return did_key_verification_method(self.public_key)

    def sign(self, data: bytes) -> bytes:
        """Pure Ed25519 (RFC 8032): deterministic, 64 bytes."""
        return self.private_key.sign(data)

    def __repr__(self) -> str:  # never print the secret
        return f"KeyPair({self.public_key_multibase})"
