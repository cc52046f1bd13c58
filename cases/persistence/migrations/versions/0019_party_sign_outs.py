"""party sign-outs: a party-page session signed out of is refused until it would have expired

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 03:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cases.persistence.types

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "party_sign_outs",
        sa.Column("session", sa.String(length=32), nullable=False),
        sa.Column("until", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("session", name=op.f("pk_party_sign_outs")),
    )
    with op.batch_alter_table("party_sign_outs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_sign_outs_until"), ["until"], unique=False)


def downgrade() -> None:
    # The sessions it lists were opened by cookies of the 0019 form, which the code before it does not read.
    op.drop_table("party_sign_outs")
