"""What the audit log (services/audit_log.py) needs of storage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from credo.domain.audit_log import AuditEntry


@dataclass(frozen=True, slots=True)
class LogQuery:
    """Which entries to list; None matches any. `since` inclusive, `until` exclusive."""

    action: str | None = None
    actor_id: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class AuditLog(Protocol):
    def add_many(self, entries: Sequence[AuditEntry]) -> None: ...

    def page(
        self, org_id: str, q: LogQuery, *, limit: int, before_id: str | None = None
    ) -> list[AuditEntry]:
        """Matching entries, newest first, with id < before_id."""

    def actors(self, org_id: str) -> list[tuple[str, str, str]]:
        """(kind, id, label) of everyone with an entry, the latest label of each."""
