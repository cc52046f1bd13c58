"""camera configurations: each camera's source, zones and rules, versioned

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 20:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cases.persistence.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "camera_configs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", JSON, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("saved_by", sa.String(length=64), nullable=False),
        sa.Column("saved_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_configs")),
        sa.UniqueConstraint("device_id", "version", name=op.f("uq_camera_configs_device_id_version")),
    )
    with op.batch_alter_table("camera_configs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_camera_configs_device_id"), ["device_id"], unique=False)


def downgrade() -> None:
    found = op.get_bind().execute(sa.text("SELECT count(*) FROM camera_configs")).scalar_one()
    if found:  # which zones and rules a camera watched, when, is what its evidence was found under
        raise RuntimeError(f"{found} camera configuration versions are recorded (camera_configs): keep them")
    op.drop_table("camera_configs")
