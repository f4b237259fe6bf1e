"""What the webhook services need: storage of endpoints and deliveries, a sealer for the
signing secrets, and a sender that makes one HTTP attempt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from credo.domain.entities import Credential
from credo.domain.webhooks import Attempt, Delivery, DeliveryState, Webhook


@dataclass(frozen=True, slots=True)
class EndpointSecrets:
    url: str
    secret: bytes  # sealed
    previous: bytes | None  # sealed; signs too until it expires
    previous_expires_at: datetime | None


class Webhooks(Protocol):
    def add(self, hook: Webhook, sealed_secret: bytes) -> None: ...
    def get(self, org_id: str, webhook_id: str) -> Webhook | None: ...
    def of(self, org_id: str) -> list[Webhook]: ...
    def count(self, org_id: str) -> int: ...
    def subscribers(self, org_ids: Sequence[str]) -> list[Webhook]:
        """The enabled endpoints of these organizations."""

    def update(self, hook: Webhook) -> None: ...
    def set_secret(
        self,
        webhook_id: str,
        sealed: bytes,
        previous: bytes | None,
        previous_expires_at: datetime | None,
        at: datetime,
    ) -> None: ...
    def secrets(self, webhook_ids: Sequence[str]) -> dict[str, EndpointSecrets]: ...
    def failing(self, webhook_id: str, since: datetime) -> datetime:
        """Mark failing since `since` unless it already was; answers since when."""

    def working(self, webhook_id: str) -> None: ...
    def delete(self, org_id: str, webhook_id: str) -> None: ...
    def add_deliveries(self, deliveries: Sequence[Delivery]) -> None: ...
    def has_due(self, now: datetime) -> bool: ...
    def claim(self, now: datetime, until: datetime, owner: str, limit: int) -> list[Delivery]: ...
    def record(
        self,
        delivery: Delivery,
        attempt: Attempt,
        state: DeliveryState,
        next_attempt_at: datetime | None,
    ) -> None: ...
    def release(self, delivery_ids: Sequence[str]) -> None: ...
    def deliveries(
        self, org_id: str, webhook_id: str, *, after: str | None, limit: int
    ) -> list[Delivery]: ...
    def delivery(self, org_id: str, delivery_id: str) -> Delivery | None: ...
    def attempts(self, org_id: str, delivery_id: str) -> list[Attempt]: ...
    def resend(self, org_id: str, delivery_id: str, now: datetime) -> None: ...
    def expiry_marks(self) -> list[tuple[str, str, date | None]]: ...
    def expired(self, org_id: str, since: date, before: date) -> list[Credential]: ...
    def mark_expired_through(self, webhook_id: str, day: date) -> None: ...


class Sealer(Protocol):
    """Seals secrets at rest (adapters/keystore.KeyVault), bound to their row."""

    def seal(self, secret: bytes, bound_to: str) -> bytes: ...
    def open(self, sealed: bytes, bound_to: str) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Outgoing:
    url: str
    body: bytes
    headers: dict[str, str]


class Sender(Protocol):
    def send(self, message: Outgoing, at: datetime) -> Attempt:
        """One POST: no redirects followed, a bounded wait and read; never raises."""
