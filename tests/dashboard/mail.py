"""E-mail in dashboard tests: a mail worker speaking to the real SMTP server of tests/smtp.py,
and the links found in what it delivered."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import update

from credo.adapters.db import tables as t
from credo.adapters.mail.smtp import SmtpSender
from credo.bootstrap import App
from credo.services.mail.mailing import MailWorker
from tests.smtp import Received, SmtpServer

FROM = "accounts@credo.example"
_o = t.outbox.c


def unique_email(tag: str) -> str:
    """Tests share a database: every person gets an address of their own."""
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.org"


def set_aside_pending(credo: App) -> None:
    """What earlier tests left in the outbox is not this test's to send."""
    with credo.engine.begin() as conn:
        conn.execute(
            update(t.outbox)
            .where(_o.sent_at.is_(None), _o.failed_at.is_(None))
            .values(failed_at=credo.clock.now(), last_error="set aside by an earlier test")
        )


def deliver(credo: App, smtp: SmtpServer) -> None:
    sender = SmtpSender(smtp.host, smtp.port, security="none", timeout=5)
    report = MailWorker(credo.uow, credo.ctx, sender, FROM).drain()
    assert report.failed == 0 and report.retried == 0, report


def text_of(received: Received) -> str:
    body = received.message.get_body(("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


def html_of(received: Received) -> str:
    body = received.message.get_body(("html",))
    assert body is not None
    html: str = body.get_content()
    return html


def link_path(received: Received) -> str:
    """The path of the set-a-password link in the message's plain text."""
    found = re.search(r"https?://[^/\s]+(/password-reset/[A-Za-z0-9_-]+)", text_of(received))
    assert found, text_of(received)
    return found.group(1)
