"""camera stream address: the URL the service pulls and its sampling interval

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 06:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stream_url", sa.String(length=1024), nullable=True))
        batch_op.add_column(sa.Column("sample_interval_s", sa.Float(), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("cameras", schema=None) as batch_op:
        batch_op.drop_column("sample_interval_s")
        batch_op.drop_column("stream_url")
