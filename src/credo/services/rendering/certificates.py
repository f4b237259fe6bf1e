"""PDF certificates: what a certificate says, and getting it rendered once per credential
version and look.

The words come from the signed credential (its recipient, achievement and issuer names), so
the paper never disagrees with what a verifier sees, even after a group is renamed; the look
comes from the group's design, which is not signed and may change at any time. The cache
key (`kind`) carries a fingerprint of everything drawn, design included: changing a design
makes the next request render afresh, and the earlier files are simply never asked for again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from credo.domain import designs
from credo.domain.entities import CertificateContent
from credo.services.context import ServiceContext
from credo.services.credentials.groups import get_group
from credo.services.ports import UnitOfWork
from credo.services.rendering.ports import CertificateRenderer
from credo.services.rendering.showcase import CredentialView, load_view
from credo.services.runner import Runner
from credo.services.tenancy.clocks import load_org, org_now

MEDIA_TYPE = "application/pdf"
DESCRIPTION_LIMIT = 320  # characters; a longer description would crowd the page

_MONTHS = (
    *("January", "February", "March", "April", "May", "June"),
    *("July", "August", "September", "October", "November", "December"),
)


def long_date(d: date) -> str:
    """`1 February 2026`: day, month name, year reads the same in every English locale."""
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


@dataclass(frozen=True, slots=True)
class Certificate:
    pdf: bytes
    credential_id: str
    version: int
    etag: str  # changes with the version and with anything drawn
    rendered: bool  # False: served from the cache
    organization_id: str = ""
    group_id: str = ""  # with the organization's: what engagement counts it under


def _text(value: object, fallback: str) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else fallback


def _shorten(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return cut + "\u2026"


def content_of(
    view: CredentialView, paper: str | None = None, orientation: str | None = None
) -> CertificateContent:
    """The certificate of a credential; `paper` and `orientation` default to the design's."""
    doc: dict[str, Any] = {}
    try:
        parsed = json.loads(view.document)
        doc = parsed if isinstance(parsed, dict) else {}
    except ValueError:  # a stored document is JSON; fall back to the records all the same
        pass
    subject = doc.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, dict) else {}
    issuer = doc.get("issuer")
    issuer = issuer if isinstance(issuer, dict) else {}
    cred, group = view.credential, view.group
    return CertificateContent(
        recipient_name=_text(subject.get("name"), cred.recipient_name),
        achievement_name=_text(achievement.get("name"), group.name),
        achievement_description=_shorten(
            _text(achievement.get("description"), group.description or "")
        ),
        issuer_name=_text(issuer.get("name"), view.organization.name),
        issued_on=long_date(cred.issued_on),
        expires_on=long_date(cred.expires_on) if cred.expires_on else None,
        credential_id=cred.id,
        verify_url=view.page_url,
        design=view.design,
        paper=paper or view.design.paper,
        orientation=orientation or view.design.orientation,
    )


def kind_of(content: CertificateContent, drawing: str) -> str:
    """The artifact kind (at most 40 characters): paper, orientation, what is drawn and
    what draws it (the renderer's fingerprint: templates, fonts, code)."""
    drawn = hashlib.sha256(f"{content.fingerprint()}:{drawing}".encode()).hexdigest()
    return f"pdf:{content.paper}:{content.orientation}:{drawn[:12]}"


def certificate_pdf(
    runner: Runner,
    ctx: ServiceContext,
    renderer: CertificateRenderer,
    cred_id: str,
    *,
    paper: str | None = None,
    orientation: str | None = None,
    include_hidden: bool = False,
) -> Certificate:
    """The PDF of a published, visible credential, rendered on first request and kept.
    Rendering runs between two short transactions, never inside one: a slow render must not
    hold a database connection or lock. NotFound for hidden, deleted or unknown credentials."""

    def look(
        uow: UnitOfWork,
    ) -> tuple[CertificateContent, tuple[str, str], int, str, bytes | None]:
        view = load_view(uow, ctx, cred_id, include_hidden=include_hidden)
        content = content_of(view, paper, orientation)
        kind = kind_of(content, renderer.fingerprint)
        found = uow.artifacts.get(cred_id, kind, view.version)
        org_id = view.organization.id
        return (
            content,
            (org_id, view.credential.group_id),
            view.version,
            kind,
            found[1] if found else None,
        )

    content, (org_id, group_id), version, kind, cached = runner.read(look)
    etag = f'"{version}-{kind.rsplit(":", 1)[1]}-{content.paper}-{content.orientation}"'
    if cached is not None:
        return Certificate(
            cached,
            cred_id,
            version,
            etag,
            rendered=False,
            organization_id=org_id,
            group_id=group_id,
        )
    pdf = renderer.render(content)
    now = ctx.clock.now()
    runner.write(
        lambda uow: uow.artifacts.put(org_id, cred_id, kind, version, MEDIA_TYPE, pdf, now)
    )
    return Certificate(
        pdf, cred_id, version, etag, rendered=True, organization_id=org_id, group_id=group_id
    )


# The built-in looks, as GET /v1/designs offers them to a dashboard.
LOOKS = {
    "classic": "A framed, centred diploma in a serif face: the primary colour draws the frame "
    "and headings, the accent the inner rule and corner ornaments.",
    "modern": "A band of the primary colour carries the issuer and logo beside (or, in "
    "portrait, above) a sans-serif page; the accent underlines the name.",
    "minimal": "White space, a hairline frame and left-aligned type; the accent marks only "
    "the rule under the name.",
}
# The named fields every look draws: what the certificate says, then what the design brands.
FIELDS = {
    "recipient_name": "the recipient's name, as signed (any script; right-to-left too)",
    "achievement_name": "the achievement (the group's name when issued)",
    "achievement_description": f"its description, up to {DESCRIPTION_LIMIT} characters",
    "issuer_name": "the organization's name",
    "issued_on": "the date it was awarded",
    "expires_on": "the date it expires, if it does",
    "credential_id": "the credential's id",
    "verify_url": "the credential's public page",
    "qr": "a QR code of verify_url",
    "logo": "design.logo",
    "signature_image": "design.signature_image",
    "signatory_name": "design.signatory_name (default: the issuer's name)",
    "signatory_title": "design.signatory_title",
    "primary_color": "design.primary_color",
    "accent_color": "design.accent_color",
}


def catalog() -> dict[str, Any]:
    """The looks and the design's fields, with their choices and defaults."""
    default = designs.DEFAULT
    return {
        "designs": [
            {"id": look, "kind": "certificate", "description": text, "fields": list(FIELDS)}
            for look, text in LOOKS.items()
        ],
        "named_fields": FIELDS,
        "design_fields": {
            "certificate": {"choices": list(designs.CERTIFICATE_LOOKS), "default": "classic"},
            "badge": {"choices": list(designs.BADGE_LOOKS), "default": default.badge},
            "primary_color": {"format": "#rrggbb", "default": default.primary_color},
            "accent_color": {"format": "#rrggbb", "default": default.accent_color},
            "logo": {"format": "data URI (PNG, JPEG or SVG)", "max_bytes": designs.MAX_IMAGE_BYTES},
            "signature_image": {
                "format": "data URI (PNG, JPEG or SVG)",
                "max_bytes": designs.MAX_IMAGE_BYTES,
            },
            "signatory_name": {"format": "text, 1 to 200 characters"},
            "signatory_title": {"format": "text, 1 to 200 characters"},
            "paper": {"choices": list(designs.PAPER_SIZES), "default": default.paper},
            "orientation": {"choices": list(designs.ORIENTATIONS), "default": default.orientation},
        },
    }


def preview_pdf(
    runner: Runner,
    ctx: ServiceContext,
    renderer: CertificateRenderer,
    org_id: str,
    group_id: str,
    *,
    paper: str | None = None,
    orientation: str | None = None,
) -> bytes:
    """A sample certificate of a group, with a placeholder recipient and marked SAMPLE, drawn
    by the same renderer and never kept. NotFound for another organization's group."""

    def load(uow: UnitOfWork) -> CertificateContent:
        group = get_group(uow, org_id, group_id)
        org = load_org(uow, org_id)
        today = org_now(org, ctx.clock).date()
        design = designs.load(group.design)
        expires = None
        if group.expires_after_months:
            months = today.month - 1 + group.expires_after_months
            # The preview only shows the shape of an expiry date: the 28th exists every month.
            expires = date(today.year + months // 12, months % 12 + 1, min(today.day, 28))
        return CertificateContent(
            recipient_name="Alex Example",
            achievement_name=group.name,
            achievement_description=_shorten(group.description or ""),
            issuer_name=org.name,
            issued_on=long_date(today),
            expires_on=long_date(expires) if expires else None,
            credential_id=SAMPLE_ID,
            verify_url=f"{ctx.base_url}/c/{SAMPLE_ID}",
            design=design,
            paper=paper or design.paper,
            orientation=orientation or design.orientation,
            sample=True,
        )

    return renderer.render(runner.read(load))


SAMPLE_ID = "cred_sample"
