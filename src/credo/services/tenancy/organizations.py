"""Operator use cases: organizations, API keys and subscriptions (R10, R15)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time

from credo.clock import Clock
from credo.domain import billing
from credo.domain.audit_log import Actor, ActorKind, changes
from credo.domain.billing import Subscription
from credo.domain.dids import normalize_domain
from credo.domain.entities import Organization, SigningKey
from credo.domain.errors import InvalidInput, NotFound, Unauthorized
from credo.ids import ID_PATTERN, new_id
from credo.services import audit_log
from credo.services.context import ServiceContext
from credo.services.credentials import documents
from credo.services.credentials.ports import Signer
from credo.services.ports import UnitOfWork
from credo.services.tenancy import dids
from credo.services.tenancy.clocks import load_org, lock_org, org_now
from credo.services.tenancy.key_cache import Holder

API_KEY_PREFIX = "credo_sk_"
# The name of the key every new organization starts with.
FIRST_KEY_NAME = "Created with the organization"


_ID = re.compile(ID_PATTERN)


def hash_api_key(token: str) -> str:
    # API keys carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class NewOrganization:
    organization: Organization
    subscription: Subscription
    api_key: str


def create_organization(
    uow: UnitOfWork,
    clock: Clock,
    *,
    name: str,
    plan: str,
    credits: int | None,
    sandbox: bool,
    anchor: date | None,
    cryptosuite: str = "eddsa-rdfc-2022",
    domain: str | None = None,
    signer: Signer | None = None,
    key_name: str = FIRST_KEY_NAME,
) -> NewOrganization:
    """A new organization with its subscription, an API key named `key_name` and, given a
    signer, its first signing key (else it is made on first use). `domain`: its did:web
    host name."""
    now = clock.now()
    host = normalize_domain(domain) if domain is not None else None
    if host is not None:
        dids.check_domain_free(uow, host)
    anchor_day = anchor or now.date()
    sub = billing.new_subscription(plan, credits, anchor_day)
    org = Organization(
        id=new_id("org", now),
        name=name,
        sandbox=sandbox,
        clock_now=datetime.combine(anchor_day, time(0), tzinfo=UTC) if sandbox else None,
        created_at=now,
        cryptosuite=cryptosuite,
        domain=host,
    )
    uow.organizations.add(org)
    if signer is not None:
        documents.new_key(uow, signer, org.id, org_now(org, clock))
    uow.subscriptions.save(org.id, sub, now)
    token = issue_api_key(uow, org.id, now, key_name)
    return NewOrganization(org, sub, token)


def issue_api_key(
    uow: UnitOfWork, org_id: str, now: datetime, name: str, department_id: str | None = None
) -> str:
    """A new random key for the organization, named as given (see accounts.
    api_key_name_problem), limited to `department_id` if given. Only its hash is stored:
    show it once."""
    if department_id is not None:
        lock_org(uow, org_id)  # the department is not deleted under it
        dept = uow.departments.get(org_id, department_id) if _ID.match(department_id) else None
        if dept is None:
            raise InvalidInput(
                "department: no such department",
                [
                    {
                        "field": "department",
                        "message": "is not one of the organization's departments",
                    }
                ],
            )
    token = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = new_id("key", now)
    uow.api_keys.add(key_id, org_id, hash_api_key(token), token[:13], name, now, department_id)
    after = {"name": name, "prefix": token[:13], "department_id": department_id}
    audit_log.one(uow, now, org_id, "api_key.created", "api_key", key_id, None, after)
    return token


def revoke_api_key(uow: UnitOfWork, org_id: str, key_id: str, now: datetime) -> bool:
    """False when the organization has no such key, or it is revoked already."""
    if not uow.api_keys.revoke(org_id, key_id, now):
        return False
    key = next(k for k in uow.api_keys.all(org_id) if k.id == key_id)
    state = {"name": key.name, "prefix": key.prefix}
    audit_log.one(
        uow, now, org_id, "api_key.revoked", "api_key", key_id, state | {"revoked": False},
        state | {"revoked": True},
    )  # fmt: skip
    return True


def authenticate(uow: UnitOfWork, token: str) -> str:
    return authenticate_hash(uow, hash_api_key(token))


def authenticate_hash(uow: UnitOfWork, key_hash: str) -> str:
    org_id = uow.api_keys.organization_for(key_hash)
    if org_id is None:
        raise Unauthorized("the API key is missing, malformed or revoked")
    return org_id


def key_holder(uow: UnitOfWork, key_hash: str) -> Holder:
    """The organization the key opens, the key as the audit log names it, its department."""
    found = uow.api_keys.holder_of(key_hash)
    if found is None:
        raise Unauthorized("the API key is missing, malformed or revoked")
    org_id, key_id, name, dept_id = found
    return Holder(org_id, Actor(ActorKind.API_KEY, key_id, f"API key “{name}”"), dept_id)


def confirm_key(uow: UnitOfWork, key_hash: str, org_id: str) -> None:
    """Inside a writing unit of work: the key still opens the organization. A key revoked
    before this transaction began is refused here, whatever any process remembered."""
    if uow.api_keys.organization_for(key_hash) != org_id:
        raise Unauthorized("the API key is missing, malformed or revoked")


def _subscription(uow: UnitOfWork, org_id: str) -> Subscription:
    load_org(uow, org_id)
    sub = uow.subscriptions.get(org_id)
    if sub is None:  # pragma: no cover - every organization is created with one
        raise NotFound("the organization has no subscription")
    return sub


def change_subscription(
    uow: UnitOfWork, clock: Clock, org_id: str, *, plan: str, credits: int | None
) -> tuple[Subscription, datetime]:
    now = org_now(lock_org(uow, org_id), clock)
    sub = _subscription(uow, org_id)
    changed = billing.change_plan(sub, plan, credits, now)
    uow.subscriptions.save(org_id, changed, clock.now())
    _subscription_changed(uow, clock, org_id, "subscription.changed", sub, changed)
    return changed, now


def _subscription_changed(
    uow: UnitOfWork, clock: Clock, org_id: str, action: str, old: Subscription, new: Subscription
) -> None:
    def state(s: Subscription) -> dict[str, object]:
        return {k: v if isinstance(v, int | str | None) else str(v) for k, v in asdict(s).items()}

    before, after = changes(state(old), state(new))
    audit_log.one(uow, clock.now(), org_id, action, "subscription", org_id, before, after)


def cancel_subscription(
    uow: UnitOfWork, clock: Clock, org_id: str, *, when: str
) -> tuple[Subscription, datetime]:
    now = org_now(lock_org(uow, org_id), clock)
    sub = _subscription(uow, org_id)
    changed = billing.cancel(sub, when, now)
    uow.subscriptions.save(org_id, changed, clock.now())
    _subscription_changed(uow, clock, org_id, "subscription.cancelled", sub, changed)
    return changed, now


def get_subscription(uow: UnitOfWork, clock: Clock, org_id: str) -> tuple[Subscription, datetime]:
    sub = _subscription(uow, org_id)
    return sub, org_now(load_org(uow, org_id), clock)


def rotate_signing_key(uow: UnitOfWork, ctx: ServiceContext, org_id: str) -> SigningKey:
    org = lock_org(uow, org_id)
    key = documents.rotate_key(uow, ctx, org.id, org_now(org, ctx.clock))
    after = {"signing_key_id": key.id}  # its public half at most: never the key itself
    audit_log.one(
        uow, ctx.clock.now(), org_id, "signing_key.rotated", "organization", org_id, None, after
    )
    return key


def set_domain(uow: UnitOfWork, org_id: str, domain: str | None, now: datetime) -> Organization:
    """See dids.set_domain."""
    before = load_org(uow, org_id).domain
    org = dids.set_domain(uow, org_id, domain)
    if org.domain != before:
        audit_log.one(
            uow, now, org_id, "organization.updated", "organization", org_id,
            {"domain": before}, {"domain": org.domain},
        )  # fmt: skip
    return org


def set_email_open_tracking(uow: UnitOfWork, org_id: str, on: bool, now: datetime) -> None:
    before = load_org(uow, org_id).email_open_tracking
    uow.organizations.set_email_open_tracking(org_id, on)
    if before != on:
        audit_log.one(
            uow, now, org_id, "organization.updated", "organization", org_id,
            {"email_open_tracking": before}, {"email_open_tracking": on},
        )  # fmt: skip
