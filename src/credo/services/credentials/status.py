"""Revocation and suspension (R6: no refunds), and the signed Bitstring Status Lists."""

from __future__ import annotations

import base64
import gzip
from dataclasses import replace
from typing import Any

from credo.domain.credentials import Status
from credo.domain.entities import Credential, Organization, SigningKey
from credo.domain.errors import Conflict, NotFound
from credo.domain.openbadges import (
    STATUS_LIST_SIZE,
    STATUS_PURPOSES,
    encode_bits,
    status_list_credential,
    status_list_url,
)
from credo.services import audit_log
from credo.services.context import ServiceContext
from credo.services.credentials import audited
from credo.services.credentials.documents import REVOCATION, SUSPENSION
from credo.services.ports import UnitOfWork
from credo.services.tenancy import dids
from credo.services.tenancy.clocks import load_org, lock_org, org_now
from credo.services.webhooks import events as webhook_events

MAX_REASON = 500


def _published(uow: UnitOfWork, org_id: str, cred_id: str) -> Credential:
    cred = uow.credentials.get(org_id, cred_id)
    if cred is None:
        raise NotFound(f"no credential {cred_id}")
    if cred.status is not Status.PUBLISHED or cred.status_index is None:
        raise Conflict("only a published credential has a status; delete a draft instead")
    return cred


def revoke(
    uow: UnitOfWork, ctx: ServiceContext, org_id: str, cred_id: str, reason: str | None
) -> Credential:
    """Revoke for good: its status bit is set, it still counts for its seat (R6)."""
    now = org_now(lock_org(uow, org_id), ctx.clock)
    cred = _published(uow, org_id, cred_id)
    if cred.revoked_at is not None:
        raise Conflict("the credential is already revoked")
    assert cred.status_index is not None
    uow.status_bits.set_many(org_id, REVOCATION, [cred.status_index], now)
    revoked = replace(cred, revoked_at=now, revocation_reason=reason, updated_at=now)
    uow.credentials.update(revoked)
    webhook_events.credentials(uow, "credential.revoked", [revoked], ctx.clock.now(), ctx.base_url)
    audit_log.record(
        uow, ctx.clock.now(), [audited.credential_change("credential.revoked", cred, revoked)]
    )
    return revoked


def suspend(
    uow: UnitOfWork, ctx: ServiceContext, org_id: str, cred_id: str, *, suspended: bool
) -> Credential:
    """Suspend, or lift a suspension: the suspension list's bit follows."""
    now = org_now(lock_org(uow, org_id), ctx.clock)
    cred = _published(uow, org_id, cred_id)
    assert cred.status_index is not None
    if cred.revoked_at is not None:
        raise Conflict("a revoked credential cannot be suspended or resumed")
    if suspended:
        uow.status_bits.set_many(org_id, SUSPENSION, [cred.status_index], now)
    else:
        uow.status_bits.clear(org_id, SUSPENSION, cred.status_index)
    changed = replace(cred, suspended_at=now if suspended else None, updated_at=now)
    uow.credentials.update(changed)
    kind = "credential.suspended" if suspended else "credential.unsuspended"
    webhook_events.credentials(uow, kind, [changed], ctx.clock.now(), ctx.base_url)
    action = "credential.suspended" if suspended else "credential.reinstated"
    audit_log.record(uow, ctx.clock.now(), [audited.credential_change(action, cred, changed)])
    return changed


def status_list(
    uow: UnitOfWork, ctx: ServiceContext, key_id: str, purpose: str, list_no: int
) -> dict[str, Any]:
    """The signed BitstringStatusListCredential of one key, purpose and list number."""
    key, org, doc = unsigned_status_list(uow, ctx, key_id, purpose, list_no)
    method = dids.verification_method(org, key)
    version = (
        doc["id"],
        doc["issuer"],
        str(method),
        org.cryptosuite,
        doc["credentialSubject"]["encodedList"],
    )
    signed = ctx.status_lists.get(version)
    if signed is None:
        signed = ctx.signer.sign(
            [doc],
            key,
            cryptosuite=org.cryptosuite,
            created=ctx.clock.now(),
            verification_method=method,
        )[0]
        ctx.status_lists.put(version, signed)
    return signed


def unsigned_status_list(
    uow: UnitOfWork, ctx: ServiceContext, key_id: str, purpose: str, list_no: int
) -> tuple[SigningKey, Organization, dict[str, Any]]:
    """The status list credential before its proof, with the key that signs it and its
    organization. Our own verifier reads this: it trusts our database, not a signature."""
    key = uow.signing_keys.get(key_id)
    if key is None or purpose not in STATUS_PURPOSES or list_no < 0:
        raise NotFound("no such status list")
    org = load_org(uow, key.organization_id)
    start = list_no * STATUS_LIST_SIZE
    if start >= max(uow.organizations.status_positions(org.id), 1):
        raise NotFound("no such status list")
    positions = [
        i - start for i in uow.status_bits.set_in(org.id, purpose, start, start + STATUS_LIST_SIZE)
    ]
    compressed = gzip.compress(encode_bits(positions), mtime=0)
    encoded = "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")
    now = ctx.clock.now()
    url = status_list_url(ctx.base_url, key.id, purpose, list_no)
    doc = status_list_credential(
        url, dids.issuer_id(ctx, org, key), purpose, encoded, now.strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    return key, org, doc
