"""sign-in throttle: one ledger of access attempts for the party page and staff sign-in

The party page's attempts move from ``party_access_attempts`` into ``access_attempts`` (door ``party``, the case
number as subject, ``succeeded`` as outcome), so that a lock-out in force when the database is upgraded stays in
force; staff sign-in attempts are written there too (door ``staff``, the username as subject).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 08:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import cases.persistence.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "access_attempts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("door", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_attempts")),
    )
    with op.batch_alter_table("access_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_access_attempts_at"), ["at"], unique=False)
        batch_op.create_index("ix_access_attempts_door_client_at", ["door", "client", "at"], unique=False)
        batch_op.create_index("ix_access_attempts_door_subject_at", ["door", "subject", "at"], unique=False)
    op.execute(
        "INSERT INTO access_attempts (at, door, subject, client, outcome) "
        "SELECT at, 'party', case_number, client, CASE WHEN succeeded THEN 'succeeded' ELSE 'failed' END "
        "FROM party_access_attempts ORDER BY id"
    )
    with op.batch_alter_table("party_access_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_party_access_attempts_client"))
        batch_op.drop_index(batch_op.f("ix_party_access_attempts_case_number"))
        batch_op.drop_index(batch_op.f("ix_party_access_attempts_at"))
    op.drop_table("party_access_attempts")


def downgrade() -> None:
    op.create_table(
        "party_access_attempts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("at", cases.persistence.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_access_attempts")),
    )
    with op.batch_alter_table("party_access_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_party_access_attempts_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_party_access_attempts_case_number"), ["case_number"], unique=False)
        batch_op.create_index(batch_op.f("ix_party_access_attempts_client"), ["client"], unique=False)
    op.execute(
        "INSERT INTO party_access_attempts (at, case_number, client, succeeded) "
        "SELECT at, subject, client, outcome = 'succeeded' FROM access_attempts WHERE door = 'party' ORDER BY id"
    )
    with op.batch_alter_table("access_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_access_attempts_door_subject_at")
        batch_op.drop_index("ix_access_attempts_door_client_at")
        batch_op.drop_index(batch_op.f("ix_access_attempts_at"))
    op.drop_table("access_attempts")
