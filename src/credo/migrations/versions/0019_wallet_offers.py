"""Credential offers for wallet apps (OpenID for Verifiable Credential Issuance)

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

from credo.adapters.db.tables import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wallet_offers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("credential_id", sa.String(length=40), nullable=False),
        sa.Column("handle_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("redeemed_at", UTCDateTime(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_expires_at", UTCDateTime(), nullable=True),
        sa.Column("issued_at", UTCDateTime(), nullable=True),
        sa.Column("holder", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("handle_hash", name="uq_wallet_offers_handle"),
        sa.UniqueConstraint("code_hash", name="uq_wallet_offers_code"),
        sa.UniqueConstraint("token_hash", name="uq_wallet_offers_token"),
    )
    op.create_index("ix_wallet_offers_credential", "wallet_offers", ["credential_id"])


def downgrade() -> None:
    op.drop_index("ix_wallet_offers_credential", "wallet_offers")
    op.drop_table("wallet_offers")
