"""The mandatory human review of a detection (行政处罚法第四十一条; 规定第十条): evidence must be 真实、清晰、完整、
准确 and reviewed by the agency; what fails or was not reviewed may not be used."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.errors import IllegalTransition, InvalidInput
from cases.law import Law
from cases.model.detection import Detection, DetectionStatus, ReviewChecklist
from cases.model.staff import Act, Role
from tests.conftest import act_on

DAY = dt.date(2026, 3, 4)
ALL_PASS = ReviewChecklist(authentic=True, clear=True, complete=True, accurate=True)


def operator(actor: str = "operator1") -> Act:
    return act_on(DAY, actor, Role.OPERATOR)


def detection() -> Detection:
    seen = dt.datetime(2026, 3, 4, 1, 30, tzinfo=dt.UTC)
    return Detection(
        event_id="evt-0001",
        camera_id=1,
        zone_id=2,
        rule_id="cross_door.dwell_10min",
        violation_code="cross_door",
        subject_kind="merchant",
        subject_ref="SHOP-0007",
        first_seen=seen,
        last_seen=seen + dt.timedelta(minutes=12),
        evidence_package_id="pkg-0001",
        confidence=0.91,
        received_at=seen + dt.timedelta(minutes=13),
    )


def checklist(**failing: bool) -> ReviewChecklist:
    return ReviewChecklist(**{"authentic": True, "clear": True, "complete": True, "accurate": True, **failing})


def test_a_new_detection_waits_for_review() -> None:
    assert detection().status is DetectionStatus.PENDING_REVIEW


def test_evidence_passing_all_four_points_is_confirmed_and_the_review_recorded(law: Law) -> None:
    found = detection()
    act = operator()
    found.confirm(act, law, ALL_PASS, "货架超出门窗约2米")
    assert (found.status, found.reviewed_by, found.reviewed_at, found.review_reason) == (
        DetectionStatus.CONFIRMED,
        "operator1",
        act.at,
        "货架超出门窗约2米",
    )
    assert (found.violation_code, found.classified_from) == ("cross_door", None)  # its detector's kind, as it was
    assert (found.check_authentic, found.check_clear, found.check_complete, found.check_accurate) == (
        True,
        True,
        True,
        True,
    )


@pytest.mark.parametrize(
    ("failing", "named"),
    [
        ({"authentic": False}, "真实"),
        ({"clear": False}, "清晰"),
        ({"complete": False}, "完整"),
        ({"accurate": False}, "准确"),
        ({"clear": False, "accurate": False}, "清晰、准确"),
        ({"authentic": False, "clear": False, "complete": False, "accurate": False}, "真实、清晰、完整、准确"),
    ],
)
def test_evidence_failing_any_point_cannot_be_confirmed_and_the_failing_points_are_named(
    law: Law, failing: dict[str, bool], named: str
) -> None:
    found = detection()
    with pytest.raises(InvalidInput, match=f"fails {named}; reject it with a reason"):
        found.confirm(operator(), law, checklist(**failing))
    assert (found.status, found.reviewed_by) == (DetectionStatus.PENDING_REVIEW, None)


@pytest.mark.parametrize(
    ("failing", "labels"),
    [
        ({}, []),
        ({"complete": False}, ["完整"]),
        ({"authentic": False, "accurate": False}, ["真实", "准确"]),
    ],
)
def test_the_checklist_names_its_failing_points_in_the_laws_order(failing: dict[str, bool], labels: list[str]) -> None:
    assert checklist(**failing).failing() == labels


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_rejection_needs_a_reason(reason: str) -> None:
    found = detection()
    with pytest.raises(InvalidInput, match="a rejection needs a reason"):
        found.reject(operator(), checklist(clear=False), reason)
    assert found.status is DetectionStatus.PENDING_REVIEW


@pytest.mark.parametrize(
    ("points", "reason"),
    [
        (checklist(clear=False), "画面模糊，无法辨认"),
        (ALL_PASS, "行人短暂停留，非经营行为"),  # clean evidence of no violation is rejected too
    ],
)
def test_a_rejection_with_a_reason_is_recorded(points: ReviewChecklist, reason: str) -> None:
    found = detection()
    found.reject(operator(), points, reason)
    assert (found.status, found.review_reason, found.check_clear) == (DetectionStatus.REJECTED, reason, points.clear)


@pytest.mark.parametrize("first", ["confirm", "reject"])
@pytest.mark.parametrize("second", ["confirm", "reject"])
def test_reviews_are_final(law: Law, first: str, second: str) -> None:
    found = detection()
    review = {
        "confirm": lambda actor: found.confirm(operator(actor), law, ALL_PASS),
        "reject": lambda actor: found.reject(operator(actor), ALL_PASS, "非违法行为"),
    }
    review[first]("operator1")
    status = found.status
    with pytest.raises(IllegalTransition, match=f"already {status.value} by operator1; reviews are final"):
        review[second]("operator2")
    assert (found.status, found.reviewed_by) == (status, "operator1")


def test_the_dwell_time_is_first_to_last_seen() -> None:
    assert detection().dwell == dt.timedelta(minutes=12)
