"""Storage the compatible API needs beside Credo's own (adapters/db/accredible.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from credo.domain.accredible import Condition, CredentialDetails, Evidence, GroupDetails
from credo.domain.entities import Credential, Group


class Accredible(Protocol):
    def numbers(self, org_id: str, kind: str, object_ids: Sequence[str]) -> dict[str, int]:
        """Each object's positive integer id, given it on first sight."""

    def object_of(self, org_id: str, kind: str, number: int) -> str | None: ...
    def details(self, credential_ids: Sequence[str]) -> dict[str, CredentialDetails]: ...
    def save_details(self, d: CredentialDetails) -> None: ...
    def by_license(self, org_id: str, license_id: str) -> str | None: ...
    def evidence(self, credential_ids: Sequence[str]) -> dict[str, list[Evidence]]: ...
    def add_evidence(self, org_id: str, item: Evidence) -> int: ...
    def one_evidence(self, org_id: str, credential_id: str, item_id: int) -> Evidence | None: ...
    def update_evidence(self, org_id: str, item: Evidence) -> None: ...
    def delete_evidence(self, org_id: str, item_id: int) -> None: ...
    def group_details(self, group_ids: Sequence[str]) -> dict[str, GroupDetails]: ...
    def save_group_details(self, d: GroupDetails) -> None: ...
    def group_named(
        self, org_id: str, name: str, department_id: str | None = None
    ) -> str | None: ...
    def groups(
        self,
        org_id: str,
        *,
        name: str | None,
        group_ids: Sequence[str] | None,
        offset: int,
        limit: int,
        department_id: str | None = None,
    ) -> tuple[list[Group], int]: ...
    def credentials(
        self,
        org_id: str,
        *,
        conditions: Sequence[Condition] = (),
        order: Sequence[tuple[str, bool]] = (),
        offset: int,
        limit: int,
        department_id: str | None = None,
    ) -> tuple[list[Credential], int]: ...
    def add_attribute_keys(self, org_id: str, names: Sequence[str], now: datetime) -> None: ...
    def attribute_keys(
        self, org_id: str, *, name: str | None, kind: str | None, offset: int, limit: int
    ) -> tuple[list[tuple[str, str]], int]: ...
