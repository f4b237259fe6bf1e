"""Sending webhook deliveries: the workers claim due ones, sign and POST each, and record
what came back. A failed attempt is tried again on the schedule of domain.webhooks; an
endpoint that has failed for five days is disabled and its owners are e-mailed.

At least once: a worker that dies between a receiver's 2xx and recording it sends again,
under the same `webhook-id`. Order is not kept across retries."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from standardwebhooks.webhooks import Webhook as Signer

from credo.domain import webhooks as rules
from credo.domain.webhooks import Attempt, Delivery, DeliveryState
from credo.services.people import owners
from credo.services.ports import UnitOfWork, UnitOfWorkFactory
from credo.services.webhooks.endpoints import Webhooking
from credo.services.webhooks.ports import EndpointSecrets, Outgoing, Sender

log = logging.getLogger("credo.webhooks")

USER_AGENT = "Credo-Webhooks/1"


def headers(
    w: Webhooking, delivery: Delivery, secrets: EndpointSecrets, at: datetime
) -> dict[str, str]:
    """Standard Webhooks headers; while a rotated-out secret still signs, two signatures."""
    keys = [secrets.secret]
    if (
        secrets.previous is not None
        and secrets.previous_expires_at is not None
        and at < secrets.previous_expires_at
    ):
        keys.append(secrets.previous)
    signatures = [
        Signer(w.sealer.open(key, delivery.webhook_id).decode()).sign(
            delivery.id, at, delivery.payload.encode()
        )
        for key in keys
    ]
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


@dataclass
class WebhookWorker:
    uow: UnitOfWorkFactory
    w: Webhooking
    sender: Sender
    name: str
    batch: int = 16
    concurrency: int = 8
    # Longer than a batch can take (each send is bounded by its 10 s timeout).
    lease: timedelta = timedelta(minutes=2)
    _pool: ThreadPoolExecutor | None = field(default=None, init=False)

    def run_once(self) -> int:
        """Claim up to `batch` due deliveries and attempt each; how many were attempted."""
        now = self.w.clock.now()
        with self.uow(write=False) as uow:
            if not uow.webhooks.has_due(now):
                return 0
        with self.uow() as uow:
            claimed = uow.webhooks.claim(now, now + self.lease, self.name, self.batch)
            secrets = uow.webhooks.secrets([d.webhook_id for d in claimed])
            uow.commit()
        if not claimed:
            return 0
        ready = [(d, secrets[d.webhook_id]) for d in claimed if d.webhook_id in secrets]
        if len(ready) == 1:
            attempts = [self._attempt(*ready[0])]
        else:
            attempts = list(self._executor().map(lambda pair: self._attempt(*pair), ready))
        for (d, _), attempt in zip(ready, attempts, strict=True):
            with self.uow() as uow:
                self._record(uow, d, attempt)
                uow.commit()
        return len(ready)

    def drain(self, max_rounds: int = 1000) -> int:
        total = 0
        for _ in range(max_rounds):
            done = self.run_once()
            total += done
            if done == 0:
                break
        return total

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="webhooks")
        return self._pool

    def _attempt(self, delivery: Delivery, secrets: EndpointSecrets) -> Attempt:
        at = self.w.clock.now()
        try:
            sent_headers = headers(self.w, delivery, secrets, at)
        except Exception as exc:  # a secret that does not open: say so in the log
            return Attempt(at=at, duration_ms=0, error=f"could not sign: {exc}")
        return self.sender.send(Outgoing(secrets.url, delivery.payload.encode(), sent_headers), at)

    def _record(self, uow: UnitOfWork, d: Delivery, attempt: Attempt) -> None:
        if attempt.ok:
            uow.webhooks.record(d, attempt, DeliveryState.SUCCEEDED, None)
            uow.webhooks.working(d.webhook_id)
            outcome = "succeeded"
        else:
            again = rules.next_attempt(d.attempts + 1, attempt.at)
            state = DeliveryState.PENDING if again is not None else DeliveryState.FAILED
            uow.webhooks.record(d, attempt, state, again)
            since = uow.webhooks.failing(d.webhook_id, attempt.at)
            if rules.disable_now(since, attempt.at):
                _disable(uow, d, since, attempt)
            outcome = "retry" if again is not None else "failed"
        log.info(
            "webhook attempt",
            extra={
                "delivery_id": d.id,
                "webhook_id": d.webhook_id,
                "organization_id": d.organization_id,
                "event": d.event_type,
                "status_code": attempt.status_code,
                "error": attempt.error,
                "duration_ms": attempt.duration_ms,
                "outcome": outcome,
            },
        )


def _disable(uow: UnitOfWork, d: Delivery, since: datetime, attempt: Attempt) -> None:
    now = attempt.at
    hook = uow.webhooks.get(d.organization_id, d.webhook_id)
    if hook is None or not hook.enabled:
        return
    reason = f"every delivery failed for {rules.DISABLE_AFTER.days} days"
    uow.webhooks.update(replace(hook, disabled_at=now, disabled_reason=reason, updated_at=now))
    org = uow.organizations.get(d.organization_id)
    if org is not None:
        about = {
            "organization": org.name,
            "url": hook.url,
            "webhook_id": hook.id,
            "failing_since": since.isoformat(),
            "last_error": attempt.error or f"HTTP {attempt.status_code}",
        }
        owners.mail_owners(uow, d.organization_id, rules.DISABLED_MAIL, about, now)
    log.warning(
        "webhook disabled",
        extra={"webhook_id": hook.id, "organization_id": d.organization_id, "reason": reason},
    )
