"""Publishes sign before they take the organization's lock (issuing.prepare), and the lock's
holder uses that work only if what it was made from still holds; connections found dead
cost no request."""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from credo.adapters.db import tables as t
from credo.adapters.signing.data_integrity import verify
from credo.adapters.signing.resolvers import Resolver
from credo.bootstrap import App, bootstrap
from credo.clock import FixedClock
from credo.domain.entities import Credential
from credo.domain.errors import InsufficientCredits
from credo.services.billing.audit import audit_organization
from credo.services.credentials import issuing, vcapi
from credo.services.credentials.issuing import Issued, NewCredential
from credo.services.credentials.positions import StatusPositions
from tests.conftest import ADMIN, Org, create_org
from tests.databases import _maintenance

ANN = [NewCredential("Ann Lee", "ann@example.org")]


def prepared(credo: App, org: Org, group_id: str) -> issuing.Ahead:
    ahead = issuing.prepare(credo.runner, credo.ctx, org.id, group_id, ANN)
    assert ahead is not None
    return ahead


def publish(credo: App, org: Org, group_id: str, ahead: issuing.Ahead | None) -> Credential:
    def action(uow: Any) -> Issued:
        done = issuing.issue(
            uow, credo.ctx, org.id, group_id, ANN, publish=True, dry_run=False, ahead=ahead
        )
        assert isinstance(done, Issued)
        return done

    [cred] = credo.runner.write(action).credentials
    return cred


def audited_clean(credo: App, org: Org) -> None:
    """Abandoned work ahead leaves no trace the audit sees (group counts included)."""
    report = credo.runner.read(lambda uow: audit_organization(uow, credo.clock, org.id))
    assert report.ok, report.problems


def document(cred: Credential) -> dict[str, Any]:
    assert cred.document is not None
    doc: dict[str, Any] = orjson.loads(cred.document)
    return doc


def test_a_publish_uses_what_it_signed_ahead(credo: App, org: Org) -> None:
    g = org.group("Welding")
    ahead = prepared(credo, org, g)
    cred = publish(credo, org, g, ahead)
    assert cred.id == ahead.creds[0].id and cred.document == ahead.creds[0].document
    assert verify(document(cred), resolve=Resolver()).ok
    assert org.used() == 1


def test_a_key_rotated_meanwhile_makes_it_sign_again(
    credo: App, org: Org, client: TestClient
) -> None:
    g = org.group("Welding")
    ahead = prepared(credo, org, g)
    r = client.post(f"/v1/admin/organizations/{org.id}/keys/rotate", headers=ADMIN)
    assert r.status_code == 200, r.text
    cred = publish(credo, org, g, ahead)
    assert cred.id != ahead.creds[0].id
    doc = document(cred)
    assert doc["issuer"]["id"].endswith(r.json()["key"]["public_key_multibase"])
    assert verify(doc, resolve=Resolver()).ok
    audited_clean(credo, org)


def test_a_group_changed_meanwhile_makes_it_sign_again(credo: App, org: Org) -> None:
    g = org.group("Welding")
    ahead = prepared(credo, org, g)
    assert org.patch(f"/v1/groups/{g}", {"name": "Advanced welding"}).status_code == 200
    doc = document(publish(credo, org, g, ahead))
    assert doc["credentialSubject"]["achievement"]["name"] == "Advanced welding"


def test_a_test_clock_moved_meanwhile_makes_it_sign_again(credo: App, client: TestClient) -> None:
    r = client.post(
        "/v1/admin/organizations",
        json={"name": "Sandbox", "plan": "launch-250", "sandbox": True},
        headers=ADMIN,
    )
    assert r.status_code == 201, r.text
    org = Org(r.json()["organization"]["id"], r.json()["api_key"], client)
    g = org.group("Welding")
    org.move_clock("2027-06-01T09:00:00Z")
    ahead = prepared(credo, org, g)
    org.move_clock("2029-03-01T09:00:00Z")
    cred = publish(credo, org, g, ahead)
    assert cred.issued_on.isoformat() == "2029-03-01"
    assert cred.id != ahead.creds[0].id


def test_positions_are_taken_in_blocks_that_never_overlap(credo: App, org: Org) -> None:
    g = org.group("Welding")
    one, two = StatusPositions(credo.uow, block=4), StatusPositions(credo.uow, block=4)
    taken = [one.take(org.id, 1) for _ in range(5)] + [two.take(org.id, 1) for _ in range(3)]
    taken += [one.take(org.id, 10)]  # a bulk takes exactly its own
    spans = [(p, p + 1) for p in taken[:-1]] + [(taken[-1], taken[-1] + 10)]
    covered = [i for a, b in spans for i in range(a, b)]
    assert len(covered) == len(set(covered))
    # A publish made now gets a position past all of them, and its status list answers.
    cred = publish(credo, org, g, None)
    assert cred.status_index is not None and cred.status_index > max(covered)


@pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_connections_killed_under_the_pool_cost_no_request(org: Org, engine: Engine) -> None:
    g = org.group("Welding")
    assert org.issue(g, "ann@example.org").status_code == 201
    assert org.get("/v1/credits").status_code == 200
    # As when PostgreSQL restarts: every connection the pool holds dies.
    url = engine.url.render_as_string(hide_password=False)
    with psycopg.connect(**_maintenance(url), autocommit=True) as admin:  # type: ignore[arg-type]
        killed = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s",
            (engine.url.database,),
        ).fetchone()
    assert killed is not None and killed[0] >= 1
    assert org.get("/v1/credits").status_code == 200
    r = org.issue(g, "bob@example.org")
    assert r.status_code == 201, r.text
    with engine.connect() as c:
        ids = c.scalars(
            select(t.credentials.c.id).where(t.credentials.c.organization_id == org.id)
        ).all()
    assert len(ids) == 2


def test_a_key_revoked_in_another_process_is_refused_at_once(
    credo: App, org: Org, client: TestClient, clock: FixedClock
) -> None:
    g = org.group("Welding")
    body = {"group_id": g, "recipient": {"name": "Ann", "email": "ann@example.org"}}
    once = {**org.auth, "Idempotency-Key": "k1"}
    assert org.post("/v1/credentials", body, headers=once).status_code == 201  # now known
    other = bootstrap(credo.settings, clock=clock, engine=credo.engine)
    with other.uow() as uow:
        [key] = uow.api_keys.all(org.id)
        assert uow.api_keys.revoke(org.id, key.id, clock.now())
        uow.commit()
    r = org.issue(g, "bob@example.org")
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert org.post("/v1/credentials", body, headers=once).status_code == 401  # no replay
    assert org.get("/v1/credits").status_code == 401


def vc(email: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": {"id": f"mailto:{email}", "name": "Ann Lee"},
    }


def issue_vc(credo: App, org: Org, body: dict[str, Any], ahead: vcapi.AheadVc | None) -> Any:
    return credo.runner.write(
        lambda uow: vcapi.issue_credential(uow, credo.ctx, org.id, body, None, ahead=ahead)
    )


def test_the_vc_api_signs_ahead_once_its_group_exists(credo: App, org: Org) -> None:
    # The organization's VC API group is made by its first issue, under the lock.
    assert vcapi.prepare(credo.runner, credo.ctx, org.id, vc("first@example.org")) is None
    issue_vc(credo, org, vc("first@example.org"), None)
    body = vc("ann@example.org")
    ahead = vcapi.prepare(credo.runner, credo.ctx, org.id, body)
    assert ahead is not None
    done = issue_vc(credo, org, body, ahead)
    assert (done.credential_id, done.document) == (ahead.cred.id, ahead.document)
    # The bit the stored credential owns is the one its document points at.
    positions = {int(e["statusListIndex"]) for e in done.document["credentialStatus"]}
    assert positions == {ahead.cred.status_index}
    with credo.engine.connect() as c:
        stored = c.scalar(
            select(t.credentials.c.status_index).where(t.credentials.c.id == done.credential_id)
        )
    assert stored == ahead.cred.status_index
    assert done.credits_charged == 1 and org.used() == 2
    assert verify(done.document, resolve=Resolver()).ok
    audited_clean(credo, org)


def test_the_vc_api_signs_again_when_the_key_rotated_meanwhile(
    credo: App, org: Org, client: TestClient
) -> None:
    issue_vc(credo, org, vc("first@example.org"), None)
    body = vc("ann@example.org")
    ahead = vcapi.prepare(credo.runner, credo.ctx, org.id, body)
    assert ahead is not None
    r = client.post(f"/v1/admin/organizations/{org.id}/keys/rotate", headers=ADMIN)
    assert r.status_code == 200, r.text
    done = issue_vc(credo, org, body, ahead)
    assert done.credential_id != ahead.cred.id
    assert done.document["issuer"].endswith(r.json()["key"]["public_key_multibase"])
    assert verify(done.document, resolve=Resolver()).ok
    with credo.engine.connect() as c:
        ids = set(
            c.scalars(select(t.credentials.c.id).where(t.credentials.c.organization_id == org.id))
        )
    assert ahead.cred.id not in ids and done.credential_id in ids and org.used() == 2
    audited_clean(credo, org)


def test_the_turn_at_the_organization_is_given_back_after_a_refusal(
    credo: App, client: TestClient
) -> None:
    org = create_org(client, plan="connect", credits=1)
    g = org.group("Welding")
    publish(credo, org, g, prepared(credo, org, g))
    bob = [NewCredential("Bob Ray", "bob@example.org")]
    ahead = issuing.prepare(credo.runner, credo.ctx, org.id, g, bob)
    assert ahead is not None
    with pytest.raises(InsufficientCredits):
        credo.runner.write(
            lambda uow: issuing.issue(
                uow, credo.ctx, org.id, g, bob, publish=True, dry_run=False, ahead=ahead
            )
        )
    gates = credo.uow.gates
    assert gates is None or gates.held() == 0
    # Ann holds her seat: a second credential to her is free, and does not wait for a turn.
    again = publish(credo, org, g, prepared(credo, org, g))
    assert again.recipient_key == "ann@example.org" and org.used() == 1
    assert gates is None or gates.held() == 0
