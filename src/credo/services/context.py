"""What the issuing use cases need besides a unit of work, built once by bootstrap."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from credo.clock import Clock
from credo.services.credentials.ports import ProofVerifier, Signer
from credo.services.credentials.signed_lists import SignedLists

if TYPE_CHECKING:
    from credo.services.credentials.positions import StatusPositions
    from credo.services.credentials.signing_cache import SigningCache


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
    # Positions for publishes that sign ahead of the lock (issuing.prepare); None: they sign
    # under it, as tests that build a context by hand do.
    positions: StatusPositions | None = None
    signing: SigningCache | None = None  # what those publishes sign with, for a few seconds
