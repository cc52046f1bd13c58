"""docs/roles.md is the role matrix as people read it; it must say exactly what api/roles.py enforces."""

from __future__ import annotations

from api.roles import ROLE_MATRIX, Permission
from cases.model.staff import NOT_STAFF, Role
from offsite.settings import PROJECT_ROOT


def _documented_matrix() -> dict[str, set[str]]:
    lines = (PROJECT_ROOT / "docs" / "roles.md").read_text(encoding="utf-8").splitlines()
    header = next(line for line in lines if line.startswith("| permission"))
    roles = [cell.split()[0] for cell in header.strip("|").split("|")[1:]]
    matrix = {}
    for line in lines[lines.index(header) + 2 :]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        matrix[cells[0].split()[0]] = {role for role, mark in zip(roles, cells[1:], strict=True) if mark == "✓"}
    return matrix


def test_the_documented_role_matrix_is_the_enforced_one() -> None:
    enforced = {permission.value: {role.value for role in roles} for permission, roles in ROLE_MATRIX.items()}
    assert _documented_matrix() == enforced


def test_every_permission_is_granted_to_someone_and_every_staff_role_can_do_something() -> None:
    assert set(ROLE_MATRIX) == set(Permission)
    assert all(ROLE_MATRIX[p] for p in Permission)
    granted = {role for roles in ROLE_MATRIX.values() for role in roles}
    assert granted == set(Role) - NOT_STAFF  # the service itself and the party hold no staff permission
