"""Published credentials are signed Open Badges 3.0 credentials that Credo's verifier and
Digital Bazaar's verify, with status lists that follow revocation, suspension, re-addressing
and deletion, and keys that rotate without breaking what they signed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credo.adapters.signing.data_integrity import verify
from credo.adapters.signing.resolvers import Resolver
from tests.conftest import ADMIN, Org, create_org
from tests.interop.node import node_verify

BASE = "http://127.0.0.1:8000"  # Settings.base_url in tests


def fetch(client: TestClient, url: str) -> dict[str, Any]:
    assert url.startswith(BASE), url
    r = client.get(url.removeprefix(BASE), headers={"Accept": "application/vc"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vc")
    plain = client.get(url.removeprefix(BASE), headers={"Accept": "application/json"})
    assert plain.headers["content-type"].startswith("application/ld+json")
    assert plain.json() == r.json()
    body: dict[str, Any] = r.json()
    return body


def status_documents(client: TestClient, doc: dict[str, Any]) -> dict[str, Any]:
    return {
        e["statusListCredential"]: fetch(client, e["statusListCredential"])
        for e in doc["credentialStatus"]
    }


def credo_verify(doc: dict[str, Any]) -> bool:
    return verify(doc, resolve=Resolver()).ok


def issue(org: Org, group: str, email: str = "ann@x.org", **fields: Any) -> dict[str, Any]:
    r = org.issue(group, email, "Ann Lee", **fields)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()["credential"]
    return body


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_a_published_credential_is_a_verifiable_open_badge(client: TestClient, suite: str) -> None:
    org = create_org(client, sandbox=True, anchor="2026-01-15", cryptosuite=suite)
    g = org.group("Data Literacy", description="Twenty hours of data literacy.")
    cred = issue(org, g, "Ann@X.org", issued_on="2026-01-20", expires_on="2099-01-20")
    doc = fetch(client, f"{BASE}/c/{cred['id']}.json")

    assert doc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["id"] == f"{BASE}/c/{cred['id']}"
    assert doc["issuer"]["id"].startswith("did:key:z6Mk")
    assert (doc["validFrom"], doc["validUntil"]) == ("2026-01-20T00:00:00Z", "2099-01-20T00:00:00Z")
    subject = doc["credentialSubject"]
    assert subject["name"] == "Ann Lee"
    assert subject["achievement"]["name"] == "Data Literacy"
    ident = subject["identifier"][0]
    assert ident["identityHash"].startswith("sha256$") and ident["hashed"] is True
    assert "ann@x.org" not in json.dumps(doc).lower()
    assert [e["statusPurpose"] for e in doc["credentialStatus"]] == ["revocation", "suspension"]
    assert doc["proof"]["cryptosuite"] == suite

    assert credo_verify(doc)
    verdict = node_verify(doc, status_documents(client, doc))
    assert verdict["verified"], verdict["errors"]
    assert verdict["revoked"] is False and verdict["suspended"] is False


def test_revocation_and_suspension_reach_verifiers(org: Org, client: TestClient) -> None:
    g = org.group()
    cred = issue(org, g)
    doc = fetch(client, f"{BASE}/c/{cred['id']}.json")

    assert org.post(f"/v1/credentials/{cred['id']}/suspend").status_code == 200
    verdict = node_verify(doc, status_documents(client, doc))
    assert verdict["suspended"] is True and verdict["revoked"] is False
    assert org.post(f"/v1/credentials/{cred['id']}/unsuspend").status_code == 200
    assert node_verify(doc, status_documents(client, doc))["suspended"] is False

    used = org.used()
    r = org.post(f"/v1/credentials/{cred['id']}/revoke", {"reason": "issued in error"})
    assert r.status_code == 200, r.text
    assert r.json()["credential"]["revocation_reason"] == "issued in error"
    assert org.used() == used  # R6: no refund
    verdict = node_verify(doc, status_documents(client, doc))
    assert verdict["revoked"] is True
    assert org.post(f"/v1/credentials/{cred['id']}/revoke").status_code == 409
    assert (
        org.patch(f"/v1/credentials/{cred['id']}", {"expires_on": "2030-01-01"}).status_code == 409
    )


def test_a_new_version_leaves_no_old_copy_current(org: Org, client: TestClient) -> None:
    g = org.group()
    cred = issue(org, g)
    old = fetch(client, f"{BASE}/c/{cred['id']}.json")
    r = org.patch(f"/v1/credentials/{cred['id']}", {"recipient": {"email": "bea@x.org"}})
    assert r.status_code == 200, r.text
    new = fetch(client, f"{BASE}/c/{cred['id']}.json")
    assert new["credentialSubject"]["identifier"] != old["credentialSubject"]["identifier"]
    assert node_verify(old, status_documents(client, old))["revoked"] is True
    fresh = node_verify(new, status_documents(client, new))
    assert fresh["verified"] and fresh["revoked"] is False

    assert org.delete(f"/v1/credentials/{cred['id']}").status_code == 204
    assert client.get(f"/c/{cred['id']}.json").status_code == 404
    assert node_verify(new, status_documents(client, new))["revoked"] is True


def test_drafts_have_no_public_document(org: Org, client: TestClient) -> None:
    g = org.group()
    draft = issue(org, g, publish=False)
    assert client.get(f"/c/{draft['id']}.json").status_code == 404
    assert org.post(f"/v1/credentials/{draft['id']}/revoke").status_code == 409
    org.post(f"/v1/credentials/{draft['id']}/publish")
    assert credo_verify(fetch(client, f"{BASE}/c/{draft['id']}.json"))


def test_key_rotation_keeps_old_credentials_verifying(org: Org, client: TestClient) -> None:
    g = org.group()
    before = fetch(client, f"{BASE}/c/{issue(org, g)['id']}.json")
    r = client.post(f"/v1/admin/organizations/{org.id}/keys/rotate", headers=ADMIN)
    assert r.status_code == 200, r.text
    after = fetch(client, f"{BASE}/c/{issue(org, g, 'bob@x.org')['id']}.json")
    assert after["issuer"]["id"] != before["issuer"]["id"]
    assert after["issuer"]["id"].endswith(r.json()["key"]["public_key_multibase"])
    for doc in (before, after):
        assert credo_verify(doc)
        verdict = node_verify(doc, status_documents(client, doc))
        assert verdict["verified"] and verdict["revoked"] is False, verdict


def test_tampered_documents_fail(org: Org, client: TestClient) -> None:
    doc = fetch(client, f"{BASE}/c/{issue(org, org.group())['id']}.json")
    doc["credentialSubject"]["name"] = "Mallory"
    assert not credo_verify(doc)
    assert node_verify(doc, status_documents(client, doc))["verified"] is False


def test_unknown_status_lists_are_404(client: TestClient) -> None:
    for path in ("/status/key_" + "0" * 32 + "/revocation/0", "/status/nope/revocation/0"):
        r = client.get(path)
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_status_lists_are_signed_once_per_version(org: Org) -> None:
    """A list is re-signed only when its bits change; revalidation answers 304 until then."""
    gid = org.group("Status cache")
    first = org.issue(gid, "cache1@example.org").json()["credential"]["id"]
    org.issue(gid, "cache2@example.org")
    doc = org.client.get(f"/c/{first}.json").json()
    url = doc["credentialStatus"][0]["statusListCredential"]
    path = url[url.index("/status/") :]
    a, b = org.client.get(path), org.client.get(path)
    assert a.status_code == b.status_code == 200
    assert a.content == b.content  # the same signature: served from the cache
    etag = a.headers["etag"]
    again = org.client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    r = org.post(f"/v1/credentials/{first}/revoke", {"reason": "issued in error"})
    assert r.status_code == 200, r.text
    c = org.client.get(path, headers={"If-None-Match": etag})
    assert c.status_code == 200 and c.headers["etag"] != etag
    assert c.json()["proof"]["proofValue"] != a.json()["proof"]["proofValue"]
    assert (
        c.json()["credentialSubject"]["encodedList"] != a.json()["credentialSubject"]["encodedList"]
    )
    verdict = org.client.post("/credentials/verify", json={"verifiableCredential": doc})
    assert verdict.status_code == 400
    assert verdict.json()["verified"] is False
    assert verdict.json()["errors"][0]["title"] == "Credential revoked"
