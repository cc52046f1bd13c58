"""detections of a zone the registry does not hold: zone_id may be null, the camera's zone code kept beside it

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-05 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unregistered_zone", sa.String(length=64), nullable=True))
        batch_op.alter_column("zone_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                              nullable=True)  # fmt: skip


def downgrade() -> None:
    waiting = op.get_bind().execute(sa.text("SELECT count(*) FROM detections WHERE zone_id IS NULL")).scalar_one()
    if waiting:  # the older schema has no place for them, and a detection is never deleted to make room
        raise RuntimeError(
            f"{waiting} detections name a zone the registry lacked (unregistered_zone): the schema before 0007 "
            "cannot hold them, and detections are never deleted"
        )
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.alter_column("zone_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                              nullable=False)  # fmt: skip
        batch_op.drop_column("unregistered_zone")
