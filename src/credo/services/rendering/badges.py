"""Badge images: what a badge shows, and getting it rendered and baked once per credential
version and look.

As on the certificate, the words come from the signed credential (achievement and issuer
names) and the look from the group's design, which is not signed and may change at any
time: the cache key (`kind`) carries a fingerprint of everything drawn, so a new design is
rendered afresh on the next request and a new version (every re-signing) never reads an old
file. Revoking or suspending changes neither: the baked credential says so to a verifier.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

from credo.domain.entities import BadgeContent
from credo.services.context import ServiceContext
from credo.services.ports import UnitOfWork
from credo.services.rendering.showcase import CredentialView, load_view
from credo.services.runner import Runner

MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


class BadgeRenderer(Protocol):
    """Draws a badge as a PNG or SVG image with the credential baked in (adapters/images).
    Never fetches anything: its only image, the logo, is a data URI."""

    @property
    def fingerprint(self) -> str:
        """What draws the images (templates, fonts, code): kept ones drawn with another are
        drawn again."""

    def render(self, content: BadgeContent, fmt: str) -> bytes: ...
    def svg(self, content: BadgeContent) -> str:
        """The image alone, unbaked (design previews)."""

    def email_png(self, content: BadgeContent) -> bytes:
        """The image alone as a small PNG, unbaked, for e-mails to carry."""


@dataclass(frozen=True, slots=True)
class BadgeImage:
    content: bytes
    media_type: str
    credential_id: str
    version: int
    etag: str  # changes with the version and with anything drawn
    rendered: bool  # False: served from the cache
    organization_id: str = ""
    group_id: str = ""  # with the organization's: what engagement counts it under


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: object, fallback: str) -> str:
    return value.strip() if isinstance(value, str) and value.strip() else fallback


def content_of(view: CredentialView) -> BadgeContent:
    try:
        doc = _object(json.loads(view.document))
    except ValueError:  # a stored document is JSON; fall back to the records all the same
        doc = {}
    achievement = _object(_object(doc.get("credentialSubject")).get("achievement"))
    return BadgeContent(
        achievement_name=_text(achievement.get("name"), view.group.name),
        issuer_name=_text(_object(doc.get("issuer")).get("name"), view.organization.name),
        design=view.design,
        document=view.document,
    )


def _drawn(content: str, drawing: str) -> str:
    return hashlib.sha256(f"{content}:{drawing}".encode()).hexdigest()


def badge_image(
    runner: Runner,
    ctx: ServiceContext,
    renderer: BadgeRenderer,
    cred_id: str,
    fmt: str,
    *,
    include_hidden: bool = False,
) -> BadgeImage:
    """The baked `fmt` ("png" or "svg") image of a published, visible credential, rendered
    on first request and kept. Rendering runs between two short transactions, never inside
    one. NotFound for hidden, deleted or unknown credentials."""
    media_type = MEDIA_TYPES[fmt]

    def look(uow: UnitOfWork) -> tuple[BadgeContent, tuple[str, str], int, str, bytes | None]:
        view = load_view(uow, ctx, cred_id, include_hidden=include_hidden)
        content = content_of(view)
        kind = f"badge:{fmt}:{_drawn(content.fingerprint(), renderer.fingerprint)[:16]}"
        found = uow.artifacts.get(cred_id, kind, view.version)
        return (
            content,
            (view.organization.id, view.credential.group_id),
            view.version,
            kind,
            found[1] if found else None,
        )

    content, (org_id, group_id), version, kind, cached = runner.read(look)
    etag = f'"{version}-{kind.rsplit(":", 1)[1]}-{fmt}"'
    if cached is not None:
        return BadgeImage(
            cached,
            media_type,
            cred_id,
            version,
            etag,
            rendered=False,
            organization_id=org_id,
            group_id=group_id,
        )
    image = renderer.render(content, fmt)
    now = ctx.clock.now()
    runner.write(
        lambda uow: uow.artifacts.put(org_id, cred_id, kind, version, media_type, image, now)
    )
    return BadgeImage(
        image,
        media_type,
        cred_id,
        version,
        etag,
        rendered=True,
        organization_id=org_id,
        group_id=group_id,
    )
