"""An organization with a domain signs as did:web:<domain>: its DID document (every key it
ever had) is served at /.well-known/did.json for that Host and at /orgs/{id}/did.json, and
Credo's verifier (resolving our own did:web DIDs from the database) and Digital Bazaar's
verify what it signs, before and after a key rotation."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from fastapi.testclient import TestClient

from credo.adapters.signing.data_integrity import verify
from credo.adapters.signing.resolvers import Resolver
from tests.conftest import ADMIN, Org, create_org
from tests.integration.test_verifiable import BASE, fetch, issue, status_documents
from tests.interop.node import node_verify


def fresh_domain() -> str:
    """A domain no other organization of the (shared) test database has."""
    return f"badges-{uuid4().hex[:12]}.example.org"


def did_document(client: TestClient, org: Org) -> dict[str, Any]:
    r = client.get(f"/orgs/{org.id}/did.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/did+json")
    body: dict[str, Any] = r.json()
    return body


def credo_verify(client: TestClient, doc: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/credentials/verify", json={"verifiableCredential": doc})
    assert r.status_code in (200, 400), r.text  # 400: not verified
    body: dict[str, Any] = r.json()
    return body


def node_documents(client: TestClient, org: Org, doc: dict[str, Any]) -> dict[str, Any]:
    # dbvc.mjs serves a request's documents by URL, and a method `did:web:...#z6Mk...` from
    # the document keyed by its did: the DID document stands in for the did:web resolver.
    return {**status_documents(client, doc), doc["issuer"]["id"]: did_document(client, org)}


def rotate(client: TestClient, org: Org) -> str:
    r = client.post(f"/v1/admin/organizations/{org.id}/keys/rotate", headers=ADMIN)
    assert r.status_code == 200, r.text
    key: str = r.json()["key"]["public_key_multibase"]
    return key


def set_domain(client: TestClient, org: Org, domain: Any) -> Any:
    return client.patch(f"/v1/admin/organizations/{org.id}", json={"domain": domain}, headers=ADMIN)


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_a_domain_makes_the_issuer_did_web(client: TestClient, suite: str) -> None:
    domain = fresh_domain()
    did = f"did:web:{domain}"
    org = create_org(
        client, sandbox=True, anchor="2026-01-15", cryptosuite=suite, domain=domain.upper()
    )
    r = client.get(f"/v1/admin/organizations/{org.id}/subscription", headers=ADMIN)
    assert r.status_code == 200
    doc = fetch(client, f"{BASE}/c/{issue(org, org.group())['id']}.json")
    assert doc["issuer"]["id"] == did
    method = doc["proof"]["verificationMethod"]
    assert method.startswith(did + "#z6Mk")

    did_doc = did_document(client, org)
    assert did_doc["id"] == did
    assert [m["id"] for m in did_doc["verificationMethod"]] == [method]
    assert did_doc["assertionMethod"] == [method]
    assert did_doc["verificationMethod"][0]["type"] == "Multikey"
    assert did_doc["verificationMethod"][0]["controller"] == did

    # /.well-known/did.json answers by Host: did:web:<domain> -> https://<domain>/.well-known/did.json
    for host in (domain, f"{domain}:443", domain.upper()):
        r = client.get("/.well-known/did.json", headers={"Host": host})
        assert r.status_code == 200, r.text
        assert r.json() == did_doc
    assert client.get("/.well-known/did.json", headers={"Host": "other.example"}).status_code == (
        404
    )

    # the status lists carry the same issuer and are signed with the did:web method
    for status in status_documents(client, doc).values():
        assert status["issuer"] == did
        assert status["proof"]["verificationMethod"] == method

    result = credo_verify(client, doc)
    assert result["verified"], result
    assert {c["check"]: c["ok"] for c in result["checks"]} == {
        "structure": True,
        "signature": True,
        "issuer": True,
        "status": True,
        "validity": True,
    }
    # without the DID document, a did:web method is unresolvable (nothing is fetched)
    assert not verify(doc, resolve=Resolver()).ok
    assert verify(doc, resolve=Resolver({did: did_doc})).ok

    verdict = node_verify(doc, node_documents(client, org, doc))
    assert verdict["verified"], verdict
    assert verdict["status"]["checked"] and verdict["revoked"] is False, verdict


def test_rotation_keeps_did_web_credentials_verifying(client: TestClient) -> None:
    domain = fresh_domain()
    did = f"did:web:{domain}"
    org = create_org(client, sandbox=True, anchor="2026-01-15", domain=domain)
    g = org.group()
    first_key = did_document(client, org)["verificationMethod"][0]["publicKeyMultibase"]
    before = fetch(client, f"{BASE}/c/{issue(org, g)['id']}.json")
    new_key = rotate(client, org)
    after = fetch(client, f"{BASE}/c/{issue(org, g, 'bob@x.org')['id']}.json")

    assert before["issuer"]["id"] == after["issuer"]["id"] == did
    assert before["proof"]["verificationMethod"] == f"{did}#{first_key}"
    assert after["proof"]["verificationMethod"] == f"{did}#{new_key}"
    did_doc = did_document(client, org)
    assert did_doc["assertionMethod"] == [f"{did}#{first_key}", f"{did}#{new_key}"]

    for doc in (before, after):
        result = credo_verify(client, doc)
        assert result["verified"], result
        verdict = node_verify(doc, node_documents(client, org, doc))
        assert verdict["verified"] and verdict["revoked"] is False, verdict

    # revocation still shows through the did:web status list
    cred_id = after["id"].rsplit("/", 1)[1]
    r = org.post(f"/v1/credentials/{cred_id}/revoke", json={"reason": "test"})
    assert r.status_code == 200, r.text
    result = credo_verify(client, after)
    assert not result["verified"]
    assert node_verify(after, node_documents(client, org, after))["revoked"] is True


def test_the_domain_is_set_changed_and_dropped(client: TestClient) -> None:
    org = create_org(client, sandbox=True, anchor="2026-01-15")
    # the first key exists from creation: the DID document needs no publish first
    label = uuid4().hex[:8]
    ascii_name = f"bücher-{label}.example".encode("idna").decode()
    r = set_domain(client, org, f"bücher-{label}.example")
    assert r.status_code == 200, r.text
    assert r.json()["organization"]["domain"] == ascii_name
    did_doc = did_document(client, org)
    assert did_doc["id"] == f"did:web:{ascii_name}"
    assert len(did_doc["verificationMethod"]) == 1

    doc = fetch(client, f"{BASE}/c/{issue(org, org.group())['id']}.json")
    assert doc["issuer"]["id"] == f"did:web:{ascii_name}"
    assert credo_verify(client, doc)["verified"]

    # Once it has signed, the DID is fixed: its status lists are signed as that DID, and
    # credentials signed under another one would fail their verifiers' same-issuer check.
    for other in (None, f"other-{label}.example", ascii_name.upper()):
        r = set_domain(client, org, other)
        if other is not None and other.lower() == ascii_name:
            assert r.status_code == 200, r.text  # the same domain again changes nothing
        else:
            assert r.status_code == 409 and r.json()["code"] == "conflict", r.text
    assert credo_verify(client, doc)["verified"]

    fresh = create_org(client, sandbox=True, anchor="2026-01-15")
    assert set_domain(client, fresh, f"first-{label}.example").status_code == 200
    r = set_domain(client, fresh, None)
    assert r.status_code == 200 and r.json()["organization"]["domain"] is None
    assert client.get(f"/orgs/{fresh.id}/did.json").status_code == 404
    later = fetch(client, f"{BASE}/c/{issue(fresh, fresh.group('G2'), 'eve@x.org')['id']}.json")
    assert later["issuer"]["id"].startswith("did:key:z6Mk")
    assert credo_verify(client, later)["verified"]


@pytest.mark.parametrize(
    "domain",
    [
        "https://badges.example.org",
        "badges.example.org:8443",
        "badges.example.org/path",
        "localhost",
        "192.168.0.1",
        "-bad.example.org",
        "bad-.example.org",
        "a..example.org",
        "badges.example.org.",
        "bad_label.example.org",
        "has space.example.org",
        "",
        "x" * 64 + ".example.org",
        "[::1]",
        12,
    ],
)
def test_bad_domains_are_422(client: TestClient, domain: Any) -> None:
    r = client.post(
        "/v1/admin/organizations",
        json={"name": "Bad", "plan": "launch-250", "domain": domain},
        headers=ADMIN,
    )
    assert r.status_code == 422, r.text
    org = create_org(client)
    assert set_domain(client, org, domain).status_code == 422


def test_a_domain_belongs_to_one_organization(client: TestClient) -> None:
    domain = fresh_domain()
    first = create_org(client, domain=domain)
    r = client.post(
        "/v1/admin/organizations",
        json={"name": "Twin", "plan": "launch-250", "domain": domain.upper()},
        headers=ADMIN,
    )
    assert r.status_code == 409, r.text
    second = create_org(client)
    assert set_domain(client, second, domain).status_code == 409
    assert set_domain(client, first, domain).status_code == 200  # its own: unchanged


def test_without_a_domain_it_stays_did_key(org: Org, client: TestClient) -> None:
    doc = fetch(client, f"{BASE}/c/{issue(org, org.group())['id']}.json")
    assert doc["issuer"]["id"].startswith("did:key:z6Mk")
    assert doc["proof"]["verificationMethod"].startswith(doc["issuer"]["id"] + "#")
    assert client.get(f"/orgs/{org.id}/did.json").status_code == 404
    assert client.get("/.well-known/did.json", headers={"Host": "testserver"}).status_code == 404
    assert credo_verify(client, doc)["verified"]


def test_foreign_did_web_issuers_are_unresolvable(org: Org, client: TestClient) -> None:
    doc = fetch(client, f"{BASE}/c/{issue(org, org.group())['id']}.json")
    doc["issuer"]["id"] = "did:web:elsewhere.example"
    doc["proof"]["verificationMethod"] = "did:web:elsewhere.example#" + "z6Mk" + "x" * 44
    result = credo_verify(client, doc)
    assert not result["verified"]
    signature = next(c for c in result["checks"] if c["check"] == "signature")
    assert signature["ok"] is False and "nothing is fetched" in signature["detail"]


def test_vc_api_issue_signs_as_did_web(client: TestClient) -> None:
    domain = fresh_domain()
    did = f"did:web:{domain}"
    org = create_org(client, domain=domain)
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:123"},
    }
    r = org.post("/credentials/issue", json={"credential": credential})
    assert r.status_code == 201, r.text
    signed = r.json()["verifiableCredential"]
    assert signed["issuer"] == did
    assert signed["proof"]["verificationMethod"].startswith(did + "#")
    assert credo_verify(client, signed)["verified"]
