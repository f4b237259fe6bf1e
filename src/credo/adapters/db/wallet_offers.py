"""Credential offers to wallet apps (services/recipients/wallet_offers.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from credo.adapters.db import tables as t
from credo.services.recipients.wallet_offer_ports import StoredOffer

_o = t.wallet_offers.c
_COLUMNS = (
    _o.id,
    _o.organization_id,
    _o.credential_id,
    _o.expires_at,
    _o.redeemed_at,
    _o.token_expires_at,
    _o.issued_at,
    _o.holder,
)


class SqlWalletOffers:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add(
        self,
        offer_id: str,
        org_id: str,
        cred_id: str,
        *,
        handle_hash: str,
        code_hash: str,
        created_by: str,
        at: datetime,
        expires: datetime,
    ) -> None:
        self._c.execute(
            insert(t.wallet_offers).values(
                id=offer_id,
                organization_id=org_id,
                credential_id=cred_id,
                handle_hash=handle_hash,
                code_hash=code_hash,
                created_by=created_by,
                created_at=at,
                expires_at=expires,
            )
        )

    def _one(self, where: Any) -> StoredOffer | None:
        row = self._c.execute(select(*_COLUMNS).where(where)).first()
        return StoredOffer(*row) if row else None

    def by_handle(self, handle_hash: str) -> StoredOffer | None:
        return self._one(_o.handle_hash == handle_hash)

    def by_code(self, code_hash: str) -> StoredOffer | None:
        return self._one(_o.code_hash == code_hash)

    def by_token(self, token_hash: str) -> StoredOffer | None:
        return self._one(_o.token_hash == token_hash)

    def redeem(
        self, code_hash: str, token_hash: str, at: datetime, token_expires: datetime
    ) -> bool:
        done = self._c.execute(
            update(t.wallet_offers)
            .where(_o.code_hash == code_hash, _o.redeemed_at.is_(None), _o.expires_at > at)
            .values(redeemed_at=at, token_hash=token_hash, token_expires_at=token_expires)
        )
        return done.rowcount == 1

    def issue(self, offer_id: str, holder: str, at: datetime) -> bool:
        done = self._c.execute(
            update(t.wallet_offers)
            .where(_o.id == offer_id, _o.issued_at.is_(None), _o.token_expires_at > at)
            .values(issued_at=at, holder=holder)
        )
        return done.rowcount == 1

    def of_credential(self, cred_id: str) -> list[StoredOffer]:
        rows = self._c.execute(
            select(*_COLUMNS).where(_o.credential_id == cred_id).order_by(_o.created_at)
        ).all()
        return [StoredOffer(*r) for r in rows]
