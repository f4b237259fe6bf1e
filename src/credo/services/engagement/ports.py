"""What engagement needs of storage (adapters/db/engagement.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from credo.domain import engagement as e


@dataclass(frozen=True, slots=True)
class Counted:
    credential_id: str
    day: date
    kind: e.Kind
    organization_id: str
    group_id: str
    n: int


@dataclass(frozen=True, slots=True)
class Scope:
    """An organization's engagement over days `first`..`last` (both included), for one
    group or one credential when given."""

    organization_id: str
    first: date
    last: date
    group_id: str | None = None
    credential_id: str | None = None


class Engagement(Protocol):
    def add_counts(self, rows: Sequence[Counted]) -> None: ...
    def add_visitors(self, rows: Sequence[tuple[str, date, str, str, str]]) -> None: ...
    def firsts(
        self, pairs: Sequence[tuple[str, e.Kind, str]], at: datetime
    ) -> set[tuple[str, e.Kind]]: ...
    def day_key(self, day: date) -> bytes: ...
    def counts(self, scope: Scope) -> list[tuple[date, e.Kind, int]]: ...
    def unique_viewers(self, scope: Scope) -> list[tuple[date, int]]: ...
    def reached(self, scope: Scope) -> dict[e.Kind, set[str]]: ...
    def issued(self, scope: Scope) -> list[tuple[date, str]]: ...
    def e_mails(
        self, scope: Scope, since: datetime, until: datetime
    ) -> list[tuple[datetime, str, str, str | None]]: ...
    def subject_of_message(self, message_id: str) -> tuple[str, str, str] | None: ...
