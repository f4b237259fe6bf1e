"""The recipient's wallet: sign-in links, sessions, the credentials of an address across
organizations, and public profiles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update

from credo.adapters.db import tables as t
from credo.adapters.db.credentials import _CRED_COLUMNS
from credo.domain.credentials import Status
from credo.domain.entities import Credential
from credo.services.recipients.wallet_ports import Held, Profile

_l = t.wallet_links.c
_s = t.wallet_sessions.c
_p = t.wallet_profiles.c
_i = t.wallet_profile_items.c
_c = t.credentials.c


class SqlWallet:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    def add_link(self, token_hash: str, key: str, at: datetime, expires: datetime) -> None:
        self._c.execute(
            insert(t.wallet_links).values(
                token_hash=token_hash, recipient_key=key, created_at=at, expires_at=expires
            )
        )

    def link(self, token_hash: str) -> tuple[str, datetime, datetime | None] | None:
        row = self._c.execute(
            select(_l.recipient_key, _l.expires_at, _l.used_at).where(_l.token_hash == token_hash)
        ).first()
        return (row[0], row[1], row[2]) if row else None

    def use_link(self, token_hash: str, at: datetime) -> bool:
        done = self._c.execute(
            update(t.wallet_links)
            .where(_l.token_hash == token_hash, _l.used_at.is_(None))
            .values(used_at=at)
        )
        return done.rowcount == 1

    def add_session(
        self, token_hash: str, key: str, csrf: str, at: datetime, expires: datetime
    ) -> None:
        self._c.execute(
            insert(t.wallet_sessions).values(
                token_hash=token_hash,
                recipient_key=key,
                csrf_token=csrf,
                created_at=at,
                expires_at=expires,
            )
        )

    def session(self, token_hash: str, now: datetime) -> tuple[str, str] | None:
        row = self._c.execute(
            select(_s.recipient_key, _s.csrf_token).where(
                _s.token_hash == token_hash, _s.expires_at > now
            )
        ).first()
        return (row[0], row[1]) if row else None

    def end_session(self, token_hash: str) -> None:
        self._c.execute(delete(t.wallet_sessions).where(_s.token_hash == token_hash))

    def held(self, key: str, cred_id: str | None = None) -> list[Held]:
        """Every published, undeleted credential of this recipient key, newest first; with
        `cred_id`, that one only (when it is the recipient's)."""
        o, g = t.organizations.c, t.groups.c
        q = (
            select(*_CRED_COLUMNS, o.name.label("org_name"), g.name.label("group_name"))
            .select_from(
                t.credentials.join(t.organizations, o.id == _c.organization_id).join(
                    t.groups, g.id == _c.group_id
                )
            )
            .where(
                _c.recipient_key == key,
                _c.deleted_at.is_(None),
                _c.status == Status.PUBLISHED.value,
            )
            .order_by(_c.issued_on.desc(), _c.id.desc())
        )
        if cred_id is not None:
            q = q.where(_c.id == cred_id)
        found = []
        for row in self._c.execute(q):
            m = dict(row._mapping)
            org_name, group_name = m.pop("org_name"), m.pop("group_name")
            m["status"] = Status(m["status"])
            found.append(Held(Credential(**m), org_name, group_name))
        return found

    def latest_organization(self, key: str) -> str | None:
        return self._c.scalar(
            select(_c.organization_id)
            .where(_c.recipient_key == key, _c.deleted_at.is_(None))
            .order_by(_c.created_at.desc())
            .limit(1)
        )

    def profile(self, key: str) -> Profile | None:
        row = self._c.execute(select(t.wallet_profiles).where(_p.recipient_key == key)).first()
        return self._profile(row) if row else None

    def profile_by_slug(self, slug: str) -> Profile | None:
        row = self._c.execute(select(t.wallet_profiles).where(_p.slug == slug)).first()
        return self._profile(row) if row else None

    def _profile(self, row: object) -> Profile:
        m = row._mapping  # type: ignore[attr-defined]
        items = self._c.scalars(
            select(_i.credential_id).where(_i.recipient_key == m["recipient_key"])
        ).all()
        return Profile(
            m["recipient_key"], m["slug"], m["display_name"], m["public"], frozenset(items)
        )

    def save_profile(self, profile: Profile, at: datetime) -> None:
        values = {
            "slug": profile.slug,
            "display_name": profile.display_name,
            "public": profile.public,
            "updated_at": at,
        }
        done = self._c.execute(
            update(t.wallet_profiles)
            .where(_p.recipient_key == profile.recipient_key)
            .values(values)
        )
        if done.rowcount == 0:
            self._c.execute(
                insert(t.wallet_profiles).values(recipient_key=profile.recipient_key, **values)
            )
        self._c.execute(
            delete(t.wallet_profile_items).where(_i.recipient_key == profile.recipient_key)
        )
        if profile.shown:
            self._c.execute(
                insert(t.wallet_profile_items),
                [
                    {"recipient_key": profile.recipient_key, "credential_id": cred_id}
                    for cred_id in sorted(profile.shown)
                ],
            )
