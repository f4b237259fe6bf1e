"""integer ids, credential and group details, evidence items and attribute keys for the
Accredible-compatible API

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from credo.adapters.db.tables import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.String(length=40)
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["organization_id"],
        ["organizations.id"],
        name=op.f(f"fk_{table}_organization_id_organizations"),
    )


def upgrade() -> None:
    op.create_table(
        "external_ids",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("object_id", _ID, nullable=False),
        _org_fk("external_ids"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_external_ids")),
        sa.UniqueConstraint("object_id", name=op.f("uq_external_ids_object_id")),
    )
    op.create_index(
        "ix_external_ids_organization_id_kind_id", "external_ids", ["organization_id", "kind", "id"]
    )
    op.create_table(
        "credential_details",
        sa.Column("credential_id", _ID, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("license_id", sa.String(length=200), nullable=True),
        sa.Column("course_link", sa.String(length=2000), nullable=True),
        sa.Column("custom_attributes", sa.Text(), nullable=True),
        sa.Column("grade", sa.String(length=200), nullable=True),
        sa.Column("meta_data", sa.Text(), nullable=True),
        sa.Column("complete", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_credential_details_credential_id_credentials"),
        ),
        _org_fk("credential_details"),
        sa.PrimaryKeyConstraint("credential_id", name=op.f("pk_credential_details")),
    )
    op.create_index(
        "ix_credential_details_organization_id_license_id",
        "credential_details",
        ["organization_id", "license_id"],
    )
    op.create_table(
        "evidence_items",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("credential_id", _ID, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("string_object", sa.Text(), nullable=True),
        sa.Column("hidden", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_evidence_items_credential_id_credentials"),
        ),
        _org_fk("evidence_items"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_items")),
    )
    op.create_index("ix_evidence_items_credential_id_id", "evidence_items", ["credential_id", "id"])
    op.create_table(
        "group_details",
        sa.Column("group_id", _ID, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("internal_name", sa.String(length=200), nullable=True),
        sa.Column("course_link", sa.String(length=2000), nullable=True),
        sa.Column("meta_data", sa.Text(), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_group_details_group_id_groups")
        ),
        _org_fk("group_details"),
        sa.PrimaryKeyConstraint("group_id", name=op.f("pk_group_details")),
    )
    op.create_index(
        "ix_group_details_organization_id_internal_name",
        "group_details",
        ["organization_id", "internal_name"],
    )
    op.create_table(
        "attribute_keys",
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        _org_fk("attribute_keys"),
        sa.PrimaryKeyConstraint("organization_id", "name", name=op.f("pk_attribute_keys")),
    )


def downgrade() -> None:
    for table in (
        "attribute_keys",
        "group_details",
        "evidence_items",
        "credential_details",
        "external_ids",
    ):
        op.drop_table(table)
