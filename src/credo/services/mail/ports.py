"""What mail needs: the outbox in storage, and a way to send."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

from credo.domain.entities import (
    OutboxMessage,
    QueueStats,
)


class Outbox(Protocol):
    """E-mails waiting to be sent. A row is never deleted: it ends sent or failed."""

    def add(self, message: OutboxMessage) -> None: ...
    def add_many(self, messages: Sequence[OutboxMessage]) -> None: ...
    def discard_for(self, credential_ids: Sequence[str]) -> None:
        """Remove the unsent messages of these credentials added by this transaction."""

    def has_due(self, now: datetime) -> bool:
        """Whether a row is pending, due and not leased (a cheap read, for polling)."""

    def claim(
        self, now: datetime, until: datetime, limit: int, after_org: str = ""
    ) -> tuple[list[OutboxMessage], str]:
        """Lease up to `limit` due rows until `until` and count an attempt on each: first
        the account lane's, oldest first, then those of one organization, the next after
        `after_org` that has rows due (round robin, so that one organization's 50,000 do
        not hold back another's ten). Answers the rows and the organization served.
        Concurrent claimers never get the same row while its lease holds."""

    def release(self, message_ids: Sequence[str]) -> None:
        """Hand leased rows back unsent (a stopping worker): due again at once, the
        attempt not counted."""

    def stats(self, now: datetime) -> list[QueueStats]: ...

    def mark_sent(self, message_ids: Sequence[str], at: datetime) -> None: ...
    def retry(self, message_id: str, at: datetime, error: str) -> None:
        """Release the row's lease and make it due again at `at`."""

    def fail(self, message_id: str, at: datetime, error: str) -> None:
        """Give the row up: it is kept, with its error, and never claimed again."""


class MailError(Exception):
    """A send failed. `permanent`: the server refused this message for good (5xx), so
    retrying it cannot help. `server`: the server itself is unusable (down, refusing our
    login, closing on us), so the other messages of the batch would fail alike."""

    def __init__(self, detail: str, *, permanent: bool = False, server: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent
        self.server = server


class MailSession(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand one message over for delivery; raises MailError."""


class MailSender(Protocol):
    """Delivers e-mails (adapters/mail): over SMTP, or into a file mailbox."""

    def session(self) -> AbstractContextManager[MailSession]:
        """A session for a batch of messages (one SMTP connection, opened on first use)."""
