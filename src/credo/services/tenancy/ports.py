"""What tenancy needs from storage: organizations and their API keys."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from credo.domain.entities import (
    ApiKey,
    Organization,
)


class Organizations(Protocol):
    def add(self, org: Organization) -> None: ...
    def get(self, org_id: str) -> Organization | None: ...
    def lock(self, org_id: str) -> Organization | None:
        """Load the organization and hold its lock until the transaction ends: every charge
        path of one organization runs one at a time."""

    def set_clock(self, org_id: str, now: datetime) -> None: ...
    def all_ids(self) -> list[str]: ...
    def schema_revision(self) -> str | None:
        """The schema migration the database is at; None when it has none."""

    def take_status_indexes(self, org_id: str, n: int) -> int: ...
    def status_positions(self, org_id: str) -> int: ...
    def id_by_name(self, name: str) -> str | None: ...
    def id_by_domain(self, domain: str) -> str | None: ...
    def set_domain(self, org_id: str, domain: str | None) -> None: ...
    def set_email_open_tracking(self, org_id: str, on: bool) -> None: ...


class ApiKeys(Protocol):
    def add(
        self,
        key_id: str,
        org_id: str,
        key_hash: str,
        prefix: str,
        name: str,
        at: datetime,
        department_id: str | None = None,
    ) -> None: ...
    def organization_for(self, key_hash: str) -> str | None: ...
    def holder_of(self, key_hash: str) -> tuple[str, str, str, str | None] | None:
        """(organization id, key id, key name, department id) of a key not revoked."""

    def label_of(self, key_hash: str) -> str | None:
        """How people know the key: its name and the prefix it shows (never the secret)."""

    def organizations_for(self, key_hashes: Sequence[str]) -> dict[str, str]:
        """The organization each of the keys that are not revoked opens."""

    def all(self, org_id: str) -> list[ApiKey]: ...
    def revoke(self, org_id: str, key_id: str, at: datetime) -> bool:
        """False if the organization has no such key, or it was revoked already."""
        ...

    def mark_used(self, key_hash: str, at: datetime) -> None:
        """The key (if still open) was used at `at`; a later time already kept stays."""
