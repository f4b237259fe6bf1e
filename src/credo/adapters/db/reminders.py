"""Credentials whose recipients are due a reminder that they expire soon."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Connection, select, update

from credo.adapters.db import tables as t
from credo.domain.credentials import Status
from credo.domain.entities import ExpiringCredential

_c = t.credentials.c


class SqlReminders:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def due(self, org_id: str, today: date, until: date) -> list[ExpiringCredential]:
        """Live, unrevoked, unsuspended credentials expiring in [today, until] whose
        recipient has not been reminded of this expiry date."""
        q = select(
            _c.id,
            _c.group_id,
            _c.recipient_name,
            _c.recipient_email,
            _c.issued_on,
            _c.expires_on,
        ).where(
            _c.organization_id == org_id,
            _c.status == Status.PUBLISHED.value,
            _c.deleted_at.is_(None),
            _c.revoked_at.is_(None),
            _c.suspended_at.is_(None),
            _c.expires_on >= today,
            _c.expires_on <= until,
            (_c.reminded_expiry.is_(None)) | (_c.reminded_expiry != _c.expires_on),
        )
        return [ExpiringCredential(*row) for row in self._c.execute(q.order_by(_c.id))]

    def mark(self, org_id: str, cred_ids: Sequence[str]) -> None:
        for start in range(0, len(cred_ids), 500):
            self._c.execute(
                update(t.credentials)
                .where(_c.organization_id == org_id, _c.id.in_(cred_ids[start : start + 500]))
                .values(reminded_expiry=_c.expires_on)
            )
