"""Review candidates (issue 14): a kind of detection that is not itself a violation (不明物体滞留: what no model names,
arrived and staying). It is recorded and reviewed like any detection; the operator who confirms it classifies it as
one of the catalogue's violations, and it then is that violation, its own kind kept beside it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from cases.errors import ClassificationRefused, InvalidInput, NotFound, ReviewRequired
from cases.law import CandidateKind, Law
from cases.messages import CHINESE
from cases.model.detection import Detection, DetectionStatus, ReviewChecklist
from cases.model.staff import Role
from tests.conftest import act_on

DAY = dt.date(2026, 3, 4)
ALL_PASS = ReviewChecklist(authentic=True, clear=True, complete=True, accurate=True)
VIOLATIONS = ["street_stall", "cross_door", "construction_dust", "site_materials_outside_enclosure",
              "bare_soil_uncovered"]  # fmt: skip


def detection(code: str = "unknown_object") -> Detection:
    seen = dt.datetime(2026, 3, 4, 1, 30, tzinfo=dt.UTC)
    return Detection(
        event_id="evt-0001",
        camera_id=1,
        zone_id=2,
        rule_id="road.unknown_object",
        violation_code=code,
        subject_kind="unknown",
        subject_ref=None,
        first_seen=seen,
        last_seen=seen + dt.timedelta(minutes=12),
        evidence_package_id="pkg-0001",
        confidence=0.62,
        received_at=seen + dt.timedelta(minutes=13),
        id=7,
    )


def unreviewed(found: Detection) -> tuple[Any, ...]:
    return found.status, found.violation_code, found.classified_from, found.reviewed_by, found.reviewed_at


# ---- the catalogue ----------------------------------------------------------------------------------------------
def test_the_shipped_catalogue_holds_unknown_object_as_a_candidate_not_a_violation(law: Law) -> None:
    kind = law.kind("unknown_object")
    assert isinstance(kind, CandidateKind)
    assert (kind.code, kind.name) == ("unknown_object", "不明物体滞留")
    assert law.is_candidate("unknown_object")
    assert [v.code for v in law.config.catalogue.violations] == VIOLATIONS  # what a candidate can be classified as
    assert not any(law.is_candidate(code) for code in VIOLATIONS)
    assert "unknown_object" not in law.config.discretion.violations  # no fine of its own


def test_a_candidate_is_never_a_violation_so_nothing_that_needs_one_starts_from_it(law: Law) -> None:
    with pytest.raises(ReviewRequired, match=r"不明物体滞留 \(unknown_object\) is a review candidate, not a violation"):
        law.violation("unknown_object")


def test_a_code_that_is_neither_violation_nor_candidate_is_still_unknown(law: Law) -> None:
    with pytest.raises(NotFound, match="'littering' is not in the catalogue"):
        law.kind("littering")
    assert not law.is_candidate("littering")


# ---- the review -------------------------------------------------------------------------------------------------
def test_a_candidate_confirmed_as_a_violation_becomes_it_and_keeps_its_own_kind(law: Law) -> None:
    found = detection()
    act = act_on(DAY, "operator1", Role.OPERATOR)
    found.confirm(act, law, ALL_PASS, "三轮车占道售卖", classified_as="street_stall")
    assert (found.status, found.violation_code, found.classified_from) == (
        DetectionStatus.CONFIRMED,
        "street_stall",
        "unknown_object",
    )
    assert (found.reviewed_by, found.reviewed_at, found.review_reason) == ("operator1", act.at, "三轮车占道售卖")


def test_a_candidate_confirmed_without_the_violation_it_is_is_refused_naming_the_choices(law: Law) -> None:
    found = detection()
    before = unreviewed(found)
    with pytest.raises(ClassificationRefused) as refused:
        found.confirm(act_on(DAY, "operator1", Role.OPERATOR), law, ALL_PASS)
    assert refused.value.key == "classification_refused.missing"
    assert str(refused.value).startswith("detection 7 is a 不明物体滞留 candidate, not a violation itself")
    chinese = refused.value.told(CHINESE)
    assert "检测记录 7 为“不明物体滞留”" in chinese
    assert all(f"（{code}）" in chinese for code in VIOLATIONS)
    assert "无序设摊（street_stall）" in chinese
    assert "unknown_object" not in chinese  # a candidate is no choice
    assert unreviewed(found) == before


@pytest.mark.parametrize(
    ("chosen", "variant", "said"),
    [
        ("littering", "unknown", "'littering' is not a violation of the catalogue"),
        ("unknown_object", "candidate", "不明物体滞留 is itself a review candidate, not a violation"),
    ],
)
def test_a_candidate_classified_as_anything_but_a_violation_is_refused(
    law: Law, chosen: str, variant: str, said: str
) -> None:
    found = detection()
    before = unreviewed(found)
    with pytest.raises(ClassificationRefused, match=said) as refused:
        found.confirm(act_on(DAY, "operator1", Role.OPERATOR), law, ALL_PASS, classified_as=chosen)
    assert refused.value.key == f"classification_refused.{variant}"
    assert unreviewed(found) == before


def test_a_detection_its_detector_named_takes_no_classification(law: Law) -> None:
    found = detection("cross_door")
    before = unreviewed(found)
    with pytest.raises(ClassificationRefused, match="detection 7 is 跨门经营 as its detector named it") as refused:
        found.confirm(act_on(DAY, "operator1", Role.OPERATOR), law, ALL_PASS, classified_as="street_stall")
    assert "不符合“准确”，请说明理由后驳回" in refused.value.told(CHINESE)
    assert unreviewed(found) == before


def test_a_candidate_failing_the_checklist_is_told_so_before_its_classification(law: Law) -> None:
    found = detection()
    blurred = dataclasses.replace(ALL_PASS, clear=False)
    with pytest.raises(InvalidInput, match="fails 清晰; reject it with a reason"):
        found.confirm(act_on(DAY, "operator1", Role.OPERATOR), law, blurred)
    assert found.status is DetectionStatus.PENDING_REVIEW


def test_a_candidate_is_rejected_like_any_detection_and_stays_what_it_was(law: Law) -> None:
    found = detection()
    found.reject(act_on(DAY, "operator1", Role.OPERATOR), ALL_PASS, "路边临时堆放的快递包裹，已取走")
    assert (found.status, found.violation_code, found.classified_from, found.reviewed_by) == (
        DetectionStatus.REJECTED,
        "unknown_object",
        None,
        "operator1",
    )
