"""credential document ids (VC API status updates)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_id", sa.String(length=500), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_credentials_organization_id_document_id"),
            ["organization_id", "document_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credentials_organization_id_document_id"))
        batch_op.drop_column("document_id")
