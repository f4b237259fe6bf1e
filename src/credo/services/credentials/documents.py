"""Signed versions of published credentials, organization keys, and the status list bits.

Every change to a published credential's content makes a new version: a new status list
position, a new signed Open Badges document. The previous version's position is revoked, so
an old copy never verifies as current (issue: "a recipient change or deletion must not leave
an old copy verifying as current").
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from credo import timing
from credo.domain.entities import Credential, Group, Organization, SigningKey
from credo.domain.openbadges import AchievementInfo, Award, Issuer, open_badge
from credo.ids import new_id
from credo.services.context import ServiceContext
from credo.services.credentials.ports import Signer
from credo.services.ports import UnitOfWork
from credo.services.tenancy import dids

REVOCATION = "revocation"
SUSPENSION = "suspension"


def current_key(uow: UnitOfWork, ctx: ServiceContext, org_id: str, now: datetime) -> SigningKey:
    """The organization's signing key, made on first use. Precondition: organization lock."""
    for key in reversed(uow.signing_keys.all(org_id)):
        if key.retired_at is None:
            return key
    # Organizations get their first key at creation; this is for those made without one.
    return new_key(uow, ctx.signer, org_id, now)


def rotate_key(uow: UnitOfWork, ctx: ServiceContext, org_id: str, now: datetime) -> SigningKey:
    """New credentials use a new key; old ones keep verifying with theirs (their did:key,
    or the did:web document, which lists retired keys too)."""
    uow.signing_keys.retire_all(org_id, now)
    return new_key(uow, ctx.signer, org_id, now)


def new_key(uow: UnitOfWork, signer: Signer, org_id: str, now: datetime) -> SigningKey:
    key_id = new_id("key", now)
    public, sealed = signer.new_key(key_id, org_id)
    key = SigningKey(key_id, org_id, public, sealed, now, None)
    uow.signing_keys.add(key)
    return key


def credential_url(ctx: ServiceContext, cred_id: str) -> str:
    return f"{ctx.base_url}/c/{cred_id}"


def sign_versions(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org: Organization,
    group: Group,
    creds: Sequence[Credential],
    now: datetime,
) -> list[Credential]:
    """New signed versions of published credentials. Precondition: organization lock."""
    if not creds:
        return []
    key = current_key(uow, ctx, org.id, now)
    start = uow.organizations.take_status_indexes(org.id, len(creds))
    superseded = [c.status_index for c in creds if c.status_index is not None]
    uow.status_bits.set_many(org.id, REVOCATION, superseded, now)
    with timing.phase("documents"):
        return _signed(ctx, org, group, key, creds, start, now)


def sign_ahead(
    ctx: ServiceContext,
    org: Organization,
    group: Group,
    key: SigningKey,
    creds: Sequence[Credential],
    start: int,
    now: datetime,
) -> list[Credential]:
    """First signed versions of new credentials at positions start.. taken ahead of the
    organization lock (positions.StatusPositions): no lock needed, nothing superseded."""
    with timing.phase("documents"):
        return _signed(ctx, org, group, key, creds, start, now)


def _signed(
    ctx: ServiceContext,
    org: Organization,
    group: Group,
    key: SigningKey,
    creds: Sequence[Credential],
    start: int,
    now: datetime,
) -> list[Credential]:
    """New versions of `creds` at status positions start.., each with a salt (a new one
    unless it has one) and its signed document."""
    issuer = Issuer(id=dids.issuer_id(ctx, org, key), name=org.name, url=ctx.base_url)
    achievement = AchievementInfo(
        id=f"{ctx.base_url}/achievements/{group.id}",
        name=group.name,
        description=group.description or group.name,
        criteria=group.criteria or group.description or group.name,
        image_url=group.image_url,
    )
    salts = [c.salt or secrets.token_hex(16) for c in creds]
    unsigned = [
        open_badge(
            Award(
                credential_url=credential_url(ctx, c.id),
                recipient_key=c.recipient_key,
                recipient_name=c.recipient_name,
                salt=salt,
                issued_on=c.issued_on,
                expires_on=c.expires_on,
                status_index=start + i,
            ),
            achievement,
            issuer,
            base_url=ctx.base_url,
            key_id=key.id,
        )
        for i, (c, salt) in enumerate(zip(creds, salts, strict=True))
    ]
    with timing.phase("sign"):
        signed = ctx.signer.sign_to_json(
            unsigned,
            key,
            cryptosuite=org.cryptosuite,
            created=now,
            verification_method=dids.verification_method(org, key),
        )
    # One copy of each credential (a bulk's 10,000 dataclass copies showed in its profile).
    return [
        replace(c, salt=salt, status_index=start + i, document=doc)
        for i, (c, salt, doc) in enumerate(zip(creds, salts, signed, strict=True))
    ]


def withdraw(uow: UnitOfWork, cred: Credential, now: datetime) -> None:
    """A deleted credential's signed copies stop verifying: its position is revoked."""
    if cred.status_index is not None:
        uow.status_bits.set_many(cred.organization_id, REVOCATION, [cred.status_index], now)
