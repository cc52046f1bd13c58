"""training jobs: runs of a training recipe in the background

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import cases.persistence.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
STATUSES = ("queued", "running", "cancelling", "cancelled", "failed", "finished")
STAGES = ("dataset", "training", "export", "register")


def upgrade() -> None:
    when = cases.persistence.types.UtcDateTime(timezone=True)
    op.create_table(
        "training_jobs",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("recipe_name", sa.String(length=128), nullable=False),
        sa.Column("recipe", sa.Text(), nullable=False),
        sa.Column("recipe_dir", sa.String(length=512), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", when, nullable=False),
        sa.Column("status", sa.Enum(*STATUSES, name="jobstatus", native_enum=False, length=32), nullable=False),
        sa.Column("stage", sa.Enum(*STAGES, name="jobstage", native_enum=False, length=32), nullable=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("epochs", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("figures", JSON, nullable=True),
        sa.Column("device", sa.String(length=32), nullable=True),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("heartbeat_at", when, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("started_at", when, nullable=True),
        sa.Column("finished_at", when, nullable=True),
        sa.Column("candidate_sha256", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancelled_by", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_jobs")),
    )
    with op.batch_alter_table("training_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_jobs_status"), ["status"], unique=False)


def downgrade() -> None:
    found = op.get_bind().execute(sa.text("SELECT count(*) FROM training_jobs")).scalar_one()
    if found:  # which recipe made which candidate, and who asked for it, is part of the model's lineage
        raise RuntimeError(f"{found} training jobs are recorded (training_jobs): keep them")
    op.drop_table("training_jobs")
