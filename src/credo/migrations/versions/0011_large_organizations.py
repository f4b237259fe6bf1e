"""large organizations: charges counted per day (the credits page's months read without
counting the ledger), seats released counted per year (seats held read without counting),
every seat of an organization by index (the audit), and searches by the start
of a recipient's name or e-mail

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "charge_days",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("billing_year", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("charges", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("organization_id", "billing_year", "day"),
    )
    day = "CAST(at AS DATE)" if op.get_bind().dialect.name == "postgresql" else "date(at)"
    op.execute(
        "INSERT INTO charge_days (organization_id, billing_year, day, charges)"
        f" SELECT organization_id, billing_year, {day}, count(*) FROM ledger_entries"
        f" WHERE delta < 0 GROUP BY organization_id, billing_year, {day}"
    )
    with op.batch_alter_table("credit_usage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("released", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE credit_usage SET released = (SELECT count(*) FROM seats"
        " WHERE seats.organization_id = credit_usage.organization_id"
        " AND seats.billing_year = credit_usage.billing_year"
        " AND seats.released_at IS NOT NULL)"
    )
    op.create_index(
        "ix_seats_organization_id_billing_year_recipient_key",
        "seats",
        ["organization_id", "billing_year", "recipient_key"],
    )
    # Prefix searches are ranges in code point order (adapters/db/credential_search.py):
    # PostgreSQL's "C" collation, SQLite's binary one. SQLite's (organization_id,
    # recipient_key, seat_year) index already answers the e-mail range.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_credentials_name_prefix ON credentials "
            '(organization_id, (lower(recipient_name) COLLATE "C"))'
        )
        op.execute(
            "CREATE INDEX ix_credentials_key_prefix ON credentials "
            '(organization_id, (recipient_key COLLATE "C"))'
        )
    else:
        op.execute(
            "CREATE INDEX ix_credentials_name_prefix ON credentials "
            "(organization_id, lower(recipient_name))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_credentials_key_prefix", table_name="credentials")
    op.drop_index("ix_credentials_name_prefix", table_name="credentials")
    op.drop_index("ix_seats_organization_id_billing_year_recipient_key", table_name="seats")
    with op.batch_alter_table("credit_usage", schema=None) as batch_op:
        batch_op.drop_column("released")
    op.drop_table("charge_days")
