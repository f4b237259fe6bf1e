"""The records services and adapters exchange: organizations, credentials, seats, ledger
lines, e-mails, jobs, what a certificate or a badge shows, a spreadsheet import. Values,
with no behaviour of I/O, so that adapters and services share them without importing each
other."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date, datetime

from credo.domain import designs
from credo.domain.credentials import CredentialState, Status


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str
    sandbox: bool
    clock_now: datetime | None
    created_at: datetime
    cryptosuite: str = "eddsa-rdfc-2022"
    domain: str | None = None  # its did:web host name (domain.dids)
    email_open_tracking: bool = False  # credential e-mails carry an open-counting pixel


@dataclass(frozen=True, slots=True)
class SigningKey:
    id: str
    organization_id: str
    public_key_multibase: str
    sealed_secret: bytes
    created_at: datetime
    retired_at: datetime | None


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    organization_id: str
    name: str
    description: str | None
    expires_after_months: int | None
    created_at: datetime
    criteria: str | None = None
    image_url: str | None = None
    design: str | None = None  # domain.designs.Design as JSON; None is the default design
    archived_at: datetime | None = None  # archived groups issue nothing new
    duplicate_policy: str = "allow"  # services.group_settings.DuplicatePolicy
    department_id: str | None = None  # whose credit cap its new seats count against (R17)


@dataclass(frozen=True, slots=True)
class Department:
    """A part of an organization that owns groups; `credit_cap` seats a year at most (R17)."""

    id: str
    organization_id: str
    name: str
    credit_cap: int | None
    created_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Credential:
    id: str
    organization_id: str
    group_id: str
    recipient_name: str
    recipient_email: str
    recipient_key: str
    status: Status
    issued_on: date
    expires_on: date | None
    seat_year: int | None
    created_at: datetime
    updated_at: datetime
    salt: str | None = None
    status_index: int | None = None
    revoked_at: datetime | None = None
    revocation_reason: str | None = None
    suspended_at: datetime | None = None
    # The `id` of a VC API credential as its caller gave it (None for Credo's own documents).
    document_id: str | None = None
    hidden: bool = False  # the recipient hid its public page
    # The signed document of a new version, carried only on writes (reads leave it out).
    document: str | None = None

    @property
    def state(self) -> CredentialState:
        return CredentialState(
            self.status, self.recipient_key, self.issued_on, self.expires_on, self.seat_year
        )


@dataclass(frozen=True, slots=True)
class Seat:
    id: str
    organization_id: str
    billing_year: int
    recipient_key: str
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    id: int | None
    organization_id: str
    at: datetime
    billing_year: int
    delta: int
    reason: str
    recipient_key: str
    credential_id: str
    seat_id: str
    department_id: str | None = None  # the department the seat is charged to (R16)


@dataclass(frozen=True, slots=True)
class StoredReply:
    fingerprint: str
    status_code: int
    body: str


@dataclass(frozen=True, slots=True)
class CredentialFilter:
    group_id: str | None = None
    recipient_key: str | None = None
    status: Status | None = None
    department_id: str | None = None  # of its group


# The dashboard's credential counts stop here: a count that reaches it means "at least".
# A search stops sooner: its matches are read one by one, and past a thousand the person
# searching narrows the search rather than pages through it.
COUNT_LIMIT = 10_000
SEARCH_COUNT_LIMIT = 1_000


@dataclass(frozen=True, slots=True)
class CredentialQuery:
    """The dashboard's credentials list: a search over names and e-mails, filters, a page.
    `state`: draft, published (not revoked) or revoked. `expiring`: (from, to) inclusive,
    published and not revoked credentials whose expiry falls in it."""

    text: str | None = None
    group_id: str | None = None
    state: str | None = None
    expiring: tuple[date, date] | None = None
    offset: int = 0
    limit: int = 50

    @property
    def count_limit(self) -> int:
        return SEARCH_COUNT_LIMIT if self.text else COUNT_LIMIT


@dataclass(frozen=True, slots=True)
class GroupSummary:
    group: Group
    credentials: int  # not deleted, drafts included


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """An e-mail to send: `kind` names its template, `payload` (JSON) what fills it."""

    id: str
    organization_id: str
    kind: str
    to_address: str
    credential_id: str | None
    payload: str
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0  # sends started, counted when a worker claims the row
    leased_until: datetime | None = None  # a claiming worker's lease, while it holds one
    priority: int | None = None  # domain.jobs.Lane; None: by kind (domain.jobs.mail_lane)


@dataclass(frozen=True, slots=True)
class FormerVersion:
    """What an earlier signed version of a credential said, and when a change replaced it
    (its copies stopped verifying then)."""

    status_index: int
    recipient_name: str
    recipient_email: str
    issued_on: date
    expires_on: date | None
    superseded_at: datetime


@dataclass(frozen=True, slots=True)
class SentMail:
    """An outbox row as its credential's page shows it: what, to whom, and how it went."""

    id: str
    kind: str
    to_address: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Job:
    """A unit of background work other than an e-mail (services/jobs.py): `kind` names its
    handler, `subject_id` and `payload` (JSON) what it works on."""

    id: str
    organization_id: str | None
    kind: str
    priority: int
    subject_id: str | None
    payload: str
    created_at: datetime
    run_at: datetime
    attempts: int = 0  # tries started, counted when a worker claims the job
    singleton: str | None = None


@dataclass(frozen=True, slots=True)
class QueueStats:
    """What waits in one queue (an e-mail lane or a job kind), for operators."""

    queue: str
    pending: int
    due: int
    oldest_due_at: datetime | None
    running: int
    failed: int


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An organization's API key as the dashboard lists it: never the key itself."""

    id: str
    organization_id: str
    name: str
    prefix: str  # its first characters, so people can tell their keys apart
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None  # to the minute: see services/tenancy/key_use.py
    department_id: str | None = None  # the one department it is limited to (None: all)


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    name: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Membership:
    organization_id: str
    user_id: str
    role: str  # domain.accounts.Role
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WebSession:
    token_hash: str
    user_id: str
    organization_id: str | None
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    # The organization whose identity provider (or break-glass) signed it in: of those that
    # require single sign-on, the only one it may work in.
    sso_organization_id: str | None = None


@dataclass(frozen=True, slots=True)
class ExpiringCredential:
    id: str
    group_id: str
    recipient_name: str
    recipient_email: str
    issued_on: date
    expires_on: date


# --- what is drawn ------------------------------------------------------------------------

# Bump when a template changes what it draws: cached files of the old look are left behind.
CERTIFICATE_REVISION = "1"
# Bump when a badge template or the painter changes what it draws.
BADGE_REVISION = "1"


@dataclass(frozen=True, slots=True)
class CertificateContent:
    """Everything a certificate shows: the named fields of every look."""

    recipient_name: str
    achievement_name: str
    achievement_description: str
    issuer_name: str
    issued_on: str
    expires_on: str | None
    credential_id: str
    verify_url: str
    design: designs.Design
    paper: str
    orientation: str
    sample: bool = False  # a preview: marked as such across the page

    def fingerprint(self) -> str:
        raw = json.dumps(
            [CERTIFICATE_REVISION, asdict(self)], sort_keys=True, separators=(",", ":")
        ).encode()
        return hashlib.sha256(raw).hexdigest()


@dataclass(frozen=True, slots=True)
class BadgeContent:
    achievement_name: str
    issuer_name: str
    design: designs.Design
    document: str  # the signed credential, baked into the image as it is

    def fingerprint(self) -> str:
        raw = json.dumps([BADGE_REVISION, asdict(self)], sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()


# --- spreadsheet imports --------------------------------------------------------------------

UPLOADED, INVALID, READY, RUNNING, DONE, FAILED = (
    "uploaded",
    "invalid",
    "ready",
    "running",
    "done",
    "failed",
)


@dataclass(frozen=True, slots=True)
class ImportJob:
    id: str
    organization_id: str
    group_id: str
    created_by: str | None
    created_at: datetime
    filename: str
    state: str
    publish: bool
    total: int  # data rows of the upload; after validation, the rows to issue
    done: int
    credits_charged: int
    error: str | None
    finished_at: datetime | None

    @property
    def percent(self) -> int:
        return 100 if not self.total else min(100, self.done * 100 // self.total)
