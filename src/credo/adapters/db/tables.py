"""The schema, as SQLAlchemy Core tables. Alembic migrations create it; every tenant-owned
table carries `organization_id` (a test checks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, answers aware UTC, on every backend alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC).replace(tzinfo=None)  # type: ignore[no-any-return]

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]


def _id(prefix_len: int = 40) -> String:
    return String(prefix_len)


organizations = Table(
    "organizations",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("sandbox", Boolean, nullable=False),
    Column("clock_now", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Verifiable credentials: the proof format.
    Column("cryptosuite", String(40), nullable=False, server_default="eddsa-rdfc-2022"),
    # Its DNS host name: its DID is then did:web:<domain> (domain.dids). One per domain.
    Column("domain", String(253), nullable=True, unique=True),
    # An invisible image in credential e-mails tells when they are opened: off unless the
    # organization turns it on (migration 0017).
    Column("email_open_tracking", Boolean, nullable=False, server_default=text("false")),
)

# The next free status list position of each organization. Apart from `organizations` so
# that taking positions (ahead of a publish, in blocks) never waits on the organization's
# lock (migration 0010).
status_counters = Table(
    "status_counters",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("next_index", Integer, nullable=False),
)

# Each organization signs with its own Ed25519 key; rotation retires the old key but keeps
# it, so that what it signed keeps verifying. The secret is sealed with the master key.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("public_key_multibase", String(64), nullable=False),
    Column("sealed_secret", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime, nullable=True),
    Index(None, "organization_id", "created_at"),
)

# Set bits of the organization's Bitstring Status Lists: a row per (purpose, index) that
# is revoked or suspended. A credential's earlier versions are revoked when it is re-signed.
status_bits = Table(
    "status_bits",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("purpose", String(12), primary_key=True),
    Column("status_index", Integer, primary_key=True),
    Column("set_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(20), nullable=False),
    Column("name", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    # Written at most once a minute per key and process (services/tenancy/key_use.py).
    Column("last_used_at", UTCDateTime, nullable=True),
    # A key limited to one department reaches only its groups and credentials (None: all).
    Column("department_id", _id(), ForeignKey("departments.id"), nullable=True),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("plan", String(20), nullable=False),
    Column("anchor", Date, nullable=False),
    Column("allowance", Integer, nullable=False),
    Column("allowance_from", Integer, nullable=False),
    Column("next_plan", String(20), nullable=True),
    Column("next_allowance", Integer, nullable=True),
    Column("next_allowance_from", Integer, nullable=True),
    Column("ends_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Parts of an organization (faculties, academies) that own groups and may cap the seats
# their groups take per billing year (credits.md R16..R21).
departments = Table(
    "departments",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("credit_cap", Integer, nullable=True),  # None: no cap
    Column("created_at", UTCDateTime, nullable=False),
    # Deleted departments are kept: the ledger lines charged to them still name them.
    Column("deleted_at", UTCDateTime, nullable=True),
    Index(
        "uq_departments_name",
        "organization_id",
        "name",
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
)

# Seats each department's groups took per billing year (R17), kept with the ledger rows
# that name the department and audited against them (R21).
department_usage = Table(
    "department_usage",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("department_id", _id(), ForeignKey("departments.id"), primary_key=True),
    Column("billing_year", Integer, primary_key=True),
    Column("used", Integer, nullable=False),
)

# Every change of a department's cap (R18): who, when, from what to what. Append-only.
department_cap_changes = Table(
    "department_cap_changes",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("department_id", _id(), ForeignKey("departments.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("old_cap", Integer, nullable=True),
    Column("new_cap", Integer, nullable=True),
    Index(None, "department_id", "id"),
)

groups = Table(
    "groups",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=True),
    Column("expires_after_months", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("criteria", Text, nullable=True),
    Column("image_url", String(2000), nullable=True),
    # The certificate and badge design (domain.designs.Design as JSON); None is the default.
    Column("design", Text, nullable=True),
    # Archived groups issue nothing new; their credentials stay (migration 0007).
    Column("archived_at", UTCDateTime, nullable=True),
    # services.group_settings.DuplicatePolicy: allow, warn or refuse.
    Column("duplicate_policy", String(12), nullable=False, server_default=text("'allow'")),
    # The department whose credit cap its new seats count against (R16..R21), if any.
    Column("department_id", _id(), ForeignKey("departments.id"), nullable=True),
    Index(None, "organization_id", "id"),
)

credentials = Table(
    "credentials",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("group_id", _id(), ForeignKey("groups.id"), nullable=False),
    Column("recipient_name", String(200), nullable=False),
    Column("recipient_email", String(320), nullable=False),
    Column("recipient_key", String(320), nullable=False),
    Column("status", String(12), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("expires_on", Date, nullable=True),
    Column("seat_year", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    # The signed Open Badges document of the current version (published credentials only).
    Column("salt", String(32), nullable=True),
    Column("status_index", Integer, nullable=True),
    Column("signed_document", Text, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("revocation_reason", String(500), nullable=True),
    Column("suspended_at", UTCDateTime, nullable=True),
    # The `id` a VC API caller gave its credential (POST /credentials/status finds it by it).
    Column("document_id", String(500), nullable=True),
    # The recipient hid its public page (the signed file still verifies).
    Column("hidden", Boolean, nullable=False, server_default=text("false")),
    # The expiry date its recipient was reminded of (services/reminders.py): one reminder
    # per expiry date, so a renewal that moves the date earns a new one.
    Column("reminded_expiry", Date, nullable=True),
    Index(None, "organization_id", "id"),
    Index(None, "organization_id", "recipient_key", "seat_year"),
    Index(None, "organization_id", "document_id"),
    Index(None, "organization_id", "group_id", "id"),
    Index(None, "recipient_key"),  # a recipient's wallet, across organizations (0018)
    # Migration 0011 adds the prefix-search indexes on (organization_id, lower(recipient_name))
    # and (organization_id, recipient_key) in code point order; their DDL differs by dialect.
)

# Each group's live (not deleted) credentials, drafts included: changed in the transaction
# that adds or deletes one (adapters/db/credentials.py), so the groups page reads a row per
# group instead of counting; `credo audit` recounts it (migration 0012).
group_counts = Table(
    "group_counts",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("group_id", _id(), ForeignKey("groups.id"), primary_key=True),
    Column("credentials", Integer, nullable=False),
)

# A seat row is opened by exactly one ledger charge and released when its last live
# credential leaves it (R5, R7). The partial unique index is what makes a seat impossible to
# take twice at once, whatever the application code does.
seats = Table(
    "seats",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("billing_year", Integer, nullable=False),
    Column("recipient_key", String(320), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("released_at", UTCDateTime, nullable=True),
    # Every seat of an organization, released ones too (the audit reads them all).
    Index(None, "organization_id", "billing_year", "recipient_key"),
    Index(
        "uq_seats_open",
        "organization_id",
        "billing_year",
        "recipient_key",
        unique=True,
        sqlite_where=text("released_at IS NULL"),
        postgresql_where=text("released_at IS NULL"),
    ),
)

# Append-only: rows are inserted, never updated or deleted (R14).
ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("billing_year", Integer, nullable=False),
    Column("delta", Integer, nullable=False),
    Column("reason", String(20), nullable=False),
    Column("recipient_key", String(320), nullable=False),
    Column("credential_id", _id(), nullable=False),
    Column("seat_id", _id(), ForeignKey("seats.id"), nullable=False, unique=True),
    # The department the seat is charged to (R16); None outside every department.
    Column("department_id", _id(), nullable=True),
    Index(None, "organization_id", "billing_year", "id"),
    Index(None, "credential_id"),  # a credential's page lists its entries (migration 0017)
)

# The running count of credits used per billing year, kept in the same transaction as the
# ledger rows and audited against them.
credit_usage = Table(
    "credit_usage",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("billing_year", Integer, primary_key=True),
    Column("used", Integer, nullable=False),
    # Seats of the year released since (R7): seats held now = used - released, read without
    # counting them.
    Column("released", Integer, nullable=False, server_default="0"),
)

# Charges per UTC day of each billing year, kept with the counter above: the credits page
# draws a year's months from at most 366 rows instead of counting its ledger.
charge_days = Table(
    "charge_days",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("billing_year", Integer, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("charges", Integer, nullable=False),
)

# Stored first answers for Idempotency-Key retries (R13). The operator's scope is
# organization_id = "_operator".
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("organization_id", _id(), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)


# E-mails to send, written in the same transaction as what they announce, so that a
# publish and its notification are committed (or rolled back) together. Workers claim due
# rows with a lease, send them, then mark them sent; a failed send is retried with backoff.
outbox = Table(
    "outbox",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("to_address", String(320), nullable=False),
    Column("credential_id", _id(), nullable=True),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("leased_until", UTCDateTime, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    Column("failed_at", UTCDateTime, nullable=True),
    Column("last_error", String(500), nullable=True),
    # domain.jobs.Lane: account e-mails first, then credential e-mails, then reminders.
    Column("priority", Integer, nullable=False, server_default="1"),
    Index(None, "organization_id", "id"),
    Index(None, "credential_id"),  # a credential's page lists its e-mails (migration 0017)
    # Workers claim pending rows by lane, and across organizations in turn (adapters/db/outbox).
    Index(
        "ix_outbox_pending_lane",
        "priority",
        "next_attempt_at",
        sqlite_where=text("sent_at IS NULL AND failed_at IS NULL"),
        postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
    ),
    Index(
        "ix_outbox_pending_org",
        "organization_id",
        "priority",
        "next_attempt_at",
        sqlite_where=text("sent_at IS NULL AND failed_at IS NULL"),
        postgresql_where=text("sent_at IS NULL AND failed_at IS NULL"),
    ),
)

# Background work other than e-mail (spreadsheet imports, the expiry-reminder sweep,
# webhook deliveries): written in the transaction of the change that causes it, claimed by
# any `credo worker` with a lease, retried with backoff, kept when done or given up.
# `organization_id` is empty for work that belongs to no one organization (the sweep);
# `singleton` makes a job unique while it is pending (one sweep, one run of an import).
jobs = Table(
    "jobs",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=True),
    Column("kind", String(40), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("subject_id", _id(), nullable=True),
    Column("payload", Text, nullable=False, server_default="{}"),
    Column("singleton", String(120), nullable=True, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("run_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("leased_until", UTCDateTime, nullable=True),
    Column("leased_by", String(80), nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("failed_at", UTCDateTime, nullable=True),
    Column("last_error", String(500), nullable=True),
    Index(
        "ix_jobs_pending",
        "priority",
        "run_at",
        sqlite_where=text("finished_at IS NULL AND failed_at IS NULL"),
        postgresql_where=text("finished_at IS NULL AND failed_at IS NULL"),
    ),
    Index(None, "organization_id", "id"),
    Index(None, "kind", "subject_id"),
)

# What each earlier signed version of a credential said, written when a change signs it
# anew (edits and renewals; never on a first publish, so bulk publishing writes nothing
# here). The current version is the credential itself.
credential_versions = Table(
    "credential_versions",
    metadata,
    Column("credential_id", _id(), primary_key=True),
    Column("status_index", Integer, primary_key=True),  # the version's; unique per version
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("recipient_name", String(200), nullable=False),
    Column("recipient_email", String(320), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("expires_on", Date, nullable=True),
    Column("superseded_at", UTCDateTime, nullable=False),
)

# Rendered files of a credential version (PDF certificate, badge PNG and SVG), made once on
# first request and kept: `version` is the version's status index, which every re-signing
# changes, so a new version never reads an old file.
credential_artifacts = Table(
    "credential_artifacts",
    metadata,
    Column("credential_id", _id(), ForeignKey("credentials.id"), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("media_type", String(100), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# --- The issuer's dashboard: people, their memberships and sessions -----------------------

# A person who signs in. `email_key` is the case-blind address (one account per address);
# the password is an argon2id hash.
users = Table(
    "users",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("email", String(320), nullable=False),
    Column("email_key", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# A person's role in an organization: owner, issuer or viewer (domain.accounts).
memberships = Table(
    "memberships",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("user_id", _id(), ForeignKey("users.id"), primary_key=True),
    Column("role", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "user_id"),
)

# Signed-in browsers. The cookie holds a random token; only its SHA-256 is stored, so a
# read of this table signs no one in. `organization_id` is the organization being worked on.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", _id(), ForeignKey("users.id"), nullable=False),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    # Whose identity provider (or break-glass) signed it in (migration 0024).
    Column("sso_organization_id", _id(), nullable=True),
    Index(None, "user_id"),
)

# Failed sign-ins, per e-mail key and per client address, for rate limiting.
login_failures = Table(
    "login_failures",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("subject", String(400), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "subject", "at"),
)

# One-time password reset tokens (hashed), sent by e-mail through the outbox.
password_resets = Table(
    "password_resets",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", _id(), ForeignKey("users.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

# A spreadsheet upload: its rows, validated and mapped, wait here until published (in
# chunks, by a worker, with progress), so a 50,000-row file never blocks a request.
import_jobs = Table(
    "import_jobs",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("group_id", _id(), ForeignKey("groups.id"), nullable=False),
    Column("created_by", _id(), ForeignKey("users.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("filename", String(300), nullable=False),
    Column("state", String(12), nullable=False),
    Column("publish", Boolean, nullable=False),
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False, server_default="0"),
    Column("credits_charged", Integer, nullable=False, server_default="0"),
    Column("rows", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Index(None, "organization_id", "id"),
)

# Allowance alerts raised (80% and 100% of a billing year's allowance), once each.
credit_alerts = Table(
    "credit_alerts",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("billing_year", Integer, primary_key=True),
    Column("threshold", Integer, primary_key=True),
    Column("raised_at", UTCDateTime, nullable=False),
)

# Staff actions (domain/audit_log.py): append-only, triggers refuse UPDATE and DELETE
# (migration 0022). Ids sort by time, so an organization's log pages by id.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor_kind", String(20), nullable=False),
    Column("actor_id", String(40), nullable=True),
    Column("actor_label", String(320), nullable=False),
    Column("source", String(64), nullable=True),
    Column("action", String(60), nullable=False),
    Column("target_type", String(40), nullable=False),
    Column("target_id", String(200), nullable=False),
    Column("before", Text, nullable=True),
    Column("after", Text, nullable=True),
    Index(None, "organization_id", "id"),
    Index(None, "organization_id", "target_id", "id"),
)

# Department cap alerts raised (80% and 100% of a cap), once per department, billing year
# and threshold (services.credit_alerts).
department_alerts = Table(
    "department_alerts",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("department_id", _id(), ForeignKey("departments.id"), primary_key=True),
    Column("billing_year", Integer, primary_key=True),
    Column("threshold", Integer, primary_key=True),
    Column("raised_at", UTCDateTime, nullable=False),
)

# Webhook endpoints. The signing secret is sealed under the master key (adapters/keystore)
# like signing keys; after a rotation the previous one signs too until it expires.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("description", String(500), nullable=True),
    Column("events", Text, nullable=False),  # a JSON list of event types
    Column("secret", LargeBinary, nullable=False),
    Column("previous_secret", LargeBinary, nullable=True),
    Column("previous_secret_expires_at", UTCDateTime, nullable=True),
    Column("secret_rotated_at", UTCDateTime, nullable=True),
    Column("failing_since", UTCDateTime, nullable=True),
    Column("disabled_at", UTCDateTime, nullable=True),
    Column("disabled_reason", String(200), nullable=True),
    # `credential.expired`: expiry dates before this day have been told of (the sweep's mark).
    Column("expired_through", Date, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "organization_id", "id"),
)

# One event for one endpoint, written in the transaction of the change it tells of, sent
# by the workers (claimed with a lease), tried again on a schedule (domain.webhooks).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("webhook_id", _id(), ForeignKey("webhooks.id"), nullable=False),
    Column("event_type", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("state", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("leased_until", UTCDateTime, nullable=True),
    Column("leased_by", String(80), nullable=True),
    Column("last_attempt_at", UTCDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_duration_ms", Integer, nullable=True),
    Column("last_response", Text, nullable=True),
    Column("last_error", String(500), nullable=True),
    Index(
        "ix_webhook_deliveries_pending",
        "next_attempt_at",
        sqlite_where=text("state = 'pending'"),
        postgresql_where=text("state = 'pending'"),
    ),
    Index(None, "webhook_id", "id"),
    Index(None, "organization_id", "id"),
)

# Every try of a delivery: the log a delivery's page shows.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("delivery_id", _id(), ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Column("response", Text, nullable=True),
    Column("error", String(500), nullable=True),
    Index(None, "delivery_id", "id"),
)

# Positive integer ids for objects shown through the Accredible-compatible API (its clients
# store them in integer columns), handed out on first sight: `object_id` is Credo's own id.
external_ids = Table(
    "external_ids",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("object_id", _id(), nullable=False, unique=True),
    Index(None, "organization_id", "kind", "id"),
)

# What a credential carries beyond Credo's own fields, given through the compatible API and
# shown on its page: the issuer's own id for it, custom attributes, a grade, metadata.
credential_details = Table(
    "credential_details",
    metadata,
    Column("credential_id", _id(), ForeignKey("credentials.id"), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("license_id", String(200), nullable=True),
    Column("course_link", String(2000), nullable=True),
    Column("custom_attributes", Text, nullable=True),  # a JSON object
    Column("grade", String(200), nullable=True),
    Column("meta_data", Text, nullable=True),  # a JSON object
    Column("complete", Boolean, nullable=True),
    Index(None, "organization_id", "license_id"),
)

# Evidence of a credential (a grade, a course's dates, a link, a transcript), in the order
# of `position`; hidden ones are kept and not shown on the public page.
evidence_items = Table(
    "evidence_items",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("credential_id", _id(), ForeignKey("credentials.id"), nullable=False),
    Column("description", Text, nullable=False),
    Column("category", String(40), nullable=False),
    Column("url", String(2000), nullable=True),
    Column("string_object", Text, nullable=True),
    Column("hidden", Boolean, nullable=False, server_default=text("false")),
    Column("position", Integer, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "credential_id", "id"),
)

# What a group carries beyond Credo's own fields, for the compatible API: its internal name
# (Credo's group name is the course's name on the credential), link and metadata.
group_details = Table(
    "group_details",
    metadata,
    Column("group_id", _id(), ForeignKey("groups.id"), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("internal_name", String(200), nullable=True),
    Column("course_link", String(2000), nullable=True),
    Column("meta_data", Text, nullable=True),
    Column("language", String(10), nullable=True),
    Index(None, "organization_id", "internal_name"),
)

# The custom attribute names an organization's credentials use (Accredible's attribute keys).
attribute_keys = Table(
    "attribute_keys",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Engagement (domain.engagement), counted per credential, day and kind. Recording adds to
# these in batches (services/engagement/recording.py): `n` only grows.
engagement_counts = Table(
    "engagement_counts",
    metadata,
    Column("credential_id", _id(), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("group_id", _id(), nullable=False),
    Column("n", Integer, nullable=False),
    Index(None, "organization_id", "day"),
)

# One row per viewer, credential and day: a viewer is a keyed hash whose key lasts a day.
engagement_visitors = Table(
    "engagement_visitors",
    metadata,
    Column("credential_id", _id(), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("visitor", String(32), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("group_id", _id(), nullable=False),
    Index(None, "organization_id", "day"),
)

# Today's key for naming viewers, shared by every process; earlier days' keys are deleted.
engagement_day_keys = Table(
    "engagement_day_keys",
    metadata,
    Column("day", Date, primary_key=True),
    Column("key", LargeBinary, nullable=False),
)

# The first view and first "Add to LinkedIn" of each credential, told once by webhook.
engagement_firsts = Table(
    "engagement_firsts",
    metadata,
    Column("credential_id", _id(), primary_key=True),
    Column("kind", String(20), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

# The recipient's wallet (services/recipients/wallet.py): recipients have no account; an
# e-mailed single-use link (kept hashed) opens a session on their address, across
# organizations.
wallet_links = Table(
    "wallet_links",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("recipient_key", String(320), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

wallet_sessions = Table(
    "wallet_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("recipient_key", String(320), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

# A recipient's public profile, when they turn it on: the credentials they chose, at /p/slug.
wallet_profiles = Table(
    "wallet_profiles",
    metadata,
    Column("recipient_key", String(320), primary_key=True),
    Column("slug", String(40), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("public", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

wallet_profile_items = Table(
    "wallet_profile_items",
    metadata,
    Column("recipient_key", String(320), primary_key=True),
    Column("credential_id", _id(), primary_key=True),
)

# Credential offers to wallet apps (OpenID for Verifiable Credential Issuance): the offer's
# address, its pre-authorized code and the access token it becomes are kept hashed; each is
# spent once. `holder` is the DID the wallet proved it holds, once the credential went out.
wallet_offers = Table(
    "wallet_offers",
    metadata,
    Column("id", _id(), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("credential_id", _id(), nullable=False),
    Column("handle_hash", String(64), nullable=False),
    Column("code_hash", String(64), nullable=False),
    Column("created_by", String(60), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("redeemed_at", UTCDateTime, nullable=True),
    Column("token_hash", String(64), nullable=True),
    Column("token_expires_at", UTCDateTime, nullable=True),
    Column("issued_at", UTCDateTime, nullable=True),
    Column("holder", String(2000), nullable=True),
    UniqueConstraint("handle_hash", name="uq_wallet_offers_handle"),
    UniqueConstraint("code_hash", name="uq_wallet_offers_code"),
    UniqueConstraint("token_hash", name="uq_wallet_offers_token"),
    Index("ix_wallet_offers_credential", "credential_id"),
)

# Single sign-on for staff (domain/sso.py), one row per organization that set it up. The
# OpenID Connect client secret is sealed under the master key (adapters/keystore) like
# signing keys, bound to the organization.
sso_settings = Table(
    "sso_settings",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("protocol", String(8), nullable=True),  # oidc, saml; None: off
    Column("oidc_issuer", String(500), nullable=True),
    Column("oidc_client_id", String(300), nullable=True),
    Column("oidc_client_secret", LargeBinary, nullable=True),
    Column("saml_idp_entity_id", String(500), nullable=True),
    Column("saml_idp_metadata", Text, nullable=True),
    Column("default_role", String(12), nullable=False),
    Column("required", Boolean, nullable=False),
    Column("allow_unsolicited", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# E-mail domains an organization's identity provider may sign in, each proven by a DNS TXT
# record. A verified domain belongs to one organization only (sign-in finds it by domain).
sso_domains = Table(
    "sso_domains",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("domain", String(253), primary_key=True),
    Column("token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("verified_at", UTCDateTime, nullable=True),
    Index(
        "uq_sso_domains_verified",
        "domain",
        unique=True,
        sqlite_where=text("verified_at IS NOT NULL"),
        postgresql_where=text("verified_at IS NOT NULL"),
    ),
)

# Sign-ins sent to an identity provider and not yet back: the `state` (OIDC) or RelayState
# (SAML) is kept hashed, with the OIDC nonce and PKCE verifier or the SAML request's id.
# Each is spent once (`used_at`), so a callback replayed in any process is refused.
sso_requests = Table(
    "sso_requests",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("organization_id", _id(), ForeignKey("organizations.id"), nullable=False),
    Column("protocol", String(8), nullable=False),
    Column("nonce", String(100), nullable=True),
    Column("code_verifier", String(200), nullable=True),
    Column("request_id", String(200), nullable=True),
    Column("next_path", String(2000), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
)

# Authorization codes (hashed) and SAML assertion ids already accepted, until they could no
# longer be accepted anyway: a second use is refused whichever process sees it.
sso_seen = Table(
    "sso_seen",
    metadata,
    Column("organization_id", _id(), ForeignKey("organizations.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),  # code, assertion
    Column("value", String(200), primary_key=True),
    Column("expires_at", UTCDateTime, nullable=False),
)
