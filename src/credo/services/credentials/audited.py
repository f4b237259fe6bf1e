"""How credentials and groups read in the audit log (services/audit_log.py): the fields a
staff member would look for, and nothing of a signed document or an uploaded image."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from credo.domain.audit_log import changes
from credo.domain.entities import Credential, Group
from credo.services.audit_log import Change

PUBLISHED = "credential.published"
_LONG = 300  # longer strings (an image as a data: URI) are named by their digest


def brief(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _LONG:
        digest = hashlib.sha256(value.encode()).hexdigest()[:16]
        return f"{value[:40]}… ({len(value)} characters, sha256 {digest}…)"
    if isinstance(value, dict):
        return {k: brief(v) for k, v in value.items()}
    if isinstance(value, list):
        return [brief(v) for v in value]
    return value


def credential_state(c: Credential) -> dict[str, Any]:
    return {
        "group_id": c.group_id,
        "recipient_name": c.recipient_name,
        "recipient_email": c.recipient_email,
        "status": c.status.value,
        "issued_on": c.issued_on.isoformat(),
        "expires_on": None if c.expires_on is None else c.expires_on.isoformat(),
        "revoked": c.revoked_at is not None,
        "revocation_reason": c.revocation_reason,
        "suspended": c.suspended_at is not None,
    }


def published(creds: Iterable[Credential]) -> list[Change]:
    return [
        Change(c.organization_id, PUBLISHED, "credential", c.id, None, credential_state(c))
        for c in creds
    ]


def issued(group_id: str, creds: Sequence[Credential], *, publish: bool) -> list[Change]:
    """One entry per credential of a single publish; one for a bulk, naming them all."""
    if len(creds) == 1:
        return [credential_change(PUBLISHED if publish else "credential.drafted", None, creds[0])]
    if not creds:
        return []
    return [
        Change(
            creds[0].organization_id,
            "credentials.bulk_published" if publish else "credentials.bulk_drafted",
            "group",
            group_id,
            None,
            {"count": len(creds), "credential_ids": [c.id for c in creds]},
        )
    ]


def deleted(c: Credential) -> Change:
    return Change(c.organization_id, "credential.deleted", "credential", c.id, credential_state(c))


def credential_change(action: str, before: Credential | None, after: Credential) -> Change:
    """An entry naming only what changed (all of it for a new credential)."""
    if before is None:
        return Change(
            after.organization_id, action, "credential", after.id, None, credential_state(after)
        )
    old, new = changes(credential_state(before), credential_state(after))
    return Change(after.organization_id, action, "credential", after.id, old, new)


def credential_changes(action: str, before: Credential, after: Credential) -> list[Change]:
    """The entry of an edit, or none when it changed nothing anyone reads."""
    change = credential_change(action, before, after)
    return [change] if change.after else []


def group_state(g: Group) -> dict[str, Any]:
    state: dict[str, Any] = brief(
        {
            "name": g.name,
            "description": g.description,
            "criteria": g.criteria,
            "image_url": g.image_url,
            "expires_after_months": g.expires_after_months,
            "design": None if g.design is None else orjson.loads(g.design),
            "archived": g.archived_at is not None,
            "duplicate_policy": g.duplicate_policy,
            "department_id": g.department_id,
        }
    )
    return state


def group_change(action: str, before: Group | None, after: Group) -> Change:
    if before is None:
        return Change(after.organization_id, action, "group", after.id, None, group_state(after))
    old, new = changes(group_state(before), group_state(after))
    return Change(after.organization_id, action, "group", after.id, old, new)
