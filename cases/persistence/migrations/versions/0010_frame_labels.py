"""frame labels: boxes an operator drew on a detection's key frame

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 16:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cases.persistence.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "frame_labels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("detection_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("frame", sa.String(length=16), nullable=False),
        sa.Column(
            "boxes", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("labelled_by", sa.String(length=64), nullable=False),
        sa.Column("labelled_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("model_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["detection_id"], ["detections.id"], name=op.f("fk_frame_labels_detection_id_detections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_frame_labels")),
        sa.UniqueConstraint("detection_id", "frame", name=op.f("uq_frame_labels_detection_id_frame")),
    )


def downgrade() -> None:
    drawn = op.get_bind().execute(sa.text("SELECT count(*) FROM frame_labels")).scalar_one()
    if drawn:  # the operators' boxes would be lost
        raise RuntimeError(f"{drawn} key frames carry boxes drawn by operators (frame_labels): keep them")
    op.drop_table("frame_labels")
