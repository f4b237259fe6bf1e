"""API keys limited to one department

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # As groups.department_id (0020): on SQLite the column brings its constraint inline.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE api_keys ADD COLUMN department_id VARCHAR(40)"
            " CONSTRAINT fk_api_keys_department_id_departments REFERENCES departments (id)"
        )
    else:
        op.add_column("api_keys", sa.Column("department_id", sa.String(length=40), nullable=True))
        op.create_foreign_key(
            "fk_api_keys_department_id_departments",
            "api_keys",
            "departments",
            ["department_id"],
            ["id"],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_api_keys_department_id_departments", "api_keys", type_="foreignkey")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("department_id")
