"""one account per username whatever the case of its letters

The account service checked it already (``Admin`` beside ``admin`` is refused); a unique index on the folded name
keeps it when two requests race. A database that holds such twins from before that check is not changed: the
upgrade stops and names them, for an administrator to settle (which account is renamed).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 17:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cases.persistence.migrate import MigrationRefused

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOLDED_USERNAMES = (
    "SELECT lower(username), COUNT(*) FROM users GROUP BY lower(username) HAVING COUNT(*) > 1 ORDER BY lower(username)"
)


def upgrade() -> None:
    twins = op.get_bind().execute(sa.text(FOLDED_USERNAMES)).all()
    if twins:
        found = "; ".join(f"{n} accounts are named {u!r} but for the case of their letters" for u, n in twins)
        raise MigrationRefused(
            f"migration 0016 cannot make usernames unique whatever their case: {found}. Rename all but one of "
            "each and upgrade again."
        )
    op.create_index("uq_users_username_folded", "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_username_folded", table_name="users")
