"""group settings: archiving and the duplicate policy

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from credo.adapters.db.tables import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archived_at", UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "duplicate_policy",
                sa.String(length=12),
                server_default=sa.text("'allow'"),
                nullable=False,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("duplicate_policy")
        batch_op.drop_column("archived_at")
