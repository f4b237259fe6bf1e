"""E-mails to recipients: what is enqueued with a publish or renewal (in its transaction),
and how an outbox row becomes a message (HTML and plain text, templates/email/). Dashboard
users' e-mails (password resets, invitations) are enqueued by services.members.

The row's payload keeps the names as they were when the credential was published; the
links are made when the message is composed, from the credential id, so that no
capability (the manage link's token) is stored in the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from credo.domain.entities import Credential, Group, Organization, OutboxMessage
from credo.domain.sso import BREAK_GLASS_MAIL
from credo.domain.webhooks import DISABLED_MAIL
from credo.ids import new_ids
from credo.services.billing import credit_alerts
from credo.services.context import ServiceContext
from credo.services.people import members
from credo.services.recipients import recipient_links, wallet

PUBLISHED = "credential.published"
RENEWED = "credential.renewed"
EXPIRING = "credential.expiring"  # services.reminders enqueues these
KINDS = (PUBLISHED, RENEWED, EXPIRING)


def announce(
    org: Organization, group: Group, creds: Sequence[Credential], kind: str, now: datetime
) -> list[OutboxMessage]:
    """One outbox row per credential, due at once. `now` is real time (the context's
    clock), not a sandbox's test clock, which may stand years ahead of the worker's."""
    ids = new_ids("mail", len(creds), now)
    return [
        OutboxMessage(
            id=ids[i],
            organization_id=org.id,
            kind=kind,
            to_address=c.recipient_email,
            credential_id=c.id,
            payload=orjson.dumps(
                {
                    "organization": org.name,
                    "recipient_name": c.recipient_name,
                    "achievement": group.name,
                    "issued_on": c.issued_on,
                    "expires_on": c.expires_on,
                }
            ).decode(),
            created_at=now,
            next_attempt_at=now,
        )
        for i, c in enumerate(creds)
    ]


def message_id(row_id: str, sender_address: str) -> str:
    """The same for every send of a row: receivers can tell a re-send (after a crash
    between sending and recording it) from a new message."""
    return f"<{row_id}@{sender_address.rpartition('@')[2]}>"


def compose(
    row: OutboxMessage,
    ctx: ServiceContext,
    sender_address: str,
    now: datetime,
    *,
    badge: bytes | None = None,
    pixel: str | None = None,
) -> EmailMessage:
    """The e-mail of an outbox row. `badge`: a credential e-mail's badge as a PNG, shown in
    its HTML as an image carried in the e-mail (badge_art)."""
    if row.kind in members.KINDS:
        return _compose_account(row, ctx, sender_address, now)
    if row.kind == wallet.SIGN_IN:
        asked: dict[str, Any] = orjson.loads(row.payload)
        fields = {"link": wallet.link_url(ctx, asked["token"]), "minutes": asked["minutes"]}
        subject = "Your sign-in link to your credentials"
        return _message(row, sender_address, now, "Credo", "", subject, "wallet_sign_in", fields)
    if row.kind in (credit_alerts.KIND, credit_alerts.DEPARTMENT_KIND):
        return _compose_credits_alert(row, ctx, sender_address, now)
    if row.kind == DISABLED_MAIL:
        return _compose_webhook_disabled(row, ctx, sender_address, now)
    if row.kind == BREAK_GLASS_MAIL:
        return _compose_break_glass(row, ctx, sender_address, now)
    if row.kind not in KINDS or row.credential_id is None:
        raise ValueError(f"outbox row {row.id}: no template for {row.kind!r}")
    data: dict[str, Any] = orjson.loads(row.payload)
    org = _one_line(data["organization"])
    fields = {
        **data,
        "issued_on": _long_date(data["issued_on"]),
        "expires_on": _long_date(data["expires_on"]) if data["expires_on"] else None,
        "renewed": row.kind == RENEWED,
        "expiring": row.kind == EXPIRING,
        "page_url": f"{ctx.base_url}/c/{row.credential_id}",
        "manage_url": recipient_links.manage_url(ctx, row.credential_id),
        # The same for every send of a row, like its Message-ID.
        "badge_cid": f"badge.{row.id}@{sender_address.rpartition('@')[2]}" if badge else None,
        "pixel": pixel,  # the organization counts opens (services/engagement/opens.py)
    }
    achievement = _one_line(data["achievement"])
    if row.kind == EXPIRING:
        subject = f"Your credential {achievement} from {org} expires on {fields['expires_on']}"
    else:
        verb = "renewed" if row.kind == RENEWED else "issued"
        subject = f"{org} {verb} your credential: {achievement}"
    # The organization's name shows as the sender; the address is the deployment's own.
    msg = _message(
        row, sender_address, now, org, data["recipient_name"], subject, "credential", fields
    )
    if badge is not None:
        html = msg.get_body(("html",))
        assert html is not None
        # multipart/alternative(text/plain, multipart/related(text/html, image/png)).
        html.add_related(
            badge,
            maintype="image",
            subtype="png",
            cid=f"<{fields['badge_cid']}>",
            disposition="inline",
            filename="badge.png",
        )
    return msg


def _message(
    row: OutboxMessage,
    sender_address: str,
    now: datetime,
    sender_name: str,
    to_name: str,
    subject: str,
    template: str,
    fields: dict[str, Any],
) -> EmailMessage:
    """An e-mail of `template` (.txt and .html) with the headers every kind shares."""
    msg = EmailMessage()
    msg["Subject"] = subject
    local, _, domain = sender_address.rpartition("@")
    msg["From"] = Address(display_name=sender_name, username=local, domain=domain)
    msg["To"] = Address(display_name=_one_line(to_name), addr_spec=row.to_address)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(row.id, sender_address)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
    env = _templates()
    msg.set_content(env.get_template(f"{template}.txt").render(fields))
    msg.add_alternative(env.get_template(f"{template}.html").render(fields), subtype="html")
    return msg


def _compose_account(
    row: OutboxMessage, ctx: ServiceContext, sender_address: str, now: datetime
) -> EmailMessage:
    """Password resets and invitations to the dashboard. The link is derived from the
    row's nonce here (services.members): the outbox never holds a working one."""
    data: dict[str, Any] = orjson.loads(row.payload)
    nonce = data.get("nonce")
    fields = {
        **data,
        "link": members.reset_url(ctx, nonce) if nonce else None,
        "login_url": f"{ctx.base_url}/login",
        "valid_for": "3 days" if row.kind == members.ACCOUNT_INVITE else "1 hour",
    }
    if row.kind == members.ACCOUNT_INVITE:
        org = _one_line(data["organization"])
        subject = f"{_one_line(data['inviter'])} added you to {org} on Credo"
        name = "account_invite"
    else:
        subject = "Reset your Credo password"
        name = "password_reset"
    return _message(row, sender_address, now, "Credo", data["name"], subject, name, fields)


def _compose_credits_alert(
    row: OutboxMessage, ctx: ServiceContext, sender_address: str, now: datetime
) -> EmailMessage:
    """To an owner: 80% or 100% of the billing year's credits are used, or of a
    department's cap (credit_alerts)."""
    data: dict[str, Any] = orjson.loads(row.payload)
    org = _one_line(data["organization"])
    ends = datetime.fromisoformat(data["year_ends_at"])
    dept = data.get("department")
    fields = {
        **data,
        "organization": org,
        "department": _one_line(dept) if dept else None,
        "remaining": max(0, int(data["allowance"]) - int(data["used"])),
        "resets_on": _long_date(ends.date().isoformat()),
        "credits_url": (
            f"{ctx.base_url}/app/departments/{data['department_id']}"
            if dept
            else f"{ctx.base_url}/app/credits"
        ),
    }
    if dept:
        name = _one_line(dept)
        if int(data["threshold"]) >= 100:
            subject = f"{org}: {name} has taken all {data['allowance']} seats of its cap"
        else:
            subject = f"{org}: {name} has taken {data['threshold']}% of its cap"
    elif int(data["threshold"]) >= 100:
        subject = f"{org}: all {data['allowance']} credits of this billing year are used"
    else:
        subject = f"{org}: {data['threshold']}% of this billing year's credits are used"
    return _message(
        row, sender_address, now, "Credo", data["owner_name"], subject, "credits_alert", fields
    )


def _compose_webhook_disabled(
    row: OutboxMessage, ctx: ServiceContext, sender_address: str, now: datetime
) -> EmailMessage:
    """To an owner: a webhook endpoint failed for days and was disabled (webhooks.delivery)."""
    data: dict[str, Any] = orjson.loads(row.payload)
    org = _one_line(data["organization"])
    fields = {
        **data,
        "organization": org,
        "failing_since": _long_date(
            datetime.fromisoformat(data["failing_since"]).date().isoformat()
        ),
        "webhook_url": f"{ctx.base_url}/app/webhooks/{data['webhook_id']}",
    }
    subject = f"{org}: a webhook endpoint was disabled after failing for days"
    return _message(
        row, sender_address, now, "Credo", data["owner_name"], subject, "webhook_disabled", fields
    )


def _compose_break_glass(
    row: OutboxMessage, ctx: ServiceContext, sender_address: str, now: datetime
) -> EmailMessage:
    """To every owner: someone signed in with a password although the organization
    requires single sign-on (services.people.sso.break_glass)."""
    data: dict[str, Any] = orjson.loads(row.payload)
    org = _one_line(data["organization"])
    fields = {**data, "organization": org, "settings_url": f"{ctx.base_url}/app/settings/sso"}
    subject = f"{org}: break-glass sign-in by {_one_line(data['who'])}"
    return _message(
        row, sender_address, now, "Credo", data["owner_name"], subject, "sso_break_glass", fields
    )


def _long_date(iso: str) -> str:
    # "1 February 2026": read alike everywhere, unlike 01/02/2026.
    day = date.fromisoformat(iso)
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


_MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June", "July")
_MONTHS += ("August", "September", "October", "November", "December")


def _one_line(text: str) -> str:
    # Header values may not carry line breaks; names given by users might.
    return " ".join(str(text).split())


@cache
def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("credo", "templates/email"),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
