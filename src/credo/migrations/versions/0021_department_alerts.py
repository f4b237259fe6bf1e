"""Department cap alerts (80% and 100% of a cap)

Revision ID: 0021
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

from credo.adapters.db.tables import UTCDateTime

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "department_alerts",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("department_id", sa.String(length=40), nullable=False),
        sa.Column("billing_year", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_department_alerts_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name="fk_department_alerts_department_id_departments",
        ),
        sa.PrimaryKeyConstraint(
            "department_id", "billing_year", "threshold", name="pk_department_alerts"
        ),
    )


def downgrade() -> None:
    op.drop_table("department_alerts")
