"""Stored replies of Idempotency-Keys, written in the transaction of the change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select, tuple_
from sqlalchemy.exc import IntegrityError

from credo.adapters.db import tables as t
from credo.domain.entities import (
    StoredReply,
)
from credo.services.ports import DuplicateRequest


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

    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredReply]:
        c = t.idempotency_keys.c
        rows = self._c.execute(
            select(c.organization_id, c.key, c.fingerprint, c.status_code, c.body).where(
                tuple_(c.organization_id, c.key).in_(sorted(set(keys)))
            )
        )
        return {(r[0], r[1]): StoredReply(r[2], r[3], r[4]) for r in rows}

    def add_many(self, replies: Sequence[tuple[str, str, StoredReply]], at: datetime) -> None:
        """DuplicateRequest if any of them was stored first (by a concurrent twin)."""
        if not replies:
            return
        rows = [
            {
                "organization_id": scope,
                "key": key,
                "fingerprint": reply.fingerprint,
                "status_code": reply.status_code,
                "body": reply.body,
                "created_at": at,
            }
            for scope, key, reply in replies
        ]
        try:
            self._c.execute(insert(t.idempotency_keys), rows)
        except IntegrityError:
            raise DuplicateRequest(", ".join(key for _, key, _ in replies)) from None

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
