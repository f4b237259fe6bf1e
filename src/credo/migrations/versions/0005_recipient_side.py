"""recipient side: designs, hidden credentials, e-mail outbox, rendered files

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from credo.adapters.db.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("design", sa.Text(), nullable=True))
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.text("false"))
        )
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("credential_id", sa.String(length=40), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("leased_until", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("failed_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_outbox_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(
        op.f("ix_outbox_sent_at_failed_at_next_attempt_at"),
        "outbox",
        ["sent_at", "failed_at", "next_attempt_at"],
    )
    op.create_index(op.f("ix_outbox_organization_id_id"), "outbox", ["organization_id", "id"])
    op.create_table(
        "credential_artifacts",
        sa.Column("credential_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_credential_artifacts_credential_id_credentials"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_credential_artifacts_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint(
            "credential_id", "kind", "version", name=op.f("pk_credential_artifacts")
        ),
    )


def downgrade() -> None:
    op.drop_table("credential_artifacts")
    op.drop_index(op.f("ix_outbox_organization_id_id"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_sent_at_failed_at_next_attempt_at"), table_name="outbox")
    op.drop_table("outbox")
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_column("hidden")
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("design")
