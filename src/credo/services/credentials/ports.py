"""What issuing needs: groups and credentials in storage, signing keys, status bits, a
signer and a verifier."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from credo.domain.billing import Subscription
from credo.domain.entities import (
    Credential,
    CredentialFilter,
    CredentialQuery,
    FormerVersion,
    Group,
    GroupSummary,
    LedgerEntry,
    Organization,
    SentMail,
    SigningKey,
)


@dataclass(frozen=True, slots=True)
class Signing:
    """What a publish signs with: read in one statement, before any lock."""

    org: Organization
    subscription: Subscription
    group: Group
    key: SigningKey


@dataclass(frozen=True, slots=True)
class Charging:
    """What a publish charges against, read in one statement that takes the organization's
    lock: `used` is of billing year `year`, the one the caller expected."""

    org: Organization
    subscription: Subscription
    group: Group | None
    key_id: str | None
    year: int
    used: int
    seated: bool | None  # whether the one recipient key asked about holds a seat in `year`
    hooked: bool = True  # whether it has an enabled webhook endpoint (True: ask again)


class Publishing(Protocol):
    def signing(self, org_id: str, group_id: str) -> Signing | None:
        """None unless the organization, its subscription, the group and an active key
        all exist."""
        ...

    def lock(
        self, org_id: str, group_id: str, year: int, recipient_key: str | None = None
    ) -> Charging | None:
        """Take the organization's lock (as Organizations.lock) and read the rest at once;
        with `recipient_key`, whether it holds an open seat in `year` too."""
        ...

    def lock_many(
        self, wants: Sequence[tuple[str, str, int]]
    ) -> dict[tuple[str, str, int], Charging]:
        """For (organization, group, billing year) each: as `lock`, without `seated`; the
        organizations' locks taken in one order. A missing organization is not answered."""
        ...


class Groups(Protocol):
    def add(self, group: Group) -> None: ...
    def get(self, org_id: str, group_id: str) -> Group | None: ...
    def page(
        self, org_id: str, after: str | None, limit: int, department_id: str | None = None
    ) -> list[Group]: ...
    def update(self, group: Group) -> None:
        """Store a changed group (name, description, criteria, expiry, design)."""


class CredentialSearch(Protocol):
    """The dashboard's read model: searching credentials, listing groups with counts."""

    def find(self, org_id: str, q: CredentialQuery) -> tuple[list[Credential], int]:
        """One page of matching live (not deleted) credentials, newest first, and how many
        match in all."""
        ...

    def groups(self, org_id: str, *, archived: bool) -> list[GroupSummary]:
        """The groups, each with its count of live (not deleted) credentials."""

    def live_keys_in_group(
        self, org_id: str, group_id: str, keys: Iterable[str], excluding: Iterable[str] = ()
    ) -> set[str]:
        """Which of `keys` hold a published, not deleted credential of the group, other than
        the credentials `excluding` names."""
        ...

    def mails(self, org_id: str, cred_id: str, limit: int) -> list[SentMail]:
        """The e-mails enqueued for the credential, newest first, at most `limit`."""
        ...

    def charges(self, org_id: str, cred_id: str, limit: int) -> list[LedgerEntry]:
        """The ledger entries naming the credential, newest first, at most `limit`."""
        ...


class Credentials(Protocol):
    """Each group's count of live credentials changes with them, in their transaction, and
    only under the organization's lock (its row is shared by every publish to the group)."""

    def add_many(self, creds: Sequence[Credential], *, counted: bool = True) -> None:
        """`counted=False`: before the organization's lock; `count_added` once it is held
        (or `discard` if the work is abandoned)."""

    def count_added(self, creds: Sequence[Credential]) -> None:
        """Count credentials added with `counted=False` in their groups."""

    def recount(self, org_id: str) -> None:
        """Every group's count set from its live credentials (under the organization's lock)."""

    def discard(self, org_id: str, ids: Sequence[str]) -> None:
        """Remove rows this transaction added uncounted (and nothing refers to yet)."""

    def get(self, org_id: str, cred_id: str) -> Credential | None:
        """A live (not deleted) credential of the organization, or None."""

    def by_document_id(self, org_id: str, document_id: str) -> Credential | None:
        """The newest live credential whose document has this `id` (VC API credentials)."""

    def update(self, cred: Credential) -> None: ...
    def delete(self, org_id: str, cred_id: str, at: datetime) -> None: ...
    def page(
        self, org_id: str, flt: CredentialFilter, after: str | None, limit: int
    ) -> list[Credential]: ...
    def count_live_holding(
        self, org_id: str, recipient_key: str, seat_year: int, exclude_id: str | None
    ) -> int: ...
    def document(self, cred_id: str) -> tuple[str, str] | None: ...
    def supersede(self, cred: Credential, at: datetime) -> None:
        """Keep what the signed version `cred` said: a change is signing it anew."""

    def former_versions(self, org_id: str, cred_id: str, limit: int) -> list[FormerVersion]:
        """Earlier signed versions, the most recently replaced first."""

    def any_signed(self, org_id: str) -> bool: ...
    def published(self, cred_id: str) -> tuple[Credential, str] | None: ...
    def set_hidden(self, cred_id: str, hidden: bool) -> None: ...
    def live_published(self, cred_ids: Sequence[str]) -> set[str]: ...
    def group_ids(self, cred_ids: Sequence[str]) -> dict[str, tuple[str, str]]:
        """The (organization id, group id) of each of these credentials not deleted."""

    def live_seat_counts(self, org_id: str) -> dict[tuple[int, str], int]:
        """(seat year, recipient key) -> number of live published credentials."""


class SigningKeys(Protocol):
    def add(self, key: SigningKey) -> None: ...
    def get(self, key_id: str) -> SigningKey | None: ...
    def all(self, org_id: str) -> list[SigningKey]:
        """Every key the organization ever had, oldest first."""

    def retire_all(self, org_id: str, at: datetime) -> None: ...


class StatusBits(Protocol):
    def set_many(self, org_id: str, purpose: str, indexes: Sequence[int], at: datetime) -> None: ...
    def clear(self, org_id: str, purpose: str, index: int) -> None: ...
    def set_in(self, org_id: str, purpose: str, start: int, stop: int) -> list[int]: ...


class Signer(Protocol):
    """Makes organization keys and signs documents with them (Data Integrity proofs)."""

    def new_key(self, key_id: str, org_id: str) -> tuple[str, bytes]:
        """A new key pair: (publicKeyMultibase, the secret sealed for storage)."""

    def did(self, key: SigningKey) -> str: ...
    def sign(
        self,
        documents: Sequence[dict[str, Any]],
        key: SigningKey,
        *,
        cryptosuite: str,
        created: datetime,
        verification_method: str | None = None,
    ) -> list[dict[str, Any]]:
        """`verification_method`: the proof's method id; None for the key's did:key method.
        The documents are handed over: the caller does not change them afterwards (the
        signed ones share their parts)."""

    def sign_to_json(
        self,
        documents: Sequence[dict[str, Any]],
        key: SigningKey,
        *,
        cryptosuite: str,
        created: datetime,
        verification_method: str | None = None,
    ) -> list[str]:
        """As `sign`, each signed document as the JSON text that is stored."""


@dataclass(frozen=True, slots=True)
class ProofOutcome:
    """A document's proofs, checked: `ok` only when every proof verified. `detail` says what
    verified or why not; `step` names the step that failed (the adapter's own name, such as
    "verification_method" or "canonicalization"); `methods` are the proofs' verification
    method ids, as written."""

    ok: bool
    detail: str
    step: str | None = None
    methods: tuple[str, ...] = ()


class ProofVerifier(Protocol):
    """Checks Data Integrity proofs offline: keys come from did:key or from the controller
    documents the adapter was given; nothing is fetched."""

    def verify_proof(
        self,
        document: Mapping[str, Any],
        *,
        proof_purpose: str,
        now: datetime,
        lookup: Callable[[str], Mapping[str, Any] | None] | None = None,
    ) -> ProofOutcome:
        """Never raises for a bad document: the outcome says what failed. `lookup`: more
        controller documents by id (our own did:web DIDs, read from the database), asked
        for a controller the adapter has no document of."""
