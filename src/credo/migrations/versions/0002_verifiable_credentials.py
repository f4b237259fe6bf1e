"""verifiable credentials

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from credo.adapters.db.tables import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "signing_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("public_key_multibase", sa.String(length=64), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("retired_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_signing_keys_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
    )
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signing_keys_organization_id_created_at"),
            ["organization_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "status_bits",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=12), nullable=False),
        sa.Column("status_index", sa.Integer(), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_status_bits_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "purpose", "status_index", name=op.f("pk_status_bits")
        ),
    )
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("salt", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("status_index", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("signed_document", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("revocation_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("suspended_at", UTCDateTime(), nullable=True))

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("criteria", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("image_url", sa.String(length=2000), nullable=True))

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "cryptosuite",
                sa.String(length=40),
                server_default="eddsa-rdfc-2022",
                nullable=False,
            )
        )
        batch_op.add_column(
            sa.Column("next_status_index", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:

    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("next_status_index")
        batch_op.drop_column("cryptosuite")

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("image_url")
        batch_op.drop_column("criteria")

    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_column("suspended_at")
        batch_op.drop_column("revocation_reason")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("signed_document")
        batch_op.drop_column("status_index")
        batch_op.drop_column("salt")

    op.drop_table("status_bits")
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_keys_organization_id_created_at"))

    op.drop_table("signing_keys")
