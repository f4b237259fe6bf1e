"""Authorization, route by route: every dashboard route is listed here (a test fails when a
route is added without being listed), and each is tried as a stranger, as a viewer, as an
issuer and as a member of another organization."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credo.bootstrap import App
from credo.domain.accounts import Role
from credo.entrypoints.dashboard.install import ROUTERS
from tests.conftest import Org, create_org
from tests.dashboard.helpers import Person, sign_in
from tests.webhook_receiver import settled_webhooks as settled_webhooks_fixture

settled_webhooks = settled_webhooks_fixture


@pytest.fixture(autouse=True)
def _settle(settled_webhooks: None) -> None:
    """This module makes webhook endpoints: they are settled after each test."""


@dataclass(frozen=True)
class Route:
    method: str
    # with {group_id}, {cred_id}, {job_id}, {user_id}, {key_id}, {webhook_id}, {delivery_id},
    # {dept_id}
    path: str
    needs: str  # "view", "issue" or "owner": the least role that may use it


ROUTES = [
    Route("GET", "/app", "view"),
    Route("POST", "/app/switch", "view"),
    Route("GET", "/app/groups", "view"),
    Route("GET", "/app/groups/new", "issue"),
    Route("POST", "/app/groups/new", "issue"),
    Route("GET", "/app/groups/{group_id}", "view"),
    Route("POST", "/app/groups/{group_id}", "issue"),
    Route("POST", "/app/groups/{group_id}/archive", "issue"),
    Route("POST", "/app/groups/{group_id}/unarchive", "issue"),
    Route("GET", "/app/groups/preview/badge.svg", "view"),
    Route("GET", "/app/groups/preview/certificate.pdf", "view"),
    Route("GET", "/app/groups/{group_id}/preview/badge.svg", "view"),
    Route("GET", "/app/groups/{group_id}/preview/certificate.pdf", "view"),
    Route("GET", "/app/credentials", "view"),
    Route("GET", "/app/credentials/new", "issue"),
    Route("POST", "/app/credentials/new", "issue"),
    Route("POST", "/app/credentials/bulk", "issue"),
    Route("POST", "/app/credentials/bulk/run", "issue"),
    Route("GET", "/app/credentials/{cred_id}", "view"),
    Route("GET", "/app/credentials/{cred_id}/renew", "issue"),
    Route("POST", "/app/credentials/{cred_id}/renew", "issue"),
    Route("GET", "/app/credentials/{cred_id}/revoke", "issue"),
    Route("POST", "/app/credentials/{cred_id}/revoke", "issue"),
    Route("GET", "/app/credentials/{cred_id}/resend", "issue"),
    Route("POST", "/app/credentials/{cred_id}/resend", "issue"),
    Route("GET", "/app/credentials/{cred_id}/delete", "issue"),
    Route("POST", "/app/credentials/{cred_id}/delete", "issue"),
    Route("GET", "/app/imports", "view"),
    Route("GET", "/app/imports/new", "issue"),
    Route("POST", "/app/imports", "issue"),
    Route("GET", "/app/imports/{job_id}/map", "issue"),
    Route("POST", "/app/imports/{job_id}/map", "issue"),
    Route("GET", "/app/imports/{job_id}/errors.csv", "view"),
    Route("GET", "/app/imports/{job_id}", "view"),
    Route("POST", "/app/imports/{job_id}/start", "issue"),
    Route("GET", "/app/imports/{job_id}/progress", "view"),
    Route("GET", "/app/credits", "view"),
    Route("GET", "/app/credits/ledger.csv", "view"),
    Route("GET", "/app/credits/how", "view"),
    Route("GET", "/app/engagement", "view"),
    Route("GET", "/app/engagement.csv", "view"),
    Route("POST", "/app/engagement/email-opens", "owner"),
    Route("GET", "/app/departments", "owner"),
    Route("POST", "/app/departments", "owner"),
    Route("GET", "/app/departments/{dept_id}", "owner"),
    Route("POST", "/app/departments/{dept_id}", "owner"),
    Route("POST", "/app/departments/{dept_id}/delete", "owner"),
    Route("GET", "/app/audit-log", "owner"),
    Route("GET", "/app/audit-log.csv", "owner"),
    Route("GET", "/app/members", "owner"),
    Route("POST", "/app/members/invite", "owner"),
    Route("POST", "/app/members/{user_id}/role", "owner"),
    Route("POST", "/app/members/{user_id}/remove", "owner"),
    Route("GET", "/app/api-keys", "owner"),
    Route("POST", "/app/api-keys", "owner"),
    Route("POST", "/app/api-keys/{key_id}/revoke", "owner"),
    Route("GET", "/app/webhooks", "owner"),
    Route("POST", "/app/webhooks", "owner"),
    Route("GET", "/app/webhooks/{webhook_id}", "owner"),
    Route("POST", "/app/webhooks/{webhook_id}/test", "owner"),
    Route("POST", "/app/webhooks/{webhook_id}/enabled", "owner"),
    Route("POST", "/app/webhooks/{webhook_id}/rotate", "owner"),
    Route("POST", "/app/webhooks/{webhook_id}/delete", "owner"),
    Route("GET", "/app/webhooks/{webhook_id}/deliveries/{delivery_id}", "owner"),
    Route("POST", "/app/webhooks/{webhook_id}/deliveries/{delivery_id}/resend", "owner"),
    Route("GET", "/app/settings/sso", "owner"),
    Route("POST", "/app/settings/sso/oidc", "owner"),
    Route("POST", "/app/settings/sso/saml", "owner"),
    Route("POST", "/app/settings/sso/policy", "owner"),
    Route("POST", "/app/settings/sso/domains", "owner"),
    Route("POST", "/app/settings/sso/domains/verify", "owner"),
    Route("POST", "/app/settings/sso/domains/remove", "owner"),
]
OPEN = {("GET", "/login"), ("POST", "/login"), ("POST", "/logout")}
RANK = {"view": 0, "issue": 1, "owner": 2}
ROLE_RANK = {Role.VIEWER: 0, Role.ISSUER: 1, Role.OWNER: 2}
HTML = {"Accept": "text/html"}


def test_every_dashboard_route_is_listed() -> None:
    served = {
        (method, route.path)
        for module in ROUTERS
        for route in module.router.routes
        for method in getattr(route, "methods", ())
        if route.path.startswith("/app") or (method, route.path) in OPEN
    }
    listed = {(r.method, r.path.replace("certificate.pdf", "certificate.{fmt}")) for r in ROUTES}
    assert served - OPEN == listed


@dataclass
class World:
    a: Org
    b: Org
    ids: dict[str, str]
    people: dict[str, Person]


@pytest.fixture
def world(credo: App, client: TestClient) -> World:
    a = create_org(client, name="Org A", sandbox=True)
    b = create_org(client, name="Org B", sandbox=True)
    group_id = a.group("Secret course of A")
    cred = a.issue(group_id, "alice@example.org", "Alice of A")
    assert cred.status_code == 201, cred.text
    tag = uuid.uuid4().hex[:8]  # accounts outlive a test in the shared database
    people = {
        "owner": sign_in(credo, f"owner-{tag}@a.example", a.id, Role.OWNER),
        "issuer": sign_in(credo, f"issuer-{tag}@a.example", a.id, Role.ISSUER),
        "viewer": sign_in(credo, f"viewer-{tag}@a.example", a.id, Role.VIEWER),
        "other": sign_in(credo, f"owner-{tag}@b.example", b.id, Role.OWNER),
    }
    owner = people["owner"]
    up = owner.client.post(
        "/app/imports",
        data={"csrf": owner.csrf(), "group_id": group_id},
        files={"file": ("a.csv", b"name,email\nBob,bob@example.org\n", "text/csv")},
        headers=HTML,
        follow_redirects=False,
    )
    assert up.status_code == 303, up.text
    job_id = up.headers["location"].split("/")[3]
    keys = owner.post("/app/api-keys", {"name": "World key"})
    assert keys.status_code == 201, keys.text
    with credo.engine.connect() as conn:
        from sqlalchemy import select

        from credo.adapters.db import tables as t

        key_id = conn.execute(
            select(t.api_keys.c.id).where(t.api_keys.c.organization_id == a.id).limit(1)
        ).scalar_one()
    hook = a.post(
        "/v1/webhooks", {"url": "https://hooks.a.example/in", "events": ["credential.revoked"]}
    )
    assert hook.status_code == 201, hook.text
    webhook_id = hook.json()["webhook"]["id"]
    sent = a.post(f"/v1/webhooks/{webhook_id}/test")
    assert sent.status_code == 202, sent.text
    dept = a.post("/v1/departments", {"name": "Secret faculty of A", "credit_cap": 7})
    assert dept.status_code == 201, dept.text
    ids = {
        "dept_id": dept.json()["department"]["id"],
        "webhook_id": webhook_id,
        "delivery_id": sent.json()["delivery"]["id"],
        "group_id": group_id,
        "cred_id": cred.json()["credential"]["id"],
        "job_id": job_id,
        "user_id": people["issuer"].user_id,
        "key_id": key_id,
    }
    return World(a, b, ids, people)


def form_for(route: Route, w: World) -> dict[str, Any]:
    """A plausible body: what the route's own form would send."""
    if route.path.startswith("/app/credentials/bulk"):
        return {"action": "delete", "ids": [w.ids["cred_id"]], "reason": "test"}
    if route.path.startswith("/app/credentials/{cred_id}/"):
        return {"expected_credits": "0", "reason": "test"}
    if route.path == "/app/webhooks":
        return {"url": "https://hooks.example.org/in", "events": ["credential.published"]}
    if route.path.endswith("/enabled"):
        return {"enabled": "false"}
    if route.path == "/app/members/invite":
        return {"email": "new@example.org", "name": "New", "role": "viewer"}
    if route.path.endswith("/role"):
        return {"role": "owner"}
    if route.path == "/app/api-keys":
        return {"name": "Their key"}
    if route.path.startswith("/app/departments"):
        return {"name": "Renamed", "cap": "1"}
    if route.path == "/app/settings/sso/oidc":
        return {"issuer": "https://idp.a.example", "client_id": "credo", "client_secret": "s3cret"}
    if route.path.startswith("/app/settings/sso/domains"):
        return {"domain": "a.example"}
    if route.path == "/app/settings/sso/policy":
        return {"default_role": "owner", "enabled": "on"}
    if route.path == "/app/switch":
        return {"organization_id": w.a.id}
    if route.path == "/app/credentials/new":
        return {
            "group_id": w.ids["group_id"],
            "recipient_name": "Zed",
            "recipient_email": "zed@example.org",
            "action": "publish",
        }
    if route.path.startswith("/app/groups"):
        return {"name": "Renamed", "action": "save"}
    return {}


def call(person: Person, route: Route, w: World) -> Any:
    path = route.path.format(**w.ids)
    if route.method == "GET":
        return person.client.get(path, headers=HTML, follow_redirects=False)
    data = {"csrf": person.session_csrf, **form_for(route, w)}
    return person.client.post(path, data=data, headers=HTML, follow_redirects=False)


def test_strangers_are_sent_to_sign_in(world: World, client: TestClient) -> None:
    for route in ROUTES:
        path = route.path.format(**world.ids)
        r = client.request(route.method, path, headers=HTML, follow_redirects=False)
        assert r.status_code == 303, (route, r.status_code)
        assert r.headers["location"].startswith("/login?next=")
        api = client.request(route.method, path, follow_redirects=False)
        assert api.status_code == 401, (route, api.status_code)
        assert api.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ISSUER])
def test_roles_are_refused_what_they_may_not_do(world: World, role: Role) -> None:
    person = world.people[role.value]
    person.session_csrf = person.csrf()
    for route in ROUTES:
        if RANK[route.needs] <= ROLE_RANK[role]:
            continue
        r = call(person, route, world)
        assert r.status_code == 403, (role, route, r.status_code, r.text[:300])
    # Nothing changed: the credential is still there, the member still an issuer.
    assert world.a.get(f"/v1/credentials/{world.ids['cred_id']}").status_code == 200
    assert _untouched_webhook(world)
    assert _untouched_department(world)


def test_another_organization_sees_nothing(world: World) -> None:
    other = world.people["other"]
    other.session_csrf = other.csrf()
    # What org A holds (ids a request itself names may be echoed in "no such ..." answers).
    secrets = ("Secret course of A", "Alice of A", "alice@example.org", "Secret faculty of A")
    for route in ROUTES:
        r = call(other, route, world)
        has_id = any("{" + k + "}" in route.path for k in world.ids)
        if has_id:
            assert r.status_code == 404, (route, r.status_code, r.text[:300])
        assert r.status_code < 500, (route, r.status_code)
        named = route.method == "POST" or has_id
        for secret in secrets if named else (*secrets, world.ids["cred_id"]):
            assert secret not in r.text, (route, secret)
    assert _untouched_webhook(world)
    assert _untouched_department(world)
    # Org B's bulk actions on org A's credential did nothing to it.
    assert world.a.get(f"/v1/credentials/{world.ids['cred_id']}").status_code == 200
    assert world.a.get(f"/v1/groups/{world.ids['group_id']}").json()["group"]["name"] == (
        "Secret course of A"
    )


def _untouched_department(w: World) -> bool:
    got = w.a.get(f"/v1/departments/{w.ids['dept_id']}")
    return bool(
        got.status_code == 200
        and got.json()["department"]["name"] == "Secret faculty of A"
        and got.json()["department"]["credit_cap"] == 7
    )


def _untouched_webhook(w: World) -> bool:
    """Org A's endpoint is still there, on, with its one secret, and no other was made."""
    hooks = w.a.get("/v1/webhooks").json()["webhooks"]
    [hook] = hooks
    return bool(
        hook["id"] == w.ids["webhook_id"] and hook["enabled"] and not hook["secret_rotated_at"]
    )
