"""The ports: what the services need from the outside world, as Protocols; the adapters
implement them (adapters/db for storage). Each sub-domain names its own in its `ports`
module; here are the unit of work that gathers the storage ones, idempotency and jobs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from credo.domain.entities import (
    Job,
    QueueStats,
    StoredReply,
)
from credo.services.accredible.ports import Accredible
from credo.services.audit_ports import AuditLog
from credo.services.billing.ports import (
    Audit,
    Charges,
    CreditAlerts,
    CreditReports,
    Departments,
    Ledger,
    Seats,
    Subscriptions,
    Usage,
)
from credo.services.credentials.ports import (
    Credentials,
    CredentialSearch,
    Groups,
    Publishing,
    SigningKeys,
    StatusBits,
)
from credo.services.engagement.ports import Engagement
from credo.services.importing.ports import Imports
from credo.services.mail.ports import Outbox
from credo.services.people.ports import Accounts
from credo.services.people.sso_ports import SsoStore
from credo.services.recipients.ports import Reminders
from credo.services.recipients.wallet_offer_ports import WalletOffers
from credo.services.recipients.wallet_ports import Wallet
from credo.services.rendering.ports import Artifacts
from credo.services.tenancy.ports import ApiKeys, Organizations
from credo.services.webhooks.ports import Webhooks


class DuplicateRequest(Exception):
    """An Idempotency-Key was stored by a concurrent twin request first."""


class ConnectionLost(Exception):
    """The database connection of a unit of work was found dead before its commit was sent
    (a restarted server, a dropped idle connection): nothing of it was committed, so the
    whole unit of work may run again on a fresh connection."""


class IdempotencyKeys(Protocol):
    def get(self, scope: str, key: str) -> StoredReply | None: ...
    def get_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredReply]:
        """The stored replies of those (scope, key) pairs that have one."""

    def add(self, scope: str, key: str, reply: StoredReply, at: datetime) -> None: ...
    def add_many(self, replies: Sequence[tuple[str, str, StoredReply]], at: datetime) -> None:
        """Store (scope, key, reply) each; DuplicateRequest if a twin stored one first."""


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
    def charges(self) -> Charges: ...
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
    def audit(self) -> Audit: ...
    @property
    def credit_alerts(self) -> CreditAlerts: ...
    @property
    def imports(self) -> Imports: ...
    @property
    def credential_search(self) -> CredentialSearch: ...
    @property
    def publishing(self) -> Publishing: ...
    @property
    def webhooks(self) -> Webhooks: ...
    @property
    def accredible(self) -> Accredible: ...
    @property
    def engagement(self) -> Engagement: ...
    @property
    def wallet(self) -> Wallet: ...
    @property
    def wallet_offers(self) -> WalletOffers: ...
    @property
    def departments(self) -> Departments: ...
    @property
    def audit_log(self) -> AuditLog: ...
    @property
    def sso(self) -> SsoStore: ...

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> None: ...
    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = True) -> UnitOfWork: ...
