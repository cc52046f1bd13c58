"""the model registry: detector releases by SHA-256 and the gate's decisions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 16:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cases.persistence.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "detector_releases",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("registered_by", sa.String(length=64), nullable=False),
        sa.Column("registered_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum("candidate", "shadow", "active", "retired", name="releasestatus", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("figures", JSON, nullable=True),
        sa.Column("activated_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("status_by", sa.String(length=64), nullable=True),
        sa.Column("status_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detector_releases")),
        sa.UniqueConstraint("sha256", name=op.f("uq_detector_releases_sha256")),
    )
    with op.batch_alter_table("detector_releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_detector_releases_status"), ["status"], unique=False)
    op.create_table(
        "detector_decisions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "action",
            sa.Enum(
                "registered",
                "promoted",
                "refused",
                "shadowed",
                "rolled_back",
                "retired",
                name="gateaction",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("replaced", sa.String(length=64), nullable=True),
        sa.Column("figures", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detector_decisions")),
    )
    with op.batch_alter_table("detector_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_detector_decisions_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_detector_decisions_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    decided = op.get_bind().execute(sa.text("SELECT count(*) FROM detector_decisions")).scalar_one()
    if decided:  # the record of which model was promoted, on what figures, would be lost
        raise RuntimeError(
            f"{decided} decisions on detector models are recorded (detector_decisions): the schema before 0009 cannot "
            "hold them, and a decision record is never deleted"
        )
    op.drop_table("detector_decisions")
    op.drop_table("detector_releases")
