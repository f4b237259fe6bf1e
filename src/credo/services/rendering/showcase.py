"""What the public side shows of a credential: its page, PDF certificate and badge image
all start from one `CredentialView`, loaded by id alone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from credo.domain import designs
from credo.domain.accredible import CredentialDetails, Evidence
from credo.domain.entities import Credential, Group, Organization
from credo.domain.errors import NotFound
from credo.services.context import ServiceContext
from credo.services.ports import UnitOfWork


@dataclass(frozen=True, slots=True)
class CredentialView:
    credential: Credential
    group: Group
    organization: Organization
    design: designs.Design
    document: str  # the signed credential, as served at /c/{id}.json
    page_url: str
    # Given through the Accredible-compatible API: a grade, custom attributes, evidence
    # (the hidden items left out).
    details: CredentialDetails | None = None
    evidence: tuple[Evidence, ...] = ()

    @property
    def version(self) -> int:
        """Changes with every re-signing: rendered files are kept per version."""
        assert self.credential.status_index is not None
        return self.credential.status_index

    def state(self, today: date) -> str:
        """active, revoked, suspended or expired: what the page says first."""
        c = self.credential
        if c.revoked_at is not None:
            return "revoked"
        if c.suspended_at is not None:
            return "suspended"
        if c.expires_on is not None and c.expires_on < today:
            return "expired"
        return "active"


def load_view(
    uow: UnitOfWork, ctx: ServiceContext, cred_id: str, *, include_hidden: bool = False
) -> CredentialView:
    """A live published credential, by id. A hidden one answers NotFound unless
    `include_hidden` (its recipient, through its private link)."""
    found = uow.credentials.published(cred_id)
    if found is None or (found[0].hidden and not include_hidden):
        raise NotFound(f"no credential {cred_id}")
    cred, document = found
    group = uow.groups.get(cred.organization_id, cred.group_id)
    org = uow.organizations.get(cred.organization_id)
    if group is None or org is None:  # foreign keys make this impossible
        raise NotFound(f"no credential {cred_id}")
    return CredentialView(
        credential=cred,
        group=group,
        organization=org,
        design=designs.load(group.design),
        document=document,
        page_url=f"{ctx.base_url}/c/{cred.id}",
        details=uow.accredible.details([cred.id]).get(cred.id),
        evidence=tuple(e for e in uow.accredible.evidence([cred.id])[cred.id] if not e.hidden),
    )
