"""What the issuing use cases need besides a unit of work, built once by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass, field

from credo.clock import Clock
from credo.services.credentials.ports import ProofVerifier, Signer
from credo.services.credentials.signed_lists import SignedLists


@dataclass(frozen=True, slots=True)
class ServiceContext:
    clock: Clock
    signer: Signer
    base_url: str  # where the public pages live: credential ids and status lists hang here
    verifier: ProofVerifier
    # Keys the recipients' private links (services/recipient_links.py); derived from the
    # master key, so that every process of a deployment agrees on it.
    link_secret: bytes = b""
    status_lists: SignedLists = field(default_factory=SignedLists)
