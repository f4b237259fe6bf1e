"""An organization's DID and its DID document (see domain.dids).

With a domain, the organization signs as `did:web:<domain>`: credentials' and status lists'
`issuer`, and proofs' verification method `did:web:<domain>#<publicKeyMultibase>`. Without
one, it signs as the did:key of its current key. The DID document is built from the
database, never fetched: our own verifier resolves our did:web DIDs with it, and the public
routes serve it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from credo.domain import dids
from credo.domain.entities import Organization, SigningKey
from credo.domain.errors import Conflict, NotFound
from credo.services.context import ServiceContext
from credo.services.ports import UnitOfWork
from credo.services.tenancy.clocks import lock_org


def issuer_id(ctx: ServiceContext, org: Organization, key: SigningKey) -> str:
    """The DID `org` signs as with `key`."""
    if org.domain:
        return dids.did_web(org.domain)
    return ctx.signer.did(key)


def verification_method(org: Organization, key: SigningKey) -> str | None:
    """The proof's verification method with `key`: None for its did:key method."""
    if org.domain:
        return dids.did_web_method(org.domain, key.public_key_multibase)
    return None


def did_document(uow: UnitOfWork, org: Organization) -> dict[str, Any]:
    """The organization's did:web document: every key it ever had. NotFound without a
    domain."""
    if not org.domain:
        raise NotFound("the organization has no domain, so no did:web document")
    keys = [k.public_key_multibase for k in uow.signing_keys.all(org.id)]
    return dids.did_web_document(org.domain, keys)


def document_for_domain(uow: UnitOfWork, domain: str) -> dict[str, Any]:
    """The DID document of the organization whose domain this is (a request's Host)."""
    org_id = uow.organizations.id_by_domain(domain.lower())
    org = uow.organizations.get(org_id) if org_id is not None else None
    if org is None:
        raise NotFound(f"no organization has the domain {domain[:100]!r}")
    return did_document(uow, org)


def document_for_org(uow: UnitOfWork, org_id: str) -> dict[str, Any]:
    org = uow.organizations.get(org_id)
    if org is None:
        raise NotFound("no such organization")
    return did_document(uow, org)


def resolve(uow: UnitOfWork, did: str) -> dict[str, Any] | None:
    """The document of one of our organizations' did:web DIDs; None for any other DID
    (nothing is fetched)."""
    domain = dids.did_web_domain(did)
    if domain is None:
        return None
    try:
        return document_for_domain(uow, domain)
    except NotFound:
        return None


def set_domain(uow: UnitOfWork, org_id: str, domain: str | None) -> Organization:
    """Give the organization a domain (its DID becomes did:web:<domain> for what it signs
    from now on), change it, or drop it (None: did:key again). A domain is one
    organization's only (409)."""
    org = lock_org(uow, org_id)
    value = dids.normalize_domain(domain) if domain is not None else None
    if value != org.domain and uow.credentials.any_signed(org_id):
        # Status lists are signed as the organization's DID of today; credentials signed
        # under another DID would then fail their verifiers' same-issuer check.
        raise Conflict(
            "the organization's DID is fixed once it has signed a credential; "
            "set the domain before publishing"
        )
    if value is not None:
        check_domain_free(uow, value, org_id)
    uow.organizations.set_domain(org_id, value)
    return replace(org, domain=value)


def check_domain_free(uow: UnitOfWork, domain: str, org_id: str | None = None) -> None:
    holder = uow.organizations.id_by_domain(domain)
    if holder is not None and holder != org_id:
        raise Conflict(f"another organization already has the domain {domain}")
