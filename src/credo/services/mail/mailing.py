"""The mail worker: claims due outbox rows, sends them, records each outcome.

Delivery is at least once. A batch of rows is claimed with a lease (its own short
transaction), sent outside any transaction, and the outcomes recorded together (another).
Two workers never hold the same row at once, and a worker sends a row only while well inside
its lease; a crash between sending and recording sends the batch's rows again after the
lease ends, each with the same Message-ID (notifications.message_id), so receivers can
recognise the repeat. A failed send is retried
with exponential backoff, and given up after `max_attempts` (or at once when the server
refuses the message for good); a given-up row is kept, with its last error."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from credo import telemetry
from credo.clock import Clock
from credo.domain.entities import OutboxMessage
from credo.domain.jobs import Backoff
from credo.services.context import ServiceContext
from credo.services.engagement import opens
from credo.services.mail import badge_art, notifications
from credo.services.mail.badge_art import BadgeArt
from credo.services.mail.ports import MailError, MailSender, MailSession
from credo.services.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger("credo.mail")


@dataclass
class Report:
    sent: int = 0
    retried: int = 0
    failed: int = 0

    def add(self, other: Report) -> None:
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed


@dataclass
class MailWorker:
    uow: UnitOfWorkFactory
    ctx: ServiceContext
    sender: MailSender
    sender_address: str
    clock: Clock | None = None  # default: the context's
    batch: int = 20
    lease: timedelta = timedelta(minutes=15)
    # The longest one send may take (an SMTP conversation under its timeouts). A send
    # starts only if it ends inside the lease, so no other worker can be sending the row.
    send_budget: timedelta = timedelta(minutes=5)
    policy: Backoff = field(default_factory=Backoff)
    badges: BadgeArt | None = None  # None: credential e-mails go without their badge
    # The organization served last (outbox claims go round the organizations in turn).
    _after_org: str = field(default="", init=False)

    def now(self) -> datetime:
        return (self.clock or self.ctx.clock).now()

    def run_once(self, stop: threading.Event | None = None) -> Report:
        """Claim one batch of due rows, send it, then record the outcomes together. When
        `stop` is set meanwhile, the send in flight ends and the rest are handed back."""
        report = Report()
        now = self.now()
        with self.uow(write=False) as uow:
            if not uow.outbox.has_due(now):
                return report  # polling costs a read, not a write lock
        with self.uow() as uow:
            rows, self._after_org = uow.outbox.claim(
                now, now + self.lease, self.batch, self._after_org
            )
            rows = self._drop_withdrawn(uow, rows, now, report)
            uow.commit()
        if not rows:
            return report
        pictures = self._badges(rows)
        counted = self._counting_opens(rows)
        sent: list[str] = []
        failed: list[tuple[OutboxMessage, MailError]] = []
        unsent: list[str] = []
        try:
            with self.sender.session() as session:
                for i, row in enumerate(rows):
                    if stop is not None and stop.is_set():
                        unsent = [r.id for r in rows[i:]]
                        break
                    if self.now() + self.send_budget > now + self.lease:
                        break  # the rest wait for their lease to end, then go to anyone
                    pixel = opens.pixel_url(self.ctx, row.id) if row.id in counted else None
                    error = self._send(session, row, pictures.get(row.id), pixel)
                    if error is None:
                        sent.append(row.id)
                        continue
                    failed.append((row, error))
                    if error.server:
                        # The others would fail alike: put them back, each with its backoff.
                        failed.extend((rest, error) for rest in rows[i + 1 :])
                        break
        finally:
            # One transaction per batch, not per message: the embedded worker shares
            # SQLite's one writer with the API. A crash before it re-sends the batch.
            self._record(sent, failed, report, unsent)
        return report

    def drain(self, max_batches: int = 10_000) -> Report:
        """Send until nothing is due: failed rows wait for their next attempt."""
        total = Report()
        for _ in range(max_batches):
            report = self.run_once()
            total.add(report)
            if report.handled == 0:
                break
        return total

    @staticmethod
    def _drop_withdrawn(
        uow: UnitOfWork, rows: list[OutboxMessage], now: datetime, report: Report
    ) -> list[OutboxMessage]:
        """A credential deleted before its e-mail went out is not announced: the link would
        lead to a page that no longer exists."""
        about = [r.credential_id for r in rows if r.credential_id is not None]
        live = uow.credentials.live_published(about) if about else set()
        keep = []
        for row in rows:
            if row.credential_id is None or row.credential_id in live:
                keep.append(row)
            else:
                uow.outbox.fail(row.id, now, "not sent: the credential was deleted")
                report.failed += 1
        return keep

    def _badges(self, rows: list[OutboxMessage]) -> dict[str, bytes]:
        """The badge of each credential e-mail, by row id; drawn outside any transaction."""
        art = self.badges
        if art is None:
            return {}
        with self.uow(write=False) as uow:
            wanted = badge_art.contents(uow, rows)
        drawn = {row_id: art.png(content) for row_id, content in wanted.items()}
        return {row_id: png for row_id, png in drawn.items() if png is not None}

    def _counting_opens(self, rows: list[OutboxMessage]) -> set[str]:
        """The credential e-mails whose organization counts opens (off by default)."""
        about = [r for r in rows if r.kind in notifications.KINDS and r.credential_id]
        if not about:
            return set()
        with self.uow(write=False) as uow:
            orgs = {
                org_id: uow.organizations.get(org_id)
                for org_id in {r.organization_id for r in about}
            }
        return {r.id for r in about if (org := orgs[r.organization_id]) and org.email_open_tracking}

    def _send(
        self,
        session: MailSession,
        row: OutboxMessage,
        badge: bytes | None = None,
        pixel: str | None = None,
    ) -> MailError | None:
        try:
            message = notifications.compose(
                row, self.ctx, self.sender_address, self.now(), badge=badge, pixel=pixel
            )
            session.send(message)
        except MailError as exc:
            return exc
        except (ValueError, KeyError, TypeError) as exc:
            # A row that cannot be composed never will be.
            return MailError(f"cannot compose: {exc}", permanent=True)
        return None

    def _record(
        self,
        sent: list[str],
        failed: list[tuple[OutboxMessage, MailError]],
        report: Report,
        unsent: list[str],
    ) -> None:
        if not sent and not failed and not unsent:
            return
        now = self.now()
        with self.uow() as uow:
            uow.outbox.mark_sent(sent, now)
            uow.outbox.release(unsent)
            for row, exc in failed:
                if exc.permanent or self.policy.gives_up(row.attempts):
                    uow.outbox.fail(row.id, now, exc.detail)
                    report.failed += 1
                    telemetry.event("mail.failed")
                    log.warning("mail %s (%s) given up: %s", row.id, row.kind, exc.detail)
                else:
                    uow.outbox.retry(row.id, now + self.policy.delay(row.attempts), exc.detail)
                    report.retried += 1
                    telemetry.event("mail.retried")
                    log.info("mail %s: attempt %d failed: %s", row.id, row.attempts, exc.detail)
            uow.commit()
        report.sent += len(sent)
        telemetry.event("mail.sent", len(sent))
