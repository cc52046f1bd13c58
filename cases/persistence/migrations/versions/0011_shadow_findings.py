"""shadow findings: what a model in shadow mode would have raised

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 17:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cases.persistence.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shadow_findings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("camera", sa.String(length=64), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("violation_code", sa.String(length=48), nullable=False),
        sa.Column("first_seen", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("median_score", sa.Float(), nullable=False),
        sa.Column("recorded_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shadow_findings")),
    )
    with op.batch_alter_table("shadow_findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shadow_findings_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    found = op.get_bind().execute(sa.text("SELECT count(*) FROM shadow_findings")).scalar_one()
    if found:  # what a candidate did on live cameras is the record its promotion may rest on
        raise RuntimeError(f"{found} shadow findings are recorded (shadow_findings): keep them")
    op.drop_table("shadow_findings")
