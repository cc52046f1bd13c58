"""party page: access attempts (for the lock-out), the log of every view, and each case's issued documents

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cases.persistence.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "party_access_attempts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_access_attempts")),
    )
    with op.batch_alter_table("party_access_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_access_attempts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_party_access_attempts_case_number"), ["case_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_party_access_attempts_client"), ["client"], unique=False)
    op.create_table(
        "party_views",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("what", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_party_views_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_views")),
    )
    with op.batch_alter_table("party_views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_views_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_documents",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("package_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_case_documents_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_documents")),
        sa.UniqueConstraint("case_id", "kind", "event_seq", name=op.f("uq_case_documents_case_id_kind_event_seq")),
    )
    with op.batch_alter_table("case_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_documents_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_documents_case_id"))
    op.drop_table("case_documents")
    with op.batch_alter_table("party_views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_views_case_id"))
    op.drop_table("party_views")
    with op.batch_alter_table("party_access_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_access_attempts_client"))
        batch_op.drop_index(batch_op.f("ix_party_access_attempts_case_number"))
        batch_op.drop_index(batch_op.f("ix_party_access_attempts_at"))
    op.drop_table("party_access_attempts")
