"""The SQL unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from credo.adapters.db.accounts import SqlAccounts
from credo.adapters.db.accredible import SqlAccredible
from credo.adapters.db.artifacts import SqlArtifacts
from credo.adapters.db.audit import SqlAudit
from credo.adapters.db.audit_log import SqlAuditLog
from credo.adapters.db.billing import (
    SqlCharges,
    SqlLedger,
    SqlSeats,
    SqlSubscriptions,
    SqlUsage,
)
from credo.adapters.db.credential_search import SqlCredentialSearch
from credo.adapters.db.credentials import SqlCredentials, SqlGroups, SqlSigningKeys, SqlStatusBits
from credo.adapters.db.credit_reports import SqlCreditAlerts, SqlCreditReports
from credo.adapters.db.departments import SqlDepartments
from credo.adapters.db.engagement import SqlEngagement
from credo.adapters.db.engine import READ_ONLY
from credo.adapters.db.gates import OrgGates
from credo.adapters.db.idempotency import SqlIdempotencyKeys
from credo.adapters.db.imports import SqlImports
from credo.adapters.db.jobs import SqlJobs
from credo.adapters.db.outbox import SqlOutbox
from credo.adapters.db.publishing import SqlPublishing
from credo.adapters.db.reminders import SqlReminders
from credo.adapters.db.sso import SqlSso
from credo.adapters.db.tenancy import SqlApiKeys, SqlOrganizations
from credo.adapters.db.wallet import SqlWallet
from credo.adapters.db.wallet_offers import SqlWalletOffers
from credo.adapters.db.webhooks import SqlWebhooks
from credo.services.ports import ConnectionLost

# Each repository, made on first use in a transaction: most use few of them, and making
# all twenty for every transaction was a tenth of a millisecond per request.
_REPOSITORIES: dict[str, type[Any]] = {
    "organizations": SqlOrganizations,
    "api_keys": SqlApiKeys,
    "subscriptions": SqlSubscriptions,
    "groups": SqlGroups,
    "credentials": SqlCredentials,
    "seats": SqlSeats,
    "ledger": SqlLedger,
    "usage": SqlUsage,
    "charges": SqlCharges,
    "idempotency": SqlIdempotencyKeys,
    "signing_keys": SqlSigningKeys,
    "status_bits": SqlStatusBits,
    "artifacts": SqlArtifacts,
    "outbox": SqlOutbox,
    "jobs": SqlJobs,
    "accounts": SqlAccounts,
    "reminders": SqlReminders,
    "credit_reports": SqlCreditReports,
    "audit": SqlAudit,
    "credit_alerts": SqlCreditAlerts,
    "imports": SqlImports,
    "credential_search": SqlCredentialSearch,
    "publishing": SqlPublishing,
    "webhooks": SqlWebhooks,
    "accredible": SqlAccredible,
    "engagement": SqlEngagement,
    "wallet": SqlWallet,
    "wallet_offers": SqlWalletOffers,
    "departments": SqlDepartments,
    "audit_log": SqlAuditLog,
    "sso": SqlSso,
}
_KNOW_SQLITE = {"organizations", "publishing"}  # take `sqlite=` as well


class SqlUnitOfWork:
    organizations: SqlOrganizations
    api_keys: SqlApiKeys
    subscriptions: SqlSubscriptions
    groups: SqlGroups
    credentials: SqlCredentials
    seats: SqlSeats
    ledger: SqlLedger
    usage: SqlUsage
    charges: SqlCharges
    idempotency: SqlIdempotencyKeys
    signing_keys: SqlSigningKeys
    status_bits: SqlStatusBits
    artifacts: SqlArtifacts
    outbox: SqlOutbox
    jobs: SqlJobs
    accounts: SqlAccounts
    reminders: SqlReminders
    credit_reports: SqlCreditReports
    audit: SqlAudit
    credit_alerts: SqlCreditAlerts
    imports: SqlImports
    credential_search: SqlCredentialSearch
    publishing: SqlPublishing
    webhooks: SqlWebhooks
    accredible: SqlAccredible
    engagement: SqlEngagement
    wallet: SqlWallet
    wallet_offers: SqlWalletOffers
    departments: SqlDepartments
    audit_log: SqlAuditLog
    sso: SqlSso

    def __init__(
        self,
        engine: Engine,
        *,
        write: bool = True,
        queue: threading.Lock | None = None,
        gates: OrgGates | None = None,
    ) -> None:
        self._engine = engine
        self._write = write
        self._sqlite = engine.dialect.name == "sqlite"
        self._queue = queue if write else None
        self._gates = gates
        self._gated: str | None = None
        self._conn: Connection | None = None
        self._committed = False
        self._committing = False

    def __enter__(self) -> SqlUnitOfWork:
        if self._queue is not None:
            self._queue.acquire()
        try:
            conn = self._engine.connect()
            if not self._write and self._sqlite:
                conn.info[READ_ONLY] = True  # taken by the engine's begin (engine.py)
            conn.begin()
        except BaseException:
            if self._queue is not None:
                self._queue.release()
            raise
        self._conn = conn
        return self

    def __getattr__(self, name: str) -> Any:
        make = _REPOSITORIES.get(name)
        if make is None or self._conn is None:
            raise AttributeError(name)
        if name == "publishing":
            repo = make(self._conn, sqlite=self._sqlite, queue=self._queue_for)
        elif name in _KNOW_SQLITE:
            repo = make(self._conn, sqlite=self._sqlite)
        else:
            repo = make(self._conn)
        setattr(self, name, repo)
        return repo

    def __exit__(self, *exc: object) -> None:
        error = exc[1] if len(exc) > 1 else None
        assert self._conn is not None
        try:
            if not self._committed:
                self._conn.rollback()
        except DBAPIError:
            if error is None:
                raise
        finally:
            try:
                self._conn.close()
                self._conn = None
            finally:
                if self._queue is not None:
                    self._queue.release()
                if self._gated is not None and self._gates is not None:
                    self._gates.release(self._gated)
                    self._gated = None
        # SQLAlchemy invalidated the connection (and the pool's older ones) already; a
        # commit lost on the way is not retried: whether it landed is unknown.
        if isinstance(error, DBAPIError) and error.connection_invalidated and not self._committing:
            raise ConnectionLost(str(error.orig)) from error

    def _queue_for(self, org_id: str) -> None:
        """Wait for this process's turn at `org_id`'s lock, until this transaction ends."""
        if self._gates is None or self._gated is not None:
            return
        self._gates.acquire(org_id)
        self._gated = org_id

    def commit(self) -> None:
        assert self._conn is not None
        self._committing = True
        self._conn.commit()
        self._committed = True


class SqlUnitOfWorkFactory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite has one writer at a time. Threads of this process wait for it here, in
        # order, rather than in SQLite's busy handler, which sleeps in growing steps and
        # turned a queue of 16 writers into 0.8 s tail latencies.
        self._queue = threading.Lock() if engine.dialect.name == "sqlite" else None
        self.gates = None if self._queue is not None else OrgGates()

    def __call__(self, *, write: bool = True) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, write=write, queue=self._queue, gates=self.gates)
