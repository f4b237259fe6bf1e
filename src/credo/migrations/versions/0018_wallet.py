"""The recipient's wallet: sign-in links, sessions, public profiles; credentials found by
recipient across organizations

Revision ID: 0018
Revises: 0017
"""

import sqlalchemy as sa
from alembic import op

from credo.adapters.db.tables import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_credentials_recipient_key", "credentials", ["recipient_key"])
    op.create_table(
        "wallet_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("recipient_key", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "wallet_sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("recipient_key", sa.String(length=320), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "wallet_profiles",
        sa.Column("recipient_key", sa.String(length=320), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("recipient_key"),
        sa.UniqueConstraint("slug", name="uq_wallet_profiles_slug"),
    )
    op.create_table(
        "wallet_profile_items",
        sa.Column("recipient_key", sa.String(length=320), nullable=False),
        sa.Column("credential_id", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("recipient_key", "credential_id"),
    )


def downgrade() -> None:
    op.drop_table("wallet_profile_items")
    op.drop_table("wallet_profiles")
    op.drop_table("wallet_sessions")
    op.drop_table("wallet_links")
    op.drop_index("ix_credentials_recipient_key", "credentials")
