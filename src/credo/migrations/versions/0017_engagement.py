"""Engagement counts, viewers and first events; e-mail open tracking per organization;
indexes for a credential's e-mails and ledger entries

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

from credo.adapters.db.tables import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite too): a batch would copy the organizations table, which
    # every tenant table refers to.
    op.add_column(
        "organizations",
        sa.Column("email_open_tracking", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_outbox_credential_id", "outbox", ["credential_id"])
    op.create_index("ix_ledger_entries_credential_id", "ledger_entries", ["credential_id"])
    op.create_table(
        "engagement_counts",
        sa.Column("credential_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("group_id", sa.String(length=40), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("credential_id", "day", "kind"),
    )
    op.create_index(
        "ix_engagement_counts_organization_id_day", "engagement_counts", ["organization_id", "day"]
    )
    op.create_table(
        "engagement_visitors",
        sa.Column("credential_id", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("visitor", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("group_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("credential_id", "day", "visitor"),
    )
    op.create_index(
        "ix_engagement_visitors_organization_id_day",
        "engagement_visitors",
        ["organization_id", "day"],
    )
    op.create_table(
        "engagement_day_keys",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "engagement_firsts",
        sa.Column("credential_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("credential_id", "kind"),
    )


def downgrade() -> None:
    op.drop_table("engagement_firsts")
    op.drop_table("engagement_day_keys")
    op.drop_index("ix_engagement_visitors_organization_id_day", "engagement_visitors")
    op.drop_table("engagement_visitors")
    op.drop_index("ix_engagement_counts_organization_id_day", "engagement_counts")
    op.drop_table("engagement_counts")
    op.drop_index("ix_ledger_entries_credential_id", "ledger_entries")
    op.drop_index("ix_outbox_credential_id", "outbox")
    op.execute("ALTER TABLE organizations DROP COLUMN email_open_tracking")  # SQLite 3.35+
