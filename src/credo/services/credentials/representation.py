"""A credential as the API shows it (api.md: `GET /v1/credentials/{id}`). Here, not in the
API layer, because webhook events carry the same representation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from credo.domain.entities import Credential


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _day(d: date | None) -> str | None:
    return d.isoformat() if d else None


def credential(c: Credential, base_url: str) -> dict[str, Any]:
    """`base_url`: the server's public address; `url` is the credential's public page."""
    return {
        "id": c.id,
        "url": f"{base_url}/c/{c.id}",
        "group_id": c.group_id,
        "recipient": {"name": c.recipient_name, "email": c.recipient_email},
        "status": c.status.value,
        "issued_on": c.issued_on.isoformat(),
        "expires_on": _day(c.expires_on),
        "seat_year": c.seat_year,
        "created_at": _rfc3339(c.created_at),
        "updated_at": _rfc3339(c.updated_at),
        "revoked_at": _rfc3339(c.revoked_at) if c.revoked_at else None,
        "revocation_reason": c.revocation_reason,
        "suspended": c.suspended_at is not None,
    }
