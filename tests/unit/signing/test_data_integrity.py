"""Signing and verifying Data Integrity proofs: round trips, every kind of tampering, the
refusals, and the structured result."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from credo.adapters.signing import (
    Check,
    InvalidDocument,
    InvalidKey,
    KeyPair,
    Resolver,
    UndefinedTerms,
    UnknownContext,
    multibase,
    sign,
    verify,
)
from credo.adapters.signing.canonical import canonize_variants
from credo.adapters.signing.data_integrity import xsd_datetime
from tests.unit.signing.conftest import ob_credential

SUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]
CREATED = datetime(2025, 3, 1, 12, 30, 45, 123456, tzinfo=UTC)


def _sign(key: KeyPair, cryptosuite: str, document: dict[str, Any] | None = None) -> dict[str, Any]:
    return sign(
        document if document is not None else ob_credential(),
        key=key,
        cryptosuite=cryptosuite,
        verification_method=key.verification_method,
        created=CREATED,
    )


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_sign_then_verify(key: KeyPair, cryptosuite: str, no_network: list[str]) -> None:
    original = ob_credential()
    signed = _sign(key, cryptosuite, original)
    assert original == ob_credential()  # the input is not touched
    proof = signed["proof"]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == cryptosuite
    assert proof["created"] == "2025-03-01T12:30:45Z"
    assert proof["verificationMethod"] == key.verification_method
    assert proof["proofPurpose"] == "assertionMethod"
    assert proof["proofValue"].startswith("z")
    assert len(multibase.decode(proof["proofValue"])) == 64
    assert ("@context" in proof) == (cryptosuite == "eddsa-jcs-2022")
    assert {k: v for k, v in signed.items() if k != "proof"} == original
    result = verify(signed, resolve=Resolver())
    assert result.ok, result
    assert result.failed_check is None
    assert result.cryptosuite == cryptosuite
    assert result.verification_method == key.verification_method
    assert no_network == []


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value

    return change


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        target = document
        for step in path[:-1]:
            target = target[step]
        del target[path[-1]]

    return change


DOCUMENT_TAMPERING = {
    "name": _set(("name",), "Teamwork!"),
    "validFrom": _set(("validFrom",), "2025-03-02T00:00:00Z"),
    "validUntil": _delete(("validUntil",)),
    "issuer id": _set(("issuer", "id"), "did:example:someone-else"),
    "recipient name": _set(("credentialSubject", "name"), "Eve"),
    "identity hash": _set(
        ("credentialSubject", "identifier", 0, "identityHash"), "sha256$" + "cd" * 32
    ),
    "achievement": _set(("credentialSubject", "achievement", "name"), "Leadership"),
    "criteria": _set(("credentialSubject", "achievement", "criteria", "narrative"), "None."),
    "status index": _set(("credentialStatus", "statusListIndex"), "43"),
    # (Not AchievementCredential: the OB context makes it an alias of OpenBadgeCredential.)
    "type": _set(("type",), ["VerifiableCredential", "EndorsementCredential"]),
    "added property": _set(("credentialSubject", "achievement", "description"), "More."),
}

PROOF_TAMPERING = {
    "created": (_set(("proof", "created"), "2025-03-01T12:30:46Z"), Check.SIGNATURE),
    "proof purpose": (_set(("proof", "proofPurpose"), "authentication"), Check.PROOF_PURPOSE),
    "cryptosuite": (_set(("proof", "cryptosuite"), "ecdsa-rdfc-2019"), Check.CRYPTOSUITE),
    "type": (_set(("proof", "type"), "Ed25519Signature2020"), Check.CRYPTOSUITE),
    "no proofValue": (_delete(("proof", "proofValue")), Check.STRUCTURE),
    "short proofValue": (_set(("proof", "proofValue"), "z3yMo"), Check.SIGNATURE),
    "not base58": (_set(("proof", "proofValue"), "z0OIl"), Check.SIGNATURE),
    "not multibase": (_set(("proof", "proofValue"), "u" + "A" * 86), Check.SIGNATURE),
    "bad created": (_set(("proof", "created"), "yesterday"), Check.PROOF_DATES),
    "no proof": (_delete(("proof",)), Check.STRUCTURE),
    "proof not an object": (_set(("proof",), "signed"), Check.STRUCTURE),
    "empty proof set": (_set(("proof",), []), Check.STRUCTURE),
}


@pytest.mark.parametrize("cryptosuite", SUITES)
@pytest.mark.parametrize("what", sorted(DOCUMENT_TAMPERING))
def test_tampering_with_any_field_fails(key: KeyPair, cryptosuite: str, what: str) -> None:
    signed = _sign(key, cryptosuite)
    DOCUMENT_TAMPERING[what](signed)
    result = verify(signed, resolve=Resolver())
    assert not result.ok
    assert result.failed_check is Check.SIGNATURE
    assert result.messages == ("the signature does not match the document",)


@pytest.mark.parametrize("cryptosuite", SUITES)
@pytest.mark.parametrize("what", sorted(PROOF_TAMPERING))
def test_tampering_with_the_proof_fails(key: KeyPair, cryptosuite: str, what: str) -> None:
    signed = _sign(key, cryptosuite)
    change, check = PROOF_TAMPERING[what]
    change(signed)
    result = verify(signed, resolve=Resolver())
    assert not result.ok
    assert result.failed_check is check, result


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_a_flipped_signature_bit_fails(key: KeyPair, cryptosuite: str) -> None:
    signed = _sign(key, cryptosuite)
    raw = bytearray(multibase.decode(signed["proof"]["proofValue"]))
    raw[10] ^= 1
    signed["proof"]["proofValue"] = multibase.encode(bytes(raw))
    assert verify(signed, resolve=Resolver()).failed_check is Check.SIGNATURE


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_another_key_fails(key: KeyPair, cryptosuite: str) -> None:
    signed = _sign(key, cryptosuite)
    other = KeyPair.from_seed(b"\x01" * 32)
    # The proof claims another did:key: the signature is not that key's.
    signed["proof"]["verificationMethod"] = other.verification_method
    result = verify(signed, resolve=Resolver())
    assert result.failed_check is Check.SIGNATURE
    assert result.verification_method == other.verification_method


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_a_key_resolved_elsewhere_fails(key: KeyPair, cryptosuite: str) -> None:
    signed = _sign(key, cryptosuite)
    other = KeyPair.from_seed(b"\x02" * 32)
    result = verify(signed, resolve=lambda method: other.public_key)
    assert result.failed_check is Check.SIGNATURE


def test_an_unresolvable_method_fails(key: KeyPair) -> None:
    signed = _sign(key, "eddsa-rdfc-2022")
    signed["proof"]["verificationMethod"] = "https://issuer.example/keys#1"
    result = verify(signed, resolve=Resolver())
    assert result.failed_check is Check.VERIFICATION_METHOD
    assert "nothing is fetched" in result.messages[0]


def test_jcs_proof_context_must_prefix_the_documents(key: KeyPair) -> None:
    signed = _sign(key, "eddsa-jcs-2022")
    signed["@context"] = list(reversed(signed["@context"]))
    assert verify(signed, resolve=Resolver()).failed_check is Check.CONTEXT
    # Appending contexts after the proof's is allowed (proof chains do it); it stays unsigned.
    appended = _sign(key, "eddsa-jcs-2022")
    appended["@context"] = [*appended["@context"], "https://www.w3.org/ns/credentials/examples/v2"]
    assert verify(appended, resolve=Resolver()).ok


def test_rdfc_verification_refuses_unknown_contexts_without_network(
    key: KeyPair, no_network: list[str]
) -> None:
    signed = _sign(key, "eddsa-rdfc-2022")
    signed["@context"] = [*signed["@context"], "https://evil.example/v1"]
    result = verify(signed, resolve=Resolver())
    assert result.failed_check is Check.CANONICALIZATION
    assert "https://evil.example/v1" in result.messages[0]
    assert no_network == []


def test_rdfc_verification_refuses_undefined_terms(key: KeyPair) -> None:
    signed = _sign(key, "eddsa-rdfc-2022")
    signed["credentialSubject"]["unsigned"] = "added after signing"
    result = verify(signed, resolve=Resolver())
    assert result.failed_check is Check.CANONICALIZATION
    assert "unsigned" in result.messages[0]


def test_expired_proofs_fail_when_now_is_given(key: KeyPair) -> None:
    signed = _sign(key, "eddsa-jcs-2022")
    signed["proof"]["expires"] = "2025-03-02T00:00:00Z"
    before = datetime(2025, 3, 1, 23, 0, tzinfo=UTC)
    after = before + timedelta(hours=2)
    assert verify(signed, resolve=Resolver(), now=after).failed_check is Check.PROOF_DATES
    # Not expired yet: the check passes, and the signature (which did not cover
    # `expires`) then fails.
    assert verify(signed, resolve=Resolver(), now=before).failed_check is Check.SIGNATURE


def test_another_expected_purpose_fails(key: KeyPair) -> None:
    signed = _sign(key, "eddsa-rdfc-2022")
    result = verify(signed, resolve=Resolver(), proof_purpose="authentication")
    assert result.failed_check is Check.PROOF_PURPOSE


@pytest.mark.parametrize("junk", [None, 5, "x", [], {"proof": None}, {"proof": {"type": 1}}])
def test_verify_never_raises_on_junk(junk: Any) -> None:
    result = verify(junk, resolve=Resolver())
    assert not result.ok
    assert result.failed_check is Check.STRUCTURE


def test_verify_fails_closed_on_invalid_json_ld(key: KeyPair) -> None:
    signed = _sign(key, "eddsa-rdfc-2022")
    signed["@context"] = [*signed["@context"], {"@version": "x"}]
    assert verify(signed, resolve=Resolver()).failed_check is Check.CANONICALIZATION
    signed["@context"] = 5
    assert verify(signed, resolve=Resolver()).failed_check is Check.CANONICALIZATION


def test_a_poison_document_fails_verification_quickly(key: KeyPair) -> None:
    signed = _sign(key, "eddsa-rdfc-2022")
    # Eight blank nodes all linked to each other: exponential work without the limit.
    nodes = [f"_:n{i}" for i in range(8)]
    signed["@context"] = [*signed["@context"], {"link": {"@id": "urn:ex:link", "@type": "@id"}}]
    signed["evidence"] = [{"id": a, "link": [b for b in nodes if b != a]} for a in nodes]
    result = verify(signed, resolve=Resolver())
    assert result.failed_check is Check.CANONICALIZATION
    assert "more canonicalization work" in result.messages[0]


def test_proof_sets_need_every_proof(key: KeyPair) -> None:
    rdfc = _sign(key, "eddsa-rdfc-2022")
    jcs = _sign(key, "eddsa-jcs-2022")
    both = {**rdfc, "proof": [rdfc["proof"], jcs["proof"]]}
    assert verify(both, resolve=Resolver()).ok
    broken = copy.deepcopy(both)
    broken["proof"][1]["created"] = "2020-01-01T00:00:00Z"
    assert verify(broken, resolve=Resolver()).failed_check is Check.SIGNATURE


def test_signing_and_verifying_from_several_threads(key: KeyPair) -> None:
    def round_trip(i: int) -> bool:
        cryptosuite = SUITES[i % 2]
        signed = _sign(key, cryptosuite, ob_credential(name=f"Badge {i}"))
        return verify(signed, resolve=Resolver()).ok

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(round_trip, range(24)))


# --- refusals at signing ---------------------------------------------------------------------


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_signing_refuses_undefined_terms(key: KeyPair, cryptosuite: str) -> None:
    with pytest.raises(UndefinedTerms) as refused:
        _sign(key, cryptosuite, ob_credential(favoriteColor="blue"))
    assert refused.value.terms == ["favoriteColor"]


@pytest.mark.parametrize("cryptosuite", SUITES)
def test_signing_refuses_unknown_contexts(
    key: KeyPair, cryptosuite: str, no_network: list[str]
) -> None:
    credential = ob_credential()
    credential["@context"].append("https://evil.example/v1")
    with pytest.raises(UnknownContext):
        _sign(key, cryptosuite, credential)
    assert no_network == []


def test_signing_refuses_what_cannot_be_signed(key: KeyPair) -> None:
    signed = _sign(key, "eddsa-rdfc-2022")
    with pytest.raises(InvalidDocument, match="already has a proof"):
        _sign(key, "eddsa-rdfc-2022", signed)
    with pytest.raises(InvalidDocument, match="unsupported cryptosuite"):
        _sign(key, "ecdsa-rdfc-2019")
    with pytest.raises(InvalidDocument, match="@context"):
        _sign(key, "eddsa-jcs-2022", {"id": "urn:x", "type": "VerifiableCredential"})
    with pytest.raises(InvalidDocument):
        _sign(key, "eddsa-jcs-2022", ob_credential(name=2**60))


def test_signing_refuses_a_did_key_method_of_another_key(key: KeyPair) -> None:
    other = KeyPair.from_seed(b"\x03" * 32)
    with pytest.raises(InvalidKey):
        sign(
            ob_credential(),
            key=key,
            cryptosuite="eddsa-rdfc-2022",
            verification_method=other.verification_method,
            created=CREATED,
        )


def test_other_verification_methods_are_signed_as_given(key: KeyPair) -> None:
    method = "https://issuer.example/issuers/1#key-1"
    signed = sign(
        ob_credential(),
        key=key,
        cryptosuite="eddsa-rdfc-2022",
        verification_method=method,
        created=None,
    )
    assert "created" not in signed["proof"]
    controller: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": "https://issuer.example/issuers/1",
        "verificationMethod": [
            {
                "id": method,
                "type": "Multikey",
                "controller": "https://issuer.example/issuers/1",
                "publicKeyMultibase": key.public_key_multibase,
            }
        ],
        "assertionMethod": [method],
    }
    assert verify(signed, resolve=Resolver({controller["id"]: controller})).ok


def test_vc_1_1_credentials_get_the_data_integrity_context(key: KeyPair) -> None:
    credential = {
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://www.w3.org/2018/credentials/examples/v1",
        ],
        "id": "urn:uuid:0b8f0d34-7a38-4a7c-8a27-4d0b8f0d347a",
        "type": ["VerifiableCredential", "UniversityDegreeCredential"],
        "issuer": key.did,
        "issuanceDate": "2020-01-01T00:00:00Z",
        "credentialSubject": {
            "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
            "degree": {"type": "BachelorDegree", "name": "Bachelor of Science and Arts"},
        },
    }
    for cryptosuite in SUITES:
        signed = _sign(key, cryptosuite, credential)
        assert signed["@context"][-1] == "https://w3id.org/security/data-integrity/v2"
        assert verify(signed, resolve=Resolver()).ok


def test_proof_dates() -> None:
    assert xsd_datetime(datetime(2025, 1, 2, 3, 4, 5, 999, tzinfo=UTC)) == "2025-01-02T03:04:05Z"
    plus_two = timezone(timedelta(hours=2))
    assert xsd_datetime(datetime(2025, 1, 2, 3, 4, 5, tzinfo=plus_two)) == "2025-01-02T01:04:05Z"
    assert xsd_datetime("2025-01-02T03:04:05.5+01:00") == "2025-01-02T03:04:05.5+01:00"
    with pytest.raises(ValueError, match="aware"):
        xsd_datetime(datetime(2025, 1, 2))  # noqa: DTZ001 - the point of the test
    with pytest.raises(InvalidDocument):
        xsd_datetime("2025-13-02T03:04:05Z")


# --- N-Quads order: code points (RDFC-1.0) versus UTF-16 (JavaScript) ------------------------


def _mixed_order_credential() -> dict[str, Any]:
    credential = ob_credential()
    # U+FF01 sorts before U+1F600 by code point, after it by UTF-16 code unit.
    credential["credentialSubject"]["achievement"]["tag"] = ["\U0001f600 fun", "\uff01 wow"]
    return credential


def test_text_that_javascript_sorts_differently_is_not_signed_with_rdfc(key: KeyPair) -> None:
    credential = _mixed_order_credential()
    variants = canonize_variants(credential)
    assert len(variants) == 2
    assert sorted(variants[0].splitlines()) == sorted(variants[1].splitlines())
    with pytest.raises(InvalidDocument, match="JavaScript"):
        _sign(key, "eddsa-rdfc-2022", credential)
    assert verify(_sign(key, "eddsa-jcs-2022", credential), resolve=Resolver()).ok
    # Either character alone is fine.
    credential["credentialSubject"]["achievement"]["tag"] = ["\U0001f600 fun", "wow"]
    assert len(canonize_variants(credential)) == 1
    assert verify(_sign(key, "eddsa-rdfc-2022", credential), resolve=Resolver()).ok


@pytest.mark.parametrize("javascript_order", [False, True])
def test_such_text_verifies_whichever_order_the_signer_used(
    key: KeyPair, javascript_order: bool
) -> None:
    credential = _mixed_order_credential()
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2025-03-01T00:00:00Z",
        "verificationMethod": key.verification_method,
        "proofPurpose": "assertionMethod",
    }
    config = {**proof, "@context": credential["@context"]}
    pick = -1 if javascript_order else 0
    data = b"".join(
        hashlib.sha256(canonize_variants(d)[pick].encode()).digest() for d in (config, credential)
    )
    proof["proofValue"] = multibase.encode(key.sign(data))
    result = verify({**credential, "proof": proof}, resolve=Resolver())
    assert result.ok, result
    assert ("UTF-16" in result.messages[0]) == javascript_order
