"""Ed25519 keys, Multikey encodings, did:key identifiers and documents, and resolvers."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credo.adapters.signing import (
    InvalidKey,
    KeyPair,
    KeyResolutionError,
    Resolver,
    did_key_document,
    resolve_did_key,
)
from credo.adapters.signing.canonical import canonize
from credo.adapters.signing.keys import (
    decode_public_key,
    decode_secret_key,
    encode_public_key,
    parse_did_key,
    public_key_bytes,
)
from credo.adapters.signing.multibase import b58decode, b58encode
from credo.adapters.signing.resolvers import public_key_of


@given(st.binary(max_size=80))
def test_base58_round_trips(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _digit_by_digit(data: bytes) -> str:
    n, out = int.from_bytes(data, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = _ALPHABET[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


@given(st.binary(max_size=100).map(lambda b: b"\0" * (b[:1] == b"\0") + b))
def test_base58_is_the_digit_by_digit_encoding(data: bytes) -> None:
    assert b58encode(data) == _digit_by_digit(data)


def test_base58_known_values() -> None:
    # From the base58 draft (draft-msporny-base58) test vectors.
    assert b58encode(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert b58encode(b"\0\0\x28\x7f\xb4\xcd") == "11233QC4"
    assert b58decode("11233QC4") == b"\0\0\x28\x7f\xb4\xcd"


def test_base58_refuses_other_characters() -> None:
    with pytest.raises(InvalidKey):
        b58decode("0OIl")


@given(st.binary(min_size=32, max_size=32))
def test_did_key_round_trips(seed: bytes) -> None:
    pair = KeyPair.from_seed(seed)
    assert pair.public_key_multibase.startswith("z6Mk")
    assert pair.secret_key_multibase.startswith("z3u2")
    assert pair.did == f"did:key:{pair.public_key_multibase}"
    assert pair.verification_method == f"{pair.did}#{pair.public_key_multibase}"
    for form in (pair.did, pair.verification_method):
        assert public_key_bytes(parse_did_key(form)) == public_key_bytes(pair.public_key)
    again = KeyPair.from_multibase(pair.secret_key_multibase, pair.public_key_multibase)
    assert again.seed == seed
    assert decode_secret_key(pair.secret_key_multibase) == seed
    assert encode_public_key(decode_public_key(pair.public_key_multibase)) == (
        pair.public_key_multibase
    )


def test_generated_keys_differ_and_never_print_the_secret() -> None:
    a, b = KeyPair.generate(), KeyPair.generate()
    assert a.public_key_multibase != b.public_key_multibase
    assert a.secret_key_multibase not in repr(a)
    assert repr(a) == f"KeyPair({a.public_key_multibase})"


@pytest.mark.parametrize(
    "bad",
    [
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2#z6Mkother",  # fragment
        "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",  # secp256k1
        "did:key:6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",  # no multibase prefix
        "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbT",  # truncated
        "did:web:example.com",
        "did:key:z" + "1" * 500,  # too long to decode
    ],
)
def test_malformed_did_keys_are_refused(bad: str) -> None:
    with pytest.raises(InvalidKey):
        parse_did_key(bad)
    with pytest.raises(KeyResolutionError):
        resolve_did_key(bad)


def test_key_pair_refuses_a_mismatched_public_key(key: KeyPair, w3c_key: KeyPair) -> None:
    with pytest.raises(InvalidKey):
        KeyPair.from_multibase(key.secret_key_multibase, w3c_key.public_key_multibase)
    with pytest.raises(InvalidKey):
        KeyPair.from_seed(b"short")


def test_did_key_document(key: KeyPair) -> None:
    document = did_key_document(key.did)
    assert document == did_key_document(key.public_key)
    assert document["id"] == key.did
    (method,) = document["verificationMethod"]
    assert method == {
        "id": key.verification_method,
        "type": "Multikey",
        "controller": key.did,
        "publicKeyMultibase": key.public_key_multibase,
    }
    assert document["assertionMethod"] == [key.verification_method]
    # It is valid JSON-LD with the shipped contexts, nothing undefined.
    assert key.public_key_multibase in canonize(document)
    # And a resolver over it finds the same key as did:key resolution.
    resolved = Resolver({key.did: document})._from_documents(key.verification_method)
    assert public_key_bytes(resolved) == public_key_bytes(key.public_key)


def _controller(key: KeyPair, **changes: Any) -> dict[str, Any]:
    doc_id = "https://issuer.example/issuers/1"
    method_id = f"{doc_id}#key-1"
    document: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": doc_id,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": doc_id,
                "publicKeyMultibase": key.public_key_multibase,
            }
        ],
        "assertionMethod": ["#key-1"],  # relative references resolve against the id
    }
    document.update(changes)
    return document


def test_resolver_follows_the_controller_document(key: KeyPair) -> None:
    document = _controller(key)
    resolver = Resolver({document["id"]: document})
    resolved = resolver(f"{document['id']}#key-1")
    assert public_key_bytes(resolved) == public_key_bytes(key.public_key)


@pytest.mark.parametrize(
    ("changes", "method"),
    [
        ({"assertionMethod": []}, "#key-1"),  # not listed for the purpose
        ({}, "#key-2"),  # not in the document
        ({"id": "https://elsewhere.example/1"}, "#key-1"),  # controller differs
    ],
)
def test_resolver_refuses_what_the_controller_does_not_allow(
    key: KeyPair, changes: dict[str, Any], method: str
) -> None:
    document = _controller(key, **changes)
    resolver = Resolver({"https://issuer.example/issuers/1": document})
    with pytest.raises(KeyResolutionError):
        resolver("https://issuer.example/issuers/1" + method)


def test_resolver_fetches_nothing(key: KeyPair, no_network: list[str]) -> None:
    with pytest.raises(KeyResolutionError, match="nothing is fetched"):
        Resolver()("https://issuer.example/issuers/1#key-1")
    assert no_network == []


def test_did_key_methods_are_not_for_key_agreement(key: KeyPair) -> None:
    with pytest.raises(KeyResolutionError):
        Resolver(relationship="keyAgreement")(key.verification_method)


def test_public_key_forms(key: KeyPair) -> None:
    raw = public_key_bytes(key.public_key)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    for method in (
        {"publicKeyMultibase": key.public_key_multibase},
        {"publicKeyBase58": b58encode(raw)},
        {"publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": x}},
    ):
        assert public_key_bytes(public_key_of(method)) == raw
    for bad in (
        {},
        {"publicKeyJwk": {"kty": "EC", "crv": "P-256", "x": x}},
        {"publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": "!!"}},
        {"publicKeyBase58": "abc"},
    ):
        with pytest.raises(InvalidKey):
            public_key_of(bad)
