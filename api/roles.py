"""Who may do what: the role matrix, in one table. docs/roles.md shows it; tests/integration/test_roles.py checks every
cell of it against the running API."""

from __future__ import annotations

from enum import StrEnum

from cases.model.staff import Role


class Permission(StrEnum):
    READ_REGISTRY = "read_registry"  # cameras, zones, merchants and sites, personal fields masked
    MANAGE_REGISTRY = "manage_registry"  # create, update, import
    READ_PERSONAL_DATA = "read_personal_data"  # unmasked mobile, credit code, ID number: every read logged
    READ_DETECTIONS = "read_detections"
    REVIEW_DETECTIONS = "review_detections"  # confirm or reject (第四十一条 review)
    READ_CASES = "read_cases"
    HANDLE_CASES = "handle_cases"  # open, file, and every step an officer takes
    LEGAL_REVIEW = "legal_review"  # approve or return a decision (第五十八条)
    APPROVE_EXTENSION = "approve_extension"  # the agency's head approves a longer decision period (第六十条)
    MANAGE_ACCOUNTS = "manage_accounts"  # staff users and camera gateways
    MANAGE_MODELS = "manage_models"  # the model registry: the gate's promotions and rollbacks (issue 15)
    CONFIGURE_CAMERAS = "configure_cameras"  # what a camera watches: zones, lines, rules, source (issue 16)
    WATCH_CAMERAS = "watch_cameras"  # the command centre's camera wall and today's dashboard (issue 16)


OPERATOR, OFFICER, LEGAL, SUPERVISOR, ADMIN, STEWARD = (
    Role.OPERATOR,
    Role.OFFICER,
    Role.LEGAL_REVIEWER,
    Role.SUPERVISOR,
    Role.ADMIN,
    Role.MODEL_STEWARD,
)

ROLE_MATRIX: dict[Permission, frozenset[Role]] = {
    Permission.READ_REGISTRY: frozenset({OPERATOR, OFFICER, LEGAL, SUPERVISOR, ADMIN, STEWARD}),
    Permission.MANAGE_REGISTRY: frozenset({ADMIN}),
    Permission.READ_PERSONAL_DATA: frozenset({OFFICER, LEGAL, SUPERVISOR}),
    Permission.READ_DETECTIONS: frozenset({OPERATOR, OFFICER, LEGAL, SUPERVISOR}),
    Permission.REVIEW_DETECTIONS: frozenset({OPERATOR}),
    Permission.READ_CASES: frozenset({OFFICER, LEGAL, SUPERVISOR}),
    Permission.HANDLE_CASES: frozenset({OFFICER}),
    Permission.LEGAL_REVIEW: frozenset({LEGAL}),
    Permission.APPROVE_EXTENSION: frozenset({SUPERVISOR}),
    Permission.MANAGE_ACCOUNTS: frozenset({ADMIN}),
    Permission.MANAGE_MODELS: frozenset({ADMIN, STEWARD}),
    Permission.CONFIGURE_CAMERAS: frozenset({ADMIN}),
    Permission.WATCH_CAMERAS: frozenset({OPERATOR, SUPERVISOR, ADMIN}),
}


def allows(role: Role, permission: Permission) -> bool:
    return role in ROLE_MATRIX[permission]
