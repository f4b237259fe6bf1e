"""Departments with credit caps (credits.md R16..R21)

Revision ID: 0020
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

from credo.adapters.db.tables import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_cap", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_departments_organization_id_organizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_departments"),
    )
    op.create_index(
        "uq_departments_name",
        "departments",
        ["organization_id", "name"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL"),
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "department_usage",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("department_id", sa.String(length=40), nullable=False),
        sa.Column("billing_year", sa.Integer(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_department_usage_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name="fk_department_usage_department_id_departments",
        ),
        sa.PrimaryKeyConstraint("department_id", "billing_year", name="pk_department_usage"),
    )
    op.create_table(
        "department_cap_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("department_id", sa.String(length=40), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("old_cap", sa.Integer(), nullable=True),
        sa.Column("new_cap", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name="fk_department_cap_changes_organization_id_organizations",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name="fk_department_cap_changes_department_id_departments",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_department_cap_changes"),
    )
    op.create_index(
        "ix_department_cap_changes_department_id_id",
        "department_cap_changes",
        ["department_id", "id"],
    )
    # SQLite cannot add a constraint to a table others reference without copying it (and
    # the copy's DROP would break their references): the column brings its own, inline.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE groups ADD COLUMN department_id VARCHAR(40)"
            " CONSTRAINT fk_groups_department_id_departments REFERENCES departments (id)"
        )
    else:
        op.add_column("groups", sa.Column("department_id", sa.String(length=40), nullable=True))
        op.create_foreign_key(
            "fk_groups_department_id_departments",
            "groups",
            "departments",
            ["department_id"],
            ["id"],
        )
    op.add_column("ledger_entries", sa.Column("department_id", sa.String(length=40)))


def downgrade() -> None:
    with op.batch_alter_table("ledger_entries") as batch:
        batch.drop_column("department_id")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_groups_department_id_departments", "groups", type_="foreignkey")
    with op.batch_alter_table("groups") as batch:
        batch.drop_column("department_id")
    op.drop_index("ix_department_cap_changes_department_id_id", "department_cap_changes")
    op.drop_table("department_cap_changes")
    op.drop_table("department_usage")
    op.drop_index("uq_departments_name", "departments")
    op.drop_table("departments")
