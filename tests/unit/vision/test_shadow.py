"""Shadow findings against the active model's detections and the operators' decisions (vision.shadow.compare)."""

from __future__ import annotations

import datetime as dt

from vision.shadow import Raised, ShadowFinding, compare

T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
SLACK = dt.timedelta(seconds=60)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def finding(start: float, zone: str = "Z-ROAD", code: str = "street_stall") -> ShadowFinding:
    return ShadowFinding("a" * 64, "cam-1", zone, code, at(start), at(start + 5), 0.8)


def raised(start: float, review: str, zone: str = "Z-ROAD", code: str = "street_stall") -> Raised:
    return Raised("cam-1", zone, code, at(start), at(start + 10), review)


def test_each_finding_and_detection_is_counted_once_by_what_the_operator_decided() -> None:
    findings = [finding(0), finding(30), finding(60), finding(90, zone="Z-SHOP", code="cross_door")]
    detections = [
        raised(1, "confirmed"),  # the same stall as the first finding
        raised(29, "rejected"),  # the shadow repeats this false alarm
        raised(120, "confirmed"),  # the shadow missed this one
        raised(150, "rejected"),  # and spared this false alarm
        raised(180, "pending_review"),
        raised(90, "confirmed", zone="Z-ROAD"),  # another zone than the fourth finding's
    ]
    report = compare(findings, detections, SLACK)
    assert report.as_json() == {
        "both_confirmed": 1,
        "both_rejected": 1,
        "both_pending": 0,
        "shadow_only": 2,  # the stall at 60 min, and the cross-door in a zone where the active model raised nothing
        "missed_confirmed": 2,
        "spared_rejected": 1,
        "active_only_pending": 1,
    }


def test_times_match_within_the_slack_only() -> None:
    assert compare([finding(0)], [raised(5.5, "confirmed")], SLACK).both_confirmed == 1  # 30 s after it ended
    assert compare([finding(0)], [raised(7, "confirmed")], SLACK).shadow_only == 1
