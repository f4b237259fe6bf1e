"""each group's count of live credentials, kept in the transaction that adds or deletes
one (the groups page reads it instead of counting every credential)

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "group_counts",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("group_id", sa.String(length=40), nullable=False),
        sa.Column("credentials", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"]),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("organization_id", "group_id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Older processes still serving write credentials uncounted: none while this counts.
        # (What they write after it commits, `credo db recount` sets right.)
        op.execute("LOCK TABLE credentials IN SHARE MODE")
    op.execute(
        "INSERT INTO group_counts (organization_id, group_id, credentials)"
        " SELECT organization_id, group_id, count(*) FROM credentials"
        " WHERE deleted_at IS NULL GROUP BY organization_id, group_id"
    )


def downgrade() -> None:
    op.drop_table("group_counts")
