"""Previews of a design that is not saved yet: what the dashboard's group form shows while
someone picks looks and colours. Nothing is stored; the same renderers draw the real thing.

The words are the sample's (a placeholder recipient, marked SAMPLE), the look is the
design under edit: the form's fields merged over the stored design (services.groups
.design_of), so a bad colour is refused exactly as the API refuses it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from credo.domain import designs
from credo.domain.credentials import add_months
from credo.domain.entities import BadgeContent, CertificateContent
from credo.services.context import ServiceContext
from credo.services.ports import UnitOfWork
from credo.services.rendering import certificates
from credo.services.rendering.certificates import SAMPLE_ID, long_date
from credo.services.tenancy.clocks import load_org, org_now

SAMPLE_RECIPIENT = "Alex Example"


@dataclass(frozen=True, slots=True)
class Draft:
    """A group as the form has it, saved or not."""

    name: str
    description: str
    expires_after_months: int | None
    design: designs.Design


@dataclass(frozen=True, slots=True)
class Sampled:
    issuer_name: str
    today: date


def sample_context(uow: UnitOfWork, ctx: ServiceContext, org_id: str) -> Sampled:
    org = load_org(uow, org_id)
    return Sampled(org.name, org_now(org, ctx.clock).date())


def certificate_content(draft: Draft, sampled: Sampled, ctx: ServiceContext) -> CertificateContent:
    """A sample certificate, drawn as services.certificates.preview_pdf draws one."""
    months = draft.expires_after_months
    expires = add_months(sampled.today, months) if months else None
    return CertificateContent(
        recipient_name=SAMPLE_RECIPIENT,
        achievement_name=draft.name.strip() or "Your achievement",
        achievement_description=certificates._shorten(draft.description or ""),
        issuer_name=sampled.issuer_name,
        issued_on=long_date(sampled.today),
        expires_on=long_date(expires) if expires else None,
        credential_id=SAMPLE_ID,
        verify_url=f"{ctx.base_url}/c/{SAMPLE_ID}",
        design=draft.design,
        paper=draft.design.paper,
        orientation=draft.design.orientation,
        sample=True,
    )


def badge_content(draft: Draft, sampled: Sampled) -> BadgeContent:
    """A sample badge: nothing is baked into it (it is no credential)."""
    return BadgeContent(
        achievement_name=draft.name.strip() or "Your achievement",
        issuer_name=sampled.issuer_name,
        design=draft.design,
        document="",
    )
