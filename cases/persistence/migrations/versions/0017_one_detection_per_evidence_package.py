"""one detection per sealed evidence package, kept by the database

The intake checked it already for events from outside (a gateway citing a package another detection stands on is
refused, two at once take turns); a unique index keeps it whatever path an event takes. A database that holds two
detections on one package from before is not changed: the upgrade stops and names them, for an administrator to
settle (a review record is never rewritten by a migration).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 02:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cases.persistence.migrate import MigrationRefused

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHARED_PACKAGES = (
    "SELECT evidence_package_id, id FROM detections WHERE evidence_package_id IN "
    "(SELECT evidence_package_id FROM detections GROUP BY evidence_package_id HAVING COUNT(*) > 1) "
    "ORDER BY evidence_package_id, id"
)


def upgrade() -> None:
    holders: dict[str, list[int]] = {}
    for package, detection in op.get_bind().execute(sa.text(SHARED_PACKAGES)):
        holders.setdefault(package, []).append(detection)
    if holders:
        found = "; ".join(f"detections {', '.join(map(str, ids))} stand on package {p}" for p, ids in holders.items())
        raise MigrationRefused(
            f"migration 0017 cannot make each evidence package back one detection: {found}. Each of these is a "
            "detection citing evidence sealed for another: settle them with the vendor and upgrade again."
        )
    op.create_index("uq_detections_evidence_package", "detections", ["evidence_package_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_detections_evidence_package", table_name="detections")
