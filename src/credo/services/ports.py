"""The ports: what the services need from the outside world, as Protocols. The adapters
implement them (adapters/db for storage)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Protocol

from credo.domain.billing import Subscription
from credo.services.records import (
    ApiKey,
    Credential,
    CredentialFilter,
    CredentialQuery,
    ExpiringCredential,
    Group,
    GroupSummary,
    Job,
    LedgerEntry,
    Membership,
    Organization,
    OutboxMessage,
    QueueStats,
    Seat,
    SigningKey,
    StoredReply,
    User,
    WebSession,
)

if TYPE_CHECKING:
    from credo.services.certificates import CertificateContent
    from credo.services.imports import ImportJob


class DuplicateRequest(Exception):
    """An Idempotency-Key was stored by a concurrent twin request first."""


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
    def id_by_name(self, name: str) -> str | None: ...
    def id_by_domain(self, domain: str) -> str | None: ...
    def set_domain(self, org_id: str, domain: str | None) -> None: ...


class ApiKeys(Protocol):
    def add(self, key_id: str, org_id: str, key_hash: str, prefix: str, at: datetime) -> None: ...
    def organization_for(self, key_hash: str) -> str | None: ...
    def all(self, org_id: str) -> list[ApiKey]: ...
    def revoke(self, org_id: str, key_id: str, at: datetime) -> bool:
        """False if the organization has no such key, or it was revoked already."""
        ...


class Subscriptions(Protocol):
    def get(self, org_id: str) -> Subscription | None: ...
    def save(self, org_id: str, sub: Subscription, at: datetime) -> None: ...


class Groups(Protocol):
    def add(self, group: Group) -> None: ...
    def get(self, org_id: str, group_id: str) -> Group | None: ...
    def page(self, org_id: str, after: str | None, limit: int) -> list[Group]: ...
    def update(self, group: Group) -> None:
        """Store a changed group (name, description, criteria, expiry, design)."""


class CredentialSearch(Protocol):
    """The dashboard's read model: searching credentials, listing groups with counts."""

    def find(self, org_id: str, q: CredentialQuery) -> tuple[list[Credential], int]:
        """One page of matching live (not deleted) credentials, newest first, and how many
        match in all."""
        ...

    def groups(self, org_id: str, *, archived: bool) -> list[GroupSummary]: ...
    def live_keys_in_group(self, org_id: str, group_id: str, keys: Iterable[str]) -> set[str]:
        """Which of `keys` hold a published, not deleted credential of the group."""
        ...


class Credentials(Protocol):
    def add_many(self, creds: Sequence[Credential]) -> None: ...
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
    def any_signed(self, org_id: str) -> bool: ...
    def published(self, cred_id: str) -> tuple[Credential, str] | None: ...
    def set_hidden(self, cred_id: str, hidden: bool) -> None: ...
    def live_published(self, cred_ids: Sequence[str]) -> set[str]: ...
    def live_seat_counts(self, org_id: str) -> dict[tuple[int, str], int]:
        """(seat year, recipient key) -> number of live published credentials."""


class Seats(Protocol):
    def open_keys(self, org_id: str, year: int, keys: Iterable[str]) -> set[str]: ...
    def open_many(self, seats: Sequence[Seat]) -> None: ...
    def release(self, org_id: str, year: int, recipient_key: str, at: datetime) -> None: ...
    def count_open(self, org_id: str, year: int) -> int: ...
    def all_seats(self, org_id: str) -> list[tuple[str, int, str, bool]]:
        """(seat id, year, recipient key, open?) for every seat ever opened."""


class Ledger(Protocol):
    def add_many(self, entries: Sequence[LedgerEntry]) -> None: ...
    def page(self, org_id: str, year: int, after: int | None, limit: int) -> list[LedgerEntry]: ...
    def all_entries(self, org_id: str) -> list[LedgerEntry]: ...


@dataclass(frozen=True, slots=True)
class LedgerQuery:
    """Which ledger entries to list; None matches any. `recipient_contains` is a piece of the
    recipient key (lower-case); `since` is inclusive, `until` exclusive."""

    year: int | None = None
    reason: str | None = None
    recipient_contains: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class CreditReports(Protocol):
    """Read-only reports over the ledger, for the credits page and its CSV export."""

    def charges_between(self, org_id: str, year: int, bounds: Sequence[datetime]) -> list[int]:
        """Charges of billing year `year` per interval: one count per gap between
        consecutive `bounds`; a charge before the first bound counts in the first interval,
        one at or after the last bound in the last."""

    def entries(
        self,
        org_id: str,
        q: LedgerQuery,
        *,
        limit: int,
        after: int | None = None,
        before: int | None = None,
        newest_first: bool = False,
    ) -> list[LedgerEntry]:
        """Matching entries with after < id < before, by id."""

    def count(self, org_id: str, q: LedgerQuery) -> int: ...
    def last_id(self, org_id: str) -> int | None: ...


class CreditAlerts(Protocol):
    """Allowance alerts raised (80% and 100%), at most once per billing year and threshold."""

    def add(self, org_id: str, year: int, threshold: int, at: datetime) -> bool:
        """Record the alert; False (and nothing changed) when it was raised before. Call
        while holding the organization lock."""

    def raised(self, org_id: str, year: int) -> list[int]: ...


class Usage(Protocol):
    def used(self, org_id: str, year: int) -> int: ...
    def add(self, org_id: str, year: int, n: int) -> None: ...
    def all_years(self, org_id: str) -> dict[int, int]: ...


class IdempotencyKeys(Protocol):
    def get(self, scope: str, key: str) -> StoredReply | None: ...
    def add(self, scope: str, key: str, reply: StoredReply, at: datetime) -> None: ...


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


class Artifacts(Protocol):
    """Rendered files of credential versions (PDF, badge images), made once and kept."""

    def get(self, cred_id: str, kind: str, version: int) -> tuple[str, bytes] | None: ...
    def put(
        self, org_id: str, cred_id: str, kind: str, version: int, media_type: str, content: bytes
    ) -> None: ...


class CertificateRenderer(Protocol):
    """Draws a certificate as a one-page PDF. Never fetches anything: every image it draws
    is in the content."""

    def render(self, content: CertificateContent) -> bytes: ...
    def warm_up(self) -> None:
        """Pay one-time costs (fonts, templates) before the first visitor waits for them."""


class Outbox(Protocol):
    """E-mails waiting to be sent. A row is never deleted: it ends sent or failed."""

    def add(self, message: OutboxMessage) -> None: ...
    def add_many(self, messages: Sequence[OutboxMessage]) -> None: ...
    def has_due(self, now: datetime) -> bool:
        """Whether a row is pending, due and not leased (a cheap read, for polling)."""

    def claim(
        self, now: datetime, until: datetime, limit: int, after_org: str = ""
    ) -> tuple[list[OutboxMessage], str]:
        """Lease up to `limit` due rows until `until` and count an attempt on each: first
        the account lane's, oldest first, then those of one organization, the next after
        `after_org` that has rows due (round robin, so that one organization's 50,000 do
        not hold back another's ten). Answers the rows and the organization served.
        Concurrent claimers never get the same row while its lease holds."""

    def release(self, message_ids: Sequence[str]) -> None:
        """Hand leased rows back unsent (a stopping worker): due again at once, the
        attempt not counted."""

    def stats(self, now: datetime) -> list[QueueStats]: ...

    def mark_sent(self, message_ids: Sequence[str], at: datetime) -> None: ...
    def retry(self, message_id: str, at: datetime, error: str) -> None:
        """Release the row's lease and make it due again at `at`."""

    def fail(self, message_id: str, at: datetime, error: str) -> None:
        """Give the row up: it is kept, with its error, and never claimed again."""


class Jobs(Protocol):
    """Background work other than e-mail. A job is never deleted: it ends finished or
    failed, with its last error."""

    def add(self, job: Job) -> bool:
        """Enqueue; False (and nothing written) when a pending job holds its singleton."""

    def has_due(self, now: datetime) -> bool:
        """Whether a job is pending, due and not leased (a cheap read, for polling)."""

    def claim(self, now: datetime, until: datetime, owner: str) -> Job | None:
        """Lease the first due job (by priority, then due time) and count an attempt."""

    def finish(self, job_id: str, at: datetime) -> None: ...
    def retry(self, job_id: str, at: datetime, error: str | None = None) -> None:
        """Release the lease; due again at `at` (the attempt stays counted)."""

    def reschedule(self, job_id: str, at: datetime) -> None:
        """Release the lease and make the job due at `at` with its attempts reset: a
        periodic job, or one more step of a long one."""

    def fail(self, job_id: str, at: datetime, error: str) -> None: ...
    def release(self, job_id: str) -> None:
        """Hand a leased job back untouched (a stopping worker): due at once, the attempt
        not counted."""

    def get(self, job_id: str) -> Job | None: ...
    def stats(self, now: datetime) -> list[QueueStats]: ...
    def failures(self, limit: int) -> list[tuple[Job, datetime, str]]:
        """The latest given-up jobs with when and why."""


class MailError(Exception):
    """A send failed. `permanent`: the server refused this message for good (5xx), so
    retrying it cannot help. `server`: the server itself is unusable (down, refusing our
    login, closing on us), so the other messages of the batch would fail alike."""

    def __init__(self, detail: str, *, permanent: bool = False, server: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.permanent = permanent
        self.server = server


class MailSession(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand one message over for delivery; raises MailError."""


class MailSender(Protocol):
    """Delivers e-mails (adapters/mail): over SMTP, or into a file mailbox."""

    def session(self) -> AbstractContextManager[MailSession]:
        """A session for a batch of messages (one SMTP connection, opened on first use)."""


class Accounts(Protocol):
    """People, memberships, browser sessions, sign-in failures and password resets."""

    def add_user(self, user: User, email_key: str) -> None: ...
    def user(self, user_id: str) -> User | None: ...
    def user_by_email_key(self, email_key: str) -> User | None: ...
    def set_password(self, user_id: str, password_hash: str) -> None: ...
    def add_membership(self, m: Membership) -> None: ...
    def membership(self, org_id: str, user_id: str) -> Membership | None: ...
    def organizations_of(self, user_id: str) -> list[tuple[str, str, str]]: ...
    def members(self, org_id: str) -> list[tuple[User, str]]: ...
    def set_role(self, org_id: str, user_id: str, role: str) -> None: ...
    def remove_membership(self, org_id: str, user_id: str) -> None: ...
    def count_owners(self, org_id: str) -> int: ...
    def add_session(self, s: WebSession) -> None: ...
    def session(self, token_hash: str) -> WebSession | None: ...
    def set_session_organization(self, token_hash: str, org_id: str) -> None: ...
    def delete_session(self, token_hash: str) -> None: ...
    def delete_sessions_of(self, user_id: str) -> None: ...
    def record_failure(self, subject: str, at: datetime) -> None: ...
    def failures_since(self, subject: str, since: datetime) -> int: ...
    def clear_failures(self, subject: str) -> None: ...
    def add_reset(self, token_hash: str, user_id: str, at: datetime, expires: datetime) -> None: ...
    def reset(self, token_hash: str) -> tuple[str, datetime, datetime | None] | None: ...
    def use_reset(self, token_hash: str, at: datetime) -> bool: ...


class Imports(Protocol):
    """Spreadsheet uploads (services/imports.py): one row per upload, its table or its
    validated rows as JSON, and its publishing progress."""

    def add(self, job: ImportJob, rows: str) -> None: ...
    def get(self, org_id: str, job_id: str) -> ImportJob | None:
        """The job without its rows (cheap: for progress polls)."""

    def rows(self, org_id: str, job_id: str) -> str | None: ...
    def save(self, job: ImportJob, rows: str | None = None) -> None:
        """Store the job's state, counters, error and finish time (and rows when given)."""

    def recent(self, org_id: str, limit: int) -> list[ImportJob]: ...


class Reminders(Protocol):
    def due(self, org_id: str, today: date, until: date) -> list[ExpiringCredential]: ...
    def mark(self, org_id: str, cred_ids: Sequence[str]) -> None: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...


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


class UnitOfWork(Protocol):
    """One database transaction. It rolls back on exit unless `commit()` was called."""

    @property
    def organizations(self) -> Organizations: ...
    @property
    def api_keys(self) -> ApiKeys: ...
    @property
    def subscriptions(self) -> Subscriptions: ...
    @property
    def groups(self) -> Groups: ...
    @property
    def credentials(self) -> Credentials: ...
    @property
    def seats(self) -> Seats: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def usage(self) -> Usage: ...
    @property
    def idempotency(self) -> IdempotencyKeys: ...
    @property
    def signing_keys(self) -> SigningKeys: ...
    @property
    def status_bits(self) -> StatusBits: ...
    @property
    def artifacts(self) -> Artifacts: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def jobs(self) -> Jobs: ...
    @property
    def accounts(self) -> Accounts: ...
    @property
    def reminders(self) -> Reminders: ...
    @property
    def credit_reports(self) -> CreditReports: ...
    @property
    def credit_alerts(self) -> CreditAlerts: ...
    @property
    def imports(self) -> Imports: ...
    @property
    def credential_search(self) -> CredentialSearch: ...

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...
    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = True) -> UnitOfWork: ...
