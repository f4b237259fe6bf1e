"""Reminders before expiry: one e-mail per credential and expiry date, delivered over SMTP;
none for revoked, suspended, deleted, draft or far-off credentials; a renewal that moves the
date earns a new one; the sandbox's test clock decides what "soon" is."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from credo.adapters.db import tables as t
from credo.adapters.mail.smtp import SmtpSender
from credo.bootstrap import App
from credo.services.mail.mailing import MailWorker
from credo.services.recipients import reminders
from tests.conftest import Org
from tests.smtp import running_smtp_server

FROM = "badges@university.example"
_o = t.outbox.c


@pytest.fixture(autouse=True)
def quiet_outbox(credo: App) -> None:
    """Tests share a database: what earlier tests left pending is set aside."""
    with credo.engine.begin() as conn:
        conn.execute(
            update(t.outbox)
            .where(_o.sent_at.is_(None), _o.failed_at.is_(None))
            .values(failed_at=credo.clock.now(), last_error="set aside by an earlier test")
        )


def issue(org: Org, gid: str, email: str, **fields: Any) -> str:
    r = org.issue(gid, email, email.split("@")[0].title(), **fields)
    assert r.status_code == 201, r.text
    cred_id: str = r.json()["credential"]["id"]
    return cred_id


def reminded(credo: App, org_id: str) -> list[str]:
    with credo.engine.connect() as conn:
        rows = conn.execute(
            select(_o.credential_id).where(_o.organization_id == org_id, _o.kind == reminders.KIND)
        ).all()
    return sorted(r[0] for r in rows)


def test_recipients_are_reminded_once_before_expiry(credo: App, org: Org) -> None:
    gid = org.group("First aid")
    # The sandbox stands on 2026-01-15 (conftest); expiry in 20 days, and in a year.
    soon = issue(org, gid, "soon@example.org", expires_on="2026-02-04")
    later = issue(org, gid, "later@example.org", expires_on="2027-01-15")
    revoked = issue(org, gid, "revoked@example.org", expires_on="2026-02-01")
    assert org.post(f"/v1/credentials/{revoked}/revoke", {"reason": "x"}).status_code == 200
    suspended = issue(org, gid, "suspended@example.org", expires_on="2026-02-01")
    assert org.post(f"/v1/credentials/{suspended}/suspend", {}).status_code == 200
    deleted = issue(org, gid, "deleted@example.org", expires_on="2026-02-01")
    assert org.delete(f"/v1/credentials/{deleted}").status_code == 204
    issue(org, gid, "draft@example.org", expires_on="2026-02-01", publish=False)

    assert reminders.enqueue_due(credo.uow, credo.ctx, 30) >= 1
    assert reminded(credo, org.id) == [soon]
    reminders.enqueue_due(credo.uow, credo.ctx, 30)  # again: nothing new
    assert reminded(credo, org.id) == [soon]
    assert later not in reminded(credo, org.id)

    with running_smtp_server() as smtp:
        sender = SmtpSender(smtp.host, smtp.port, security="none", timeout=5)
        MailWorker(credo.uow, credo.ctx, sender, FROM).drain()
        mails = [m.message for m in smtp.to("soon@example.org")]
    # The publish announcement, then the reminder.
    [msg] = [m for m in mails if "expires" in m["Subject"]]
    assert len(mails) == 2
    assert "expires on 4 February 2026" in msg["Subject"]
    text = msg.get_body(("plain",))
    assert text is not None and f"/c/{soon}" in text.get_content()


def test_a_renewal_that_moves_the_date_earns_a_new_reminder(credo: App, org: Org) -> None:
    gid = org.group("Forklift")
    cred = issue(org, gid, "renew@example.org", expires_on="2026-02-01")
    reminders.enqueue_due(credo.uow, credo.ctx, 30)
    assert reminded(credo, org.id) == [cred]
    r = org.patch(f"/v1/credentials/{cred}", {"expires_on": "2026-02-10"})
    assert r.status_code == 200, r.text
    reminders.enqueue_due(credo.uow, credo.ctx, 30)
    assert reminded(credo, org.id) == [cred, cred]


def test_the_organizations_clock_decides_and_zero_days_turns_it_off(credo: App, org: Org) -> None:
    gid = org.group("Sailing")
    cred = issue(org, gid, "sail@example.org", expires_on="2026-06-30")
    assert reminders.enqueue_due(credo.uow, credo.ctx, 0) == 0
    reminders.enqueue_due(credo.uow, credo.ctx, 30)
    assert reminded(credo, org.id) == []
    org.move_clock("2026-06-10T09:00:00Z")
    reminders.enqueue_due(credo.uow, credo.ctx, 30)
    assert reminded(credo, org.id) == [cred]
