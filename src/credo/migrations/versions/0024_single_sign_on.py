"""Single sign-on for staff, per organization (OpenID Connect and SAML 2.0)

Revision ID: 0024
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

from credo.adapters.db.tables import UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id"], ["organizations.id"], name=f"fk_{table}_organization_id_organizations"
    )


def upgrade() -> None:
    op.create_table(
        "sso_settings",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("protocol", sa.String(length=8), nullable=True),
        sa.Column("oidc_issuer", sa.String(length=500), nullable=True),
        sa.Column("oidc_client_id", sa.String(length=300), nullable=True),
        sa.Column("oidc_client_secret", sa.LargeBinary(), nullable=True),
        sa.Column("saml_idp_entity_id", sa.String(length=500), nullable=True),
        sa.Column("saml_idp_metadata", sa.Text(), nullable=True),
        sa.Column("default_role", sa.String(length=12), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("allow_unsolicited", sa.Boolean(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        _org_fk("sso_settings"),
        sa.PrimaryKeyConstraint("organization_id", name="pk_sso_settings"),
    )
    op.create_table(
        "sso_domains",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("verified_at", UTCDateTime(), nullable=True),
        _org_fk("sso_domains"),
        sa.PrimaryKeyConstraint("organization_id", "domain", name="pk_sso_domains"),
    )
    op.create_index(
        "uq_sso_domains_verified",
        "sso_domains",
        ["domain"],
        unique=True,
        sqlite_where=sa.text("verified_at IS NOT NULL"),
        postgresql_where=sa.text("verified_at IS NOT NULL"),
    )
    op.create_table(
        "sso_requests",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("protocol", sa.String(length=8), nullable=False),
        sa.Column("nonce", sa.String(length=100), nullable=True),
        sa.Column("code_verifier", sa.String(length=200), nullable=True),
        sa.Column("request_id", sa.String(length=200), nullable=True),
        sa.Column("next_path", sa.String(length=2000), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime(), nullable=True),
        _org_fk("sso_requests"),
        sa.PrimaryKeyConstraint("state_hash", name="pk_sso_requests"),
    )
    op.create_table(
        "sso_seen",
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        _org_fk("sso_seen"),
        sa.PrimaryKeyConstraint("organization_id", "kind", "value", name="pk_sso_seen"),
    )
    # The organization whose identity provider (or break-glass) signed a session in: the one
    # requiring single sign-on that the session may work in.
    op.add_column(
        "web_sessions", sa.Column("sso_organization_id", sa.String(length=40), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_column("sso_organization_id")
    op.drop_table("sso_seen")
    op.drop_table("sso_requests")
    op.drop_index("uq_sso_domains_verified", table_name="sso_domains")
    op.drop_table("sso_domains")
    op.drop_table("sso_settings")
