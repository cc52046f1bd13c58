"""Small things a user of the command line noticed: the version, the roles `users create` offers, what
`config check` says of each violation's listing, and the model card's lineage."""

from __future__ import annotations

import shutil
from importlib.metadata import version
from pathlib import Path

from cases.model.staff import NOT_STAFF, Role
from offsite.cli import StaffRole
from offsite.settings import PROJECT_ROOT
from tests.integration.test_cli import run


def test_offsite_version_prints_the_package_version() -> None:
    result = run("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"offsite {version('offsite')}"


WIDE = {"COLUMNS": "200"}  # help and errors on one line each


def test_users_create_offers_only_roles_a_staff_account_may_hold() -> None:
    result = run("users", "create", "--help", env=WIDE)
    assert result.returncode == 0, result.stderr
    assert "<operator|officer|legal_reviewer|supervisor|admin|model_steward>" in result.stdout
    assert "system" not in result.stdout
    assert "party" not in result.stdout
    assert {Role(role) for role in StaffRole} == set(Role) - NOT_STAFF


def test_users_create_refuses_the_system_role_naming_the_choices() -> None:
    result = run("users", "create", "robot", "--role", "system", "--display-name", "x", env=WIDE)
    assert result.returncode == 2
    assert (
        "'system' is not one of 'operator', 'officer', 'legal_reviewer', 'supervisor', 'admin', 'model_steward'"
        in result.stderr
    )


def test_config_check_says_what_being_listed_means() -> None:
    result = run("config", "check")
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "列入非现场执法事项清单" in lines["street_stall"]
    assert "on the non-site enforcement list" in lines["street_stall"]
    assert "未列入非现场执法事项清单" in lines["bare_soil_uncovered"]
    assert "never a non-site case" in lines["bare_soil_uncovered"]
    assert "NOT listed" not in result.stdout


def test_the_shipped_model_card_is_what_offsite_model_card_writes_from_its_manifest(tmp_path: Path) -> None:
    for name in ("offsite-street.manifest.json", "offsite-street.md"):
        shutil.copy(PROJECT_ROOT / "models" / name, tmp_path / name)
    result = run("model", "card", str(tmp_path / "offsite-street.manifest.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"wrote {tmp_path / 'offsite-street.md'}"
    written = (tmp_path / "offsite-street.md").read_text(encoding="utf-8")
    assert written == (PROJECT_ROOT / "models" / "offsite-street.md").read_text(encoding="utf-8")
    assert written.count("| started from |") == 1, "the lineage is printed once"
