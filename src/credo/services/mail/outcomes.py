"""How an e-mail to a recipient went, in words an issuer can act on (the raw error stays
beside them for whoever runs the mail server)."""

from __future__ import annotations

import re
from enum import StrEnum

from credo.domain.entities import SentMail
from credo.services.mail import notifications

KIND_WORDS = {
    notifications.PUBLISHED: "Credential issued",
    notifications.RENEWED: "Credential renewed",
    notifications.EXPIRING: "Expiry reminder",
}
_CODE = re.compile(r"\b([2-5])\d\d\b")


class MailState(StrEnum):
    DELIVERED = "delivered"  # handed to the mail server (or written to the mailbox)
    FAILED = "failed"  # given up: never tried again
    WAITING = "waiting"  # not sent yet, or tried and due again


def state_of(mail: SentMail) -> MailState:
    if mail.sent_at is not None:
        return MailState.DELIVERED
    if mail.failed_at is not None:
        return MailState.FAILED
    return MailState.WAITING


def kind_words(kind: str) -> str:
    return KIND_WORDS.get(kind, "E-mail")


def error_words(error: str | None) -> str:
    """What went wrong, as the issuer can understand it: whose server said no, and
    whether trying again may help. The error strings are those of services.mail.mailing
    and adapters.mail."""
    text = error or ""
    if text.startswith("not sent: the credential was deleted"):
        return "It was not sent: the credential was deleted before it went out."
    code = _CODE.search(text)
    permanent = code is not None and code.group(1) == "5"
    if text.startswith("recipient refused"):
        if permanent:
            return (
                "The recipient's mail server refused the address: it may be mistyped or "
                "no longer in use. Check the e-mail address."
            )
        return "The recipient's mail server turned the address away for now."
    if text.startswith("message refused"):
        if permanent:
            return (
                "The recipient's mail server refused the message (it may have taken it for spam)."
            )
        return "The recipient's mail server turned the message away for now."
    if text.startswith("cannot compose"):
        return "The message could not be written from what the credential holds."
    if text:  # the connection, the login or the mailbox directory: our side, not theirs
        return "Our mail server could not be reached or refused to send it."
    return "It could not be sent."
