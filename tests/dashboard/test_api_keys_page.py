"""API keys in the dashboard: an owner creates one (shown once), lists and revokes them;
a revoked key is refused by the API at once."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from credo.bootstrap import App
from tests.conftest import Org, create_org
from tests.dashboard.helpers import sign_in
from tests.dashboard.mail import unique_email


def credits_with(client: TestClient, key: str) -> int:
    return client.get("/v1/credits", headers={"Authorization": f"Bearer {key}"}).status_code


def test_a_created_key_works_until_revoked(credo: App, org: Org) -> None:
    owner = sign_in(credo, unique_email("keys-owner"), org.id)
    listed = owner.get("/app/api-keys")
    assert listed.status_code == 200 and org.key[:13] in listed.text
    assert org.key not in listed.text  # never the key itself, only its prefix

    made = owner.post("/app/api-keys")
    assert made.status_code == 201
    found = re.search(r'<code id="new-key">(credo_sk_[A-Za-z0-9_-]+)</code>', made.text)
    assert found, made.text
    key = found.group(1)
    assert credits_with(org.client, key) == 200
    # Shown once: the list afterwards has its prefix only.
    later = owner.get("/app/api-keys").text
    assert key not in later and key[:13] in later

    key_id = next(
        k.id
        for k in credo.runner.read(lambda uow: uow.api_keys.all(org.id))
        if k.prefix == key[:13]
    )
    r = owner.post(f"/app/api-keys/{key_id}/revoke")
    assert r.status_code == 303 and r.headers["location"] == "/app/api-keys?notice=revoked"
    assert credits_with(org.client, key) == 401
    assert credits_with(org.client, org.key) == 200  # the others still work
    page = owner.get("/app/api-keys?notice=revoked")
    assert "Key revoked" in page.text and "revoked 1 February 2026" in page.text
    # Twice, or unknown: a 404 in the page, nothing else changes.
    assert owner.post(f"/app/api-keys/{key_id}/revoke").status_code == 404
    assert owner.post("/app/api-keys/key_unknown/revoke").status_code == 404


def test_an_owner_cannot_revoke_another_organizations_key(
    credo: App, org: Org, client: TestClient
) -> None:
    other = create_org(client, name="Other Org", sandbox=True, anchor="2026-01-15")
    [other_key] = credo.runner.read(lambda uow: uow.api_keys.all(other.id))
    owner = sign_in(credo, unique_email("keys-owner"), org.id)
    assert owner.post(f"/app/api-keys/{other_key.id}/revoke").status_code == 404
    assert other_key.prefix not in owner.get("/app/api-keys").text
    assert credits_with(client, other.key) == 200
