"""cameras' district and street, by which the command centre's camera wall is filtered

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 21:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.add_column(sa.Column("district", sa.String(length=50), nullable=True))
        batch.add_column(sa.Column("street", sa.String(length=50), nullable=True))
        batch.create_index("ix_cameras_district", ["district"])


def downgrade() -> None:
    with op.batch_alter_table("cameras") as batch:
        batch.drop_index("ix_cameras_district")
        batch.drop_column("street")
        batch.drop_column("district")
