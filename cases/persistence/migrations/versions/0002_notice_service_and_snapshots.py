"""notice service, violation day, certification at capture, outbox retries

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:46:17.472750
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cases.persistence.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("violation_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("rectification_served_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "rectification_service_method",
                sa.Enum(
                    "direct",
                    "postal",
                    "electronic",
                    "public_notice",
                    name="deliverymethod",
                    native_enum=False,
                    length=32,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("penalty_notice_served_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "penalty_notice_service_method",
                sa.Enum(
                    "direct",
                    "postal",
                    "electronic",
                    "public_notice",
                    name="deliverymethod",
                    native_enum=False,
                    length=32,
                ),
                nullable=True,
            )
        )

    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "certification_problems",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=True,
            )
        )

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("next_attempt_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("claimed_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("next_attempt_at")

    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.drop_column("certification_problems")

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("penalty_notice_service_method")
        batch_op.drop_column("penalty_notice_served_on")
        batch_op.drop_column("rectification_service_method")
        batch_op.drop_column("rectification_served_on")
        batch_op.drop_column("violation_on")
