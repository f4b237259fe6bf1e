"""People, memberships, browser sessions, sign-in failures and password resets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select, update

from credo.adapters.db import tables as t
from credo.domain.entities import Membership, User, WebSession

_u = t.users.c
_m = t.memberships.c
_s = t.web_sessions.c


def _user(row: object) -> User:
    m = row._mapping  # type: ignore[attr-defined]
    return User(m["id"], m["email"], m["name"], m["password_hash"], m["created_at"])


class SqlAccounts:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    # -- people
    def add_user(self, user: User, email_key: str) -> None:
        self._c.execute(
            insert(t.users).values(
                id=user.id,
                email=user.email,
                email_key=email_key,
                name=user.name,
                password_hash=user.password_hash,
                created_at=user.created_at,
            )
        )

    def user(self, user_id: str) -> User | None:
        row = self._c.execute(select(t.users).where(_u.id == user_id)).first()
        return _user(row) if row else None

    def user_by_email_key(self, email_key: str) -> User | None:
        row = self._c.execute(select(t.users).where(_u.email_key == email_key)).first()
        return _user(row) if row else None

    def set_password(self, user_id: str, password_hash: str) -> None:
        self._c.execute(update(t.users).where(_u.id == user_id).values(password_hash=password_hash))

    # -- memberships
    def add_membership(self, m: Membership) -> None:
        self._c.execute(
            insert(t.memberships).values(
                organization_id=m.organization_id,
                user_id=m.user_id,
                role=m.role,
                created_at=m.created_at,
            )
        )

    def membership(self, org_id: str, user_id: str) -> Membership | None:
        row = self._c.execute(
            select(t.memberships).where(_m.organization_id == org_id, _m.user_id == user_id)
        ).first()
        return Membership(**row._mapping) if row else None

    def organizations_of(self, user_id: str) -> list[tuple[str, str, str]]:
        """(organization id, name, role) of every organization the person belongs to."""
        o = t.organizations.c
        rows = self._c.execute(
            select(o.id, o.name, _m.role)
            .join(t.organizations, o.id == _m.organization_id)
            .where(_m.user_id == user_id)
            .order_by(o.name, o.id)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def members(self, org_id: str) -> list[tuple[User, str]]:
        rows = self._c.execute(
            select(t.users, _m.role)
            .join(t.memberships, _m.user_id == _u.id)
            .where(_m.organization_id == org_id)
            .order_by(_u.email_key)
        )
        return [(_user(r), r._mapping["role"]) for r in rows]

    def set_role(self, org_id: str, user_id: str, role: str) -> None:
        self._c.execute(
            update(t.memberships)
            .where(_m.organization_id == org_id, _m.user_id == user_id)
            .values(role=role)
        )

    def remove_membership(self, org_id: str, user_id: str) -> None:
        self._c.execute(
            delete(t.memberships).where(_m.organization_id == org_id, _m.user_id == user_id)
        )

    def count_owners(self, org_id: str) -> int:
        q = select(func.count()).where(_m.organization_id == org_id, _m.role == "owner")
        return int(self._c.execute(q).scalar_one())

    # -- sessions
    def add_session(self, s: WebSession) -> None:
        self._c.execute(
            insert(t.web_sessions).values(
                token_hash=s.token_hash,
                user_id=s.user_id,
                organization_id=s.organization_id,
                csrf_token=s.csrf_token,
                created_at=s.created_at,
                expires_at=s.expires_at,
                sso_organization_id=s.sso_organization_id,
            )
        )

    def session(self, token_hash: str) -> WebSession | None:
        row = self._c.execute(select(t.web_sessions).where(_s.token_hash == token_hash)).first()
        return WebSession(**row._mapping) if row else None

    def set_session_organization(self, token_hash: str, org_id: str, *, sso: bool = False) -> None:
        values: dict[str, str] = {"organization_id": org_id}
        if sso:
            values["sso_organization_id"] = org_id
        self._c.execute(update(t.web_sessions).where(_s.token_hash == token_hash).values(values))

    def delete_session(self, token_hash: str) -> None:
        self._c.execute(delete(t.web_sessions).where(_s.token_hash == token_hash))

    def delete_sessions_of(self, user_id: str) -> None:
        self._c.execute(delete(t.web_sessions).where(_s.user_id == user_id))

    # -- sign-in failures (rate limiting)
    def record_failure(self, subject: str, at: datetime) -> None:
        self._c.execute(insert(t.login_failures).values(subject=subject, at=at))

    def failures_since(self, subject: str, since: datetime) -> int:
        f = t.login_failures.c
        q = select(func.count()).where(f.subject == subject, f.at >= since)
        return int(self._c.execute(q).scalar_one())

    def clear_failures(self, subject: str) -> None:
        f = t.login_failures.c
        self._c.execute(delete(t.login_failures).where(f.subject == subject))

    # -- password resets
    def add_reset(self, token_hash: str, user_id: str, at: datetime, expires: datetime) -> None:
        self._c.execute(
            insert(t.password_resets).values(
                token_hash=token_hash, user_id=user_id, created_at=at, expires_at=expires
            )
        )

    def reset(self, token_hash: str) -> tuple[str, datetime, datetime | None] | None:
        """(user id, expires at, used at) of a reset token."""
        r = t.password_resets.c
        row = self._c.execute(
            select(r.user_id, r.expires_at, r.used_at).where(r.token_hash == token_hash)
        ).first()
        return (row[0], row[1], row[2]) if row else None

    def use_reset(self, token_hash: str, at: datetime) -> bool:
        """Marks the token used; False if it already was (a concurrent twin won)."""
        r = t.password_resets.c
        done = self._c.execute(
            update(t.password_resets)
            .where(r.token_hash == token_hash, r.used_at.is_(None))
            .values(used_at=at)
        )
        return done.rowcount == 1
