"""The HTTP API contract of api.md beyond the worked examples, on both databases.

Operator routes and subscriptions (R10, R15), groups, reading and listing credentials,
edits and what they cost (R3), deletes, tenant isolation, authentication, Idempotency-Key
(R13), the test clock, dry runs (R12), the OpenAPI document and the health check.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from credo.bootstrap import bootstrap
from credo.clock import FixedClock
from credo.entrypoints.api.app import create_app
from credo.settings import Settings
from tests.conftest import ADMIN, MASTER_KEY, Org, create_org

PROBLEM = "application/problem+json"
CREDENTIAL_KEYS = {
    "id",
    "group_id",
    "recipient",
    "status",
    "issued_on",
    "expires_on",
    "seat_year",
}


def problem(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:400]}"
    assert r.headers["content-type"].split(";")[0] == PROBLEM
    body: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    assert body["status"] == status
    if code is not None:
        assert body.get("code") == code, body
    return body


def ok(r: Any, status: int = 200) -> dict[str, Any]:
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text[:400]}"
    body: dict[str, Any] = r.json()
    return body


def ledger(o: Org, year: int | None = None) -> list[dict[str, Any]]:
    params = {"limit": 1000} if year is None else {"limit": 1000, "billing_year": year}
    return list(ok(o.get("/v1/credits/ledger", params=params))["entries"])


def credentials(o: Org, **params: Any) -> list[dict[str, Any]]:
    return list(ok(o.get("/v1/credentials", params={"limit": 1000, **params}))["credentials"])


def issued(r: Any) -> dict[str, Any]:
    body = ok(r, 201)
    cred: dict[str, Any] = body["credential"]
    return cred


def walk(o: Org, path: str, name: str, limit: int, **params: Any) -> list[list[dict[str, Any]]]:
    """Follow next_cursor from the first page to the end; every page."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    for _ in range(100):
        query = {"limit": limit, **params}
        if cursor is not None:
            query["cursor"] = cursor
        body = ok(o.get(path, params=query))
        pages.append(body[name])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert cursor == body[name][-1]["id"]
    raise AssertionError("next_cursor never ended")


# --------------------------------------------------------------------------- operator routes


@pytest.mark.parametrize(
    ("plan", "credits", "allowance"),
    [
        ("launch-250", None, 250),
        ("connect", 40, 40),
        ("growth", 2_000, 2_000),
        ("enterprise", 75_000, 75_000),
    ],
)
def test_create_an_organization_on_each_plan(
    client: TestClient, plan: str, credits: int | None, allowance: int
) -> None:
    body: dict[str, Any] = {"name": f"On {plan}", "plan": plan}
    if credits is not None:
        body["credits"] = credits
    r = client.post("/v1/admin/organizations", json=body, headers=ADMIN)
    data = ok(r, 201)
    assert data["organization"]["name"] == f"On {plan}"
    assert data["organization"]["sandbox"] is False
    assert isinstance(data["organization"]["id"], str) and data["organization"]["id"]
    assert isinstance(data["api_key"], str) and data["api_key"]

    o = Org(data["organization"]["id"], data["api_key"], client)
    bal = o.credits()
    assert (bal["allowance"], bal["used"], bal["remaining"], bal["seats_held"]) == (
        allowance,
        0,
        allowance,
        0,
    )
    # anchor defaults to today (the app clock says 2026-02-01)
    assert bal["billing_year"] == {
        "index": 0,
        "starts_at": "2026-02-01T00:00:00Z",
        "ends_at": "2027-02-01T00:00:00Z",
    }
    sub = ok(client.get(f"/v1/admin/organizations/{o.id}/subscription", headers=ADMIN))
    assert sub["subscription"]["plan"] == plan
    assert sub["subscription"]["allowance"] == allowance
    assert sub["subscription"]["anchor"] == "2026-02-01"
    assert sub["subscription"]["status"] == "active"


@pytest.mark.parametrize("plan", ["connect", "growth", "enterprise"])
def test_custom_plans_need_credits(client: TestClient, plan: str) -> None:
    r = client.post("/v1/admin/organizations", json={"name": "X", "plan": plan}, headers=ADMIN)
    body = problem(r, 422, "invalid_input")
    assert [e["field"] for e in body["errors"]] == ["credits"]
    r = client.post(
        "/v1/admin/organizations",
        json={"name": "X", "plan": plan, "credits": 0},
        headers=ADMIN,
    )
    assert "credits" in [e["field"] for e in problem(r, 422)["errors"]]


def test_a_sandbox_organization_starts_its_clock_at_its_anchor(client: TestClient) -> None:
    o = create_org(client, sandbox=True, anchor="2024-02-29")
    assert ok(o.get("/v1/test-clock")) == {"now": "2024-02-29T00:00:00Z"}
    bal = o.credits()
    assert bal["billing_year"]["starts_at"] == "2024-02-29T00:00:00Z"
    # an anchor of 29 February falls on 28 February in common years
    assert bal["billing_year"]["ends_at"] == "2025-02-28T00:00:00Z"


def test_without_an_admin_token_the_operator_routes_answer_404(
    engine: Engine, database_url: str, clock: FixedClock, client: TestClient
) -> None:
    o = create_org(client)  # made through the app that has a token
    settings = Settings(
        environment="test", database_url=database_url, admin_token=None, master_key=MASTER_KEY
    )
    app = bootstrap(settings, clock=clock, engine=engine)
    with TestClient(create_app(app), raise_server_exceptions=False) as bare:
        for method, path, body in [
            ("POST", "/v1/admin/organizations", {"name": "X", "plan": "launch-250"}),
            (
                "PUT",
                f"/v1/admin/organizations/{o.id}/subscription",
                {"plan": "connect", "credits": 9},
            ),
            ("DELETE", f"/v1/admin/organizations/{o.id}/subscription", {"when": "now"}),
            ("GET", f"/v1/admin/organizations/{o.id}/subscription", None),
        ]:
            for headers in (ADMIN, {}, {"Authorization": "Bearer anything"}):
                r = bare.request(method, path, json=body, headers=headers)
                problem(r, 404, "not_found")
        # the organization routes are unaffected
        r = bare.get("/v1/credits", headers=o.auth)
        assert ok(r)["allowance"] == 250
    assert o.credits()["subscription_active"] is True


def test_raising_the_allowance_takes_effect_at_once(org: Org) -> None:
    g = org.group()
    for name in ("a", "b", "c"):
        assert issued(org.issue(g, f"{name}@x.org"))
    r = org.client.put(
        f"/v1/admin/organizations/{org.id}/subscription",
        json={"plan": "connect", "credits": 1_000},
        headers=ADMIN,
    )
    sub = ok(r)["subscription"]
    assert {k: sub[k] for k in ("plan", "allowance", "anchor", "status")} == {
        "plan": "connect",
        "allowance": 1_000,
        "anchor": "2026-01-15",
        "status": "active",
    }
    bal = org.credits()
    assert (bal["allowance"], bal["used"], bal["remaining"]) == (1_000, 3, 997)


def test_lowering_the_allowance_waits_for_the_anniversary(org: Org) -> None:
    admin_sub = f"/v1/admin/organizations/{org.id}/subscription"
    ok(org.client.put(admin_sub, json={"plan": "growth", "credits": 1_000}, headers=ADMIN))
    g = org.group()
    issued(org.issue(g, "a@x.org"))
    org.move_clock("2026-06-01T00:00:00Z")

    sub = ok(org.client.put(admin_sub, json={"plan": "connect", "credits": 100}, headers=ADMIN))
    assert sub["subscription"]["plan"] == "growth"
    assert sub["subscription"]["allowance"] == 1_000
    assert sub["subscription"]["status"] == "active"
    bal = org.credits()
    assert (bal["allowance"], bal["used"], bal["remaining"]) == (1_000, 1, 999)

    org.move_clock("2027-01-14T23:59:59Z")
    assert org.credits()["allowance"] == 1_000
    org.move_clock("2027-01-15T00:00:00Z")
    bal = org.credits()
    assert bal["billing_year"]["index"] == 1
    assert (bal["allowance"], bal["used"], bal["remaining"]) == (100, 0, 100)
    sub = ok(org.client.get(admin_sub, headers=ADMIN))["subscription"]
    assert (sub["plan"], sub["allowance"]) == ("connect", 100)


def test_cancel_now_stops_publishing_but_not_reading(org: Org) -> None:
    g = org.group()
    ann = issued(org.issue(g, "ann@x.org", "Ann"))
    draft = issued(org.issue(g, "bob@x.org", "Bob", publish=False))
    r = org.client.request(
        "DELETE",
        f"/v1/admin/organizations/{org.id}/subscription",
        json={"when": "now"},
        headers=ADMIN,
    )
    assert ok(r)["subscription"]["status"] == "canceled"
    bal = org.credits()
    assert bal["subscription_active"] is False
    before = (credentials(org), bal, ledger(org))

    for r in (
        org.issue(g, "new@x.org"),
        org.issue(g, "ann@x.org"),  # even where the recipient holds a seat (R15)
        org.post(f"/v1/credentials/{draft['id']}/publish"),
        org.post(
            "/v1/credentials/bulk",
            {"group_id": g, "credentials": [{"recipient": {"name": "C", "email": "c@x.org"}}]},
        ),
        org.patch(f"/v1/credentials/{ann['id']}", {"recipient": {"email": "zed@x.org"}}),
    ):
        body = problem(r, 402, "no_active_subscription")
        assert "credits_required" in body and "credits_remaining" in body
    assert (credentials(org), org.credits(), ledger(org)) == before

    # what was issued stays readable
    assert ok(org.get(f"/v1/credentials/{ann['id']}"))["credential"] == ann
    assert ok(org.get(f"/v1/credentials/{draft['id']}"))["credential"] == draft
    assert ok(org.get(f"/v1/groups/{g}"))["group"]["id"] == g
    # events that need no seat still work: a draft, a name change
    issued(org.issue(g, "carl@x.org", publish=False))
    r = org.patch(f"/v1/credentials/{ann['id']}", {"recipient": {"name": "Ann Lee"}})
    assert ok(r)["credits_charged"] == 0


def test_cancel_at_year_end_is_the_default(org: Org) -> None:
    g = org.group()
    r = org.client.delete(f"/v1/admin/organizations/{org.id}/subscription", headers=ADMIN)
    sub = ok(r)["subscription"]
    assert sub["status"] == "active"
    assert issued(org.issue(g, "ann@x.org"))["status"] == "published"

    org.move_clock("2027-01-14T23:59:59Z")
    assert issued(org.issue(g, "bob@x.org"))["status"] == "published"
    org.move_clock("2027-01-15T00:00:00Z")
    problem(org.issue(g, "carl@x.org"), 402, "no_active_subscription")
    sub = ok(org.client.get(f"/v1/admin/organizations/{org.id}/subscription", headers=ADMIN))
    assert sub["subscription"]["status"] == "canceled"

    # a new subscription lifts the cancellation
    r = org.client.put(
        f"/v1/admin/organizations/{org.id}/subscription",
        json={"plan": "launch-250"},
        headers=ADMIN,
    )
    assert ok(r)["subscription"]["status"] == "active"
    assert issued(org.issue(g, "carl@x.org"))["status"] == "published"


def test_subscription_routes_of_an_unknown_organization_answer_404(
    client: TestClient, org: Org
) -> None:
    unknown = org.id[:-6] + "000000"
    path = f"/v1/admin/organizations/{unknown}/subscription"
    problem(client.get(path, headers=ADMIN), 404)
    problem(client.put(path, json={"plan": "launch-250"}, headers=ADMIN), 404)
    problem(client.request("DELETE", path, json={"when": "now"}, headers=ADMIN), 404)


# --------------------------------------------------------------------------- groups


def test_groups_create_get_and_list(org: Org) -> None:
    r = org.post(
        "/v1/groups",
        {"name": "  Welding 101  ", "description": "Basics", "expires_after_months": 24},
    )
    group = ok(r, 201)["group"]
    assert group["name"] == "Welding 101"
    assert group["description"] == "Basics"
    assert group["expires_after_months"] == 24
    assert ok(org.get(f"/v1/groups/{group['id']}"))["group"] == group

    plain = ok(org.post("/v1/groups", {"name": "Plain"}), 201)["group"]
    assert plain["description"] is None and plain["expires_after_months"] is None

    more = [org.group(f"G{i}") for i in range(3)]
    pages = walk(org, "/v1/groups", "groups", limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    ids = [g["id"] for p in pages for g in p]
    assert sorted(ids) == ids
    assert set(ids) == {group["id"], plain["id"], *more}
    listed = ok(org.get("/v1/groups"))
    assert listed["next_cursor"] is None and len(listed["groups"]) == 5


def test_a_group_expiry_policy_sets_the_default_expiry(org: Org) -> None:
    g = org.group(expires_after_months=1)
    cred = issued(org.issue(g, "a@x.org", issued_on="2026-01-31"))
    assert (cred["issued_on"], cred["expires_on"]) == ("2026-01-31", "2026-02-28")
    cred = issued(org.issue(g, "b@x.org"))
    assert (cred["issued_on"], cred["expires_on"]) == ("2026-01-15", "2026-02-15")
    cred = issued(org.issue(g, "c@x.org", expires_on=None))
    assert cred["expires_on"] is None
    cred = issued(org.issue(org.group(), "d@x.org"))
    assert (cred["issued_on"], cred["expires_on"]) == ("2026-01-15", None)


# --------------------------------------------------------------------------- credentials


def test_a_credential_has_the_documented_shape(org: Org) -> None:
    g = org.group()
    r = org.issue(g, "  Ann.Lee@Example.ORG ", "Ann Lee", issued_on="2026-01-20")
    body = ok(r, 201)
    assert body["credits_charged"] == 1
    cred = body["credential"]
    assert set(cred) >= CREDENTIAL_KEYS
    assert cred["group_id"] == g
    assert cred["recipient"] == {"name": "Ann Lee", "email": "Ann.Lee@Example.ORG"}
    assert cred["status"] == "published"
    assert cred["issued_on"] == "2026-01-20"
    assert cred["expires_on"] is None
    assert cred["seat_year"] == 0
    assert ok(org.get(f"/v1/credentials/{cred['id']}"))["credential"] == cred

    draft = issued(org.issue(g, "bob@x.org", publish=False))
    assert (draft["status"], draft["seat_year"]) == ("draft", None)


def test_list_filters(org: Org) -> None:
    a, b = org.group("A"), org.group("B")
    ann_a = issued(org.issue(a, "Ann@X.org"))
    ann_b = issued(org.issue(b, "ann@x.org", publish=False))
    bob_a = issued(org.issue(a, "bob@x.org"))
    bob_b = issued(org.issue(b, "bob@x.org"))

    def ids(**params: Any) -> set[str]:
        return {c["id"] for c in credentials(org, **params)}

    assert ids() == {ann_a["id"], ann_b["id"], bob_a["id"], bob_b["id"]}
    assert ids(group_id=a) == {ann_a["id"], bob_a["id"]}
    assert ids(group_id=b) == {ann_b["id"], bob_b["id"]}
    assert ids(recipient_email="ann@x.org") == {ann_a["id"], ann_b["id"]}
    assert ids(recipient_email="  ANN@x.ORG ") == {ann_a["id"], ann_b["id"]}
    assert ids(recipient_email="nobody@x.org") == set()
    assert ids(status="draft") == {ann_b["id"]}
    assert ids(status="published") == {ann_a["id"], bob_a["id"], bob_b["id"]}
    assert ids(group_id=b, recipient_email="ANN@X.ORG", status="draft") == {ann_b["id"]}
    assert ids(group_id=a, status="draft") == set()


def test_cursor_pagination_over_five_credentials(org: Org) -> None:
    g = org.group()
    made = {issued(org.issue(g, f"p{i}@x.org"))["id"] for i in range(5)}
    pages = walk(org, "/v1/credentials", "credentials", limit=2)
    assert [len(p) for p in pages] == [2, 2, 1]
    ids = [c["id"] for p in pages for c in p]
    assert len(ids) == len(set(ids)) == 5
    assert set(ids) == made
    assert ids == sorted(ids)

    # a page that ends exactly at the last item says so: no empty page follows
    pages = walk(org, "/v1/credentials", "credentials", limit=5)
    assert [len(p) for p in pages] == [5]
    # filters hold across pages
    issued(org.issue(org.group("Other"), "q@x.org"))
    pages = walk(org, "/v1/credentials", "credentials", limit=2, group_id=g)
    assert {c["id"] for p in pages for c in p} == made


def test_lists_default_to_100_and_allow_1000(org: Org) -> None:
    g = org.group()
    items = [{"recipient": {"name": "R", "email": f"r{i}@x.org"}} for i in range(101)]
    ok(org.post("/v1/credentials/bulk", {"group_id": g, "credentials": items}), 201)
    body = ok(org.get("/v1/credentials"))
    assert len(body["credentials"]) == 100 and body["next_cursor"] is not None
    rest = ok(org.get("/v1/credentials", params={"cursor": body["next_cursor"]}))
    assert len(rest["credentials"]) == 1 and rest["next_cursor"] is None
    body = ok(org.get("/v1/credentials", params={"limit": 1000}))
    assert len(body["credentials"]) == 101 and body["next_cursor"] is None
    body = ok(org.get("/v1/credits/ledger"))
    assert len(body["entries"]) == 100 and body["next_cursor"] is not None
    rest = ok(org.get("/v1/credits/ledger", params={"cursor": body["next_cursor"]}))
    assert len(rest["entries"]) == 1 and rest["next_cursor"] is None


def test_patch_the_name_only_is_free(org: Org) -> None:
    cred = issued(org.issue(org.group(), "ann@x.org", "Ann"))
    before = (org.credits(), ledger(org))
    body = ok(org.patch(f"/v1/credentials/{cred['id']}", {"recipient": {"name": "Ann Lee"}}))
    assert body["credits_charged"] == 0
    assert body["credential"]["recipient"] == {"name": "Ann Lee", "email": "ann@x.org"}
    assert body["credential"]["seat_year"] == 0
    assert (org.credits(), ledger(org)) == before


def test_patch_the_email_case_only_is_free(org: Org) -> None:
    cred = issued(org.issue(org.group(), "ann@x.org", "Ann"))
    before = (org.credits(), ledger(org))
    body = ok(org.patch(f"/v1/credentials/{cred['id']}", {"recipient": {"email": "ANN@X.ORG"}}))
    assert body["credits_charged"] == 0
    assert body["credential"]["recipient"]["email"] == "ANN@X.ORG"
    assert (org.credits(), ledger(org)) == before
    assert ok(org.get(f"/v1/credentials/{cred['id']}"))["credential"] == body["credential"]


def test_patch_to_another_recipient_takes_a_seat(org: Org) -> None:
    cred = issued(org.issue(org.group(), "ann@x.org", "Ann"))
    assert org.used() == 1
    body = ok(
        org.patch(
            f"/v1/credentials/{cred['id']}", {"recipient": {"name": "Bob", "email": "Bob@x.org"}}
        )
    )
    assert body["credits_charged"] == 1
    assert body["credential"]["recipient"] == {"name": "Bob", "email": "Bob@x.org"}
    bal = org.credits()
    # ann's only credential left her seat (R5), bob took one (R4); no refund (R6)
    assert (bal["used"], bal["seats_held"]) == (2, 1)
    last = ledger(org)[-1]
    assert {
        k: last[k] for k in ("billing_year", "delta", "reason", "recipient", "credential_id")
    } == {
        "billing_year": 0,
        "delta": -1,
        "reason": "recipient_change",
        "recipient": "bob@x.org",
        "credential_id": cred["id"],
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", last["at"])
    assert set(last) >= {
        "id",
        "at",
        "billing_year",
        "delta",
        "reason",
        "recipient",
        "credential_id",
    }


def test_edits_that_need_no_seat_are_free(org: Org) -> None:
    """R3: dates of a credential whose seat year is the current year; anything of a draft
    (R9); a new recipient who already holds a seat this year (R4)."""
    g = org.group()
    cred = issued(org.issue(g, "ann@x.org", expires_on="2026-12-31"))
    draft = issued(org.issue(g, "bob@x.org", publish=False))
    issued(org.issue(g, "carl@x.org"))
    before = (org.credits(), ledger(org))
    path = f"/v1/credentials/{cred['id']}"
    for body in (
        {"issued_on": "2026-01-10"},
        {"expires_on": "2027-06-30"},
        {"expires_on": None},
        {"issued_on": "2026-01-01", "expires_on": "2026-06-30"},
    ):
        r = ok(org.patch(path, body))
        assert r["credits_charged"] == 0, body
        for k, v in body.items():
            assert r["credential"][k] == v
    r = ok(
        org.patch(
            f"/v1/credentials/{draft['id']}",
            {"recipient": {"name": "Dan", "email": "dan@x.org"}, "issued_on": "2026-01-02"},
        )
    )
    assert r["credits_charged"] == 0
    assert (r["credential"]["status"], r["credential"]["seat_year"]) == ("draft", None)
    assert (org.credits(), ledger(org)) == before

    # ann's credential goes to carl, who holds a seat: free; ann's seat is released (R5)
    r = ok(org.patch(path, {"recipient": {"email": "Carl@X.org"}}))
    assert r["credits_charged"] == 0
    bal = org.credits()
    assert (bal["used"], bal["seats_held"]) == (2, 1)
    assert ledger(org) == before[1]


def test_a_recipient_change_without_credits_is_refused(client: TestClient) -> None:
    o = create_org(client, plan="connect", credits=1, sandbox=True, anchor="2026-01-15")
    cred = issued(o.issue(o.group(), "ann@x.org"))
    before = (o.credits(), credentials(o), ledger(o))
    body = problem(
        o.patch(f"/v1/credentials/{cred['id']}", {"recipient": {"email": "bob@x.org"}}),
        402,
        "insufficient_credits",
    )
    assert (body["credits_required"], body["credits_remaining"]) == (1, 0)
    assert (o.credits(), credentials(o), ledger(o)) == before


def test_publishing_a_published_credential_is_a_conflict(org: Org) -> None:
    cred = issued(org.issue(org.group(), "ann@x.org"))
    before = (org.credits(), credentials(org))
    problem(org.post(f"/v1/credentials/{cred['id']}/publish"), 409, "already_published")
    problem(
        org.post(f"/v1/credentials/{cred['id']}/publish", {"dry_run": True}),
        409,
        "already_published",
    )
    assert (org.credits(), credentials(org)) == before


def test_a_deleted_credential_is_gone(org: Org) -> None:
    cred = issued(org.issue(org.group(), "ann@x.org"))
    r = org.delete(f"/v1/credentials/{cred['id']}")
    assert r.status_code == 204 and r.content == b""
    path = f"/v1/credentials/{cred['id']}"
    problem(org.get(path), 404, "not_found")
    problem(org.delete(path), 404, "not_found")
    problem(org.patch(path, {"recipient": {"name": "X"}}), 404, "not_found")
    problem(org.post(f"{path}/publish"), 404, "not_found")
    assert credentials(org) == []
    assert org.used() == 1  # R6


# --------------------------------------------------------------------------- isolation and auth


def _same_404(r: Any, twin: Any, theirs: str, unknown: str) -> None:
    a, b = problem(r, 404), problem(twin, 404)
    a["detail"] = a["detail"].replace(theirs, "<id>")
    b["detail"] = b["detail"].replace(unknown, "<id>")
    assert a == b


def test_another_organizations_objects_look_like_nothing(client: TestClient, org: Org) -> None:
    other = create_org(client, sandbox=True, anchor="2026-01-15")
    their_group = other.group()
    their_cred = issued(other.issue(their_group, "ann@x.org"))["id"]
    their_draft = issued(other.issue(their_group, "bob@x.org", publish=False))["id"]
    our_group = org.group()
    unknown_cred = their_cred[:-6] + "000000"
    unknown_group = their_group[:-6] + "000000"
    before = (other.credits(), credentials(other))

    for theirs, unknown in ((their_cred, unknown_cred), (their_draft, unknown_cred)):
        _same_404(
            org.get(f"/v1/credentials/{theirs}"),
            org.get(f"/v1/credentials/{unknown}"),
            theirs,
            unknown,
        )
        _same_404(
            org.patch(f"/v1/credentials/{theirs}", {"recipient": {"name": "X"}}),
            org.patch(f"/v1/credentials/{unknown}", {"recipient": {"name": "X"}}),
            theirs,
            unknown,
        )
        _same_404(
            org.post(f"/v1/credentials/{theirs}/publish"),
            org.post(f"/v1/credentials/{unknown}/publish"),
            theirs,
            unknown,
        )
        _same_404(
            org.delete(f"/v1/credentials/{theirs}"),
            org.delete(f"/v1/credentials/{unknown}"),
            theirs,
            unknown,
        )
    _same_404(
        org.get(f"/v1/groups/{their_group}"),
        org.get(f"/v1/groups/{unknown_group}"),
        their_group,
        unknown_group,
    )
    _same_404(
        org.issue(their_group, "x@x.org"),
        org.issue(unknown_group, "x@x.org"),
        their_group,
        unknown_group,
    )
    bulk = {"credentials": [{"recipient": {"name": "X", "email": "x@x.org"}}]}
    _same_404(
        org.post("/v1/credentials/bulk", {"group_id": their_group, **bulk}),
        org.post("/v1/credentials/bulk", {"group_id": unknown_group, **bulk}),
        their_group,
        unknown_group,
    )
    # a list filtered by their group finds what a list filtered by no group finds: nothing
    assert ok(org.get("/v1/credentials", params={"group_id": their_group})) == ok(
        org.get("/v1/credentials", params={"group_id": unknown_group})
    )
    assert credentials(org, recipient_email="ann@x.org") == []
    assert [g["id"] for g in ok(org.get("/v1/groups"))["groups"]] == [our_group]
    assert (other.credits(), credentials(other)) == before


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer credo_sk_wrong", "Bearer ", "Token abc", "bearer"],
)
def test_a_wrong_api_key_is_401_with_www_authenticate(
    client: TestClient, org: Org, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in [
        ("GET", "/v1/credits"),
        ("GET", "/v1/credentials"),
        ("POST", "/v1/groups"),
        ("GET", "/v1/test-clock"),
    ]:
        r = client.request(
            method, path, headers=headers, json={"name": "G"} if method == "POST" else None
        )
        problem(r, 401, "unauthorized")
        assert r.headers["www-authenticate"].lower().startswith("bearer")
    assert ok(org.get("/v1/groups"))["groups"] == []


def test_the_bearer_scheme_is_case_blind(org: Org) -> None:
    r = org.client.get("/v1/credits", headers={"Authorization": f"bearer {org.key}"})
    assert ok(r)["allowance"] == 250


# --------------------------------------------------------------------------- Idempotency-Key


def test_a_retried_post_is_answered_once_and_charged_once(org: Org) -> None:
    g = org.group()
    body = {"group_id": g, "recipient": {"name": "Ann", "email": "ann@x.org"}}
    key = {"Idempotency-Key": "issue-ann-1"}
    first = org.post("/v1/credentials", body, headers=key)
    assert first.status_code == 201
    again = org.post("/v1/credentials", body, headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.content == first.content
    assert len(credentials(org)) == 1
    assert len(ledger(org)) == 1
    assert org.used() == 1

    # the same key with another body is refused and changes nothing
    other = {**body, "recipient": {"name": "Bob", "email": "bob@x.org"}}
    problem(org.post("/v1/credentials", other, headers=key), 409, "idempotency_key_reused")
    # ... and so is the same key on another route
    bulk = {"group_id": g, "credentials": [{"recipient": other["recipient"]}]}
    problem(org.post("/v1/credentials/bulk", bulk, headers=key), 409, "idempotency_key_reused")
    assert len(credentials(org)) == 1
    assert len(ledger(org)) == 1

    # without a key, the same body is a new request: a duplicate (R2), free
    r = org.post("/v1/credentials", body)
    assert ok(r, 201)["credits_charged"] == 0
    assert len(credentials(org)) == 2


def test_idempotency_keys_belong_to_one_organization(client: TestClient, org: Org) -> None:
    other = create_org(client, sandbox=True, anchor="2026-01-15")
    key = {"Idempotency-Key": "k" * 255}
    mine = ok(org.post("/v1/groups", {"name": "G"}, headers=key), 201)
    theirs = ok(other.post("/v1/groups", {"name": "G"}, headers=key), 201)
    assert mine["group"]["id"] != theirs["group"]["id"]
    gm, gt = mine["group"]["id"], theirs["group"]["id"]
    a = ok(
        org.post(
            "/v1/credentials",
            {"group_id": gm, "recipient": {"name": "A", "email": "a@x.org"}},
            headers={"Idempotency-Key": "same"},
        ),
        201,
    )
    b = ok(
        other.post(
            "/v1/credentials",
            {"group_id": gt, "recipient": {"name": "A", "email": "a@x.org"}},
            headers={"Idempotency-Key": "same"},
        ),
        201,
    )
    assert a["credential"]["id"] != b["credential"]["id"]
    assert org.used() == other.used() == 1
    assert ok(org.get(f"/v1/groups/{gm}"))["group"]["id"] == gm
    problem(org.get(f"/v1/groups/{gt}"), 404)


def test_idempotent_bulk_patch_publish_and_delete(org: Org) -> None:
    g = org.group()
    bulk = {
        "group_id": g,
        "credentials": [{"recipient": {"name": "R", "email": f"r{i}@x.org"}} for i in range(3)],
    }
    first = org.post("/v1/credentials/bulk", bulk, headers={"Idempotency-Key": "bulk"})
    assert first.status_code == 201 and first.json()["credits_charged"] == 3
    again = org.post("/v1/credentials/bulk", bulk, headers={"Idempotency-Key": "bulk"})
    assert (again.status_code, again.content) == (201, first.content)
    assert org.used() == 3 and len(credentials(org)) == 3

    cred = first.json()["credentials"][0]["id"]
    patch = {"recipient": {"email": "new@x.org"}}
    p1 = org.patch(f"/v1/credentials/{cred}", patch, headers={"Idempotency-Key": "patch"})
    p2 = org.patch(f"/v1/credentials/{cred}", patch, headers={"Idempotency-Key": "patch"})
    assert (p1.status_code, p2.status_code) == (200, 200) and p1.content == p2.content
    assert p1.json()["credits_charged"] == 1 and org.used() == 4

    draft = issued(org.issue(g, "d@x.org", publish=False))["id"]
    q1 = org.post(f"/v1/credentials/{draft}/publish", headers={"Idempotency-Key": "pub"})
    q2 = org.post(f"/v1/credentials/{draft}/publish", headers={"Idempotency-Key": "pub"})
    assert (q1.status_code, q2.status_code) == (200, 200) and q1.content == q2.content
    assert org.used() == 5

    d1 = org.delete(f"/v1/credentials/{cred}", headers={"Idempotency-Key": "del"})
    d2 = org.delete(f"/v1/credentials/{cred}", headers={"Idempotency-Key": "del"})
    assert (d1.status_code, d2.status_code) == (204, 204)
    problem(org.delete(f"/v1/credentials/{cred}", headers={"Idempotency-Key": "del-2"}), 404)
    # a key names one request: the same key on another path is a different request
    problem(org.delete(f"/v1/credentials/{draft}", headers={"Idempotency-Key": "del"}), 409)
    assert ok(org.get(f"/v1/credentials/{draft}"))["credential"]["status"] == "published"


def test_an_idempotent_operator_post_creates_one_organization(client: TestClient) -> None:
    body = {"name": "Once", "plan": "connect", "credits": 10}
    headers = {**ADMIN, "Idempotency-Key": "create-once"}
    first = client.post("/v1/admin/organizations", json=body, headers=headers)
    again = client.post("/v1/admin/organizations", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.content == again.content
    problem(
        client.post("/v1/admin/organizations", json={**body, "name": "Twice"}, headers=headers),
        409,
        "idempotency_key_reused",
    )


# --------------------------------------------------------------------------- the test clock


def test_the_test_clock(org: Org) -> None:
    assert ok(org.get("/v1/test-clock")) == {"now": "2026-01-15T00:00:00Z"}
    assert ok(org.post("/v1/test-clock", {"now": "2026-03-01T10:00:00Z"})) == {
        "now": "2026-03-01T10:00:00Z"
    }
    assert ok(org.get("/v1/test-clock")) == {"now": "2026-03-01T10:00:00Z"}
    # offsets are read and answered in UTC
    assert ok(org.post("/v1/test-clock", {"now": "2026-03-01T12:30:00+02:00"})) == {
        "now": "2026-03-01T10:30:00Z"
    }
    # standing still is allowed; backwards is a conflict that changes nothing
    assert (
        ok(org.post("/v1/test-clock", {"now": "2026-03-01T10:30:00Z"}))["now"]
        == "2026-03-01T10:30:00Z"
    )
    problem(org.post("/v1/test-clock", {"now": "2026-03-01T10:29:59Z"}), 409, "clock_backwards")
    assert ok(org.get("/v1/test-clock")) == {"now": "2026-03-01T10:30:00Z"}
    # credentials default to today on the test clock
    assert issued(org.issue(org.group(), "a@x.org"))["issued_on"] == "2026-03-01"


def test_a_non_sandbox_organization_has_no_test_clock(client: TestClient) -> None:
    o = create_org(client, anchor="2026-01-15")
    problem(o.get("/v1/test-clock"), 404, "not_found")
    problem(o.post("/v1/test-clock", {"now": "2027-01-01T00:00:00Z"}), 404, "not_found")
    # its clock is the app's: 2026-02-01
    assert issued(o.issue(o.group(), "a@x.org"))["issued_on"] == "2026-02-01"


# --------------------------------------------------------------------------- dry runs (R12)


def _state(o: Org) -> tuple[Any, ...]:
    return (o.credits(), credentials(o), ledger(o))


def test_dry_run_of_a_single_issue(org: Org) -> None:
    g = org.group()
    body = {"group_id": g, "recipient": {"name": "Ann", "email": "ann@x.org"}}
    before = _state(org)
    preview = ok(org.post("/v1/credentials", {**body, "dry_run": True}))
    assert preview["credits_required"] == 1
    assert "credential" not in preview
    assert _state(org) == before
    assert (
        ok(org.post("/v1/credentials", body), 201)["credits_charged"] == preview["credits_required"]
    )

    before = _state(org)
    again = {**body, "recipient": {"name": "Ann", "email": "ANN@x.org"}}
    preview = ok(org.post("/v1/credentials", {**again, "dry_run": True}))
    assert preview["credits_required"] == 0
    assert _state(org) == before
    assert ok(org.post("/v1/credentials", again), 201)["credits_charged"] == 0

    # a draft needs nothing
    preview = ok(org.post("/v1/credentials", {**body, "publish": False, "dry_run": True}))
    assert preview["credits_required"] == 0


def test_dry_run_of_a_bulk(org: Org) -> None:
    g = org.group()
    issued(org.issue(g, "seated@x.org"))
    emails = ["seated@x.org", "a@x.org", "A@X.ORG", "b@x.org", "c@x.org", "b@x.org"]
    body = {
        "group_id": g,
        "credentials": [{"recipient": {"name": "R", "email": e}} for e in emails],
    }
    before = _state(org)
    preview = ok(org.post("/v1/credentials/bulk", {**body, "dry_run": True}))
    assert (preview["credits_required"], preview["count"]) == (3, 6)
    assert _state(org) == before
    real = ok(org.post("/v1/credentials/bulk", body), 201)
    assert real["credits_charged"] == preview["credits_required"]
    assert len(real["credentials"]) == 6
    assert [c["recipient"]["email"] for c in real["credentials"]] == emails
    assert org.used() == 4


def test_dry_run_of_a_patch_and_a_publish(org: Org) -> None:
    g = org.group()
    cred = issued(org.issue(g, "ann@x.org", expires_on="2026-12-31"))["id"]
    draft = issued(org.issue(g, "bob@x.org", publish=False))["id"]

    cases = [
        ("PATCH", f"/v1/credentials/{cred}", {"recipient": {"email": "carl@x.org"}}, 1),
        ("PATCH", f"/v1/credentials/{cred}", {"recipient": {"name": "Carl"}}, 0),
        ("POST", f"/v1/credentials/{draft}/publish", {}, 1),
    ]
    for method, path, body, cost in cases:
        before = _state(org)
        send = org.patch if method == "PATCH" else org.post
        preview = ok(send(path, {**body, "dry_run": True}))
        assert preview["credits_required"] == cost, (path, body)
        assert _state(org) == before
        assert ok(send(path, body))["credits_charged"] == cost

    # a renewal in the next billing year (R3.2)
    org.move_clock("2027-02-01T00:00:00Z")
    path = f"/v1/credentials/{cred}"
    before = _state(org)
    preview = ok(org.patch(path, {"expires_on": "2027-12-31", "dry_run": True}))
    assert preview["credits_required"] == 1
    assert _state(org) == before
    real = ok(org.patch(path, {"expires_on": "2027-12-31"}))
    assert real["credits_charged"] == 1
    assert real["credential"]["seat_year"] == 1
    assert ledger(org)[-1]["reason"] == "renewal"


def test_dry_run_and_402_when_credits_run_out(client: TestClient) -> None:
    o = create_org(client, plan="connect", credits=2, sandbox=True, anchor="2026-01-15")
    g = o.group()
    issued(o.issue(g, "a@x.org"))
    issued(o.issue(g, "b@x.org"))
    before = _state(o)
    preview = ok(o.issue(g, "c@x.org", dry_run=True))
    assert (preview["credits_required"], preview["credits_remaining"]) == (1, 0)
    assert preview["sufficient"] is False
    body = problem(o.issue(g, "c@x.org"), 402, "insufficient_credits")
    assert (body["credits_required"], body["credits_remaining"]) == (1, 0)
    bulk = {
        "group_id": g,
        "credentials": [
            {"recipient": {"name": "R", "email": e}} for e in ("a@x.org", "d@x.org", "e@x.org")
        ],
    }
    preview = ok(o.post("/v1/credentials/bulk", {**bulk, "dry_run": True}))
    assert (preview["credits_required"], preview["count"]) == (2, 3)
    body = problem(o.post("/v1/credentials/bulk", bulk), 402, "insufficient_credits")
    assert (body["credits_required"], body["credits_remaining"]) == (2, 0)
    assert _state(o) == before
    # a recipient with a seat is still free
    assert ok(o.issue(g, "A@x.org"), 201)["credits_charged"] == 0


# --------------------------------------------------------------------------- the ledger


def test_the_ledger_by_billing_year(org: Org) -> None:
    g = org.group()
    a = issued(org.issue(g, "a@x.org"))
    org.move_clock("2027-01-20T00:00:00Z")
    b = issued(org.issue(g, "b@x.org"))
    body = ok(org.get("/v1/credits/ledger"))
    assert body["billing_year"]["index"] == 1
    assert [(e["credential_id"], e["billing_year"], e["reason"]) for e in body["entries"]] == [
        (b["id"], 1, "publish")
    ]
    year0 = ok(org.get("/v1/credits/ledger", params={"billing_year": 0}))
    assert [e["credential_id"] for e in year0["entries"]] == [a["id"]]
    assert year0["entries"][0]["recipient"] == "a@x.org"
    assert year0["entries"][0]["at"] == "2026-01-15T00:00:00Z"
    future = ok(org.get("/v1/credits/ledger", params={"billing_year": 5}))
    assert future["entries"] == [] and future["next_cursor"] is None


# --------------------------------------------------------------------------- the service


def test_openapi_lists_the_spec_paths(client: TestClient) -> None:
    r = client.get("/openapi.json")
    doc = ok(r)
    paths = {re.sub(r"\{[^}]+\}", "{}", p): set(ops) for p, ops in doc["paths"].items()}
    expected = {
        "/v1/admin/organizations": {"post"},
        "/v1/admin/organizations/{}/subscription": {"put", "delete"},
        "/v1/credits": {"get"},
        "/v1/credits/ledger": {"get"},
        "/v1/groups": {"post"},
        "/v1/groups/{}": {"get"},
        "/v1/credentials": {"post", "get"},
        "/v1/credentials/{}": {"get", "patch", "delete"},
        "/v1/credentials/{}/publish": {"post"},
        "/v1/credentials/bulk": {"post"},
        "/v1/test-clock": {"get", "post"},
    }
    for path, methods in expected.items():
        assert path in paths, f"{path} missing from /openapi.json"
        assert methods <= paths[path], f"{path}: {sorted(paths[path])}"


def test_healthz(client: TestClient) -> None:
    body = ok(client.get("/healthz"))
    assert body["status"] == "ok"


def test_an_unknown_route_is_a_problem(client: TestClient, org: Org) -> None:
    problem(org.get("/v1/nothing-here"), 404)
    r = org.client.request("PUT", "/v1/credits", headers=org.auth)
    problem(r, 405)


def test_a_refusal_is_the_first_answer_for_its_idempotency_key(client: TestClient) -> None:
    """R13: a retry returns the first answer, a 402 included, even once credits are raised;
    a new key then publishes."""
    org = create_org(client, plan="connect", credits=1, sandbox=True, anchor="2026-01-15")
    g = org.group()
    assert org.issue(g, "ann@x.org").status_code == 201
    key = {"Idempotency-Key": "publish-bob"}
    body = {"group_id": g, "recipient": {"name": "Bob", "email": "bob@x.org"}}
    first = org.post("/v1/credentials", body, headers=key)
    assert first.status_code == 402
    raised = client.put(
        f"/v1/admin/organizations/{org.id}/subscription",
        json={"plan": "connect", "credits": 5},
        headers=ADMIN,
    )
    assert raised.status_code == 200
    retry = org.post("/v1/credentials", body, headers=key)
    assert retry.status_code == 402
    assert retry.headers["content-type"] == "application/problem+json"
    assert retry.json() == first.json()
    assert org.used() == 1
    fresh = org.post("/v1/credentials", body, headers={"Idempotency-Key": "publish-bob-2"})
    assert fresh.status_code == 201 and org.used() == 2
