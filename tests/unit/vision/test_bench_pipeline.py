"""The pipeline benchmark's own arithmetic: matching events to the ground truth, and the real-time camera check.
No timing is asserted here; the figures are for docs/benchmarks.md."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bench.pipeline import T0, match_events
from bench.sustain import sustain
from vision.events import SubjectKind, SubjectRef, ViolationEvent
from vision.synthetic import VideoSpec, render_video


def event(rule: str, zone: str, start: float, end: float) -> ViolationEvent:
    return ViolationEvent(
        f"ev-{rule}-{start}", "cam", zone, rule, "code", SubjectRef(SubjectKind.UNKNOWN),
        T0 + dt.timedelta(seconds=start), T0 + dt.timedelta(seconds=end), "pkg",
    )  # fmt: skip


TRUTH = [
    {"kind": "stall", "zone": "A", "start_s": 10.0, "end_s": 50.0},
    {"kind": "cross_door", "zone": "S1", "start_s": 20.0, "end_s": 40.0},
]


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([event("stall-A", "A", 12, 35)], (1, 1)),  # right kind, zone and time
        ([event("stall-A", "A", 12, 35), event("cross_door-S1", "S1", 22, 38)], (2, 2)),
        ([event("stall-A", "A", 70, 90)], (0, 0)),  # too late for the stall
        ([event("cross_door-S2", "S2", 22, 38)], (0, 0)),  # wrong shop
        ([event("dust-A", "A", 12, 35)], (0, 0)),  # wrong kind
        ([event("stall-A", "A", 12, 20), event("stall-A", "A", 30, 40)], (2, 1)),  # two events, one violation
    ],
)
def test_events_match_a_true_violation_of_the_same_kind_zone_and_time(
    events: list[ViolationEvent], expected: tuple[int, int]
) -> None:
    assert match_events(events, TRUTH) == expected


def test_the_real_time_check_reports_what_was_due_read_analysed_and_dropped(tmp_path: Path) -> None:
    video = tmp_path / "street.mp4"
    render_video(VideoSpec(out=video, scenario="street", seconds=5, width=320, height=180, seed=2))
    result = sustain(video, cameras=2, seconds=2.0)
    assert result == {"cameras": 2, "seconds": 2.0, "due": 4, "read": 4, "analysed": 4, "dropped": 0}
