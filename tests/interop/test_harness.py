"""The harness itself, on data that owes nothing to Credo's code.

The W3C vc-di-eddsa vectors and the 1EdTech OB 3.0 signed example must verify with
Digital Bazaar's libraries, their signatures must be reproduced exactly, tampered copies
must fail, and nothing may be fetched from the network.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.interop.node import (
    HARNESS_DIR,
    Cryptosuite,
    NodeHarnessError,
    ensure_node_modules,
    node_sign,
    node_verify,
)

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors"
W3C = VECTORS / "w3c-vc-di-eddsa"
SIGNED_FILES: dict[Cryptosuite, str] = {
    "eddsa-rdfc-2022": "eddsa-rdfc-2022_signedDataInt.json",
    "eddsa-jcs-2022": "eddsa-jcs-2022_signedJCS.json",
}
SUITES: list[Cryptosuite] = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]
UNKNOWN_CONTEXT = "https://contexts.invalid/unknown/v1"


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


@pytest.fixture(scope="module", autouse=True)
def _node_modules() -> None:
    ensure_node_modules()


@pytest.fixture(scope="module")
def key_pair() -> dict[str, str]:
    data: dict[str, str] = _load(W3C / "keyPair.json")
    return data


@pytest.fixture(scope="module")
def examples_context() -> dict[str, Any]:
    """The examples context the vectors use, keyed by its URL."""
    data: dict[str, Any] = _load(W3C / "docs-examples-ctx.json")
    return data


@pytest.fixture(params=["default", "npm-only"])
def contexts_dir(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    """The contexts Credo ships when present (the default), or only the npm packages' own."""
    if request.param == "default":
        return None
    return tmp_path  # a folder with no index.json: no shipped contexts


def _signed_vector(suite: Cryptosuite) -> dict[str, Any]:
    data: dict[str, Any] = _load(W3C / SIGNED_FILES[suite])
    return data


def _unsigned(credential: dict[str, Any]) -> dict[str, Any]:
    unsigned = copy.deepcopy(credential)
    del unsigned["proof"]
    return unsigned


def _did_key(key_pair: dict[str, str]) -> str:
    return f"did:key:{key_pair['publicKeyMultibase']}"


# (1) the W3C vectors verify ------------------------------------------------------------


@pytest.mark.parametrize("suite", SUITES)
def test_w3c_vector_verifies(
    suite: Cryptosuite, examples_context: dict[str, Any], contexts_dir: Path | None
) -> None:
    # The vectors' issuer (https://vc.example/issuers/5678) is not the controller of their
    # did:key, so vc's issuer-binding rule is turned off for them; the proof is checked.
    answer = node_verify(
        _signed_vector(suite), examples_context, check_issuer=False, contexts_dir=contexts_dir
    )
    assert answer["verified"] is True, answer["errors"]
    assert answer["errors"] == []
    assert [p["cryptosuite"] for p in answer["proofs"]] == [suite]
    assert answer["refused"] == []


@pytest.mark.parametrize("suite", SUITES)
def test_issuer_binding_is_checked_by_default(
    suite: Cryptosuite, examples_context: dict[str, Any]
) -> None:
    answer = node_verify(_signed_vector(suite), examples_context)
    assert answer["verified"] is False
    assert any("issuer must match" in e for e in answer["errors"]), answer["errors"]


# (2) signing reproduces the vectors byte for byte --------------------------------------


@pytest.mark.parametrize("suite", SUITES)
def test_node_sign_reproduces_w3c_proof_value(
    suite: Cryptosuite, key_pair: dict[str, str], examples_context: dict[str, Any]
) -> None:
    vector = _signed_vector(suite)
    signed = node_sign(
        _unsigned(vector),
        key_pair,
        suite,
        examples_context,
        created=vector["proof"]["created"],
    )
    assert signed["proof"]["proofValue"] == vector["proof"]["proofValue"]
    assert signed == vector


# (3) tampered copies fail --------------------------------------------------------------


def _change_subject(c: dict[str, Any]) -> None:
    c["credentialSubject"]["alumniOf"] = "The School of Forgeries"


def _change_proof_value(c: dict[str, Any]) -> None:
    value = c["proof"]["proofValue"]
    c["proof"]["proofValue"] = value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]


def _change_created(c: dict[str, Any]) -> None:
    c["proof"]["created"] = "2023-02-24T23:36:39Z"


def _add_property(c: dict[str, Any]) -> None:
    c["validUntil"] = "2099-01-01T00:00:00Z"


def _other_key(c: dict[str, Any]) -> None:
    # another Ed25519 did:key (the 1EdTech example's key): valid key, wrong signer
    other = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
    c["proof"]["verificationMethod"] = f"did:key:{other}#{other}"


def _drop_type(c: dict[str, Any]) -> None:
    c["type"] = ["VerifiableCredential"]


TAMPERINGS = [
    _change_subject,
    _change_proof_value,
    _change_created,
    _add_property,
    _other_key,
    _drop_type,
]


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda f: f.__name__.strip("_"))
@pytest.mark.parametrize("suite", SUITES)
def test_tampered_w3c_vector_fails(
    suite: Cryptosuite, tamper: Any, examples_context: dict[str, Any]
) -> None:
    credential = _signed_vector(suite)
    tamper(credential)
    answer = node_verify(credential, examples_context, check_issuer=False)
    assert answer["verified"] is False
    assert answer["errors"]


def test_jcs_ignores_member_order_only(examples_context: dict[str, Any]) -> None:
    # JCS canonicalizes member order, so reordering is not tampering; values still are.
    vector = _signed_vector("eddsa-jcs-2022")
    reordered = dict(reversed(list(vector.items())))
    answer = node_verify(reordered, examples_context, check_issuer=False)
    assert answer["verified"] is True, answer["errors"]


# (4) an unknown remote context is refused, never fetched -------------------------------


def test_unknown_remote_context_is_refused_on_verify(examples_context: dict[str, Any]) -> None:
    credential = _signed_vector("eddsa-rdfc-2022")
    credential["@context"] = [*credential["@context"], UNKNOWN_CONTEXT]
    answer = node_verify(credential, examples_context, check_issuer=False)
    assert answer["verified"] is False
    assert answer["refused"] == [UNKNOWN_CONTEXT]
    assert any("refused" in e and UNKNOWN_CONTEXT in e for e in answer["errors"])


def test_unknown_remote_context_is_refused_on_sign(
    key_pair: dict[str, str], examples_context: dict[str, Any]
) -> None:
    credential = _unsigned(_signed_vector("eddsa-rdfc-2022"))
    credential["@context"] = [*credential["@context"], UNKNOWN_CONTEXT]
    with pytest.raises(NodeHarnessError, match="refused"):
        node_sign(credential, key_pair, "eddsa-rdfc-2022", examples_context)


def test_context_not_given_is_refused(tmp_path: Path) -> None:
    # with no contexts folder, the examples context is served only when passed: no npm
    # package bundles it
    answer = node_verify(
        _signed_vector("eddsa-rdfc-2022"), check_issuer=False, contexts_dir=tmp_path
    )
    assert answer["verified"] is False
    assert answer["refused"] == ["https://www.w3.org/ns/credentials/examples/v2"]


# (5) the 1EdTech OB 3.0 signed example -------------------------------------------------


def test_1edtech_obv3_example_verifies(contexts_dir: Path | None) -> None:
    credential = _load(VECTORS / "1edtech-obv3-signed.json")
    documents = _load(VECTORS / "1edtech-obv3-docs.json")
    answer = node_verify(credential, documents, contexts_dir=contexts_dir)
    assert answer["verified"] is True, answer["errors"]
    assert answer["checkIssuer"] is True
    sources = {entry["url"]: entry["source"] for entry in answer["loaded"]}
    assert sources["https://example.edu/issuers/565049"] == "request"
    assert "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json" in sources


def test_1edtech_obv3_example_tampered_fails() -> None:
    credential = _load(VECTORS / "1edtech-obv3-signed.json")
    documents = _load(VECTORS / "1edtech-obv3-docs.json")
    credential["credentialSubject"]["achievement"]["name"] = "Leadership"
    answer = node_verify(credential, documents)
    assert answer["verified"] is False


def test_1edtech_obv3_example_needs_its_key_document() -> None:
    credential = _load(VECTORS / "1edtech-obv3-signed.json")
    answer = node_verify(credential)
    assert answer["verified"] is False
    assert credential["proof"]["verificationMethod"] in answer["refused"]


# more: issuer binding, contexts folder precedence, dates, status lists -----------------


def _own_credential(key_pair: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:0b4e8f6a-41a8-4c0e-9a8e-3f1f5b0c2d11",
        "type": ["VerifiableCredential"],
        "issuer": _did_key(key_pair),
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject"},
        **extra,
    }


@pytest.mark.parametrize("suite", SUITES)
def test_sign_then_verify_with_issuer_binding(suite: Cryptosuite, key_pair: dict[str, str]) -> None:
    signed = node_sign(_own_credential(key_pair), key_pair, suite)
    assert signed["proof"]["verificationMethod"].startswith(_did_key(key_pair) + "#")
    answer = node_verify(signed)
    assert answer["verified"] is True, answer["errors"]


def test_contexts_folder_takes_precedence(tmp_path: Path, examples_context: dict[str, Any]) -> None:
    # a contexts folder like the one Credo ships: index.json maps URL -> file name
    v2 = HARNESS_DIR / "node_modules/@digitalbazaar/credentials-context/contexts/v2.jsonld"
    shutil.copy(v2, tmp_path / "credentials-v2.jsonld")
    examples_url = "https://www.w3.org/ns/credentials/examples/v2"
    (tmp_path / "examples-v2.json").write_text(json.dumps(examples_context[examples_url]))
    (tmp_path / "index.json").write_text(
        json.dumps(
            {
                "https://www.w3.org/ns/credentials/v2": "credentials-v2.jsonld",
                examples_url: "examples-v2.json",
            }
        )
    )
    answer = node_verify(
        _signed_vector("eddsa-rdfc-2022"), check_issuer=False, contexts_dir=tmp_path
    )
    assert answer["verified"] is True, answer["errors"]
    sources = {entry["url"]: entry["source"] for entry in answer["loaded"]}
    assert sources["https://www.w3.org/ns/credentials/v2"] == "credo"
    assert sources[examples_url] == "credo"


def test_expired_credential_fails_as_expired(key_pair: dict[str, str]) -> None:
    credential = _own_credential(key_pair, validUntil="2025-01-01T00:00:00Z")
    signed = node_sign(credential, key_pair, "eddsa-rdfc-2022")
    assert node_verify(signed, now="2024-06-01T00:00:00Z")["verified"] is True
    answer = node_verify(signed, now="2025-06-01T00:00:00Z")
    assert answer["verified"] is False
    assert any("validUntil" in e for e in answer["errors"]), answer["errors"]


STATUS_LIST_URL = "https://status.example/lists/1"
STATUS_LIST_BITS = 131072  # the 16 KiB minimum of Bitstring Status List v1.0


def _encoded_list(set_bits: list[int]) -> str:
    bits = bytearray(STATUS_LIST_BITS // 8)
    for index in set_bits:
        bits[index // 8] |= 0x80 >> (index % 8)  # bit 0 is the first byte's leftmost bit
    encoded = base64.urlsafe_b64encode(gzip.compress(bytes(bits))).rstrip(b"=")
    return "u" + encoded.decode()


def _status_list(key_pair: dict[str, str], set_bits: list[int]) -> dict[str, Any]:
    status_list = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": STATUS_LIST_URL,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": _did_key(key_pair),
        "validFrom": "2024-01-01T00:00:00Z",
        "credentialSubject": {
            "id": f"{STATUS_LIST_URL}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": _encoded_list(set_bits),
        },
    }
    return node_sign(status_list, key_pair, "eddsa-rdfc-2022")


@pytest.fixture(scope="module")
def credential_with_status(key_pair: dict[str, str]) -> dict[str, Any]:
    status = {
        "id": f"{STATUS_LIST_URL}#42",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "42",
        "statusListCredential": STATUS_LIST_URL,
    }
    credential = _own_credential(key_pair, credentialStatus=status)
    return node_sign(credential, key_pair, "eddsa-rdfc-2022")


def test_status_list_checked_when_given(
    key_pair: dict[str, str], credential_with_status: dict[str, Any]
) -> None:
    documents = {STATUS_LIST_URL: _status_list(key_pair, [41, 43])}
    answer = node_verify(credential_with_status, documents)
    assert answer["verified"] is True, answer["errors"]
    assert answer["status"]["checked"] is True
    assert answer["status"]["results"][0]["status"] is False
    assert answer["revoked"] is False


def test_status_list_reports_revocation(
    key_pair: dict[str, str], credential_with_status: dict[str, Any]
) -> None:
    documents = {STATUS_LIST_URL: _status_list(key_pair, [42])}
    answer = node_verify(credential_with_status, documents)
    assert answer["status"]["checked"] is True
    assert answer["status"]["results"][0]["status"] is True
    assert answer["revoked"] is True


def test_tampered_status_list_fails(
    key_pair: dict[str, str], credential_with_status: dict[str, Any]
) -> None:
    status_list = _status_list(key_pair, [42])
    status_list["credentialSubject"]["encodedList"] = _encoded_list([])
    answer = node_verify(credential_with_status, {STATUS_LIST_URL: status_list})
    assert answer["verified"] is False
    assert any("BitstringStatusListCredential" in e for e in answer["errors"])


def test_status_not_checked_without_the_list(credential_with_status: dict[str, Any]) -> None:
    answer = node_verify(credential_with_status)
    assert answer["verified"] is True, answer["errors"]
    assert answer["status"]["checked"] is False
    assert STATUS_LIST_URL in answer["status"]["reason"]
