"""The audit log of staff actions through the API: every change an API key makes is an
entry with who, when, from where, what, before and after, written in the change's own
transaction, listed newest first with cursors, and never holding a secret."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from credo.bootstrap import App
from tests.conftest import Org, create_org


def _log(org: Org, **params: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        r = org.get("/v1/audit-log", params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        entries += body["entries"]
        cursor = body["next_cursor"]
        if cursor is None:
            return entries


def _key_id(org: Org) -> str:
    entries = _log(org, action="api_key.created")
    assert len(entries) == 1
    return str(entries[0]["target"]["id"])


def test_every_change_an_api_key_makes_is_an_entry(org: Org) -> None:
    key_id = _key_id(org)
    dept = org.post("/v1/departments", {"name": "Law", "credit_cap": 5}).json()["department"]
    g = org.group("Course", department_id=dept["id"])
    r = org.issue(g, "ann@x.org", "Ann")
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]["id"]
    r = org.post(
        "/v1/credentials/bulk",
        {
            "group_id": g,
            "credentials": [{"recipient": {"name": n, "email": f"{n}@x.org"}} for n in "bc"],
        },
    )
    assert r.status_code == 201, r.text
    bulk_ids = [c["id"] for c in r.json()["credentials"]]
    assert (
        org.patch(f"/v1/credentials/{cred}", {"recipient": {"name": "Ann Lee"}}).status_code == 200
    )
    assert org.post(f"/v1/credentials/{bulk_ids[0]}/revoke", {"reason": "error"}).status_code == 200
    assert org.delete(f"/v1/credentials/{bulk_ids[1]}").status_code == 204
    assert org.patch(f"/v1/departments/{dept['id']}", {"credit_cap": 9}).status_code == 200
    assert org.patch(f"/v1/groups/{g}", {"name": "Course 2"}).status_code == 200

    entries = _log(org)
    actions = [e["action"] for e in entries]
    assert actions == [
        "group.updated",
        "department.updated",
        "credential.deleted",
        "credential.revoked",
        "credential.edited",
        "credentials.bulk_published",
        "credential.published",
        "group.created",
        "department.created",
        "api_key.created",
    ]
    # Newest first, ids strictly descending: the cursor order.
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    for e in entries[:-1]:  # the key's own creation is the operator's
        assert e["actor"] == {
            "type": "api_key",
            "id": key_id,
            "label": "API key “Created with the organization”",
            "ip_address": "testclient",
        }, e
    assert entries[-1]["actor"]["type"] == "operator"
    by_action = {e["action"]: e for e in entries}
    published = by_action["credential.published"]
    assert published["target"] == {"type": "credential", "id": cred}
    assert published["before"] is None
    assert published["after"]["recipient_email"] == "ann@x.org"
    assert published["after"]["group_id"] == g
    edited = by_action["credential.edited"]
    assert edited["before"] == {"recipient_name": "Ann"}
    assert edited["after"] == {"recipient_name": "Ann Lee"}
    revoked = by_action["credential.revoked"]
    assert revoked["before"] == {"revoked": False, "revocation_reason": None}
    assert revoked["after"] == {"revoked": True, "revocation_reason": "error"}
    assert by_action["credential.deleted"]["after"] is None
    assert by_action["credential.deleted"]["before"]["recipient_email"] == "c@x.org"
    bulk = by_action["credentials.bulk_published"]
    assert bulk["target"] == {"type": "group", "id": g}
    assert bulk["after"] == {"count": 2, "credential_ids": bulk_ids}
    assert by_action["department.updated"]["before"] == {"credit_cap": 5}
    assert by_action["department.updated"]["after"] == {"credit_cap": 9}
    assert by_action["group.updated"]["before"] == {"name": "Course"}
    assert by_action["group.created"]["after"]["department_id"] == dept["id"]
    assert by_action["group.created"]["description"] == "Created a group"


def test_filters_and_cursors(org: Org) -> None:
    g = org.group("Course")
    creds = [org.issue(g, f"p{i}@x.org").json()["credential"]["id"] for i in range(5)]
    pages = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "action": "credential.published"}
        if cursor:
            params["cursor"] = cursor
        body = org.get("/v1/audit-log", params=params).json()
        pages.append([e["target"]["id"] for e in body["entries"]])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == [creds[4:2:-1], creds[2:0:-1], creds[:1]]
    only = _log(org, target_id=creds[2])
    assert [e["action"] for e in only] == ["credential.published"]
    key_id = _key_id(org)
    assert {e["actor"]["id"] for e in _log(org, actor_id=key_id)} == {key_id}
    at = only[0]["at"]
    assert _log(org, since=at, action="credential.published")  # inclusive
    assert not _log(org, until="2000-01-01T00:00:00Z")
    assert _log(org, action="group.created")[0]["target"]["id"] == g


@pytest.mark.parametrize(
    "params",
    [
        {"action": "credential.exploded"},
        {"cursor": "nonsense"},
        {"actor_id": "x" * 50},
        {"since": "yesterday"},
        {"since": "2026-01-01T00:00:00"},  # no offset: ambiguous
        {"target_id": "a\x00b"},
        {"limit": 0},
        {"until": "9999-12-31T23:59:59-01:00"},
        {"since": "0001-01-01T00:00:00+01:00"},
    ],
)
def test_bad_queries_are_problems(org: Org, params: dict[str, Any]) -> None:
    r = org.get("/v1/audit-log", params=params)
    assert r.status_code in (400, 422), r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_the_log_is_the_callers_own(client: Any, org: Org) -> None:
    other = create_org(client, sandbox=True, anchor="2026-01-15")
    other.group("Theirs")
    assert not _log(org, action="group.created")
    assert client.get("/v1/audit-log").status_code == 401


def test_a_refused_change_writes_nothing(org: Org) -> None:
    dept = org.post("/v1/departments", {"name": "Tiny", "credit_cap": 1}).json()["department"]
    g = org.group("Course", department_id=dept["id"])
    assert org.issue(g, "a@x.org").status_code == 201
    before = _log(org)
    assert org.issue(g, "b@x.org").status_code == 402
    r = org.post(
        "/v1/credentials/bulk",
        {"group_id": g, "credentials": [{"recipient": {"name": "C", "email": "c@x.org"}}] * 2},
    )
    assert r.status_code in (402, 422), r.text
    assert _log(org) == before


def test_nothing_secret_reaches_the_log(org: Org) -> None:
    r = org.post(
        "/v1/webhooks",
        {
            "url": "https://hooks.example.org/services/T0/s3cr3t-path?token=s3cr3t-token",
            "events": ["credential.published"],
        },
    )
    assert r.status_code == 201, r.text
    hook = r.json()["webhook"]
    hook_id = hook["id"]
    secrets = [hook["secret"], org.key, "s3cr3t-token", "s3cr3t-path"]
    r = org.post(f"/v1/webhooks/{hook_id}/rotate-secret")
    assert r.status_code == 200, r.text
    secrets.append(r.json()["webhook"]["secret"])
    assert org.patch(f"/v1/webhooks/{hook_id}", {"enabled": False}).status_code == 200
    assert org.delete(f"/v1/webhooks/{hook_id}").status_code == 204
    entries = _log(org)
    assert [e["action"] for e in entries[:4]] == [
        "webhook.deleted",
        "webhook.updated",
        "webhook.secret_rotated",
        "webhook.created",
    ]
    assert entries[3]["after"]["url"].startswith("https://hooks.example.org/… (sha256 ")
    assert entries[1]["after"] == {"enabled": False}
    dumped = str(entries)
    for secret in secrets:
        assert secret and secret not in dumped
    assert org.key[:20] not in dumped


def test_the_database_refuses_to_change_or_remove_an_entry(credo: App, org: Org) -> None:
    org.group("Course")
    statements = ["UPDATE audit_log SET action = 'x'", "DELETE FROM audit_log"]
    if credo.engine.dialect.name == "postgresql":
        statements.append("TRUNCATE audit_log")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), credo.engine.begin() as conn:
            conn.execute(text(statement))
    assert _log(org, action="group.created")


def test_accredible_clients_changes_are_entries_too(org: Org) -> None:
    from tests.integration.test_accredible import Client

    acc = Client(org.client, org.key)
    made = {"name": "G", "course_name": "G", "course_description": "d"}
    g = acc.ok("POST", "/v1/issuer/groups", {"group": made})["group"]
    body = {"group_id": g["id"], "recipient": {"name": "Ada", "email": "ada@x.org"}}
    cred = acc.ok("POST", "/v1/credentials", {"credential": body})["credential"]
    acc.ok("PUT", f"/v1/credentials/{cred['id']}", {"credential": {"grade": "A+"}})
    path = f"/v1/credentials/{cred['id']}/evidence_items"
    evidence = {"description": "Overall Grade", "category": "grade", "string_object": "78"}
    item = acc.ok("POST", path, {"evidence_item": evidence})["evidence_item"]
    acc.ok("PUT", f"{path}/{item['id']}", {"evidence_item": {"string_object": 85}})
    acc.ok("DELETE", f"{path}/{item['id']}")
    link = {"course_link": "https://x.example/c"}
    acc.ok("PUT", f"/v1/issuer/groups/{g['id']}", {"group": link})
    actions = [e["action"] for e in _log(org)][:6]
    assert actions == [
        "group.updated",
        "credential.evidence_deleted",
        "credential.evidence_changed",
        "credential.evidence_added",
        "credential.edited",
        "credential.published",
    ]
    edited = _log(org, action="credential.edited")[0]
    assert edited["before"] == {"grade": None} and edited["after"] == {"grade": "A+"}
    assert _log(org, action="group.updated")[0]["after"] == link
