"""status list positions counted apart from the organization row

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "status_counters",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("next_index", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("organization_id"),
    )
    op.execute(
        "INSERT INTO status_counters (organization_id, next_index) "
        "SELECT id, next_status_index FROM organizations WHERE next_status_index > 0"
    )
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("next_status_index")


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_status_index", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE organizations SET next_status_index = (SELECT next_index FROM status_counters"
        " WHERE status_counters.organization_id = organizations.id) WHERE id IN"
        " (SELECT organization_id FROM status_counters)"
    )
    op.drop_table("status_counters")
