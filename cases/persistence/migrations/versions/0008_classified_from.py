"""review candidates classified on review: the kind a detection was raised as, kept beside the violation chosen

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("classified_from", sa.String(length=48), nullable=True))


def downgrade() -> None:
    query = sa.text("SELECT count(*) FROM detections WHERE classified_from IS NOT NULL")
    classified = op.get_bind().execute(query).scalar_one()
    if classified:  # the older schema would show them as found by a detector, and the review record would lose it
        raise RuntimeError(
            f"{classified} detections were classified on review from a candidate kind (classified_from): the schema "
            "before 0008 cannot say so, and a review record is never rewritten"
        )
    with op.batch_alter_table("detections", schema=None) as batch_op:
        batch_op.drop_column("classified_from")
