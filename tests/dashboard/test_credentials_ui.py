"""Credentials in the dashboard: one from a form with its cost, the list, bulk actions."""

from __future__ import annotations

import re
import uuid

import pytest

from credo.bootstrap import App
from credo.domain.accounts import Role
from tests.conftest import Org, create_org
from tests.dashboard.helpers import Person, sign_in


def email(who: str) -> str:
    return f"{who}-{uuid.uuid4().hex[:10]}@example.org"


def one(gid: str, addr: str, action: str, **extra: str) -> dict[str, str]:
    return {
        "group_id": gid,
        "recipient_name": "Ann Lee",
        "recipient_email": addr,
        "issued_on": "2026-02-01",
        "expires_on": "",
        "action": action,
        **extra,
    }


def shown(html: str, name: str) -> int:
    found = re.search(rf'id="{name}">(\d+)<', html)
    assert found, name
    return int(found.group(1))


def test_single_issue_preview_matches_the_api_dry_run_then_publish_charges(
    credo: App, org: Org
) -> None:
    issuer = sign_in(credo, email("issuer"), org.id, Role.ISSUER)
    gid = org.group("Course")
    assert org.issue(gid, "held@x.org").status_code == 201
    for addr in ("new@x.org", "HELD@x.org"):
        api = org.issue(gid, addr, dry_run=True).json()
        page = issuer.post("/app/credentials/new", one(gid, addr, "preview"))
        assert page.status_code == 200
        assert shown(page.text, "credits-required") == api["credits_required"]
        assert shown(page.text, "credits-remaining-preview") == api["credits_remaining"]
        assert ("yes" if api["sufficient"] else "no") in page.text
    assert org.used() == 1
    r = issuer.post("/app/credentials/new", one(gid, "new@x.org", "publish"))
    assert r.status_code == 303 and "charged=1" in r.headers["location"]
    assert org.used() == 2
    draft = issuer.post("/app/credentials/new", one(gid, "draft@x.org", "draft"))
    assert draft.status_code == 303 and org.used() == 2
    listing = issuer.get(draft.headers["location"])
    assert "draft@x.org" in listing.text and "saved as a draft" in listing.text


def test_a_refused_publish_says_how_many_credits_short(client, credo: App) -> None:  # type: ignore[no-untyped-def]
    small = create_org(client, plan="connect", credits=1, sandbox=True, anchor="2026-01-15")
    owner = sign_in(credo, email("owner"), small.id)
    gid = small.group("Tiny")
    assert small.issue(gid, "first@x.org").status_code == 201
    r = owner.post("/app/credentials/new", one(gid, "second@x.org", "publish"))
    assert r.status_code == 402
    assert "1 credit short" in r.text and "R11" not in r.text
    assert small.used() == 1
    assert len(small.get("/v1/credentials").json()["credentials"]) == 1


def test_form_errors_come_back_inline(credo: App, org: Org) -> None:
    issuer = sign_in(credo, email("issuer"), org.id, Role.ISSUER)
    gid = org.group("Course")
    for changes, field in [
        ({"recipient_email": "not-an-address"}, "recipient_email"),
        ({"recipient_name": ""}, "recipient_name"),
        ({"issued_on": "yesterday"}, "issued_on"),
        ({"expires_on": "2020-01-01"}, "expires_on"),
        ({"group_id": ""}, "group_id"),
    ]:
        r = issuer.post("/app/credentials/new", {**one(gid, "x@x.org", "publish"), **changes})
        assert r.status_code == 422, (changes, r.text[:300])
        assert f'id="{field}-error"' in r.text
    assert org.used() == 0


def test_search_filters_and_pages(credo: App, org: Org) -> None:
    viewer = sign_in(credo, email("viewer"), org.id, Role.VIEWER)
    a, b = org.group("Alpha"), org.group("Beta")
    assert org.issue(a, "zed@x.org", name="Zed Zulu").status_code == 201
    assert org.issue(b, "yan@x.org", name="Yan Yu", expires_on="2026-02-10").status_code == 201
    assert org.issue(b, "xi@x.org", name="Xi 50%_", publish=False).status_code == 201
    cid = org.issue(a, "wu@x.org", name="Wu").json()["credential"]["id"]
    assert org.post(f"/v1/credentials/{cid}/revoke", {"reason": "oops"}).status_code == 200

    def names(query: str) -> set[str]:
        html = viewer.get(f"/app/credentials?{query}").text
        # A random CSRF token may hold "Wu" by chance (one page in a hundred or so).
        html = re.sub(r'name="csrf" value="[^"]*"', "", html)
        return {n for n in ("Zed Zulu", "Yan Yu", "Xi 50%_", "Wu") if n in html}

    assert names("") == {"Zed Zulu", "Yan Yu", "Xi 50%_", "Wu"}
    # Names and e-mails match by their start (an index answers it however large the
    # organization); LIKE's wildcards are plain characters.
    assert names("q=zed+z") == {"Zed Zulu"}
    assert names("q=zulu") == set()
    assert names("q=YAN%40X") == {"Yan Yu"}
    assert names("q=xi+50%25_") == {"Xi 50%_"}
    assert names("q=xi+5_") == set()
    assert names("q=%25") == set()
    assert names(f"group_id={b}") == {"Yan Yu", "Xi 50%_"}
    assert names("status=draft") == {"Xi 50%_"}
    assert names("status=revoked") == {"Wu"}
    assert names("status=published") == {"Zed Zulu", "Yan Yu"}
    assert names("expiring=1") == {"Yan Yu"}
    html = viewer.get("/app/credentials").text
    assert 'name="ids"' not in html and "Publish…" not in html  # viewers: no actions
    for i in range(26):
        org.issue(a, f"p{i}@x.org", name=f"Pager {i}", publish=False)
    first = viewer.get("/app/credentials?q=Pager").text
    assert "page 1 of 2" in first and "Next page" in first
    second = viewer.get("/app/credentials?q=Pager&page_no=2").text
    assert "page 2 of 2" in second and "Previous page" in second
    assert viewer.get("/app/credentials?page_no=-5&status=bogus&group_id=x").status_code == 200
    assert viewer.get("/app/credentials?page_no=abc").status_code == 422


def confirm(person: Person, action: str, ids: list[str]) -> str:
    r = person.post("/app/credentials/bulk", {"action": action, "ids": ids})
    assert r.status_code == 200, r.text[:500]
    return str(r.text)


def run(person: Person, action: str, ids: list[str], html: str, **extra: str) -> str:
    expected = shown(html, "credits-required")
    r = person.post(
        "/app/credentials/bulk/run",
        {"action": action, "ids": ids, "expected_credits": str(expected), **extra},
    )
    assert r.status_code == 303, r.text[:500]
    return str(r.headers["location"])


def test_bulk_publish_shows_the_dry_run_cost_then_charges_it(credo: App, org: Org) -> None:
    issuer = sign_in(credo, email("issuer"), org.id, Role.ISSUER)
    gid = org.group("Course")
    assert org.issue(gid, "seated@x.org").status_code == 201
    drafts = [
        org.issue(gid, addr, publish=False).json()["credential"]["id"]
        for addr in ("a@x.org", "b@x.org", "seated@x.org")
    ]
    api_total = sum(
        org.post(f"/v1/credentials/{d}/publish", {"dry_run": True}).json()["credits_required"]
        for d in drafts
    )
    html = confirm(issuer, "publish", drafts)
    assert shown(html, "credits-required") == api_total == 2
    before = org.used()
    location = run(issuer, "publish", drafts, html)
    assert "charged=2" in location and org.used() == before + 2
    again = confirm(issuer, "publish", drafts)
    assert "already published" in again and "Publish 0 credentials" in again


def test_bulk_renew_costs_what_the_api_dry_run_says(credo: App, org: Org) -> None:
    issuer = sign_in(credo, email("issuer"), org.id, Role.ISSUER)
    gid = org.group("Yearly", expires_after_months=12)
    ids = [org.issue(gid, f"r{i}@x.org").json()["credential"]["id"] for i in range(2)]
    org.move_clock("2027-02-01T00:00:00Z")  # a new billing year: renewing needs seats (R3.2)
    api = [
        org.patch(
            f"/v1/credentials/{i}",
            {"issued_on": "2027-02-01", "expires_on": "2028-02-01", "dry_run": True},
        ).json()["credits_required"]
        for i in ids
    ]
    html = confirm(issuer, "renew", ids)
    assert shown(html, "credits-required") == sum(api) == 2
    assert "1 February 2028" in html
    run(issuer, "renew", ids, html)
    cred = org.get(f"/v1/credentials/{ids[0]}").json()["credential"]
    assert cred["issued_on"] == "2027-02-01" and cred["expires_on"] == "2028-02-01"
    assert org.used() == 2


def test_bulk_revoke_and_delete_are_free_and_confirmed(credo: App, org: Org) -> None:
    issuer = sign_in(credo, email("issuer"), org.id, Role.ISSUER)
    gid = org.group("Course")
    ids = [org.issue(gid, f"v{i}@x.org").json()["credential"]["id"] for i in range(2)]
    used = org.used()
    html = confirm(issuer, "revoke", ids)
    assert shown(html, "credits-required") == 0 and "no credit is returned" in html
    run(issuer, "revoke", ids, html, reason="left the course")
    cred = org.get(f"/v1/credentials/{ids[0]}").json()["credential"]
    assert cred["revoked_at"] and cred["revocation_reason"] == "left the course"
    html = confirm(issuer, "delete", ids)
    run(issuer, "delete", ids, html)
    assert org.get(f"/v1/credentials/{ids[0]}").status_code == 404
    assert org.used() == used


def test_bulk_refusal_and_a_changed_cost(client, credo: App) -> None:  # type: ignore[no-untyped-def]
    small = create_org(client, plan="connect", credits=1, sandbox=True, anchor="2026-01-15")
    owner = sign_in(credo, email("owner"), small.id)
    gid = small.group("Tiny")
    drafts = [
        small.issue(gid, f"d{i}@x.org", publish=False).json()["credential"]["id"] for i in range(2)
    ]
    html = confirm(owner, "publish", drafts)
    assert "1 credit short" in html and "for 2 credits" not in html
    r = owner.post(
        "/app/credentials/bulk/run", {"action": "publish", "ids": drafts, "expected_credits": "2"}
    )
    assert r.status_code == 402 and "1 credit short" in r.text
    assert small.used() == 0
    changed = owner.post(
        "/app/credentials/bulk/run",
        {"action": "publish", "ids": drafts[:1], "expected_credits": "0"},
    )
    assert changed.status_code == 409 and "cost changed" in changed.text
    assert small.used() == 0


@pytest.mark.parametrize(
    "path", ["/app/credentials/new", "/app/credentials/bulk", "/app/credentials/bulk/run"]
)
def test_viewers_get_403_on_every_post(credo: App, org: Org, path: str) -> None:
    viewer = sign_in(credo, email("viewer"), org.id, Role.VIEWER)
    gid = org.group("Course")
    cid = org.issue(gid, "v@x.org", publish=False).json()["credential"]["id"]
    data = {**one(gid, "w@x.org", "publish"), "ids": [cid], "action": "publish"}
    assert viewer.post(path, data).status_code == 403
    assert viewer.get("/app/credentials/new").status_code == 403
    assert org.used() == 0


def test_another_organizations_credentials_are_not_found(credo: App, org: Org) -> None:
    other = create_org(org.client, name="Other", sandbox=True, anchor="2026-01-15")
    theirs_group = other.group("Theirs")
    theirs = other.issue(theirs_group, "t@x.org", publish=False).json()["credential"]["id"]
    owner = sign_in(credo, email("owner"), org.id)
    for action in ("publish", "delete"):
        assert (
            owner.post("/app/credentials/bulk", {"action": action, "ids": [theirs]}).status_code
            == 404
        )
        r = owner.post("/app/credentials/bulk/run", {"action": action, "ids": [theirs]})
        assert r.status_code == 404
    assert (
        owner.post("/app/credentials/new", one(theirs_group, "a@x.org", "publish")).status_code
        == 404
    )
    assert "t@x.org" not in owner.get("/app/credentials?q=t%40x").text
    assert other.get(f"/v1/credentials/{theirs}").json()["credential"]["status"] == "draft"


def test_no_input_produces_a_500(credo: App, org: Org) -> None:
    owner = sign_in(credo, email("owner"), org.id)
    gid = org.group("Course")
    cases: list[dict[str, object]] = [
        {"action": "explode", "ids": ["x"]},
        {"action": "publish", "ids": ["../../etc"]},
        {"action": "publish"},
        {"action": "revoke", "ids": ["cred_nope"], "reason": "x" * 600},
    ]
    for data in cases:
        for path in ("/app/credentials/bulk", "/app/credentials/bulk/run"):
            r = owner.post(path, data)
            assert r.status_code < 500, (path, data, r.status_code)
    bad = owner.post(
        "/app/credentials/new", {**one(gid, "a@x.org", "publish"), "issued_on": "2026-13-40"}
    )
    assert bad.status_code == 422


def test_counts_stop_at_their_limit(credo: App, org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    viewer = sign_in(credo, email("viewer"), org.id, Role.VIEWER)
    g = org.group("Alpha")
    for i in range(4):
        org.issue(g, f"c{i}@x.org", name=f"Counted {i}", publish=False)
    monkeypatch.setattr("credo.domain.entities.SEARCH_COUNT_LIMIT", 3)
    monkeypatch.setattr("credo.domain.entities.COUNT_LIMIT", 2)
    assert "3 or more matches" in viewer.get("/app/credentials?q=Counted").text
    listed = viewer.get("/app/credentials").text
    assert "2 or more credentials" in listed
    assert viewer.get("/app/credentials?q=Counted+3").text.count("Counted 3") >= 1
    assert "1 credential" in viewer.get("/app/credentials?q=Counted+3").text
