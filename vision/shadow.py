"""Shadow mode (issue 15): a candidate model runs beside the active one on a live camera, on the same frames, with the
camera's own zones and rules, and what it would have raised is recorded — never sealed, never queued for review.
Comparing those findings with the operators' decisions on the active model's detections says, before promotion, what
the candidate would have changed on this bureau's own cameras.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from vision.frames import Frame
from vision.rules import RuleEngine
from vision.tracking import Tracker


@dataclass(frozen=True)
class ShadowFinding:
    model_sha256: str
    camera_id: str
    zone_id: str
    violation_code: str
    first_seen: dt.datetime
    confirmed_at: dt.datetime
    median_score: float


class ShadowLane:
    """A second model's detect → track → rules over the frames a pipeline analyses, recording what it confirms."""

    def __init__(
        self,
        camera_id: str,
        detector: object,
        tracker: Tracker,
        rules: RuleEngine,
        record: Callable[[ShadowFinding], None],
    ) -> None:
        self.camera_id, self.detector, self.tracker, self.rules, self.record = (
            camera_id,
            detector,
            tracker,
            rules,
            record,
        )
        self.frames = 0
        self.findings = 0

    @property
    def model_sha256(self) -> str:
        return str(self.detector.manifest.sha256)  # type: ignore[attr-defined]

    def observe(self, frame: Frame) -> None:
        detections = self.detector.detect(frame.image)  # type: ignore[attr-defined]
        step = self.rules.observe(frame.ts, self.tracker.update(detections), frame.size)
        self.frames += 1
        for confirmation in step.confirmed:
            self.findings += 1
            self.record(
                ShadowFinding(
                    self.model_sha256, self.camera_id, confirmation.zone.zone_id, confirmation.rule.violation_code,
                    confirmation.first_seen, confirmation.confirmed_at, round(confirmation.median_score, 4),
                )
            )  # fmt: skip


@dataclass(frozen=True)
class Raised:
    """A detection of the active model, as the comparison needs it."""

    camera_id: str
    zone_id: str
    violation_code: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    review: str  # confirmed | rejected | pending_review


@dataclass(frozen=True)
class ShadowComparison:
    """The shadow model's findings against the active model's detections and what operators decided on them."""

    both_confirmed: int  # both raised it, and the operator confirmed it
    both_rejected: int  # both raised it, and the operator rejected it: the shadow repeats that false alarm
    both_pending: int
    shadow_only: int  # the shadow alone raised it: a violation the active model missed, or a false alarm of its own
    missed_confirmed: int  # confirmed by the operator, but the shadow did not raise it: a loss
    spared_rejected: int  # rejected by the operator, and the shadow did not raise it: a false alarm spared
    active_only_pending: int

    def as_json(self) -> dict[str, int]:
        return dict(vars(self))


def compare(findings: list[ShadowFinding], raised: list[Raised], slack: dt.timedelta) -> ShadowComparison:
    """Match each finding to the active model's detections of the same camera, zone and violation whose time
    overlaps its own (within ``slack``), and count the outcomes."""
    matched: set[int] = set()
    counts = dict.fromkeys(("both_confirmed", "both_rejected", "both_pending", "shadow_only"), 0)
    for finding in findings:
        same = [
            i for i, r in enumerate(raised)
            if (r.camera_id, r.zone_id, r.violation_code) == (finding.camera_id, finding.zone_id, finding.violation_code)
            and r.first_seen - slack <= finding.confirmed_at and finding.first_seen <= r.last_seen + slack
        ]  # fmt: skip
        if not same:
            counts["shadow_only"] += 1
            continue
        matched.update(same)
        reviews = {raised[i].review for i in same}
        key = (
            "both_confirmed" if "confirmed" in reviews else "both_rejected" if "rejected" in reviews else "both_pending"
        )
        counts[key] += 1
    unmatched = [r for i, r in enumerate(raised) if i not in matched]
    return ShadowComparison(
        **counts,
        missed_confirmed=sum(r.review == "confirmed" for r in unmatched),
        spared_rejected=sum(r.review == "rejected" for r in unmatched),
        active_only_pending=sum(r.review == "pending_review" for r in unmatched),
    )
