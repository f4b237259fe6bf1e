"""People and what their role in an organization lets them do. Pure."""

from __future__ import annotations

import unicodedata
from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"  # billing, API keys, webhooks, members, and everything an issuer does
    ISSUER = "issuer"  # groups and credentials
    VIEWER = "viewer"  # reads only


class Permission(StrEnum):
    VIEW = "view"
    ISSUE = "issue"  # create, publish, renew, revoke, delete credentials; imports
    MANAGE_GROUPS = "manage_groups"
    BILLING = "billing"  # plan and credits settings (the credits page is VIEW)
    MEMBERS = "members"
    API_KEYS = "api_keys"
    WEBHOOKS = "webhooks"  # the endpoints Credo calls, and their deliveries
    AUDIT_LOG = "audit_log"  # the log of every staff action, with its CSV export
    SINGLE_SIGN_ON = "single_sign_on"  # the identity provider, its domains, "SSO required"


_GRANTS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW}),
    Role.ISSUER: frozenset({Permission.VIEW, Permission.ISSUE, Permission.MANAGE_GROUPS}),
    Role.OWNER: frozenset(Permission),
}


def allowed(role: Role, permission: Permission) -> bool:
    return permission in _GRANTS[role]


MIN_PASSWORD = 10
MAX_PASSWORD = 200


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None. Length is what matters (NIST 800-63B);
    composition rules are not imposed."""
    if len(password) < MIN_PASSWORD:
        return f"must be at least {MIN_PASSWORD} characters"
    if len(password) > MAX_PASSWORD:
        return f"must be at most {MAX_PASSWORD} characters"
    if password.strip() == "":
        return "must not be blank"
    return None


MAX_KEY_NAME = 100


def api_key_name_problem(name: str) -> str | None:
    """Why an API key's name (already trimmed) is refused, or None."""
    if not name:
        return "is required"
    if len(name) > MAX_KEY_NAME:
        return f"must be at most {MAX_KEY_NAME} characters"
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        # Control characters show as nothing (and PostgreSQL refuses NUL); a surrogate
        # cannot even be stored.
        return "must not contain control characters"
    return None
