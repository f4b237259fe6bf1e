"""Members and roles: owners invite, change roles and remove; nobody else may; an
organization always keeps an owner; one person works in several organizations."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from credo.bootstrap import App
from credo.domain.accounts import Role
from credo.services.people import accounts
from tests.conftest import Org, create_org
from tests.dashboard.helpers import make_person, sign_in
from tests.dashboard.mail import unique_email

HTML = {"Accept": "text/html"}


def role_of(credo: App, org_id: str, user_id: str) -> str | None:
    m = credo.runner.read(lambda uow: uow.accounts.membership(org_id, user_id))
    return None if m is None else m.role


def test_an_owner_invites_new_and_existing_people(credo: App, org: Org, client: TestClient) -> None:
    owner = sign_in(credo, unique_email("owner"), org.id)
    page = owner.get("/app/members")
    assert page.status_code == 200 and owner.email in page.text

    issuer = unique_email("issuer")
    r = owner.post("/app/members/invite", {"email": issuer, "name": "Iss Uer", "role": "issuer"})
    assert r.status_code == 303 and r.headers["location"] == "/app/members?notice=invited"

    # Someone with an account (in another organization) is added, not made again.
    other = create_org(client, name="Elsewhere", sandbox=True, anchor="2026-01-15")
    viewer = unique_email("viewer")
    viewer_id = make_person(credo, viewer, other.id, Role.OWNER)
    r = owner.post("/app/members/invite", {"email": viewer.upper(), "role": "viewer"})
    assert r.status_code == 303 and r.headers["location"] == "/app/members?notice=added"
    assert role_of(credo, org.id, viewer_id) == "viewer"
    assert role_of(credo, other.id, viewer_id) == "owner"

    listed = owner.get("/app/members?notice=added")
    assert issuer in listed.text and viewer in listed.text and "Iss Uer" in listed.text
    assert "they can sign in with their existing account" in listed.text

    # Twice is refused in the page, as is nonsense.
    again = owner.post("/app/members/invite", {"email": issuer, "role": "issuer"})
    assert again.status_code == 409 and "Already a member" in again.text
    assert issuer in again.text  # the form keeps what was typed
    bad_role = owner.post("/app/members/invite", {"email": unique_email("x"), "role": "admin"})
    assert bad_role.status_code == 422 and "choose owner, issuer or viewer" in bad_role.text
    bad_mail = owner.post("/app/members/invite", {"email": "no at sign", "role": "viewer"})
    assert bad_mail.status_code == 422 and "not a valid e-mail address" in bad_mail.text


def test_owners_change_roles_and_remove_members(credo: App, org: Org) -> None:
    owner = sign_in(credo, unique_email("owner"), org.id)
    issuer = sign_in(credo, unique_email("issuer"), org.id, Role.ISSUER)
    assert issuer.get("/app/members").status_code == 403

    r = owner.post(f"/app/members/{issuer.user_id}/role", {"role": "owner"})
    assert r.status_code == 303 and role_of(credo, org.id, issuer.user_id) == "owner"
    assert issuer.get("/app/members").status_code == 200  # the new role applies at once
    r = owner.post(f"/app/members/{issuer.user_id}/role", {"role": "viewer"})
    assert r.status_code == 303 and role_of(credo, org.id, issuer.user_id) == "viewer"

    assert owner.post("/app/members/usr_nobody/role", {"role": "viewer"}).status_code == 404
    assert owner.post("/app/members/usr_nobody/remove").status_code == 404

    r = owner.post(f"/app/members/{issuer.user_id}/remove")
    assert r.status_code == 303 and role_of(credo, org.id, issuer.user_id) is None
    # Their session no longer reaches the organization.
    gone = issuer.client.get("/app", headers=HTML, follow_redirects=False)
    assert gone.status_code == 303


def test_an_organization_keeps_an_owner(credo: App, org: Org) -> None:
    owner = sign_in(credo, unique_email("sole-owner"), org.id)
    for action, data in (("role", {"role": "issuer"}), ("remove", {})):
        r = owner.post(f"/app/members/{owner.user_id}/{action}", data)
        assert r.status_code == 409, action
        assert "without an owner" in r.text
    assert role_of(credo, org.id, owner.user_id) == "owner"

    second = sign_in(credo, unique_email("second-owner"), org.id)
    r = owner.post(f"/app/members/{owner.user_id}/role", {"role": "issuer"})
    assert r.status_code == 303 and r.headers["location"] == "/app"
    assert role_of(credo, org.id, owner.user_id) == "issuer"
    # Now the second is the last owner: they cannot leave or step down.
    assert second.post(f"/app/members/{second.user_id}/remove").status_code == 409
    assert second.post(f"/app/members/{second.user_id}/role", {"role": "viewer"}).status_code == 409


@pytest.mark.parametrize("role", [Role.ISSUER, Role.VIEWER])
def test_only_owners_manage_members_and_keys(credo: App, org: Org, role: Role) -> None:
    owner = sign_in(credo, unique_email("owner"), org.id)
    person = sign_in(credo, unique_email(role.value), org.id, role)
    home = person.get("/app")
    assert home.status_code == 200 and "/app/members" not in home.text
    for path in ("/app/members", "/app/api-keys"):
        r = person.get(path)
        assert r.status_code == 403 and "ask an owner" in r.text
    posts: list[tuple[str, dict[str, Any]]] = [
        ("/app/members/invite", {"email": unique_email("sneaky"), "role": "owner"}),
        (f"/app/members/{person.user_id}/role", {"role": "owner"}),
        (f"/app/members/{owner.user_id}/role", {"role": "viewer"}),
        (f"/app/members/{owner.user_id}/remove", {}),
        ("/app/api-keys", {"name": "Sneaky"}),
        ("/app/api-keys/key_whatever/revoke", {}),
    ]
    for path, data in posts:
        assert person.post(path, data).status_code == 403, path
    assert role_of(credo, org.id, person.user_id) == role.value
    assert role_of(credo, org.id, owner.user_id) == "owner"
    # Not a browser: problem JSON, still refused.
    api = person.client.get("/app/members")
    assert api.status_code == 403 and api.json()["code"] == "forbidden"


def test_forms_need_the_csrf_token(credo: App, org: Org) -> None:
    owner = sign_in(credo, unique_email("owner"), org.id)
    victim = sign_in(credo, unique_email("victim"), org.id, Role.VIEWER)
    forms: list[tuple[str, dict[str, str]]] = [
        ("/app/members/invite", {"email": unique_email("csrf"), "role": "owner"}),
        (f"/app/members/{victim.user_id}/role", {"role": "owner"}),
        (f"/app/members/{victim.user_id}/remove", {}),
        ("/app/api-keys", {"name": "Forged"}),
    ]
    for path, data in forms:
        for csrf in (None, "", "forged-token"):
            body = data if csrf is None else {**data, "csrf": csrf}
            r = owner.client.post(path, data=body, headers=HTML, follow_redirects=False)
            assert r.status_code == 403, (path, csrf)
    assert role_of(credo, org.id, victim.user_id) == "viewer"
    keys = credo.runner.read(lambda uow: uow.api_keys.all(org.id))
    assert len(keys) == 1  # only the one the organization was made with


def test_one_person_switches_between_organizations(credo: App, client: TestClient) -> None:
    first = create_org(client, name="First Academy", sandbox=True, anchor="2026-01-15")
    second = create_org(client, name="Second <School>", sandbox=True, anchor="2026-01-15")
    person = sign_in(credo, unique_email("both"), first.id, Role.OWNER)
    credo.runner.write(
        lambda uow: accounts.add_member(uow, credo.clock, second.id, person.user_id, Role.VIEWER)
    )
    home = person.get("/app")
    assert "<h1>First Academy</h1>" in home.text
    assert "Second &lt;School&gt; (viewer)" in home.text  # in the switcher, escaped
    assert person.get("/app/members").status_code == 200

    r = person.post("/app/switch", {"organization_id": second.id})
    assert r.status_code == 303
    home = person.get("/app")
    assert "<h1>Second &lt;School&gt;</h1>" in home.text
    assert person.get("/app/members").status_code == 403  # a viewer here

    # Not one of theirs: refused, and the session stays where it was.
    stranger = create_org(client, name="Stranger", sandbox=True, anchor="2026-01-15")
    assert person.post("/app/switch", {"organization_id": stranger.id}).status_code == 404
    assert "<h1>Second &lt;School&gt;</h1>" in person.get("/app").text
    person.post("/app/switch", {"organization_id": first.id})
    assert "<h1>First Academy</h1>" in person.get("/app").text


def test_names_and_addresses_are_escaped(credo: App, org: Org) -> None:
    owner = sign_in(credo, unique_email("owner"), org.id)
    evil = '<script>alert("x")</script>'
    r = owner.post(
        "/app/members/invite", {"email": unique_email("evil"), "name": evil, "role": "viewer"}
    )
    assert r.status_code == 303
    page = owner.get("/app/members")
    assert evil not in page.text and "&lt;script&gt;" in page.text
    bad = owner.post("/app/members/invite", {"email": evil, "name": evil, "role": "viewer"})
    assert bad.status_code == 422 and evil not in bad.text


def test_odd_input_never_breaks_the_pages(credo: App, org: Org) -> None:
    owner = sign_in(credo, unique_email("owner"), org.id)
    # The longest address there is, and no name: its local part names the person.
    local = unique_email("long").split("@")[0].ljust(64, "l")
    long_email = local + "@" + ".".join(["d" * 60] * 3) + ".xx.org"
    assert len(long_email) == 254
    r = owner.post("/app/members/invite", {"email": long_email, "role": "viewer"})
    assert r.status_code == 303, r.text
    for user_id in ("x" * 300, "usr_ünïcode", "%00", "'; drop table users; --"):
        for action, data in (("role", {"role": "viewer"}), ("remove", {})):
            r = owner.post(f"/app/members/{user_id}/{action}", data)
            assert r.status_code in (404, 405), (user_id, action, r.status_code)
        assert owner.post(f"/app/api-keys/{user_id}/revoke").status_code == 404
    for field, size in (("email", 400), ("name", 300), ("role", 100)):
        r = owner.post(
            "/app/members/invite", {"email": "a@b.org", "role": "viewer", field: "x" * size}
        )
        assert r.status_code == 422, field
    r = owner.post("/app/members/invite", {"email": unique_email("nul"), "name": "A\x00B\nC"})
    assert r.status_code == 422  # no role chosen
    r = owner.post(
        "/app/members/invite", {"email": unique_email("nul"), "name": "A\x00B\nC", "role": "viewer"}
    )
    assert r.status_code == 303 and "A B C" in owner.get("/app/members").text
    assert owner.get("/app/members?notice=<script>").status_code == 200
    assert owner.get("/app/api-keys?notice=" + "x" * 5000).status_code == 200
