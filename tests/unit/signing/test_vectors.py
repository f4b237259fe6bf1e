"""The published test vectors, reproduced byte for byte: the W3C vc-di-eddsa examples (both
cryptosuites, every intermediate value) and the 1EdTech OB 3.0 signed example."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from credo.adapters.signing import KeyPair, Resolver, sign, verify
from credo.adapters.signing.canonical import canonize, jcs
from credo.adapters.signing.loader import DocumentLoader, shipped_context
from tests.unit.signing import published_intermediates as published
from tests.unit.signing.conftest import VECTORS, W3C, load_vector

CREATED = "2023-02-24T23:36:38Z"


def _unsigned(signed: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in signed.items() if k != "proof"}


def test_the_vector_key_pair_round_trips(w3c_key: KeyPair) -> None:
    pair = load_vector(W3C / "keyPair.json")
    assert w3c_key.public_key_multibase == pair["publicKeyMultibase"]
    assert w3c_key.secret_key_multibase == pair["privateKeyMultibase"]
    assert w3c_key.verification_method == (
        f"did:key:{pair['publicKeyMultibase']}#{pair['publicKeyMultibase']}"
    )


def test_the_examples_context_is_the_shipped_one() -> None:
    (url, context), *rest = load_vector(W3C / "docs-examples-ctx.json").items()
    assert rest == []
    assert shipped_context(url) == context


@pytest.mark.parametrize(
    ("vector", "cryptosuite"),
    [
        ("eddsa-rdfc-2022_signedDataInt.json", "eddsa-rdfc-2022"),
        ("eddsa-jcs-2022_signedJCS.json", "eddsa-jcs-2022"),
    ],
)
def test_w3c_vectors_are_reproduced_byte_for_byte(
    w3c_key: KeyPair, vector: str, cryptosuite: str, no_network: list[str]
) -> None:
    expected = load_vector(W3C / vector)
    signed = sign(
        _unsigned(expected),
        key=w3c_key,
        cryptosuite=cryptosuite,
        verification_method=w3c_key.verification_method,
        created=CREATED,
    )
    assert signed["proof"]["proofValue"] == expected["proof"]["proofValue"]
    # The whole document, key order included, serializes to the vector's bytes.
    assert json.dumps(signed, indent=2) == (W3C / vector).read_text("utf-8").strip()
    assert verify(expected, resolve=Resolver()).ok


def test_rdfc_intermediate_values(w3c_key: KeyPair) -> None:
    signed = load_vector(W3C / "eddsa-rdfc-2022_signedDataInt.json")
    document = _unsigned(signed)
    config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    config["@context"] = document["@context"]
    assert config == load_vector_config("eddsa-rdfc-2022")
    canonical_document = canonize(document)
    canonical_config = canonize(config)
    assert canonical_document == published.RDFC_CANON_DOC
    assert canonical_config == published.RDFC_CANON_PROOF
    doc_hash = hashlib.sha256(canonical_document.encode()).digest()
    proof_hash = hashlib.sha256(canonical_config.encode()).digest()
    assert doc_hash.hex() == published.RDFC_DOC_HASH
    assert proof_hash.hex() == published.RDFC_PROOF_HASH
    assert w3c_key.sign(proof_hash + doc_hash).hex() == published.RDFC_SIGNATURE_HEX


def load_vector_config(cryptosuite: str) -> dict[str, Any]:
    """The proof configuration as the specification lists it (only JCS's is in shared/)."""
    if cryptosuite == "eddsa-jcs-2022":
        config: dict[str, Any] = load_vector(W3C / "eddsa-jcs-2022_proofConfigJCS.json")
        return config
    signed = load_vector(W3C / "eddsa-rdfc-2022_signedDataInt.json")
    config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    return {**config, "@context": signed["@context"]}


def test_jcs_intermediate_values(w3c_key: KeyPair) -> None:
    signed = load_vector(W3C / "eddsa-jcs-2022_signedJCS.json")
    config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    assert config == load_vector_config("eddsa-jcs-2022")
    canonical_document = jcs(_unsigned(signed))
    canonical_config = jcs(config)
    assert canonical_document.decode() == published.JCS_CANON_DOC
    assert canonical_config.decode() == published.JCS_CANON_PROOF
    doc_hash = hashlib.sha256(canonical_document).digest()
    proof_hash = hashlib.sha256(canonical_config).digest()
    assert doc_hash.hex() == published.JCS_DOC_HASH
    assert proof_hash.hex() == published.JCS_PROOF_HASH
    assert w3c_key.sign(proof_hash + doc_hash).hex() == published.JCS_SIGNATURE_HEX


def test_1edtech_obv3_example_verifies_offline(no_network: list[str]) -> None:
    signed = load_vector(VECTORS / "1edtech-obv3-signed.json")
    documents = load_vector(VECTORS / "1edtech-obv3-docs.json")
    result = verify(signed, resolve=Resolver(documents))
    assert result.ok, result
    assert result.cryptosuite == "eddsa-rdfc-2022"
    assert no_network == []


def test_1edtech_obv3_canonical_forms() -> None:
    signed = load_vector(VECTORS / "1edtech-obv3-signed.json")
    config = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    config["@context"] = signed["@context"]
    assert canonize(_unsigned(signed)) == published.OBV3_CANON_DOC
    assert canonize(config) == published.OBV3_CANON_PROOF


def test_1edtech_key_document_loads_through_the_loader() -> None:
    documents = load_vector(VECTORS / "1edtech-obv3-docs.json")
    loader = DocumentLoader(documents)
    (url, document), *_ = documents.items()
    assert loader(url)["document"] == document
    # The key document is itself valid JSON-LD with the shipped contexts.
    assert "Multikey" in canonize(document, loader=loader)
