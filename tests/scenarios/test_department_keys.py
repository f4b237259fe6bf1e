"""API keys limited to one department, route by route: such a key reaches its department's
groups and their credentials (through Credo's API and the Accredible-compatible one) and
nothing else. What belongs to another department, or to none, answers as if it did not
exist; what only the whole organization may do answers 403
`api_key_limited_to_department`. Every route of the API is listed here, so a new one
cannot be left out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from credo.bootstrap import App
from credo.entrypoints.api.app import ROUTE_MODULES
from credo.services.tenancy import organizations
from tests.conftest import Org
from tests.integration.test_accredible import Client

# Routes an organization-wide key alone may use.
ORG_ONLY = {
    ("GET", "/v1/audit-log"),
    ("GET", "/v1/analytics"),
    ("GET", "/v1/test-clock"),
    ("POST", "/v1/test-clock"),
    ("POST", "/v1/departments"),
    ("PATCH", "/v1/departments/{department_id}"),
    ("DELETE", "/v1/departments/{department_id}"),
    ("POST", "/credentials/issue"),
    ("POST", "/credentials/status"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks"),
    ("GET", "/v1/webhooks/{webhook_id}"),
    ("PATCH", "/v1/webhooks/{webhook_id}"),
    ("DELETE", "/v1/webhooks/{webhook_id}"),
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"),
    ("POST", "/v1/webhooks/{webhook_id}/test"),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}"),
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/resend"),
    ("POST", "/v1/credentials/{cred_id}/wallet-offer"),
    ("GET", "/v1/credentials/{cred_id}/wallet-offers"),
}
# Routes a department's key may use, each checked below against its own and others' objects.
SCOPED = {
    ("POST", "/v1/groups"),
    ("GET", "/v1/groups"),
    ("GET", "/v1/groups/{group_id}"),
    ("PATCH", "/v1/groups/{group_id}"),
    ("GET", "/v1/groups/{group_id}/certificate-preview.pdf"),
    ("GET", "/v1/designs"),
    ("POST", "/v1/credentials"),
    ("POST", "/v1/credentials/bulk"),
    ("GET", "/v1/credentials"),
    ("GET", "/v1/credentials/{cred_id}"),
    ("PATCH", "/v1/credentials/{cred_id}"),
    ("POST", "/v1/credentials/{cred_id}/publish"),
    ("DELETE", "/v1/credentials/{cred_id}"),
    ("POST", "/v1/credentials/{cred_id}/revoke"),
    ("POST", "/v1/credentials/{cred_id}/suspend"),
    ("POST", "/v1/credentials/{cred_id}/unsuspend"),
    ("GET", "/v1/departments"),
    ("GET", "/v1/departments/{department_id}"),
    ("GET", "/v1/credits"),
    ("GET", "/v1/credits/ledger"),
}
# Authenticated otherwise than by an organization's API key, or not at all.
NOT_KEYED_PREFIXES = ("/v1/admin", "/v1/wallet", "/v1/oid4vci", "/compat/")


@dataclass
class World:
    org: Org
    key: str  # limited to department A
    ids: dict[str, str]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def call(self, method: str, path: str, body: Any = None, **kw: Any) -> Any:
        headers = {**self.auth, **kw.pop("headers", {})}
        return self.org.client.request(method, path, json=body, headers=headers, **kw)


def _department(org: Org, name: str) -> str:
    r = org.post("/v1/departments", {"name": name})
    assert r.status_code == 201, r.text
    return str(r.json()["department"]["id"])


@pytest.fixture
def world(credo: App, org: Org) -> World:
    a, b = _department(org, "Faculty A"), _department(org, "Faculty B")
    ga, gb, gn = (
        org.group("A course", department_id=a),
        org.group("B course", department_id=b),
        org.group("No department"),
    )
    ids = {"dept_a": a, "dept_b": b, "group_a": ga, "group_b": gb, "group_n": gn}
    for name, g in (("a", ga), ("b", gb), ("n", gn)):
        for i in range(2):
            r = org.issue(g, f"{name}{i}@x.org")
            assert r.status_code == 201, r.text
            ids[f"cred_{name}{i}"] = r.json()["credential"]["id"]
    r = org.post(
        "/v1/credentials",
        {"group_id": gb, "recipient": {"name": "D", "email": "d@x.org"}, "publish": False},
    )
    ids["draft_b"] = r.json()["credential"]["id"]
    key = credo.runner.write(
        lambda uow: organizations.issue_api_key(uow, org.id, credo.clock.now(), "A's LMS", a)
    )
    return World(org, key, ids)


def _api_routes() -> set[tuple[str, str]]:
    found = set()
    for route in (r for module in ROUTE_MODULES for r in module.router.routes):
        if not isinstance(route, APIRoute):
            continue
        if not (route.path.startswith("/v1/") or route.path.startswith("/credentials/")):
            continue
        if route.path.startswith(NOT_KEYED_PREFIXES):
            continue
        for method in (route.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add((method, route.path))
    return found


def test_every_keyed_route_is_listed() -> None:
    keyed = _api_routes() - {
        ("POST", "/credentials/verify"),
        ("POST", "/presentations/verify"),
    }
    assert set() == ORG_ONLY & SCOPED
    assert keyed == ORG_ONLY | SCOPED, (
        f"unlisted: {sorted(keyed - ORG_ONLY - SCOPED)}; gone: {sorted((ORG_ONLY | SCOPED) - keyed)}"
    )


def _fill(path: str, w: World) -> str:
    return (
        path.replace("{department_id}", w.ids["dept_b"])
        .replace("{group_id}", w.ids["group_a"])
        .replace("{cred_id}", w.ids["cred_a0"])
        .replace("{webhook_id}", "whk_" + "0" * 32)
        .replace("{delivery_id}", "msg_" + "0" * 32)
    )


def test_organization_routes_refuse_a_department_key(world: World) -> None:
    for method, path in sorted(ORG_ONLY):
        r = world.call(method, _fill(path, world), {})
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "api_key_limited_to_department", (method, path)


def test_groups_of_its_department_only(world: World, org: Org) -> None:
    ids = world.ids
    listed = world.call("GET", "/v1/groups").json()["groups"]
    assert [g["id"] for g in listed] == [ids["group_a"]]
    for g in ("group_b", "group_n"):
        assert world.call("GET", f"/v1/groups/{ids[g]}").status_code == 404
        assert world.call("PATCH", f"/v1/groups/{ids[g]}", {"name": "Mine now"}).status_code == 404
        assert world.call("GET", f"/v1/groups/{ids[g]}/certificate-preview.pdf").status_code == 404
    assert world.call("GET", f"/v1/groups/{ids['group_a']}").status_code == 200
    r = world.call("PATCH", f"/v1/groups/{ids['group_a']}", {"name": "A course, renamed"})
    assert r.status_code == 200, r.text
    r = world.call("GET", f"/v1/groups/{ids['group_a']}/certificate-preview.pdf")
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert world.call("GET", "/v1/designs").status_code == 200
    # It makes groups in its department, and cannot move them out of it.
    r = world.call("POST", "/v1/groups", {"name": "New A course"})
    assert r.status_code == 201 and r.json()["group"]["department_id"] == ids["dept_a"], r.text
    for elsewhere in (ids["dept_b"], None):
        r = world.call("POST", "/v1/groups", {"name": "Sneaky", "department_id": elsewhere})
        assert r.status_code == 403 and r.json()["code"] == "api_key_limited_to_department"
        r = world.call("PATCH", f"/v1/groups/{ids['group_a']}", {"department_id": elsewhere})
        assert r.status_code == 403, r.text
    assert org.get(f"/v1/groups/{ids['group_a']}").json()["group"]["department_id"] == ids["dept_a"]


def test_credentials_of_its_department_only(world: World, org: Org) -> None:
    ids = world.ids
    listed = world.call("GET", "/v1/credentials", params={"limit": 100}).json()["credentials"]
    assert sorted(c["id"] for c in listed) == sorted([ids["cred_a0"], ids["cred_a1"]])
    other = world.call("GET", "/v1/credentials", params={"group_id": ids["group_b"]}).json()
    assert other["credentials"] == []
    others = [ids["cred_b0"], ids["cred_n0"], ids["draft_b"]]
    for cred in others:
        assert world.call("GET", f"/v1/credentials/{cred}").status_code == 404
        assert (
            world.call("PATCH", f"/v1/credentials/{cred}", {"recipient": {"name": "X"}}).status_code
            == 404
        )
        assert world.call("POST", f"/v1/credentials/{cred}/revoke", {}).status_code == 404
        assert world.call("POST", f"/v1/credentials/{cred}/suspend").status_code == 404
        assert world.call("POST", f"/v1/credentials/{cred}/unsuspend").status_code == 404
        assert world.call("DELETE", f"/v1/credentials/{cred}").status_code == 404
    assert world.call("POST", f"/v1/credentials/{ids['draft_b']}/publish", {}).status_code == 404
    # Untouched, as the organization's key sees them.
    for cred in others:
        got = org.get(f"/v1/credentials/{cred}").json()["credential"]
        assert got["recipient"]["name"] != "X" and got.get("revoked_at") is None
    for group in ("group_b", "group_n"):
        one = {"group_id": ids[group], "recipient": {"name": "Y", "email": "y@x.org"}}
        assert world.call("POST", "/v1/credentials", one).status_code == 404
        assert world.call("POST", "/v1/credentials", {**one, "dry_run": True}).status_code == 404
        bulk = {
            "group_id": ids[group],
            "credentials": [{"recipient": {"name": "Y", "email": "y@x.org"}}],
        }
        assert world.call("POST", "/v1/credentials/bulk", bulk).status_code == 404
    # Its own department's: everything works.
    mine = ids["cred_a0"]
    assert world.call("GET", f"/v1/credentials/{mine}").status_code == 200
    assert (
        world.call("PATCH", f"/v1/credentials/{mine}", {"recipient": {"name": "Z"}}).status_code
        == 200
    )
    assert world.call("POST", f"/v1/credentials/{mine}/suspend").status_code == 200
    assert world.call("POST", f"/v1/credentials/{mine}/unsuspend").status_code == 200
    assert world.call("POST", f"/v1/credentials/{mine}/revoke", {}).status_code == 200
    assert world.call("DELETE", f"/v1/credentials/{ids['cred_a1']}").status_code == 204
    one = {"group_id": ids["group_a"], "recipient": {"name": "W", "email": "w@x.org"}}
    r = world.call("POST", "/v1/credentials", one)
    assert r.status_code == 201, r.text
    draft = world.call("POST", "/v1/credentials", {**one, "publish": False}).json()["credential"][
        "id"
    ]
    assert world.call("POST", f"/v1/credentials/{draft}/publish", {}).status_code == 200
    bulk = {
        "group_id": ids["group_a"],
        "credentials": [{"recipient": {"name": "V", "email": "v@x.org"}}],
    }
    assert world.call("POST", "/v1/credentials/bulk", bulk).status_code == 201


def test_departments_and_credits_of_its_own(world: World) -> None:
    ids = world.ids
    listed = world.call("GET", "/v1/departments").json()["departments"]
    assert [d["id"] for d in listed] == [ids["dept_a"]]
    assert world.call("GET", f"/v1/departments/{ids['dept_a']}").status_code == 200
    assert world.call("GET", f"/v1/departments/{ids['dept_b']}").status_code == 404
    credits = world.call("GET", "/v1/credits").json()
    assert [d["id"] for d in credits["departments"]] == [ids["dept_a"]]
    assert credits["used"] == 6  # the organization's allowance, which every department shares
    ledger = world.call("GET", "/v1/credits/ledger").json()["entries"]
    assert sorted(e["credential_id"] for e in ledger) == sorted([ids["cred_a0"], ids["cred_a1"]])
    r = world.call("GET", "/v1/credits/ledger", params={"department_id": ids["dept_b"]})
    assert r.status_code == 404


def test_the_accredible_api_maps_its_department_scoped_keys(world: World, org: Org) -> None:
    ids = world.ids
    mine = Client(org.client, world.key)
    theirs = Client(org.client, org.key)
    numbers = {
        g["course_name"]: g["id"] for g in theirs.ok("GET", "/v1/issuer/all_groups")["groups"]
    }
    seen = mine.ok("GET", "/v1/issuer/all_groups")["groups"]
    assert [g["course_name"] for g in seen] == ["A course"]
    assert mine.call("GET", f"/v1/issuer/groups/{numbers['B course']}").status_code == 404
    assert (
        mine.call(
            "PUT", f"/v1/issuer/groups/{numbers['B course']}", {"group": {"course_name": "X"}}
        ).status_code
        == 404
    )
    assert mine.call("DELETE", f"/v1/issuer/groups/{numbers['No department']}").status_code == 404
    assert (
        mine.ok("GET", f"/v1/issuer/groups/{numbers['A course']}")["group"]["course_name"]
        == "A course"
    )
    body = {"group_id": numbers["B course"], "recipient": {"name": "Ada", "email": "ada@x.org"}}
    r = mine.call("POST", "/v1/credentials", {"credential": body})
    assert r.status_code == 422 and "Invalid Group" in r.text, r.text
    body["group_id"] = numbers["A course"]
    made = mine.ok("POST", "/v1/credentials", {"credential": body})["credential"]
    assert mine.ok("GET", f"/v1/credentials/{made['id']}")["credential"]["id"] == made["id"]
    for cred in (ids["cred_b0"], ids["cred_n0"]):
        assert mine.call("GET", f"/v1/credentials/{cred}").status_code == 404
        assert mine.call("DELETE", f"/v1/credentials/{cred}").status_code == 404
        assert (
            mine.call(
                "POST",
                f"/v1/credentials/{cred}/evidence_items",
                {
                    "evidence_item": {
                        "description": "Overall Grade",
                        "category": "grade",
                        "string_object": "78",
                    }
                },
            ).status_code
            == 404
        )
    listed = mine.ok("GET", "/v1/all_credentials")["credentials"]
    assert len(listed) == 3 and all(c["group_id"] == numbers["A course"] for c in listed)
    found = mine.ok("POST", "/v2/credentials/search", {"query": {}})["credentials"]
    assert {c["group"]["id"] for c in found} == {numbers["A course"]}
    r = mine.call(
        "POST", "/v2/credentials/search", {"query": {"group.id[eq]": numbers["B course"]}}
    )
    assert r.status_code in (400, 422) or r.json()["credentials"] == []
    # Named, not numbered (Accredible's legacy form): another department's group is not
    # found, so the credential goes to a new group of its own department.
    by_name = {"group_name": "B course", "recipient": {"name": "Bo", "email": "bo@x.org"}}
    named = mine.ok("POST", "/v1/credentials", {"credential": by_name})["credential"]
    assert named["group_id"] != numbers["B course"]
    b_creds = org.get("/v1/credentials", params={"group_id": ids["group_b"]}).json()
    assert "bo@x.org" not in str(b_creds)
    # Idempotency-Keys are not shared with the organization's keys either.
    org_retry, dept_retry = Client(org.client, org.key), Client(org.client, world.key)
    for c in (org_retry, dept_retry):
        c.headers["Idempotency-Key"] = "acc-1"
    assert org_retry.call("POST", "/v1/credentials", {"credential": body}).status_code == 200
    r = dept_retry.call("POST", "/v1/credentials", {"credential": body})
    assert r.status_code == 409, r.text
    # A group it makes is its department's.
    g = mine.ok(
        "POST",
        "/v1/issuer/groups",
        {"group": {"name": "A2", "course_name": "A2", "course_description": "d"}},
    )["group"]
    credo_groups = world.call("GET", "/v1/groups").json()["groups"]
    assert {x["name"] for x in credo_groups} == {"A course", "A2", "B course"}  # its own B
    assert all(x["department_id"] == ids["dept_a"] for x in credo_groups)
    assert g["course_name"] == "A2"


def test_a_department_with_keys_is_not_deleted(world: World, org: Org, credo: App) -> None:
    r = org.delete(f"/v1/departments/{world.ids['dept_a']}")
    assert r.status_code == 409 and "API key" in r.json()["detail"], r.text


def test_owners_make_department_keys_in_the_dashboard(
    credo: App, org: Org, client: TestClient
) -> None:
    from tests.dashboard.helpers import sign_in

    dept = _department(org, "Faculty of Law")
    owner = sign_in(credo, "law-owner@example.org", org.id)
    page = owner.get("/app/api-keys")
    assert f'<option value="{dept}"' in page.text and "Only Faculty of Law" in page.text
    r = owner.post("/app/api-keys", {"name": "Law LMS", "department": dept})
    assert r.status_code == 201, r.text
    key = r.text.split('<code id="new-key">', 1)[1].split("</code>", 1)[0]
    row = r.text.split("Law LMS</td>", 1)[1].split("</tr>", 1)[0]
    assert "Faculty of Law" in row
    r = client.post(
        "/v1/webhooks",
        json={"url": "https://x.example/", "events": []},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 403
    r = owner.post("/app/api-keys", {"name": "Nowhere", "department": "dep_" + "0" * 32})
    assert r.status_code == 422 and "department" in r.text


def test_an_idempotency_key_answers_no_other_key_kind(world: World, org: Org) -> None:
    """Idempotency-Keys are the organization's: a department's key reusing the one an
    organization-wide key used is refused, never handed that key's answer (another
    department's credential)."""
    body = {"group_id": world.ids["group_b"], "recipient": {"name": "I", "email": "i@x.org"}}
    first = org.post("/v1/credentials", body, headers={"Idempotency-Key": "shared-1"})
    assert first.status_code == 201, first.text
    again = world.call("POST", "/v1/credentials", body, headers={"Idempotency-Key": "shared-1"})
    assert again.status_code == 409 and again.json()["code"] == "idempotency_key_reused"
    assert first.json()["credential"]["id"] not in again.text
    mine = {"group_id": world.ids["group_a"], "recipient": {"name": "J", "email": "j@x.org"}}
    made = world.call("POST", "/v1/credentials", mine, headers={"Idempotency-Key": "shared-2"})
    assert made.status_code == 201, made.text
    replayed = world.call("POST", "/v1/credentials", mine, headers={"Idempotency-Key": "shared-2"})
    assert replayed.json() == made.json()  # its own retries still replay
    other = org.post("/v1/credentials", mine, headers={"Idempotency-Key": "shared-2"})
    assert other.status_code == 409
