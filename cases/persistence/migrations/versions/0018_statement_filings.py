"""statement filings: a statement being filed on the party page claims its case before its attachments are sealed

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cases.persistence.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "statement_filings",
        sa.Column("case_id", ID, autoincrement=False, nullable=False),
        sa.Column("started_at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_statement_filings_case_id_cases")),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_statement_filings")),
    )


def downgrade() -> None:
    op.drop_table("statement_filings")  # claims of filings in flight only: nothing a case needs
