"""What recipient features need from storage: credentials due for a reminder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from credo.domain.entities import (
    ExpiringCredential,
)


class Reminders(Protocol):
    def due(self, org_id: str, today: date, until: date) -> list[ExpiringCredential]: ...
    def mark(self, org_id: str, cred_ids: Sequence[str]) -> None: ...
