"""The W3C VC API (`/credentials/issue`, `/credentials/verify`, `/presentations/verify`) and
`credo verify`: every check named; tampered, revoked and expired credentials told apart;
issuing charges seats as publishing does; Digital Bazaar's libraries and Credo verify each
other's credentials; malformed bodies answer problem JSON, never a 500."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from typer.testing import CliRunner

from credo.adapters.db import tables as t
from credo.adapters.signing import KeyPair, sign
from credo.bootstrap import App
from credo.entrypoints.cli.main import app as cli
from credo.services.billing.audit import audit_organization
from credo.services.credentials.groups import VC_API_GROUP_NAME, vc_api_group_id
from tests.conftest import ADMIN, MASTER_KEY, Org, create_org
from tests.hypothesis_profiles import examples
from tests.interop.node import node_sign, node_verify

BASE = "http://127.0.0.1:8000"  # Settings.base_url in tests
PROBLEM = "application/problem+json"
CHECKS = ["structure", "signature", "issuer", "status", "validity"]
V2 = "https://www.w3.org/ns/credentials/v2"
V1 = "https://www.w3.org/2018/credentials/v1"
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"


# --------------------------------------------------------------------------- helpers


def published(org: Org, client: TestClient, email: str = "ann@x.org", **fields: Any) -> Any:
    """A credential published through /v1/credentials, as its public signed document."""
    group = fields.pop("group", None) or org.group()
    r = org.issue(group, email, "Ann Lee", **fields)
    assert r.status_code == 201, r.text
    doc = client.get(f"/c/{r.json()['credential']['id']}.json")
    assert doc.status_code == 200, doc.text
    return doc.json()


def verify(client: TestClient, doc: Any, path: str = "/credentials/verify", **body: Any) -> Any:
    name = "verifiablePresentation" if path.startswith("/presentations") else "verifiableCredential"
    return client.post(path, json={name: doc, **body})


def checks(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in body["checks"]}


def passed(r: Any) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    body: dict[str, Any] = r.json()
    assert body["verified"] is True and body["errors"] == [], body
    return body


def refused(r: Any, *failed: str, errors: list[str] | None = None) -> dict[str, Any]:
    """A 400 problem JSON whose failed checks are exactly `failed`, and whose errors name
    `errors` (by default: the failed checks)."""
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == PROBLEM
    body: dict[str, Any] = r.json()
    assert body["status"] == 400 and body["code"] == "verification_failed"
    assert body["verified"] is False
    assert [c["check"] for c in body["checks"] if c["ok"] is False] == list(failed), body
    expected = list(failed) if errors is None else errors
    assert [e["check"] for e in body["errors"]] == expected, body
    return body


def problem(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM, r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def credential(**fields: Any) -> dict[str, Any]:
    """An unsigned VC 2.0 credential for /credentials/issue."""
    return {
        "@context": [V2, EXAMPLES],
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "credentialSubject": {"degree": {"type": "ExampleBachelorDegree", "name": "BSc"}},
        **fields,
    }


def issue_vc(org: Org, cred: dict[str, Any], **kw: Any) -> Any:
    return org.post("/credentials/issue", {"credential": cred, "options": {}}, **kw)


def issued(org: Org, cred: dict[str, Any]) -> dict[str, Any]:
    r = issue_vc(org, cred)
    assert r.status_code == 201, r.text
    assert r.headers["content-type"] == "application/json"
    body: dict[str, Any] = r.json()
    assert set(body) == {"verifiableCredential", "credential_id", "credits_charged"}
    return body


def rows(credo: App, table: Any, org_id: str) -> int:
    with credo.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(table.c.organization_id == org_id)) or 0)


def key_pair() -> tuple[KeyPair, dict[str, str]]:
    pair = KeyPair.generate()
    return pair, {
        "publicKeyMultibase": pair.public_key_multibase,
        "secretKeyMultibase": pair.secret_key_multibase,
    }


# --------------------------------------------------------------------------- verifying


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_a_credo_credential_verifies_with_every_check_named(client: TestClient, suite: str) -> None:
    org = create_org(client, sandbox=True, anchor="2026-01-15", cryptosuite=suite)
    doc = published(org, client, expires_on="2099-01-01")
    body = passed(verify(client, doc, options={"checks": ["proof"]}))
    assert [c["check"] for c in body["checks"]] == CHECKS
    assert all(c["ok"] is True for c in body["checks"]), body
    assert body["warnings"] == []
    found = checks(body)
    assert suite in found["signature"]["detail"]
    assert "not revoked" in found["status"]["detail"]
    assert "not suspended" in found["status"]["detail"]


def test_a_tampered_credential_fails_naming_signature(org: Org, client: TestClient) -> None:
    doc = published(org, client)
    doc["credentialSubject"]["name"] = "Mallory"
    body = refused(verify(client, doc), "signature")
    assert [c["check"] for c in body["checks"]] == CHECKS
    assert "signature" in body["detail"]
    assert body["errors"][0]["type"].endswith("PROOF_VERIFICATION_ERROR")

    forged = copy.deepcopy(doc)
    forged["proof"]["proofValue"] = "z" + "1" * 80
    refused(verify(client, forged), "signature")
    unsigned = {k: v for k, v in doc.items() if k != "proof"}
    assert (
        "no proof" in checks(refused(verify(client, unsigned), "signature"))["signature"]["detail"]
    )


def test_revoked_and_suspended_credentials_fail_naming_status(org: Org, client: TestClient) -> None:
    g = org.group()
    r = org.issue(g, "ann@x.org", "Ann")
    cred_id = r.json()["credential"]["id"]
    doc = client.get(f"/c/{cred_id}.json").json()
    passed(verify(client, doc))

    assert org.post(f"/v1/credentials/{cred_id}/suspend").status_code == 200
    body = refused(verify(client, doc), "status")
    assert "suspended" in checks(body)["status"]["detail"]
    assert body["errors"][0]["title"] == "Credential suspended"
    assert org.post(f"/v1/credentials/{cred_id}/unsuspend").status_code == 200
    passed(verify(client, doc))

    assert org.post(f"/v1/credentials/{cred_id}/revoke", {"reason": "error"}).status_code == 200
    body = refused(verify(client, doc), "status")
    assert checks(body)["status"]["detail"].startswith("revoked")
    assert body["errors"][0]["title"] == "Credential revoked"
    assert checks(body)["signature"]["ok"] is True  # revoked, not forged


def test_an_old_version_fails_naming_status(org: Org, client: TestClient) -> None:
    g = org.group()
    cred_id = org.issue(g, "ann@x.org", "Ann").json()["credential"]["id"]
    old = client.get(f"/c/{cred_id}.json").json()
    assert (
        org.patch(f"/v1/credentials/{cred_id}", {"recipient": {"name": "Ann B"}}).status_code == 200
    )
    new = client.get(f"/c/{cred_id}.json").json()
    passed(verify(client, new))
    refused(verify(client, old), "status")


def test_an_expired_credential_verifies_as_expired_not_forged(org: Org, client: TestClient) -> None:
    # The verifier's clock (tests: 2026-02-01T12:00Z) is past validUntil.
    doc = published(org, client, issued_on="2025-01-01", expires_on="2026-01-20")
    body = refused(verify(client, doc), "validity")
    found = checks(body)
    assert found["validity"]["detail"].startswith("expired")
    assert body["errors"][0]["title"] == "Credential expired"
    assert all(found[name]["ok"] is True for name in ("structure", "signature", "issuer", "status"))

    future = published(org, client, "bob@x.org", issued_on="2026-06-01")
    body = refused(verify(client, future), "validity")
    assert checks(body)["validity"]["detail"].startswith("not yet valid")


def test_status_of_another_server_is_unchecked_never_fetched(client: TestClient) -> None:
    pair, _ = key_pair()
    doc = credential(
        issuer=pair.did,
        credentialStatus={
            "id": "https://status.example/lists/1#7",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "7",
            "statusListCredential": "https://status.example/lists/1",
        },
    )
    signed = sign(
        doc,
        key=pair,
        cryptosuite="eddsa-rdfc-2022",
        verification_method=pair.verification_method,
        created="2026-01-01T00:00:00Z",
    )
    body = passed(verify(client, signed))
    status = checks(body)["status"]
    assert status["ok"] is None and "nothing is fetched" in status["detail"]
    assert [w["check"] for w in body["warnings"]] == ["status"]


def test_a_status_entry_naming_our_server_but_no_list_fails(client: TestClient) -> None:
    pair, _ = key_pair()
    url = f"{BASE}/status/key_{'0' * 32}/revocation/0"
    doc = credential(
        issuer=pair.did,
        credentialStatus={
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "3",
            "statusListCredential": url,
        },
    )
    signed = sign(
        doc,
        key=pair,
        cryptosuite="eddsa-jcs-2022",
        verification_method=pair.verification_method,
        created=None,
    )
    assert "no status list" in checks(refused(verify(client, signed), "status"))["status"]["detail"]


def test_a_credential_signed_by_someone_else_than_its_issuer_fails_naming_issuer(
    client: TestClient,
) -> None:
    pair, _ = key_pair()
    other, _ = key_pair()
    signed = sign(
        credential(issuer=other.did),
        key=pair,
        cryptosuite="eddsa-rdfc-2022",
        verification_method=pair.verification_method,
        created="2026-01-01T00:00:00Z",
    )
    body = refused(verify(client, signed), "issuer")
    assert checks(body)["signature"]["ok"] is True
    assert other.did in checks(body)["issuer"]["detail"]


# --------------------------------------------------------------------------- interop


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_digital_bazaar_credentials_verify_here_and_tampered_ones_fail(
    client: TestClient, suite: Any
) -> None:
    pair, keys = key_pair()
    v2 = node_sign(credential(issuer=pair.did, validFrom="2026-01-01T00:00:00Z"), keys, suite)
    v1 = node_sign(
        {
            "@context": [V1, "https://www.w3.org/2018/credentials/examples/v1"],
            "type": ["VerifiableCredential", "AlumniCredential"],
            "issuer": pair.did,
            "issuanceDate": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:ebfeb1f712ebc6f1c276e12ec21", "alumniOf": "X"},
        },
        keys,
        suite,
    )
    for signed in (v2, v1):
        body = passed(verify(client, signed))
        assert all(c["ok"] is True for c in body["checks"]), body
        tampered = copy.deepcopy(signed)
        tampered["issuer"] = pair.did  # unchanged ...
        tampered["credentialSubject"]["id"] = "did:example:mallory"  # ... but not this
        refused(verify(client, tampered), "signature")


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "eddsa-jcs-2022"])
def test_what_the_vc_api_signs_verifies_with_digital_bazaar(client: TestClient, suite: str) -> None:
    org = create_org(client, sandbox=True, anchor="2026-01-15", cryptosuite=suite)
    for cred in (
        credential(credentialSubject={"id": "did:example:ann", "email": "ann@x.org"}),
        {
            "@context": [V1, "https://www.w3.org/2018/credentials/examples/v1"],
            "type": ["VerifiableCredential", "AlumniCredential"],
            "credentialSubject": {"id": "did:example:bob", "alumniOf": "Example University"},
        },
    ):
        signed = issued(org, cred)["verifiableCredential"]
        assert signed["proof"]["cryptosuite"] == suite
        verdict = node_verify(signed)
        assert verdict["verified"], verdict["errors"]
        passed(verify(client, signed))


# --------------------------------------------------------------------------- presentations


def test_a_presentation_of_a_credo_credential_verifies(org: Org, client: TestClient) -> None:
    doc = published(org, client)
    vp = {"@context": [V2], "type": ["VerifiablePresentation"], "verifiableCredential": [doc]}
    body = passed(verify(client, vp, "/presentations/verify"))
    found = checks(body)
    assert found["signature"]["ok"] is None  # not signed: a warning, not a failure
    assert found["credentials"]["ok"] is True
    assert [c["check"] for c in body["credentials"][0]["checks"]] == CHECKS
    assert body["credentials"][0]["verified"] is True

    holder, _ = key_pair()
    signed = sign(
        {**vp, "holder": holder.did},
        key=holder,
        cryptosuite="eddsa-rdfc-2022",
        verification_method=holder.verification_method,
        created="2026-01-01T00:00:00Z",
        proof_purpose="authentication",
    )
    body = passed(verify(client, signed, "/presentations/verify"))
    assert checks(body)["signature"]["ok"] is True and checks(body)["holder"]["ok"] is True

    tampered = copy.deepcopy(signed)
    tampered["verifiableCredential"][0]["credentialSubject"]["name"] = "Mallory"
    body = refused(
        verify(client, tampered, "/presentations/verify"),
        "signature",
        "credentials",
        errors=["signature", "signature"],
    )
    assert body["errors"][1] == {**body["errors"][1], "check": "signature", "credential": 0}

    body = refused(
        verify(client, signed, "/presentations/verify", options={"challenge": "abc"}),
        "challenge",
    )
    someone, _ = key_pair()
    other = sign(
        {**vp, "holder": someone.did},
        key=holder,
        cryptosuite="eddsa-jcs-2022",
        verification_method=holder.verification_method,
        created=None,
        proof_purpose="authentication",
    )
    refused(verify(client, other, "/presentations/verify"), "holder")


def test_a_presentation_of_a_revoked_credential_fails(org: Org, client: TestClient) -> None:
    g = org.group()
    cred_id = org.issue(g, "ann@x.org", "Ann").json()["credential"]["id"]
    doc = client.get(f"/c/{cred_id}.json").json()
    org.post(f"/v1/credentials/{cred_id}/revoke")
    vp = {"@context": [V2], "type": ["VerifiablePresentation"], "verifiableCredential": doc}
    body = refused(verify(client, vp, "/presentations/verify"), "credentials", errors=["status"])
    assert body["errors"][0]["credential"] == 0
    assert body["credentials"][0]["verified"] is False


# --------------------------------------------------------------------------- issuing


def test_issuing_charges_one_seat_per_email(org: Org, client: TestClient) -> None:
    def charged(subject: dict[str, Any]) -> int:
        return int(issued(org, credential(credentialSubject=subject))["credits_charged"])

    assert charged({"email": "Ann@X.org", "name": "Ann"}) == 1
    assert charged({"email": "ann@x.org "}) == 0  # R2: the same recipient key
    unhashed = {
        "type": "IdentityObject",
        "identityType": "emailAddress",
        "hashed": False,
        "identityHash": "ANN@x.org",
    }
    assert charged({"identifier": [unhashed]}) == 0
    assert charged({"id": "mailto:ann@x.org"}) == 0
    assert org.used() == 1
    # A seat held through /v1/credentials counts too, and the other way round (R1).
    published(org, client, "bea@x.org")
    assert org.used() == 2
    assert charged({"email": "bea@x.org"}) == 0
    assert charged({"email": "cid@x.org"}) == 1
    assert org.issue(org.group(), "cid@x.org").json()["credits_charged"] == 0
    # A hashed identity is no e-mail: keyed by the subject's id instead.
    hashed = {**unhashed, "hashed": True, "identityHash": "sha256$" + "0" * 64, "salt": "s"}
    assert charged({"id": "did:example:dan", "identifier": hashed}) == 1
    assert charged({"id": "did:example:dan"}) == 0
    assert org.used() == 4


def test_without_email_or_id_each_credential_takes_a_seat(org: Org) -> None:
    for _ in range(3):
        assert issued(org, credential())["credits_charged"] == 1
    assert org.used() == 3
    ledger = org.get("/v1/credits/ledger").json()["entries"]
    assert [e["reason"] for e in ledger] == ["publish"] * 3
    assert len({e["recipient"] for e in ledger}) == 3


def test_a_malformed_email_is_refused(org: Org) -> None:
    r = issue_vc(org, credential(credentialSubject={"email": "not-an-address"}))
    body = problem(r, 422)
    assert body["errors"][0]["field"] == "credential.credentialSubject.email"
    assert org.used() == 0


def test_without_credits_nothing_is_issued_or_stored(client: TestClient, credo: App) -> None:
    org = create_org(client, plan="connect", credits=1, sandbox=True, anchor="2026-01-15")
    assert issued(org, credential(credentialSubject={"email": "ann@x.org"}))["credits_charged"] == 1
    before = {
        tbl.name: rows(credo, tbl, org.id) for tbl in (t.credentials, t.ledger_entries, t.seats)
    }
    r = issue_vc(org, credential(credentialSubject={"email": "bob@x.org"}))
    body = problem(r, 402)
    assert (body["credits_required"], body["credits_remaining"]) == (1, 0)
    after = {
        tbl.name: rows(credo, tbl, org.id) for tbl in (t.credentials, t.ledger_entries, t.seats)
    }
    assert after == before
    # The recipient who holds a seat still receives, for free (R1).
    assert issued(org, credential(credentialSubject={"email": "ANN@x.org"}))["credits_charged"] == 0


def test_an_issued_credential_is_a_published_credential_of_the_vc_api_group(
    org: Org, client: TestClient, credo: App
) -> None:
    answer = issued(
        org,
        credential(
            credentialSubject={"email": "ann@x.org", "name": "Ann"},
            validFrom="2026-01-10T00:00:00Z",
            validUntil="2027-01-10T00:00:00Z",
        ),
    )
    cred_id = answer["credential_id"]
    row = org.get(f"/v1/credentials/{cred_id}").json()["credential"]
    assert row["group_id"] == vc_api_group_id(org.id)
    assert row["status"] == "published" and row["seat_year"] == 0
    assert row["recipient"] == {"name": "Ann", "email": "ann@x.org"}
    assert (row["issued_on"], row["expires_on"]) == ("2026-01-10", "2027-01-10")
    assert org.get(f"/v1/groups/{row['group_id']}").json()["group"]["name"] == VC_API_GROUP_NAME
    assert client.get(f"/c/{cred_id}.json").json() == answer["verifiableCredential"]
    ledger = org.get("/v1/credits/ledger").json()["entries"]
    assert [(e["credential_id"], e["recipient"]) for e in ledger] == [(cred_id, "ann@x.org")]
    # One group for all of them.
    second = issued(org, credential(credentialSubject={"id": "did:example:bob"}))
    group_of = org.get(f"/v1/credentials/{second['credential_id']}").json()["credential"]
    assert group_of["group_id"] == row["group_id"]
    report = credo.runner.read(lambda uow: audit_organization(uow, credo.clock, org.id))
    assert report.ok, report.problems

    # Its document is the organization's own: Credo does not rewrite it, nor publish into
    # the VC API group from /v1/credentials.
    assert org.patch(f"/v1/credentials/{cred_id}", {"expires_on": "2030-01-01"}).status_code == 409
    assert org.issue(row["group_id"], "x@x.org").status_code == 409
    # R7: deleting the recipient's only credential releases the seat.
    assert org.delete(f"/v1/credentials/{cred_id}").status_code == 204
    assert client.get(f"/c/{cred_id}.json").status_code == 404
    assert issued(org, credential(credentialSubject={"email": "ann@x.org"}))["credits_charged"] == 1
    report = credo.runner.read(lambda uow: audit_organization(uow, credo.clock, org.id))
    assert report.ok, report.problems


def test_the_issuer_is_the_organization(org: Org, client: TestClient) -> None:
    first = issued(org, credential())["verifiableCredential"]
    did = first["issuer"]
    assert did.startswith("did:key:z6Mk")
    assert list(first)[:3] == ["@context", "type", "issuer"]
    assert first["proof"]["verificationMethod"].startswith(did + "#")

    profile = issued(org, credential(issuer={"name": "Example U"}))["verifiableCredential"]
    assert profile["issuer"] == {"id": did, "name": "Example U"}
    assert issued(org, credential(issuer=did))["verifiableCredential"]["issuer"] == did
    for wrong, field in (
        ("did:example:someone-else", "credential.issuer"),
        ({"id": "did:example:someone-else"}, "credential.issuer.id"),
        ("not a url", "credential.issuer"),
        (None, "credential.issuer"),
        ({"id": None}, "credential.issuer.id"),
    ):
        body = problem(issue_vc(org, credential(issuer=wrong)), 422)
        assert [e["field"] for e in body["errors"]] == [field], body
    # After a key rotation the new DID signs; the old one is refused as an issuer.
    r = client.post(f"/v1/admin/organizations/{org.id}/keys/rotate", headers=ADMIN)
    assert r.status_code == 200
    problem(issue_vc(org, credential(issuer=did)), 422)
    assert issued(org, credential())["verifiableCredential"]["issuer"] != did
    passed(verify(client, first))


def test_a_vc_11_credential_gets_an_issuance_date(org: Org, client: TestClient) -> None:
    signed = issued(
        org,
        {
            "@context": [V1, "https://www.w3.org/2018/credentials/examples/v1"],
            "type": ["VerifiableCredential", "AlumniCredential"],
            "credentialSubject": {"id": "did:example:bob", "alumniOf": "Example University"},
        },
    )["verifiableCredential"]
    assert signed["issuanceDate"] == "2026-01-15T00:00:00Z"  # the sandbox clock
    assert "https://w3id.org/security/data-integrity/v2" in signed["@context"]
    passed(verify(client, signed))


def test_undefined_terms_are_refused_naming_them(org: Org) -> None:
    cred = {
        "@context": [V1],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:1", "favoriteColor": "blue"},
    }
    body = problem(issue_vc(org, cred), 422)
    assert body["code"] == "undefined_terms" and "favoriteColor" in body["terms"]
    assert org.used() == 0


def test_issuing_is_idempotent(org: Org) -> None:
    key = {"Idempotency-Key": "vc-1"}
    cred = credential(credentialSubject={"email": "ann@x.org"})
    first = issue_vc(org, cred, headers=key)
    again = issue_vc(org, cred, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert org.used() == 1
    assert len(org.get("/v1/credits/ledger").json()["entries"]) == 1
    problem(issue_vc(org, credential(), headers=key), 409)


def test_issuing_needs_the_organizations_key(client: TestClient) -> None:
    r = client.post("/credentials/issue", json={"credential": credential()})
    assert problem(r, 401)["code"] == "unauthorized"
    r = client.post(
        "/credentials/issue",
        json={"credential": credential()},
        headers={"Authorization": "Bearer credo_sk_nope"},
    )
    problem(r, 401)


# --------------------------------------------------------------------------- bad input

DEEP: Any = {"a": 1}
for _ in range(200):
    DEEP = {"a": DEEP}

BAD_CREDENTIALS = [
    pytest.param(
        {"credentialSubject": {"id": "did:example:1"}}, "credential.@context", id="no-context"
    ),
    pytest.param(
        credential(**{"@context": [EXAMPLES]}), "credential.@context", id="no-base-context"
    ),
    pytest.param(
        credential(**{"@context": [V2, 42]}), "credential.@context.1", id="context-number"
    ),
    pytest.param(credential(type=["ExampleDegreeCredential"]), "credential.type", id="no-vc-type"),
    pytest.param(
        {"@context": [V2], "type": ["VerifiableCredential"]},
        "credential.credentialSubject",
        id="no-subject",
    ),
    pytest.param(
        credential(credentialSubject={}), "credential.credentialSubject", id="empty-subject"
    ),
    pytest.param(credential(id=["urn:a", "urn:b"]), "credential.id", id="two-ids"),
    pytest.param(credential(validFrom="yesterday"), "credential.validFrom", id="bad-date"),
    pytest.param(credential(validFrom="2026-01-10T00:00:00"), "credential.validFrom", id="no-zone"),
    pytest.param(
        credential(validFrom="2027-01-01T00:00:00Z", validUntil="2026-01-01T00:00:00Z"),
        "credential.validUntil",
        id="ends-before-start",
    ),
    pytest.param(
        credential(credentialStatus={"id": "urn:s"}),
        "credential.credentialStatus.type",
        id="status-no-type",
    ),
    pytest.param(
        credential(credentialSchema={"type": "JsonSchema"}),
        "credential.credentialSchema.id",
        id="schema-no-id",
    ),
    pytest.param(credential(evidence=[{}]), "credential.evidence.0.type", id="evidence-no-type"),
    pytest.param(
        credential(name={"@value": "x", "@language": "en", "url": "urn:x"}),
        "credential.name",
        id="name-extra",
    ),
    pytest.param(
        credential(proof={"type": "DataIntegrityProof"}), "credential.proof", id="has-proof"
    ),
    pytest.param(
        credential(credentialSubject={"n": 2**60}), "credential.credentialSubject.n", id="huge-int"
    ),
    pytest.param(credential(credentialSubject={"deep": DEEP}), "credential", id="deep"),
    pytest.param(
        credential(credentialSubject={"email": 7}),
        "credential.credentialSubject.email",
        id="email-number",
    ),
]


@pytest.mark.parametrize("cred, field", BAD_CREDENTIALS)
def test_malformed_credentials_are_refused_naming_the_field(
    org: Org, cred: dict[str, Any], field: str
) -> None:
    body = problem(issue_vc(org, cred), 422)
    assert field in [e["field"] for e in body["errors"]], body
    assert org.used() == 0


@pytest.mark.parametrize(
    "cred, code",
    [
        pytest.param(
            credential(**{"@context": [V2, "https://example.org/ctx"]}),
            "unknown_context",
            id="unknown-context",
        ),
        pytest.param(
            credential(**{"@context": [V2, {"@vocab": None}]}), "invalid_document", id="null-vocab"
        ),
        pytest.param(
            credential(**{"@context": [V2, {"VerifiableCredential": "https://example.org/#Bad"}]}),
            "invalid_document",
            id="protected-term",
        ),
    ],
)
def test_what_json_ld_refuses_is_a_422(org: Org, cred: dict[str, Any], code: str) -> None:
    assert problem(issue_vc(org, cred), 422)["code"] == code
    assert org.used() == 0


MALFORMED_BODIES = [
    pytest.param(b"not json", id="not-json"),
    pytest.param(b"[]", id="array"),
    pytest.param(b"{}", id="empty"),
    pytest.param(b'{"credential": "x"}', id="string"),
    pytest.param(b'{"credential": {}, "extra": 1}', id="extra-member"),
    pytest.param(b'{"credential": ' + b"[" * 5000 + b"]" * 5000 + b"}", id="deep-array"),
    pytest.param(b'{"credential": {"@context": NaN}}', id="nan"),
    pytest.param(b'{"credential": {"a": "\\ud800"}}', id="lone-surrogate"),
]


@pytest.mark.parametrize("raw", MALFORMED_BODIES)
def test_malformed_issue_bodies_are_problem_json(org: Org, raw: bytes) -> None:
    r = org.client.post(
        "/credentials/issue",
        content=raw,
        headers={**org.auth, "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500, r.text
    problem(r, r.status_code)
    assert org.used() == 0


@pytest.mark.parametrize("path", ["/credentials/verify", "/presentations/verify"])
@pytest.mark.parametrize(
    "raw",
    [
        *MALFORMED_BODIES,
        pytest.param(
            b'{"verifiableCredential": {"type": ["NonconformingDocument"]}}', id="nonconforming"
        ),
        pytest.param(
            b'{"verifiablePresentation": {"type": ["NonconformingDocument"]}}',
            id="nonconforming-vp",
        ),
        pytest.param(
            b'{"verifiableCredential": {"proof": 5, "credentialStatus": [1, {}]}}', id="garbage-vc"
        ),
        pytest.param(
            b'{"verifiablePresentation": {"proof": [null], "holder": 3, "verifiableCredential": ["x", {"proof": {}}]}}',
            id="garbage-vp",
        ),
        pytest.param(
            b'{"verifiableCredential": {"issuer": "\\ud800", "proof": {"verificationMethod": "\\udfff"}}}',
            id="surrogates",
        ),
        pytest.param(b'{"verifiableCredential": {}, "options": {"challenge": 5}}', id="bad-option"),
    ],
)
def test_malformed_verify_bodies_are_problem_json(
    client: TestClient, path: str, raw: bytes
) -> None:
    r = client.post(path, content=raw, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    problem(r, r.status_code)


def test_garbage_status_entries_fail_without_a_crash(client: TestClient) -> None:
    pair, _ = key_pair()
    for entry in (
        {
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "x1",
            "statusListCredential": f"{BASE}/s",
        },
        {
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": 3,
            "statusListCredential": f"{BASE}/s",
        },
        {
            "type": "BitstringStatusListEntry",
            "statusPurpose": "message",
            "statusListIndex": "1",
            "statusListCredential": f"{BASE}/status/key_{'0' * 32}/message/0",
        },
    ):
        signed = sign(
            credential(issuer=pair.did, credentialStatus=entry),
            key=pair,
            cryptosuite="eddsa-jcs-2022",
            verification_method=pair.verification_method,
            created=None,
        )
        refused(verify(client, signed), "status")


# --------------------------------------------------------------------------- credo verify


def test_credo_verify_prints_the_checks_and_exits_by_verdict(
    org: Org, client: TestClient, database_url: str, tmp_path: Path
) -> None:
    env = {
        "CREDO_DATABASE_URL": database_url,
        "CREDO_ENVIRONMENT": "test",
        "CREDO_MASTER_KEY": MASTER_KEY,
    }

    def run(*args: str) -> Any:
        return CliRunner().invoke(cli, ["verify", *args], env=env)

    g = org.group()
    cred_id = org.issue(g, "ann@x.org", "Ann", expires_on="2099-01-01").json()["credential"]["id"]
    doc = client.get(f"/c/{cred_id}.json").json()
    good = tmp_path / "good.json"
    good.write_text(json.dumps(doc))
    r = run(str(good))
    assert r.exit_code == 0, r.output
    for name in CHECKS:
        assert name in r.output
    assert "verified" in r.output and "not revoked" in r.output
    assert "did:key:z6Mk" in r.output and "\N{KEY}" not in r.output  # Rich emoji codes off

    doc["credentialSubject"]["name"] = "Mallory"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"verifiableCredential": doc}))  # a VC API answer is unwrapped
    r = run(str(bad))
    assert r.exit_code == 1, r.output
    assert "NOT verified" in r.output and "signature" in r.output

    org.post(f"/v1/credentials/{cred_id}/revoke")
    r = run(str(good))
    assert r.exit_code == 1 and "revoked" in r.output, r.output

    for unreadable in (str(tmp_path / "missing.json"), str(tmp_path), "http://127.0.0.1:9/c.json"):
        r = run(unreadable)
        assert r.exit_code == 2, r.output
        assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output
        assert r.output.startswith("error: cannot read")
    (tmp_path / "broken.json").write_text("{not json")
    r = run(str(tmp_path / "broken.json"))
    assert r.exit_code == 2 and "cannot read" in r.output


# --------------------------------------------------------------------------- random input

VC_KEYS = [
    "@context",
    "id",
    "type",
    "issuer",
    "credentialSubject",
    "validFrom",
    "validUntil",
    "issuanceDate",
    "credentialStatus",
    "statusPurpose",
    "statusListIndex",
    "statusListCredential",
    "proof",
    "verificationMethod",
    "cryptosuite",
    "proofPurpose",
    "proofValue",
    "challenge",
    "domain",
    "holder",
    "verifiableCredential",
    "email",
    "identifier",
    "identityType",
    "identityHash",
    "hashed",
    "name",
]
vc_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            V2,
            V1,
            EXAMPLES,
            "VerifiableCredential",
            "VerifiablePresentation",
            "BitstringStatusListEntry",
            "IdentityObject",
            "emailAddress",
            "DataIntegrityProof",
            "eddsa-rdfc-2022",
            "eddsa-jcs-2022",
            "assertionMethod",
            "did:example:1",
            "did:key:z6MkrePwZHDcbSAfFsypAER8BhpTqT4pfv1iQNcfk44nXzLB",
            "ann@x.org",
            "revocation",
            f"{BASE}/status/key_{'0' * 32}/revocation/0",
            "2026-01-01T00:00:00Z",
            "7",
        ]
    )
)
vc_values = st.recursive(
    vc_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(VC_KEYS), children, max_size=6)
    ),
    max_leaves=20,
)
RANDOM = settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def never_a_server_error(r: Any) -> None:
    assert r.status_code < 500, r.text[:500]
    if r.status_code >= 400:
        problem(r, r.status_code)


def test_random_documents_never_break_the_verifiers(client: TestClient) -> None:
    @RANDOM
    @given(doc=st.dictionaries(st.sampled_from(VC_KEYS), vc_values, max_size=8))
    def check(doc: dict[str, Any]) -> None:
        never_a_server_error(verify(client, doc))
        never_a_server_error(verify(client, doc, "/presentations/verify"))

    check()


def test_a_credential_changed_at_random_never_breaks_the_verifier(
    org: Org, client: TestClient
) -> None:
    doc = published(org, client)
    places = [
        *((None, key) for key in doc),
        *(("proof", key) for key in ("created", "proofValue", "verificationMethod", "cryptosuite")),
        *(
            ("credentialStatus", key)
            for key in ("statusListIndex", "statusListCredential", "statusPurpose", "type")
        ),
    ]

    @RANDOM
    @given(place=st.sampled_from(places), value=vc_values)
    def check(place: tuple[str | None, str], value: Any) -> None:
        changed = copy.deepcopy(doc)
        parent, key = place
        target = changed if parent is None else changed[parent]
        (target[0] if isinstance(target, list) else target)[key] = value
        never_a_server_error(verify(client, changed))
        vp = {"@context": [V2], "type": ["VerifiablePresentation"], "verifiableCredential": changed}
        never_a_server_error(verify(client, vp, "/presentations/verify"))

    check()


def test_random_credentials_never_break_the_issuer(org: Org) -> None:
    @RANDOM
    @given(
        doc=st.fixed_dictionaries(
            {"@context": st.just([V2]), "type": st.just(["VerifiableCredential"])},
            optional={k: vc_values for k in VC_KEYS if k not in ("@context", "type")},
        )
    )
    def check(doc: dict[str, Any]) -> None:
        never_a_server_error(issue_vc(org, doc))

    check()


def test_a_presentation_of_too_many_credentials_is_refused(org: Org, client: TestClient) -> None:
    doc = published(org, client)
    vp = {"@context": [V2], "type": ["VerifiablePresentation"], "verifiableCredential": [doc] * 101}
    body = refused(verify(client, vp, "/presentations/verify"), "credentials")
    assert "at most 100" in body["errors"][0]["detail"]


# --------------------------------------------------------------------------- status (VC API)


def status_lists(client: TestClient, doc: dict[str, Any]) -> dict[str, Any]:
    """The signed status list credentials a credential's entries point at, by URL."""
    found = {}
    for entry in doc["credentialStatus"]:
        url = entry["statusListCredential"]
        r = client.get(url.removeprefix(BASE))
        assert url.startswith(BASE) and r.status_code == 200, r.text
        found[url] = r.json()
    return found


def set_status(org: Org, credential_id: str, purpose: str, **body: Any) -> Any:
    entry = {"type": "BitstringStatusListEntry", "statusPurpose": purpose}
    return org.post(
        "/credentials/status",
        {"credentialId": credential_id, "credentialStatus": [entry], **body},
    )


def test_an_issued_credential_carries_credo_status_entries(
    org: Org, client: TestClient, credo: App
) -> None:
    body = issued(org, credential(id="urn:uuid:3f1c0e6a-0000-4000-8000-000000000001"))
    doc = body["verifiableCredential"]
    entries = doc["credentialStatus"]
    assert [e["type"] for e in entries] == ["BitstringStatusListEntry"] * 2
    assert [e["statusPurpose"] for e in entries] == ["revocation", "suspension"]
    assert len({e["statusListIndex"] for e in entries}) == 1
    published_doc = published(org, client)  # publishing takes the next position
    assert int(published_doc["credentialStatus"][0]["statusListIndex"]) == (
        int(entries[0]["statusListIndex"]) + 1
    )
    key_id = doc["credentialStatus"][0]["statusListCredential"].split("/")[-3]
    assert key_id == published_doc["credentialStatus"][0]["statusListCredential"].split("/")[-3]
    with credo.engine.connect() as conn:
        index = conn.scalar(
            select(t.credentials.c.status_index).where(t.credentials.c.id == body["credential_id"])
        )
    assert index == int(entries[0]["statusListIndex"])
    found = checks(passed(verify(client, doc)))
    assert "not revoked" in found["status"]["detail"]
    assert "not suspended" in found["status"]["detail"]


def test_a_given_credential_status_is_kept_and_vc11_gets_none(org: Org) -> None:
    theirs = {
        "id": "https://status.example/lists/1#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": "https://status.example/lists/1",
    }
    doc = issued(org, credential(credentialStatus=theirs))["verifiableCredential"]
    assert doc["credentialStatus"] == theirs
    r = set_status(org, "https://status.example/lists/1#7", "revocation")
    problem(r, 404)
    v11 = {
        "@context": [V1, "https://www.w3.org/2018/credentials/examples/v1"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": "did:example:ann"},
    }
    assert "credentialStatus" not in issued(org, v11)["verifiableCredential"]
    off = org.post(
        "/credentials/issue",
        {"credential": credential(), "options": {"credentialStatus": False}},
    )
    assert off.status_code == 201, off.text
    assert "credentialStatus" not in off.json()["verifiableCredential"]
    problem(set_status(org, off.json()["credential_id"], "revocation"), 409)


def test_update_status_revokes_by_the_credentials_id(org: Org, client: TestClient) -> None:
    doc = issued(org, credential(id="urn:uuid:3f1c0e6a-0000-4000-8000-000000000002"))[
        "verifiableCredential"
    ]
    passed(verify(client, doc))
    r = set_status(org, doc["id"], "revocation")
    assert r.status_code == 200, r.text
    assert r.json()["revoked"] is True and r.json()["suspended"] is False
    body = refused(verify(client, doc), "status")
    assert checks(body)["status"]["detail"].startswith("revoked")
    assert checks(body)["signature"]["ok"] is True
    problem(set_status(org, doc["id"], "revocation"), 409)  # already revoked, for good

    verdict = node_verify(doc, status_lists(client, doc))
    # vc's own `verified` is about the proof; the status verdict is its own member.
    assert verdict["revoked"] is True and verdict["suspended"] is False, verdict


def test_update_status_suspends_and_lifts_by_credo_id(org: Org, client: TestClient) -> None:
    body = issued(org, credential())  # no `id`: Credo's credential id names it
    doc, cred_id = body["verifiableCredential"], body["credential_id"]
    fresh = node_verify(doc, status_lists(client, doc))
    assert fresh["verified"] and fresh["revoked"] is False and fresh["suspended"] is False, fresh

    r = set_status(org, cred_id, "suspension")
    assert r.status_code == 200, r.text
    assert r.json() == {"credential_id": cred_id, "revoked": False, "suspended": True}
    body = refused(verify(client, doc), "status")
    assert "suspended" in checks(body)["status"]["detail"]
    assert node_verify(doc, status_lists(client, doc))["suspended"] is True

    assert set_status(org, cred_id, "suspension", status=False).status_code == 200
    passed(verify(client, doc))
    problem(set_status(org, cred_id, "revocation", status=False), 409)
    passed(verify(client, doc))


def test_update_status_of_an_unknown_or_foreign_credential_is_404(
    org: Org, client: TestClient
) -> None:
    other = create_org(client, sandbox=True, anchor="2026-01-15")
    theirs = issued(other, credential(id="urn:uuid:3f1c0e6a-0000-4000-8000-000000000003"))
    for name in (theirs["credential_id"], "urn:uuid:3f1c0e6a-0000-4000-8000-000000000003"):
        assert set_status(org, name, "revocation").headers["content-type"] == PROBLEM
        problem(set_status(org, name, "revocation"), 404)
    problem(set_status(org, "cred_nope", "suspension"), 404)
    passed(verify(client, theirs["verifiableCredential"]))
    problem(set_status(org, theirs["credential_id"], "expiry"), 422)
    anonymous = client.post(
        "/credentials/status",
        json={"credentialId": "x", "credentialStatus": [{"statusPurpose": "revocation"}]},
    )
    assert anonymous.status_code == 401, anonymous.text
