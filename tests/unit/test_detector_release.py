"""A detector release moves candidate → shadow → active → retired, and back to active only by a rollback."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.errors import IllegalTransition, InvalidInput
from cases.model.detector_release import DetectorRelease, ReleaseStatus
from cases.model.staff import Role
from tests.conftest import act_on

ADMIN = act_on(dt.date(2026, 3, 2), "admin1", Role.ADMIN)


def release() -> DetectorRelease:
    return DetectorRelease("a" * 64, "offsite-street", "aaaa/offsite-street.onnx", "admin1", ADMIN.at)


def test_a_candidate_is_shadowed_then_activated_then_retired_each_move_signed() -> None:
    model = release()
    model.shadow(ADMIN)
    model.activate(ADMIN)
    assert (model.status, model.activated_at, model.status_by) == (ReleaseStatus.ACTIVE, ADMIN.at, "admin1")
    model.retire(ADMIN)
    assert model.status is ReleaseStatus.RETIRED


def test_only_a_candidate_or_a_shadow_goes_before_the_gate_and_an_active_model_is_not_shadowed() -> None:
    model = release()
    model.activate(ADMIN)
    with pytest.raises(IllegalTransition) as refused:
        model.require_undecided()
    assert refused.value.told("en") == f"model {'a' * 12} is active; this needs it to be candidate; shadow"
    with pytest.raises(IllegalTransition):
        model.shadow(ADMIN)


def test_a_release_is_known_by_a_sha256() -> None:
    with pytest.raises(InvalidInput, match="not a SHA-256"):
        DetectorRelease("abc", "x", "x.onnx", "admin1", ADMIN.at)
