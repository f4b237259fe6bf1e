"""What credential offers to wallet apps need: storage (adapters/db/wallet_offers.py) and
the check of a wallet's proof of possession (adapters/signing/holder_proofs.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from credo.domain.oid4vci import ProofJwt


@dataclass(frozen=True, slots=True)
class StoredOffer:
    id: str
    organization_id: str
    credential_id: str
    expires_at: datetime
    redeemed_at: datetime | None
    token_expires_at: datetime | None
    issued_at: datetime | None
    holder: str | None


class WalletOffers(Protocol):
    def add(
        self,
        offer_id: str,
        org_id: str,
        cred_id: str,
        *,
        handle_hash: str,
        code_hash: str,
        created_by: str,
        at: datetime,
        expires: datetime,
    ) -> None: ...
    def by_handle(self, handle_hash: str) -> StoredOffer | None: ...
    def by_code(self, code_hash: str) -> StoredOffer | None: ...
    def by_token(self, token_hash: str) -> StoredOffer | None: ...
    def redeem(
        self, code_hash: str, token_hash: str, at: datetime, token_expires: datetime
    ) -> bool:
        """Trade the code for the token, once, before the offer expires."""

    def issue(self, offer_id: str, holder: str, at: datetime) -> bool:
        """Spend the token, once."""

    def of_credential(self, cred_id: str) -> list[StoredOffer]: ...


class HolderProofs(Protocol):
    def holder(self, jwt: ProofJwt) -> str:
        """The DID whose key signed `jwt`. InvalidProof when it did not, or names no key."""
