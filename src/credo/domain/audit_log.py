"""The audit log of staff actions: who changed what, when, from where, before and after.

Entries are values; services write them in the transaction of the change they record
(services/audit_log.py), and nothing ever updates or deletes one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class ActorKind(StrEnum):
    MEMBER = "member"  # a person signed in to the dashboard
    API_KEY = "api_key"
    COMMAND_LINE = "command_line"  # someone with the server's shell
    OPERATOR = "operator"  # the deployment's admin token
    SYSTEM = "system"  # Credo itself: the worker, scheduled jobs


@dataclass(frozen=True, slots=True)
class Actor:
    kind: ActorKind
    id: str | None = None  # the member's user id, the API key's id
    label: str = ""  # the member's e-mail, the key's name: as they were at the time
    source: str | None = None  # the client's IP address, for requests

    def with_source(self, source: str | None) -> Actor:
        return Actor(self.kind, self.id, self.label, source)


SYSTEM = Actor(ActorKind.SYSTEM, None, "Credo")


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    organization_id: str
    at: datetime
    actor: Actor
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


# Every action the log records, with the words the dashboard shows for it.
ACTIONS: dict[str, str] = {
    "credential.published": "Published a credential",
    "credential.drafted": "Created a draft credential",
    "credential.edited": "Edited a credential",
    "credential.revoked": "Revoked a credential",
    "credential.suspended": "Suspended a credential",
    "credential.reinstated": "Reinstated a credential",
    "credential.deleted": "Deleted a credential",
    "credential.evidence_added": "Added evidence to a credential",
    "credential.evidence_changed": "Changed a credential's evidence",
    "credential.evidence_deleted": "Removed evidence from a credential",
    "credentials.bulk_published": "Published credentials in bulk",
    "credentials.bulk_drafted": "Created draft credentials in bulk",
    "import.started": "Started publishing an import",
    "group.created": "Created a group",
    "group.updated": "Changed a group",
    "group.archived": "Archived a group",
    "group.restored": "Restored a group",
    "department.created": "Created a department",
    "department.updated": "Changed a department",
    "department.deleted": "Deleted a department",
    "member.added": "Added a member",
    "member.role_changed": "Changed a member's role",
    "member.removed": "Removed a member",
    "api_key.created": "Created an API key",
    "api_key.revoked": "Revoked an API key",
    "webhook.created": "Added a webhook endpoint",
    "webhook.updated": "Changed a webhook endpoint",
    "webhook.secret_rotated": "Rotated a webhook's signing secret",
    "webhook.deleted": "Deleted a webhook endpoint",
    "organization.updated": "Changed the organization's settings",
    "member.password_reset": "Gave a member a new password",
    "signing_key.rotated": "Rotated the signing key",
    "subscription.changed": "Changed the subscription",
    "subscription.cancelled": "Cancelled the subscription",
    "sso.updated": "Changed single sign-on",
    "sso.domain_added": "Added a single sign-on domain",
    "sso.domain_verified": "Verified a single sign-on domain",
    "sso.domain_removed": "Removed a single sign-on domain",
    "sso.break_glass": "Signed in with a password although single sign-on is required",
}

# Names no entry may hold a value for, whatever a caller hands in: the log is read by
# every owner and exported as CSV, so a secret must never reach it.
_SECRET_NAMES = frozenset(
    {
        "secret",
        "signing_secret",
        "client_secret",
        "password",
        "password_hash",
        "token",
        "key",
        "api_key",
        "key_hash",
        "private_key",
    }
)
REDACTED = "[redacted]"


def scrub(value: Any) -> Any:
    """`value` with every secret-named field's value replaced, at any depth."""
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if str(k).lower() in _SECRET_NAMES else scrub(v)) for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


def changes(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that differ, before and after: an edit's entry names what it changed."""
    keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}
