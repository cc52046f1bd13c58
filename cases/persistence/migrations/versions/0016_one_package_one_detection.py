"""one sealed package backs one detection; one account per username whatever its letters' case

The intake and the account service checked both already; unique indexes keep them when two requests race. A
database that holds duplicates from before those checks is not changed: the upgrade stops and names them, for an
administrator to settle (which detection keeps the package, which account is renamed).

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

SHARED_PACKAGES = (
    "SELECT evidence_package_id, COUNT(*) FROM detections GROUP BY evidence_package_id HAVING COUNT(*) > 1 "
    "ORDER BY evidence_package_id"
)
FOLDED_USERNAMES = (
    "SELECT lower(username), COUNT(*) FROM users GROUP BY lower(username) HAVING COUNT(*) > 1 ORDER BY lower(username)"
)


def upgrade() -> None:
    connection = op.get_bind()
    shared = connection.execute(sa.text(SHARED_PACKAGES)).all()
    folded = connection.execute(sa.text(FOLDED_USERNAMES)).all()
    if shared or folded:
        found = [f"evidence package {p} backs {n} detections" for p, n in shared]
        found += [f"{n} accounts are named {u!r} but for the case of their letters" for u, n in folded]
        raise MigrationRefused(
            "migration 0016 cannot make packages and usernames unique: " + "; ".join(found)
            + ". Settle them (one detection per package, one account per name) and upgrade again."
        )  # fmt: skip
    op.create_index("uq_detections_evidence_package_id", "detections", ["evidence_package_id"], unique=True)
    op.create_index("uq_users_username_folded", "users", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_users_username_folded", table_name="users")
    op.drop_index("uq_detections_evidence_package_id", table_name="detections")
