"""Single sign-on: each organization's settings, its e-mail domains, the sign-ins under way
and the codes and assertions already accepted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from credo.adapters.db import tables as t
from credo.domain.accounts import Role
from credo.domain.sso import Protocol, SsoDomain, SsoSettings
from credo.services.people.sso_ports import PendingSignIn

_s = t.sso_settings.c
_d = t.sso_domains.c
_r = t.sso_requests.c
_seen = t.sso_seen.c


def _settings(row: Any) -> SsoSettings:
    m = row._mapping
    return SsoSettings(
        organization_id=m["organization_id"],
        protocol=Protocol(m["protocol"]) if m["protocol"] else None,
        oidc_issuer=m["oidc_issuer"],
        oidc_client_id=m["oidc_client_id"],
        oidc_secret_set=m["oidc_client_secret"] is not None,
        saml_idp_entity_id=m["saml_idp_entity_id"],
        saml_idp_metadata=m["saml_idp_metadata"],
        default_role=Role(m["default_role"]),
        required=bool(m["required"]),
        allow_unsolicited=bool(m["allow_unsolicited"]),
        updated_at=m["updated_at"],
    )


class SqlSso:
    def __init__(self, conn: Connection) -> None:
        self._c = conn

    # -- settings
    def settings(self, org_id: str) -> SsoSettings | None:
        row = self._c.execute(select(t.sso_settings).where(_s.organization_id == org_id)).first()
        return _settings(row) if row else None

    def sealed_secret(self, org_id: str) -> bytes | None:
        q = select(_s.oidc_client_secret).where(_s.organization_id == org_id)
        value = self._c.execute(q).scalar_one_or_none()
        return bytes(value) if value is not None else None

    def save_settings(self, s: SsoSettings, sealed_secret: bytes | None, keep_secret: bool) -> None:
        """Writes every field; the sealed secret only unless `keep_secret`."""
        values: dict[str, Any] = {
            "protocol": s.protocol.value if s.protocol else None,
            "oidc_issuer": s.oidc_issuer,
            "oidc_client_id": s.oidc_client_id,
            "saml_idp_entity_id": s.saml_idp_entity_id,
            "saml_idp_metadata": s.saml_idp_metadata,
            "default_role": s.default_role.value,
            "required": s.required,
            "allow_unsolicited": s.allow_unsolicited,
            "updated_at": s.updated_at,
        }
        if not keep_secret:
            values["oidc_client_secret"] = sealed_secret
        done = self._c.execute(
            update(t.sso_settings).where(_s.organization_id == s.organization_id).values(**values)
        )
        if done.rowcount == 0:
            values.setdefault("oidc_client_secret", sealed_secret)
            self._c.execute(
                insert(t.sso_settings).values(organization_id=s.organization_id, **values)
            )

    def requiring_organizations(self, org_ids: list[str]) -> list[str]:
        """Those of `org_ids` whose single sign-on is on and required."""
        if not org_ids:
            return []
        q = select(_s.organization_id).where(
            _s.organization_id.in_(org_ids), _s.required.is_(True), _s.protocol.is_not(None)
        )
        return list(self._c.execute(q).scalars())

    # -- domains
    def domains(self, org_id: str) -> list[SsoDomain]:
        rows = self._c.execute(
            select(t.sso_domains).where(_d.organization_id == org_id).order_by(_d.domain)
        )
        return [SsoDomain(**r._mapping) for r in rows]

    def add_domain(self, d: SsoDomain) -> None:
        self._c.execute(
            insert(t.sso_domains).values(
                organization_id=d.organization_id,
                domain=d.domain,
                token=d.token,
                created_at=d.created_at,
                verified_at=d.verified_at,
            )
        )

    def verified_owner(self, domain: str) -> str | None:
        """The organization that verified `domain`, if one did."""
        q = select(_d.organization_id).where(_d.domain == domain, _d.verified_at.is_not(None))
        return self._c.execute(q).scalar_one_or_none()

    def mark_verified(self, org_id: str, domain: str, at: datetime) -> None:
        self._c.execute(
            update(t.sso_domains)
            .where(_d.organization_id == org_id, _d.domain == domain)
            .values(verified_at=at)
        )

    def remove_domain(self, org_id: str, domain: str) -> None:
        self._c.execute(
            delete(t.sso_domains).where(_d.organization_id == org_id, _d.domain == domain)
        )

    # -- sign-ins under way
    def add_request(self, p: PendingSignIn) -> None:
        self._c.execute(
            insert(t.sso_requests).values(
                state_hash=p.state_hash,
                organization_id=p.organization_id,
                protocol=p.protocol.value,
                nonce=p.nonce,
                code_verifier=p.code_verifier,
                request_id=p.request_id,
                next_path=p.next_path,
                created_at=p.created_at,
                expires_at=p.expires_at,
            )
        )

    def take_request(self, state_hash: str, at: datetime) -> PendingSignIn | None:
        """The sign-in under way, marked used; None if unknown, expired or used already (a
        concurrent twin that marked it first wins)."""
        done = self._c.execute(
            update(t.sso_requests)
            .where(_r.state_hash == state_hash, _r.used_at.is_(None), _r.expires_at > at)
            .values(used_at=at)
        )
        if done.rowcount != 1:
            return None
        row = self._c.execute(select(t.sso_requests).where(_r.state_hash == state_hash)).one()
        m = row._mapping
        return PendingSignIn(
            state_hash=m["state_hash"],
            organization_id=m["organization_id"],
            protocol=Protocol(m["protocol"]),
            nonce=m["nonce"],
            code_verifier=m["code_verifier"],
            request_id=m["request_id"],
            next_path=m["next_path"],
            created_at=m["created_at"],
            expires_at=m["expires_at"],
        )

    def forget_expired(self, before: datetime) -> None:
        self._c.execute(delete(t.sso_requests).where(_r.expires_at < before))
        self._c.execute(delete(t.sso_seen).where(_seen.expires_at < before))

    # -- replays
    def first_sight(self, org_id: str, kind: str, value: str, expires_at: datetime) -> bool:
        """Records a code or assertion id; False if it was seen before (by any process)."""
        row = {"organization_id": org_id, "kind": kind, "value": value, "expires_at": expires_at}
        key = ["organization_id", "kind", "value"]
        if self._c.dialect.name == "postgresql":
            stmt: Any = postgresql.insert(t.sso_seen).on_conflict_do_nothing(index_elements=key)
        else:
            stmt = sqlite.insert(t.sso_seen).on_conflict_do_nothing(index_elements=key)
        # RETURNING, not rowcount: psycopg may answer -1 for an INSERT ... ON CONFLICT.
        return self._c.execute(stmt.returning(_seen.value), row).first() is not None
