"""API keys in the dashboard: an owner creates one (shown once), lists and revokes them;
a revoked key is refused by the API at once."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from credo.bootstrap import App
from credo.clock import FixedClock
from credo.domain.entities import ApiKey
from tests.conftest import Org, create_org
from tests.dashboard.helpers import sign_in
from tests.dashboard.mail import unique_email


def credits_with(client: TestClient, key: str) -> int:
    return client.get("/v1/credits", headers={"Authorization": f"Bearer {key}"}).status_code


def group_with(client: TestClient, key: str) -> int:
    auth = {"Authorization": f"Bearer {key}"}
    return client.post("/v1/groups", json={"name": "Via key"}, headers=auth).status_code


def test_a_created_key_works_until_revoked(credo: App, org: Org) -> None:
    owner = sign_in(credo, unique_email("keys-owner"), org.id)
    listed = owner.get("/app/api-keys")
    assert listed.status_code == 200 and org.key[:13] in listed.text
    assert org.key not in listed.text  # never the key itself, only its prefix

    made = owner.post("/app/api-keys", {"name": "Course platform"})
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
    # A mutation first, so that this process remembers which organization the key opens.
    assert group_with(org.client, key) == 201
    r = owner.post(f"/app/api-keys/{key_id}/revoke")
    assert r.status_code == 303 and r.headers["location"] == "/app/api-keys?notice=revoked"
    assert credits_with(org.client, key) == 401
    assert group_with(org.client, key) == 401  # what the process remembered does not decide
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


def keys_of(credo: App, org_id: str) -> list[ApiKey]:
    return credo.runner.read(lambda uow: uow.api_keys.all(org_id))


def row_text(html: str, key_id: str) -> str:
    """The key's row of the list as a reader sees it: its cells' text."""
    found = re.search(rf'<tr id="key-{key_id}">(.*?)</tr>', html, re.DOTALL)
    assert found, html
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def made_key(page: str) -> str:
    found = re.search(r'<code id="new-key">(credo_sk_[A-Za-z0-9_-]+)</code>', page)
    assert found, page
    return found.group(1)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "The name is required."),
        ("   ", "The name is required."),
        ("x" * 101, "The name must be at most 100 characters."),
        ("bad\x00name", "The name must not contain control characters."),
        ("tab\tname", "The name must not contain control characters."),
    ],
)
def test_a_key_needs_a_name(credo: App, org: Org, name: str, says: str) -> None:
    owner = sign_in(credo, unique_email("keys-owner"), org.id)
    before = keys_of(credo, org.id)
    r = owner.post("/app/api-keys", {"name": name})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert says in r.text  # in words, in the page itself, with the form to try again
    assert 'id="key-name"' in r.text and 'aria-invalid="true"' in r.text
    assert 'id="new-key"' not in r.text
    assert keys_of(credo, org.id) == before


def test_a_name_is_trimmed_and_may_have_100_characters(credo: App, org: Org) -> None:
    owner = sign_in(credo, unique_email("keys-owner"), org.id)
    name = "Ü" * 99 + "z"
    r = owner.post("/app/api-keys", {"name": f"  {name}\n"})
    assert r.status_code == 201, r.text
    key = made_key(r.text)
    [stored] = [k for k in keys_of(credo, org.id) if k.prefix == key[:13]]
    assert stored.name == name


def test_the_list_shows_name_created_and_last_used(credo: App, org: Org, clock: FixedClock) -> None:
    owner = sign_in(credo, unique_email("keys-owner"), org.id)
    # The organization's own first key is named for how it came.
    [first] = keys_of(credo, org.id)
    assert first.name == "Created with the organization"
    assert "Created with the organization" in row_text(owner.get("/app/api-keys").text, first.id)

    made = owner.post("/app/api-keys", {"name": "Nightly <export>"})
    key = made_key(made.text)
    assert "Nightly &lt;export&gt;" in made.text  # escaped, never markup
    [k] = [k for k in keys_of(credo, org.id) if k.prefix == key[:13]]
    row = row_text(owner.get("/app/api-keys").text, k.id)
    assert row.startswith("Nightly &lt;export&gt; " + key[:13])
    assert "1 February 2026 12:00 UTC Never active" in row
    assert "Revoke" in row and "cannot be undone" in row

    clock.set(datetime(2026, 2, 1, 12, 5, 30, tzinfo=UTC))
    assert credits_with(org.client, key) == 200
    row = row_text(owner.get("/app/api-keys").text, k.id)
    assert "1 February 2026 12:00 UTC 1 February 2026 12:05 UTC active" in row

    # Within the minute, uses are not written again: reads nor mutations (nor the hot path).
    clock.set(datetime(2026, 2, 1, 12, 6, 29, tzinfo=UTC))
    assert credits_with(org.client, key) == 200
    assert group_with(org.client, key) == 201
    gid = org.group("Published by the key")
    issued = org.client.post(
        "/v1/credentials",
        json={"group_id": gid, "recipient": {"name": "Ann", "email": "ann@example.org"}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert issued.status_code == 201, issued.text
    [k] = [k for k in keys_of(credo, org.id) if k.prefix == key[:13]]
    assert k.last_used_at == datetime(2026, 2, 1, 12, 5, 30, tzinfo=UTC)

    # A minute on, the next use is written: here by the hot publish path.
    clock.set(datetime(2026, 2, 1, 12, 6, 30, tzinfo=UTC))
    issued = org.client.post(
        "/v1/credentials",
        json={"group_id": gid, "recipient": {"name": "Bo", "email": "bo@example.org"}},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert issued.status_code == 201, issued.text
    [k] = [k for k in keys_of(credo, org.id) if k.prefix == key[:13]]
    assert k.last_used_at == datetime(2026, 2, 1, 12, 6, 30, tzinfo=UTC)
    assert "1 February 2026 12:06 UTC" in row_text(owner.get("/app/api-keys").text, k.id)
    # Each key has its own minute: the organization's first key, used once (for the
    # group), was written then.
    [first] = [k for k in keys_of(credo, org.id) if k.id == first.id]
    assert first.last_used_at == datetime(2026, 2, 1, 12, 6, 29, tzinfo=UTC)
