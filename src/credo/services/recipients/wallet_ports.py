"""What the recipient's wallet needs of storage (adapters/db/wallet.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from credo.domain.entities import Credential


@dataclass(frozen=True, slots=True)
class Held:
    """A credential in a recipient's wallet, with the names it is shown under."""

    credential: Credential
    organization_name: str
    group_name: str


@dataclass(frozen=True, slots=True)
class Profile:
    recipient_key: str
    slug: str
    display_name: str
    public: bool
    shown: frozenset[str]  # credential ids the recipient chose to show


class Wallet(Protocol):
    def add_link(self, token_hash: str, key: str, at: datetime, expires: datetime) -> None: ...
    def link(self, token_hash: str) -> tuple[str, datetime, datetime | None] | None: ...
    def use_link(self, token_hash: str, at: datetime) -> bool: ...
    def add_session(
        self, token_hash: str, key: str, csrf: str, at: datetime, expires: datetime
    ) -> None: ...
    def session(self, token_hash: str, now: datetime) -> tuple[str, str] | None: ...
    def end_session(self, token_hash: str) -> None: ...
    def held(self, key: str, cred_id: str | None = None) -> list[Held]: ...
    def latest_organization(self, key: str) -> str | None: ...
    def profile(self, key: str) -> Profile | None: ...
    def profile_by_slug(self, slug: str) -> Profile | None: ...
    def save_profile(self, profile: Profile, at: datetime) -> None: ...
