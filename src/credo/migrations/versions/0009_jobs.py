"""background jobs: one table for work other than e-mail, and lanes for the outbox

Revision ID: 0009
Revises: 0008
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from credo.adapters.db.tables import UTCDateTime
from credo.ids import new_id

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_PENDING_MAIL = sa.text("sent_at IS NULL AND failed_at IS NULL")
_PENDING_JOB = sa.text("finished_at IS NULL AND failed_at IS NULL")
# As domain.jobs.mail_lane said when this was written: the lanes of existing rows.
_ACCOUNT_KINDS = ("password.reset", "account.invite", "credits.alert")


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("priority", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )
        batch_op.drop_index("ix_outbox_sent_at_failed_at_next_attempt_at")
    outbox = sa.table("outbox", sa.column("kind", sa.String), sa.column("priority", sa.Integer))
    op.execute(outbox.update().where(outbox.c.kind.in_(_ACCOUNT_KINDS)).values(priority=0))
    op.execute(outbox.update().where(outbox.c.kind == "credential.expiring").values(priority=2))
    op.create_index(
        "ix_outbox_pending_lane",
        "outbox",
        ["priority", "next_attempt_at"],
        sqlite_where=_PENDING_MAIL,
        postgresql_where=_PENDING_MAIL,
    )
    op.create_index(
        "ix_outbox_pending_org",
        "outbox",
        ["organization_id", "priority", "next_attempt_at"],
        sqlite_where=_PENDING_MAIL,
        postgresql_where=_PENDING_MAIL,
    )
    jobs = op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(length=40), nullable=True),
        sa.Column("payload", sa.Text(), server_default=sa.text("'{}'"), nullable=False),
        sa.Column("singleton", sa.String(length=120), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("run_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("leased_until", UTCDateTime(), nullable=True),
        sa.Column("leased_by", sa.String(length=80), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("failed_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_jobs_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("singleton", name=op.f("uq_jobs_singleton")),
    )
    op.create_index(
        "ix_jobs_pending",
        "jobs",
        ["priority", "run_at"],
        sqlite_where=_PENDING_JOB,
        postgresql_where=_PENDING_JOB,
    )
    op.create_index("ix_jobs_organization_id_id", "jobs", ["organization_id", "id"])
    op.create_index("ix_jobs_kind_subject_id", "jobs", ["kind", "subject_id"])
    # Imports left running by an API process (which used to run them on a thread) go on as
    # jobs: the next worker picks them up where their last committed chunk ended.
    imports = sa.table(
        "import_jobs",
        sa.column("id", sa.String),
        sa.column("organization_id", sa.String),
        sa.column("state", sa.String),
    )
    now = datetime.now(UTC)
    running = op.get_bind().execute(
        sa.select(imports.c.id, imports.c.organization_id).where(imports.c.state == "running")
    )
    rows = [
        {
            "id": new_id("job", now),
            "organization_id": org_id,
            "kind": "import",
            "priority": 1,
            "subject_id": import_id,
            "payload": "{}",
            "singleton": f"import:{import_id}",
            "created_at": now,
            "run_at": now,
            "attempts": 0,
        }
        for import_id, org_id in running
    ]
    if rows:
        op.bulk_insert(jobs, rows)


def downgrade() -> None:
    op.drop_index("ix_jobs_kind_subject_id", table_name="jobs")
    op.drop_index("ix_jobs_organization_id_id", table_name="jobs")
    op.drop_index("ix_jobs_pending", table_name="jobs")
    op.drop_table("jobs")
    op.drop_index("ix_outbox_pending_org", table_name="outbox")
    op.drop_index("ix_outbox_pending_lane", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_sent_at_failed_at_next_attempt_at",
            ["sent_at", "failed_at", "next_attempt_at"],
        )
        batch_op.drop_column("priority")
