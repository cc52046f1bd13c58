"""missed frames: recent frames an operator boxed as a missed violation, for training

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cases.persistence.types

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    when = cases.persistence.types.UtcDateTime(timezone=True)
    op.create_table(
        "missed_frames",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("camera", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("taken_at", when, nullable=False),
        sa.Column("image", sa.String(length=256), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("boxes", JSON, nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=True),
        sa.Column("labelled_by", sa.String(length=64), nullable=False),
        sa.Column("labelled_at", when, nullable=False),
        sa.Column("keep_until", when, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_missed_frames")),
        sa.UniqueConstraint("camera", "name", name=op.f("uq_missed_frames_camera_name")),
    )
    with op.batch_alter_table("missed_frames", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_missed_frames_keep_until"), ["keep_until"], unique=False)


def downgrade() -> None:
    found = op.get_bind().execute(sa.text("SELECT count(*) FROM missed_frames")).scalar_one()
    if found:  # an operator's labels, with their pictures in the training-frame store
        raise RuntimeError(f"{found} missed-violation frames are labelled (missed_frames): keep them")
    op.drop_table("missed_frames")
