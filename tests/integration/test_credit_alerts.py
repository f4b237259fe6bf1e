"""Allowance alerts: crossing 80% and 100% of the billing year's credits records an alert
and enqueues one e-mail per owner, in the charge's transaction, once per year and
threshold; the worker delivers them over real SMTP; the dashboard shows the banner."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from credo.adapters.db import tables as t
from credo.adapters.mail.smtp import SmtpSender
from credo.bootstrap import App
from credo.domain.accounts import Role
from credo.domain.credentials import SeatReason
from credo.domain.errors import InsufficientCredits
from credo.domain.seats import SeatEvent
from credo.services.billing import charging, credit_alerts
from credo.services.mail.mailing import MailWorker
from credo.services.tenancy.clocks import lock_org, org_now
from tests.conftest import ADMIN, Org, create_org
from tests.dashboard.helpers import make_person, sign_in
from tests.dashboard.mail import set_aside_pending
from tests.smtp import SmtpServer
from tests.smtp import smtp_server as smtp_server_fixture

smtp_server = smtp_server_fixture
FROM = "credits@credo.example"
_o = t.outbox.c
_a = t.credit_alerts.c


@pytest.fixture(autouse=True)
def quiet_outbox(credo: App) -> None:
    """Set aside what earlier tests left pending, so a worker here sends only ours."""
    with credo.engine.begin() as conn:
        conn.execute(
            update(t.outbox)
            .where(_o.sent_at.is_(None), _o.failed_at.is_(None))
            .values(failed_at=credo.clock.now(), last_error="set aside by an earlier test")
        )


def alert_mails(credo: App, org_id: str) -> list[dict[str, Any]]:
    with credo.engine.connect() as conn:
        found = conn.execute(
            select(t.outbox)
            .where(_o.organization_id == org_id, _o.kind == credit_alerts.KIND)
            .order_by(_o.to_address, _o.id)
        ).all()
    return [dict(r._mapping) for r in found]


def alerts(credo: App, org_id: str) -> list[tuple[int, int]]:
    with credo.engine.connect() as conn:
        rows = conn.execute(
            select(_a.billing_year, _a.threshold)
            .where(_a.organization_id == org_id)
            .order_by(_a.billing_year, _a.threshold)
        ).all()
    return [(int(r[0]), int(r[1])) for r in rows]


def bulk(org: Org, group: str, emails: list[str], **kw: Any) -> Any:
    body = {
        "group_id": group,
        "credentials": [{"recipient": {"name": "R", "email": e}} for e in emails],
        **kw,
    }
    return org.post("/v1/credentials/bulk", body)


def people(credo: App, org_id: str) -> dict[str, str]:
    """Two owners, an issuer and a viewer: only the owners hear of the credits."""
    tag = uuid.uuid4().hex[:8]
    out = {}
    for name, role in (
        ("owner1", Role.OWNER),
        ("owner2", Role.OWNER),
        ("issuer", Role.ISSUER),
        ("viewer", Role.VIEWER),
    ):
        out[name] = f"{name}-{tag}@example.org"
        make_person(credo, out[name], org_id, role)
    return out


def small_org(client: TestClient, credits: int = 10) -> Org:
    return create_org(client, sandbox=True, anchor="2026-01-15", plan="growth", credits=credits)


def test_80_and_100_percent_each_mail_every_owner_once(credo: App, client: TestClient) -> None:
    org = small_org(client)
    who = people(credo, org.id)
    owners = sorted([who["owner1"], who["owner2"]])
    g = org.group()
    assert bulk(org, g, [f"a{i}@x.org" for i in range(7)]).status_code == 201
    assert alert_mails(credo, org.id) == [] and alerts(credo, org.id) == []
    # A preview that would cross, and a refused bulk, enqueue nothing.
    assert bulk(org, g, ["d1@x.org"], dry_run=True).status_code == 200
    assert bulk(org, g, [f"big{i}@x.org" for i in range(4)]).status_code == 402
    assert alert_mails(credo, org.id) == [] and alerts(credo, org.id) == []
    # The 8th of 10 credits: 80%.
    assert org.issue(g, "a7@x.org").status_code == 201
    mails = alert_mails(credo, org.id)
    assert [m["to_address"] for m in mails] == owners
    assert alerts(credo, org.id) == [(0, 80)]
    assert all(m["credential_id"] is None for m in mails)
    # Free events and the 9th credit: no new alert.
    assert org.issue(g, "A7@x.org").status_code == 201
    assert org.issue(g, "a8@x.org").status_code == 201
    assert len(alert_mails(credo, org.id)) == 2
    # The 10th: 100%.
    assert org.issue(g, "a9@x.org").status_code == 201
    mails = alert_mails(credo, org.id)
    assert len(mails) == 4 and alerts(credo, org.id) == [(0, 80), (0, 100)]
    assert sorted(m["to_address"] for m in mails) == sorted(owners * 2)
    for m in mails:
        assert m["to_address"] not in (who["issuer"], who["viewer"])
    # Raising the allowance (R10) and crossing 80% again this year does not re-alert.
    r = client.put(
        f"/v1/admin/organizations/{org.id}/subscription",
        json={"plan": "growth", "credits": 12},
        headers=ADMIN,
    )
    assert r.status_code == 200, r.text
    assert org.credits()["used"] == 10 and org.credits()["remaining"] == 2
    assert bulk(org, g, ["b1@x.org", "b2@x.org"]).status_code == 201
    assert len(alert_mails(credo, org.id)) == 4
    # A new billing year alerts anew.
    org.move_clock("2027-01-20T10:00:00Z")
    assert bulk(org, g, [f"y1-{i}@x.org" for i in range(10)]).status_code == 201
    assert alerts(credo, org.id) == [(0, 80), (0, 100), (1, 80)]
    assert len(alert_mails(credo, org.id)) == 6


def test_a_bulk_crossing_both_thresholds_sends_one_mail_per_owner(
    credo: App, client: TestClient
) -> None:
    n = 2_000
    org = small_org(client, credits=n)
    who = people(credo, org.id)
    g = org.group()
    started = time.perf_counter()
    r = bulk(org, g, [f"r{i}@bulk.org" for i in range(n)])
    elapsed = time.perf_counter() - started
    assert r.status_code == 201, r.text
    assert alerts(credo, org.id) == [(0, 80), (0, 100)]
    mails = alert_mails(credo, org.id)
    assert sorted(m["to_address"] for m in mails) == sorted([who["owner1"], who["owner2"]])
    assert all('"threshold":100' in m["payload"] for m in mails)
    assert elapsed < 60  # generous: the bench measures; this only guards against a blow-up


def test_alerts_are_in_the_charge_transaction(credo: App, client: TestClient) -> None:
    org = small_org(client, credits=2)
    people(credo, org.id)
    with credo.uow() as uow:
        lock_org(uow, org.id)
        p = charging.period(uow, org.id, org_now(uow.organizations.get(org.id), credo.clock))  # type: ignore[arg-type]
        events = [SeatEvent(f"cred_{i}", f"t{i}@x.org", SeatReason.PUBLISH) for i in range(2)]
        assert charging.charge(uow, org.id, p, events) == 2
        assert uow.credit_alerts.raised(org.id, 0) == [80, 100]  # seen inside it
        # Not committed: rolled back with the charge.
    assert alerts(credo, org.id) == [] and alert_mails(credo, org.id) == []
    assert org.credits()["used"] == 0


def test_a_refusal_carries_its_reasons_and_reset(credo: App, client: TestClient) -> None:
    org = small_org(client, credits=1)
    with credo.uow() as uow:
        lock_org(uow, org.id)
        p = charging.period(uow, org.id, org_now(uow.organizations.get(org.id), credo.clock))  # type: ignore[arg-type]
        events = [SeatEvent(f"cred_{i}", f"t{i}@x.org", SeatReason.PUBLISH) for i in range(3)]
        with pytest.raises(InsufficientCredits) as info:
            charging.charge(uow, org.id, p, events)
    exc = info.value
    assert (exc.credits_required, exc.credits_remaining, exc.credits_short) == (3, 1, 2)
    assert exc.reasons == ("publish",) and exc.resets_at == p.year.ends_at


def test_the_worker_delivers_the_alert_over_smtp(
    credo: App, client: TestClient, smtp_server: SmtpServer
) -> None:
    set_aside_pending(credo)  # the database is shared: send only this test's e-mails
    org = small_org(client, credits=5)
    who = people(credo, org.id)
    g = org.group()
    # The test clock stands ahead of the worker's clock: the alert must still be due now.
    org.move_clock("2026-11-01T10:00:00Z")
    assert bulk(org, g, [f"s{i}@x.org" for i in range(4)]).status_code == 201
    sender = SmtpSender(smtp_server.host, smtp_server.port, security="none", timeout=5)
    report = MailWorker(credo.uow, credo.ctx, sender, FROM).drain()
    assert report.sent == 4 + 2  # four recipients, two owners
    for owner in (who["owner1"], who["owner2"]):
        [got] = smtp_server.to(owner)
        msg = got.message
        assert "80% of this billing year's credits are used" in msg["Subject"]
        text = msg.get_body(("plain",))
        html = msg.get_body(("html",))
        assert text is not None and html is not None
        for body in (text.get_content(), html.get_content()):
            assert "Test Org" in body
            assert "4 of its 5 credits" in body
            assert "15 January 2027" in body
            assert "http://127.0.0.1:8000/app/credits" in body
    assert smtp_server.to(who["issuer"]) == [] and smtp_server.to(who["viewer"]) == []
    # Then 100%.
    assert org.issue(g, "s4@x.org").status_code == 201
    MailWorker(credo.uow, credo.ctx, sender, FROM).drain()
    both = smtp_server.to(who["owner1"])
    assert len(both) == 2 and "all 5 credits" in both[1].message["Subject"]


def test_the_dashboard_shows_the_banner(credo: App, client: TestClient) -> None:
    org = small_org(client, credits=5)
    viewer = sign_in(credo, f"v-{uuid.uuid4().hex[:8]}@example.org", org.id, Role.VIEWER)
    g = org.group()
    assert 'class="alert' not in viewer.get("/app").text
    assert bulk(org, g, [f"v{i}@x.org" for i in range(4)]).status_code == 201
    page = viewer.get("/app/credits").text
    assert "alert-warning" in page and "4 of 5 credits used (80%)" in page
    assert org.issue(g, "v4@x.org").status_code == 201
    page = viewer.get("/app").text
    assert "alert-danger" in page and "All 5 credits of this billing year are used" in page


def test_a_department_cap_alerts_the_owners_at_80_and_100_percent(
    credo: App, client: TestClient, smtp_server: SmtpServer
) -> None:
    """R17: a department's cap alerts the owners once per threshold and billing year; the
    organization's own alerts stay apart (its allowance is far off here)."""
    set_aside_pending(credo)
    org = small_org(client, credits=100)
    who = people(credo, org.id)
    r = org.post("/v1/departments", {"name": "School of Nursing", "credit_cap": 5})
    dept = r.json()["department"]["id"]
    g = org.group("Clinical skills", department_id=dept)
    org.move_clock("2026-11-01T10:00:00Z")
    assert bulk(org, g, [f"n{i}@x.org" for i in range(3)]).status_code == 201
    assert org.issue(g, "n3@x.org").status_code == 201  # 4 of 5: 80%
    assert org.issue(g, "n3@x.org").status_code == 201  # free: no second alert
    sender = SmtpSender(smtp_server.host, smtp_server.port, security="none", timeout=5)
    MailWorker(credo.uow, credo.ctx, sender, FROM).drain()
    for owner in (who["owner1"], who["owner2"]):
        [got] = smtp_server.to(owner)
        assert got.message["Subject"] == "Test Org: School of Nursing has taken 80% of its cap"
        for part in (got.message.get_body(("plain",)), got.message.get_body(("html",))):
            assert part is not None
            body = part.get_content()
            assert "4 of the 5 seats its cap allows" in body
            assert f"http://127.0.0.1:8000/app/departments/{dept}" in body
    assert smtp_server.to(who["issuer"]) == [] and smtp_server.to(who["viewer"]) == []
    assert alerts(credo, org.id) == []  # the organization's allowance: 4 of 100

    assert org.issue(g, "n4@x.org").status_code == 201  # 5 of 5: 100%
    assert org.issue(g, "n5@x.org").json()["code"] == "department_cap_reached"
    MailWorker(credo.uow, credo.ctx, sender, FROM).drain()
    both = smtp_server.to(who["owner1"])
    assert len(both) == 2
    assert both[1].message["Subject"] == (
        "Test Org: School of Nursing has taken all 5 seats of its cap"
    )
    # Raised and reached again in the same billing year: the thresholds are not raised twice.
    assert org.patch(f"/v1/departments/{dept}", {"credit_cap": 6}).status_code == 200
    assert org.issue(g, "n5@x.org").status_code == 201
    MailWorker(credo.uow, credo.ctx, sender, FROM).drain()
    assert len(smtp_server.to(who["owner1"])) == 2
