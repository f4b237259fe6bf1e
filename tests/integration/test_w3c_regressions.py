"""Regressions found by running the public W3C suites against a served Credo
(`scripts/w3c-suites.sh`): VC Data Model 2.0 section 5.3 (`relatedResource`) and Data
Integrity proof chains (`previousProof`). Written from the specifications; no suite code."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from credo.adapters.signing import KeyPair
from credo.adapters.signing.data_integrity import hash_data, with_suite_context
from credo.adapters.signing.multibase import encode
from tests.conftest import Org

V2 = "https://www.w3.org/ns/credentials/v2"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
RESOURCE = "https://www.w3.org/ns/credentials/v2"
SRI = "sha384-NSOcNpmdIVUxIJGvGUoe22FjTWrXiaXlsZ8q6912LdnR3KraQO2n75Ica4wK4Qeg"
MULTIBASE = "uJKGMkOmFbVJhEfKTduMC2XCyvRAYLjOVmZWwIH1wQ7k"


def credential(**fields: Any) -> dict[str, Any]:
    return {
        "@context": [V2, EXAMPLES],
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "credentialSubject": {"degree": {"type": "ExampleBachelorDegree", "name": "BSc"}},
        **fields,
    }


def issue(org: Org, cred: dict[str, Any]) -> Any:
    return org.post("/credentials/issue", {"credential": cred, "options": {}})


# --------------------------------------------------------------------------- relatedResource


@pytest.mark.parametrize(
    "related",
    [
        {"id": RESOURCE, "digestSRI": SRI},
        [{"id": RESOURCE, "digestMultibase": MULTIBASE}],
        [{"id": RESOURCE, "mediaType": "application/ld+json", "digestSRI": SRI}],
    ],
)
def test_well_formed_related_resources_are_signed(org: Org, related: Any) -> None:
    r = issue(org, credential(relatedResource=related))
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("related", "field"),
    [
        ([RESOURCE], "credential.relatedResource.0"),  # not an object
        ([{"digestSRI": SRI}], "credential.relatedResource.0.id"),  # no id
        (
            [{"id": RESOURCE, "digestSRI": SRI}, {"id": RESOURCE, "digestMultibase": MULTIBASE}],
            "credential.relatedResource.1.id",  # the same id twice
        ),
        ([{"id": RESOURCE}], "credential.relatedResource.0"),  # no digest
        ([{"id": RESOURCE, "digestSRI": 7}], "credential.relatedResource.0.digestSRI"),
    ],
)
def test_malformed_related_resources_are_refused(org: Org, related: Any, field: str) -> None:
    r = issue(org, credential(relatedResource=related))
    assert r.status_code == 422, r.text
    assert field in [p["field"] for p in r.json()["errors"]], r.json()


# --------------------------------------------------------------------------- proof chains


def _proof(doc: dict[str, Any], key: KeyPair, **extra: Any) -> dict[str, Any]:
    """A signed eddsa-rdfc-2022 proof of `doc` (which may carry earlier proofs)."""
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-01-01T00:00:00Z",
        "verificationMethod": key.verification_method,
        "proofPurpose": "assertionMethod",
        **extra,
    }
    return {**options, "proofValue": encode(key.sign(hash_data(doc, options)))}


def _chain(previous: str | list[str]) -> dict[str, Any]:
    """A credential signed by a witness, then by its issuer over the witness's proof."""
    witness, issuer = KeyPair.generate(), KeyPair.generate()
    doc = with_suite_context(credential(issuer=issuer.did, validFrom="2026-01-01T00:00:00Z"))
    first = _proof(doc, witness, id="urn:uuid:first")
    covered = [first] if isinstance(previous, list) else first
    second = _proof({**doc, "proof": covered}, issuer, previousProof=previous)
    return {**doc, "proof": [first, second]}


def verify(client: TestClient, doc: Any) -> Any:
    return client.post("/credentials/verify", json={"verifiableCredential": doc})


@pytest.mark.parametrize("previous", ["urn:uuid:first", ["urn:uuid:first"]])
def test_a_proof_chain_verifies(client: TestClient, previous: Any) -> None:
    r = verify(client, _chain(previous))
    assert r.status_code == 200, r.text
    assert r.json()["verified"] is True


def test_a_proof_naming_a_missing_previous_proof_fails(client: TestClient) -> None:
    doc = _chain("urn:uuid:first")
    doc["proof"][1] = {**doc["proof"][1], "previousProof": "urn:uuid:nowhere"}
    r = verify(client, doc)
    assert r.status_code == 400, r.text
    failed = [c["check"] for c in r.json()["checks"] if c["ok"] is False]
    assert failed == ["signature"], r.json()
    assert "urn:uuid:nowhere" in r.json()["detail"]


def test_a_tampered_chain_fails(client: TestClient) -> None:
    doc = _chain("urn:uuid:first")
    doc["proof"][0] = {**doc["proof"][0], "created": "2026-01-02T00:00:00Z"}
    r = verify(client, doc)
    assert r.status_code == 400, r.text
    assert r.json()["verified"] is False


def test_a_chain_without_a_proof_by_the_issuer_fails_naming_issuer(client: TestClient) -> None:
    stranger = KeyPair.generate()
    unsigned = with_suite_context(credential(issuer=stranger.did))
    first = _proof(unsigned, KeyPair.generate(), id="urn:uuid:first")
    second = _proof(
        {**unsigned, "proof": first}, KeyPair.generate(), previousProof="urn:uuid:first"
    )
    r = verify(client, {**unsigned, "proof": [first, second]})
    assert r.status_code == 400, r.text
    failed = [c["check"] for c in r.json()["checks"] if c["ok"] is False]
    assert failed == ["issuer"], r.json()
