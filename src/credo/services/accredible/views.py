"""Credo's objects as Accredible's clients read them (the study's section (c)): integer
ids, `approve` for published, `group_name`, `url`, image links, evidence items."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import orjson

from credo.domain.accredible import CredentialDetails, Evidence, GroupDetails, rfc3339
from credo.domain.credentials import Status
from credo.domain.entities import Credential, Group, Organization
from credo.services.context import ServiceContext
from credo.services.ports import UnitOfWork

GROUP, CREDENTIAL, ORGANIZATION = "group", "credential", "organization"


def evidence(item: Evidence) -> dict[str, Any]:
    string_object: Any = item.string_object
    if string_object is not None:
        with contextlib.suppress(orjson.JSONDecodeError):
            string_object = orjson.loads(string_object)
    return {
        "id": item.id,
        "description": item.description,
        "type": item.category,
        "category": item.category,
        "link_url": item.url,
        "preview_image_url": None,
        "string_object": string_object,
        "hidden": item.hidden,
        "supplemental": False,
        "position": item.position,
    }


def group(g: Group, number: int, details: GroupDetails | None) -> dict[str, Any]:
    d = details or GroupDetails(g.id, g.organization_id)
    years = (g.expires_after_months or 0) // 12 if g.expires_after_months else None
    return {
        "id": number,
        "name": d.internal_name or g.name,
        "course_name": g.name,
        "course_description": g.description,
        "course_link": d.course_link,
        "language": d.language or "en",
        "learning_outcomes": None,
        "attach_pdf": True,
        "blockchain": False,
        "design_id": None,
        "certificate_design_id": None,
        "badge_design_id": None,
        "primary_design_id": None,
        "department_id": None,
        "meta_data": d.meta_data,
        "generate_private_credential": False,
        "allow_duplicate_credentials": g.duplicate_policy != "refuse",
        "auto_expiry": years,
        "credo_id": g.id,
        "created_at": rfc3339(g.created_at),
        "updated_at": rfc3339(g.created_at),
    }


def credentials(
    uow: UnitOfWork,
    ctx: ServiceContext,
    org: Organization,
    creds: Sequence[Credential],
    *,
    full: bool = True,
) -> list[dict[str, Any]]:
    """Each credential as Accredible shows it; `full` adds images and evidence (the single
    view), lists leave them out as Accredible's do."""
    if not creds:
        return []
    a = uow.accredible
    numbers = a.numbers(org.id, CREDENTIAL, [c.id for c in creds])
    group_ids = sorted({c.group_id for c in creds})
    group_numbers = a.numbers(org.id, GROUP, group_ids)
    groups = {gid: uow.groups.get(org.id, gid) for gid in group_ids}
    group_details = a.group_details(group_ids)
    details = a.details([c.id for c in creds])
    items = a.evidence([c.id for c in creds]) if full else {}
    org_number = a.numbers(org.id, ORGANIZATION, [org.id])[org.id]
    out = []
    for c in creds:
        g = groups[c.group_id]
        gd = group_details.get(c.group_id)
        d = details.get(c.id) or CredentialDetails(c.id, org.id)
        page = f"{ctx.base_url}/c/{c.id}"
        view: dict[str, Any] = {
            "id": numbers[c.id],
            "encoded_id": c.id,
            "name": g.name if g else None,
            "description": g.description if g else None,
            "approve": c.status is Status.PUBLISHED,
            "complete": True if d.complete is None else d.complete,
            "grade": d.grade,
            "issued_on": c.issued_on.isoformat(),
            "expired_on": c.expires_on.isoformat() if c.expires_on else None,
            "course_link": d.course_link or (gd.course_link if gd else None),
            "custom_attributes": d.custom_attributes,
            "group_name": (gd.internal_name if gd and gd.internal_name else g.name) if g else None,
            "group_id": group_numbers[c.group_id],
            "url": page,
            "private": False,
            "license_id": d.license_id,
            "recipient": {
                "name": c.recipient_name,
                "email": c.recipient_email,
                "phone_number": None,
                "id": None,
                "meta_data": None,
            },
            "issuer": {
                "id": org_number,
                "name": org.name,
                "description": None,
                "url": ctx.base_url,
            },
            "meta_data": d.meta_data,
            "revoked": c.revoked_at is not None,
            "created_at": rfc3339(c.created_at),
            "updated_at": rfc3339(c.updated_at),
            "allow_supplemental_evidence": False,
            "allow_supplemental_references": False,
        }
        if full:
            published = c.status is Status.PUBLISHED
            view |= {
                "seo_image": f"{page}.png" if published else None,
                "certificate": {"image": {"preview": f"{page}.pdf" if published else None}},
                "badge": {"image": {"preview": f"{page}.png" if published else None}},
                "evidence_items": [evidence(e) for e in items.get(c.id, [])],
                "references": [],
            }
        out.append(view)
    return out
