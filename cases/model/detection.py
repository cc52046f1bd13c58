"""A detection: one violation event from a camera, waiting for (or past) the mandatory human review.

行政处罚法第四十一条 and 规定第十条: recorded content must be 真实、清晰、完整、准确 and reviewed by the agency;
records that were not reviewed, or failed review, may not be used as evidence.

A detection of a review candidate's kind (``unknown_object``, 不明物体滞留: what no model names) is no violation yet:
the operator who confirms it classifies it as one of the catalogue's violations, which it then is (its own kind kept
in ``classified_from``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from cases.errors import ClassificationRefused, IllegalTransition, InvalidInput, ZoneNotRegistered
from cases.law import CandidateKind, Law, Violation
from cases.messages import Term
from cases.model.staff import Act


class DetectionStatus(StrEnum):
    PENDING_REVIEW = "pending_review"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ReviewChecklist:
    authentic: bool  # 真实: the scene is what the camera saw, not altered
    clear: bool  # 清晰: the violation and its place can be made out
    complete: bool  # 完整: key frames and clip cover the whole occurrence
    accurate: bool  # 准确: time, place and violation type are right

    LABELS: ClassVar[dict[str, str]] = {"authentic": "真实", "clear": "清晰", "complete": "完整", "accurate": "准确"}

    def failing(self) -> list[str]:
        return [label for name, label in self.LABELS.items() if not getattr(self, name)]


@dataclass
class Detection:
    """``zone_id`` is None while the camera's zone is not in the registry (a camera configured with a zone that was
    never imported): the detection still reaches review, flagged with ``unregistered_zone`` (the code the camera
    reported), and is confirmed only once the zone is registered and linked (``link_zone``)."""

    event_id: str
    camera_id: int
    zone_id: int | None
    rule_id: str
    violation_code: str
    subject_kind: str  # merchant / site / unknown, as the vision event gave it
    subject_ref: str | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    evidence_package_id: str
    confidence: float
    received_at: dt.datetime
    status: DetectionStatus = DetectionStatus.PENDING_REVIEW
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None
    review_reason: str | None = None
    check_authentic: bool | None = None
    check_clear: bool | None = None
    check_complete: bool | None = None
    check_accurate: bool | None = None
    case_id: int | None = None
    # why the camera's evidence would not count, as its certification stood at capture (empty: it counts)
    certification_problems: list[Term] | None = None
    unregistered_zone: str | None = None  # the zone code the camera reported, while the registry lacks that zone
    classified_from: str | None = None  # the review candidate's kind it was raised as, once classified on review
    id: int | None = None
    version: int = field(default=0, compare=False)

    def confirm(
        self, act: Act, law: Law, checklist: ReviewChecklist, note: str | None = None, classified_as: str | None = None
    ) -> None:
        """Confirm the detection. A review candidate's is confirmed as the violation it is (``classified_as``, a
        code of the catalogue's violations); any other's kind was set by its detector, and 准确 vouches for it."""
        self._require_pending()
        if self.zone_id is None:  # 准确: the place must be one the registry knows, with its merchant or site
            raise ZoneNotRegistered(variant="confirm", ident=self.id, zone=repr(self.unregistered_zone))
        failing = checklist.failing()
        if failing:
            raise InvalidInput(variant="checklist_fails", failing="、".join(failing))
        classified = self._classified(law, classified_as)
        self._record_review(act, DetectionStatus.CONFIRMED, checklist, note)
        if classified is not None:
            self.classified_from, self.violation_code = self.violation_code, classified.code

    def _classified(self, law: Law, classified_as: str | None) -> Violation | None:
        """The violation a review candidate is confirmed as (None for a detection its detector named), or the
        refusal that says why the choice cannot stand."""
        kind = law.config.catalogue.kind(self.violation_code)
        if not isinstance(kind, CandidateKind):
            if classified_as is not None:
                named = self.violation_code if kind is None else kind.name
                raise ClassificationRefused(variant="not_candidate", ident=self.id, kind=named)
            return None
        choices = "、".join(f"{v.name}（{v.code}）" for v in law.config.catalogue.violations)
        if classified_as is None:
            raise ClassificationRefused(variant="missing", ident=self.id, kind=kind.name, choices=choices)
        chosen = law.config.catalogue.kind(classified_as)
        if chosen is None:
            raise ClassificationRefused(variant="unknown", ident=self.id, chosen=repr(classified_as), choices=choices)
        if isinstance(chosen, CandidateKind):
            raise ClassificationRefused(variant="candidate", ident=self.id, chosen=chosen.name, choices=choices)
        return chosen

    def reject(self, act: Act, checklist: ReviewChecklist, reason: str) -> None:
        self._require_pending()
        if not reason.strip():
            raise InvalidInput(variant="rejection_reason")
        self._record_review(act, DetectionStatus.REJECTED, checklist, reason)

    def link_zone(self, zone_id: int) -> None:
        """The unregistered zone has been registered since: the detection now names it."""
        self._require_pending()
        self.zone_id, self.unregistered_zone = zone_id, None

    def _require_pending(self) -> None:
        if self.status is not DetectionStatus.PENDING_REVIEW:
            raise IllegalTransition(
                variant="reviewed",
                ident=self.id,
                status=Term(f"term.detection.{self.status.value}"),
                reviewer=self.reviewed_by,
            )

    def _record_review(self, act: Act, status: DetectionStatus, checklist: ReviewChecklist, reason: str | None) -> None:
        self.status = status
        self.reviewed_by = act.actor
        self.reviewed_at = act.at
        self.review_reason = reason
        self.check_authentic = checklist.authentic
        self.check_clear = checklist.clear
        self.check_complete = checklist.complete
        self.check_accurate = checklist.accurate

    @property
    def dwell(self) -> dt.timedelta:
        return self.last_seen - self.first_seen
