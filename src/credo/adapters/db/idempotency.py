"""Stored replies of Idempotency-Keys, written in the transaction of the change."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from credo.adapters.db import tables as t
from credo.domain.entities import (
    StoredReply,
)
from credo.services.ports import DuplicateRequest

# From this many rows on, PostgreSQL gets them by COPY; fewer go by plain INSERT.


class SqlIdempotencyKeys:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def get(self, scope: str, key: str) -> StoredReply | None:
        c = t.idempotency_keys.c
        row = self._c.execute(
            select(c.fingerprint, c.status_code, c.body).where(
                c.organization_id == scope, c.key == key
            )
        ).first()
        return StoredReply(row[0], row[1], row[2]) if row else None

    def add(self, scope: str, key: str, reply: StoredReply, at: datetime) -> None:
        try:
            self._c.execute(
                insert(t.idempotency_keys).values(
                    organization_id=scope,
                    key=key,
                    fingerprint=reply.fingerprint,
                    status_code=reply.status_code,
                    body=reply.body,
                    created_at=at,
                )
            )
        except IntegrityError:
            raise DuplicateRequest(key) from None
