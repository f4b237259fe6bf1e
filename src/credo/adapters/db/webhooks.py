"""Webhook endpoints, deliveries and attempts (tables.webhooks, webhook_deliveries,
webhook_attempts). Deliveries are claimed like jobs: `FOR UPDATE SKIP LOCKED` on
PostgreSQL, under a lease, so a worker that dies mid-send leaves them to the next."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, and_, delete, exists, func, insert, or_, select, update

from credo.adapters.db import tables as t
from credo.adapters.db.credentials import _CRED_COLUMNS, _credential
from credo.domain.credentials import Status
from credo.domain.entities import Credential
from credo.domain.webhooks import Attempt, Delivery, DeliveryState, Webhook
from credo.services.webhooks.ports import EndpointSecrets

_w = t.webhooks.c
_d = t.webhook_deliveries.c
_a = t.webhook_attempts.c
_WEBHOOK = (
    _w.id,
    _w.organization_id,
    _w.url,
    _w.events,
    _w.description,
    _w.created_at,
    _w.updated_at,
    _w.secret_rotated_at,
    _w.previous_secret_expires_at,
    _w.failing_since,
    _w.disabled_at,
    _w.disabled_reason,
    _w.expired_through,
)
_DELIVERY = (
    _d.id,
    _d.webhook_id,
    _d.organization_id,
    _d.event_type,
    _d.payload,
    _d.created_at,
    _d.state,
    _d.attempts,
    _d.next_attempt_at,
    _d.last_attempt_at,
    _d.last_status_code,
    _d.last_duration_ms,
    _d.last_response,
    _d.last_error,
)
ERROR_LENGTH = 500


def _webhook(row: Any) -> Webhook:
    fields = dict(row._mapping)
    fields["events"] = tuple(orjson.loads(fields["events"]))
    return Webhook(**fields)


def _delivery(row: Any) -> Delivery:
    fields = dict(row._mapping)
    fields["state"] = DeliveryState(fields["state"])
    return Delivery(**fields)


class SqlWebhooks:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    # ---------------------------------------------------------------- endpoints

    def add(self, hook: Webhook, sealed_secret: bytes) -> None:
        self._c.execute(
            insert(t.webhooks).values(
                id=hook.id,
                organization_id=hook.organization_id,
                url=hook.url,
                description=hook.description,
                events=orjson.dumps(list(hook.events)).decode(),
                secret=sealed_secret,
                expired_through=hook.created_at.date(),
                created_at=hook.created_at,
                updated_at=hook.updated_at,
            )
        )

    def get(self, org_id: str, webhook_id: str) -> Webhook | None:
        row = self._c.execute(
            select(*_WEBHOOK).where(_w.organization_id == org_id, _w.id == webhook_id)
        ).first()
        return _webhook(row) if row else None

    def of(self, org_id: str) -> list[Webhook]:
        rows = self._c.execute(
            select(*_WEBHOOK).where(_w.organization_id == org_id).order_by(_w.id)
        ).all()
        return [_webhook(r) for r in rows]

    def count(self, org_id: str) -> int:
        return int(self._c.scalar(select(func.count()).where(_w.organization_id == org_id)) or 0)

    def subscribers(self, org_ids: Sequence[str]) -> list[Webhook]:
        """The enabled endpoints of these organizations (one statement for a whole batch)."""
        rows = self._c.execute(
            select(*_WEBHOOK).where(
                _w.organization_id.in_(sorted(set(org_ids))), _w.disabled_at.is_(None)
            )
        ).all()
        return [_webhook(r) for r in rows]

    def update(self, hook: Webhook) -> None:
        self._c.execute(
            update(t.webhooks)
            .where(_w.id == hook.id, _w.organization_id == hook.organization_id)
            .values(
                url=hook.url,
                description=hook.description,
                events=orjson.dumps(list(hook.events)).decode(),
                failing_since=hook.failing_since,
                disabled_at=hook.disabled_at,
                disabled_reason=hook.disabled_reason,
                updated_at=hook.updated_at,
            )
        )

    def set_secret(
        self,
        webhook_id: str,
        sealed: bytes,
        previous: bytes | None,
        previous_expires_at: datetime | None,
        at: datetime,
    ) -> None:
        self._c.execute(
            update(t.webhooks)
            .where(_w.id == webhook_id)
            .values(
                secret=sealed,
                previous_secret=previous,
                previous_secret_expires_at=previous_expires_at,
                secret_rotated_at=at,
                updated_at=at,
            )
        )

    def secrets(self, webhook_ids: Sequence[str]) -> dict[str, EndpointSecrets]:
        rows = self._c.execute(
            select(
                _w.id,
                _w.url,
                _w.secret,
                _w.previous_secret,
                _w.previous_secret_expires_at,
            ).where(_w.id.in_(sorted(set(webhook_ids))))
        ).all()
        return {
            r.id: EndpointSecrets(r.url, r.secret, r.previous_secret, r.previous_secret_expires_at)
            for r in rows
        }

    def failing(self, webhook_id: str, since: datetime) -> datetime:
        """Mark the endpoint failing since `since` unless it already was; when it began."""
        self._c.execute(
            update(t.webhooks)
            .where(_w.id == webhook_id, _w.failing_since.is_(None))
            .values(failing_since=since)
        )
        began = self._c.scalar(select(_w.failing_since).where(_w.id == webhook_id))
        return began if began is not None else since

    def working(self, webhook_id: str) -> None:
        self._c.execute(
            update(t.webhooks)
            .where(_w.id == webhook_id, _w.failing_since.is_not(None))
            .values(failing_since=None)
        )

    def delete(self, org_id: str, webhook_id: str) -> None:
        ids = select(_d.id).where(_d.webhook_id == webhook_id, _d.organization_id == org_id)
        self._c.execute(delete(t.webhook_attempts).where(_a.delivery_id.in_(ids)))
        self._c.execute(
            delete(t.webhook_deliveries).where(
                _d.webhook_id == webhook_id, _d.organization_id == org_id
            )
        )
        self._c.execute(delete(t.webhooks).where(_w.id == webhook_id, _w.organization_id == org_id))

    # ---------------------------------------------------------------- deliveries

    def add_deliveries(self, deliveries: Sequence[Delivery]) -> None:
        if not deliveries:
            return
        self._c.execute(
            insert(t.webhook_deliveries),
            [
                {
                    "id": d.id,
                    "organization_id": d.organization_id,
                    "webhook_id": d.webhook_id,
                    "event_type": d.event_type,
                    "payload": d.payload,
                    "created_at": d.created_at,
                    "state": d.state.value,
                    "attempts": 0,
                    "next_attempt_at": d.next_attempt_at,
                }
                for d in deliveries
            ],
        )

    def has_due(self, now: datetime) -> bool:
        found = self._c.scalar(select(_d.id).where(*self._due(now)).limit(1))
        return found is not None

    def claim(self, now: datetime, until: datetime, owner: str, limit: int) -> list[Delivery]:
        """Lease up to `limit` due deliveries of enabled endpoints, oldest due first."""
        due = select(_d.id).where(*self._due(now)).order_by(_d.next_attempt_at).limit(limit)
        if self._c.dialect.name == "postgresql":
            due = due.with_for_update(of=t.webhook_deliveries, skip_locked=True)
        ids = list(self._c.scalars(due))
        if not ids:
            return []
        rows = self._c.execute(
            update(t.webhook_deliveries)
            .where(_d.id.in_(ids))
            .values(leased_until=until, leased_by=owner[:80])
            .returning(*_DELIVERY)
        ).all()
        return sorted((_delivery(r) for r in rows), key=lambda d: (d.next_attempt_at, d.id))

    def _due(self, now: datetime) -> tuple[Any, ...]:
        enabled = exists().where(_w.id == _d.webhook_id, _w.disabled_at.is_(None))
        return (
            _d.state == DeliveryState.PENDING.value,
            _d.next_attempt_at <= now,
            or_(_d.leased_until.is_(None), _d.leased_until <= now),
            enabled,
        )

    def record(
        self,
        delivery: Delivery,
        attempt: Attempt,
        state: DeliveryState,
        next_attempt_at: datetime | None,
    ) -> None:
        """An attempt's outcome: the delivery's last figures and the log row, together."""
        self._c.execute(
            update(t.webhook_deliveries)
            .where(_d.id == delivery.id)
            .values(
                state=state.value,
                attempts=_d.attempts + 1,
                next_attempt_at=next_attempt_at,
                leased_until=None,
                leased_by=None,
                last_attempt_at=attempt.at,
                last_status_code=attempt.status_code,
                last_duration_ms=attempt.duration_ms,
                last_response=attempt.response,
                last_error=attempt.error[:ERROR_LENGTH] if attempt.error else None,
            )
        )
        self._c.execute(
            insert(t.webhook_attempts).values(
                organization_id=delivery.organization_id,
                delivery_id=delivery.id,
                at=attempt.at,
                status_code=attempt.status_code,
                duration_ms=attempt.duration_ms,
                response=attempt.response,
                error=attempt.error[:ERROR_LENGTH] if attempt.error else None,
            )
        )

    def release(self, delivery_ids: Sequence[str]) -> None:
        if delivery_ids:
            self._c.execute(
                update(t.webhook_deliveries)
                .where(_d.id.in_(list(delivery_ids)))
                .values(leased_until=None, leased_by=None)
            )

    def deliveries(
        self, org_id: str, webhook_id: str, *, after: str | None, limit: int
    ) -> list[Delivery]:
        """Newest first; `after`: the last id of the previous page."""
        where = [_d.organization_id == org_id, _d.webhook_id == webhook_id]
        if after is not None:
            where.append(_d.id < after)
        rows = self._c.execute(
            select(*_DELIVERY).where(and_(*where)).order_by(_d.id.desc()).limit(limit)
        ).all()
        return [_delivery(r) for r in rows]

    def delivery(self, org_id: str, delivery_id: str) -> Delivery | None:
        row = self._c.execute(
            select(*_DELIVERY).where(_d.organization_id == org_id, _d.id == delivery_id)
        ).first()
        return _delivery(row) if row else None

    def attempts(self, org_id: str, delivery_id: str) -> list[Attempt]:
        rows = self._c.execute(
            select(_a.at, _a.duration_ms, _a.status_code, _a.response, _a.error)
            .where(_a.organization_id == org_id, _a.delivery_id == delivery_id)
            .order_by(_a.id)
        ).all()
        return [Attempt(**r._mapping) for r in rows]

    def resend(self, org_id: str, delivery_id: str, now: datetime) -> None:
        """Due again now, with a fresh schedule of retries; same id, same body."""
        self._c.execute(
            update(t.webhook_deliveries)
            .where(_d.organization_id == org_id, _d.id == delivery_id)
            .values(
                state=DeliveryState.PENDING.value,
                attempts=0,
                next_attempt_at=now,
                leased_until=None,
                leased_by=None,
            )
        )

    # ---------------------------------------------------------------- credential.expired

    def expiry_marks(self) -> list[tuple[str, str, date | None]]:
        """(id, organization id, expired_through) of enabled endpoints subscribed to
        `credential.expired`."""
        rows = self._c.execute(
            select(_w.id, _w.organization_id, _w.expired_through, _w.events).where(
                _w.disabled_at.is_(None), _w.events.like('%"credential.expired"%')
            )
        ).all()
        return [(r.id, r.organization_id, r.expired_through) for r in rows]

    def expired(self, org_id: str, since: date, before: date) -> list[Credential]:
        """Live, unrevoked published credentials whose expiry date is in [since, before)."""
        rows = self._c.execute(
            select(*_CRED_COLUMNS)
            .where(
                t.credentials.c.organization_id == org_id,
                t.credentials.c.status == Status.PUBLISHED.value,
                t.credentials.c.deleted_at.is_(None),
                t.credentials.c.revoked_at.is_(None),
                t.credentials.c.expires_on >= since,
                t.credentials.c.expires_on < before,
            )
            .order_by(t.credentials.c.id)
        ).all()
        return [_credential(r) for r in rows]

    def mark_expired_through(self, webhook_id: str, day: date) -> None:
        self._c.execute(update(t.webhooks).where(_w.id == webhook_id).values(expired_through=day))
