"""The re-check after a notice: "is violation V still present in zone Z at time T?"

Two ways to answer, both in seconds of capture time:
- ``PresenceLog`` remembers, per rule and zone, when occurrences went on (the running pipeline records them), and
  answers for any past moment it still holds;
- ``recheck()`` looks again: it runs a fresh detector → tracker → rule pass over a window of the camera's frames
  from T on, and calls the violation present when the rule's objects stayed in the zone for at least
  ``presence_share`` of the window with the rule's median score.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from vision.frames import Frame, FrameSource
from vision.pipeline import Detector
from vision.rules import PresenceLog, RuleEngine, RuleError
from vision.tracking import Tracker, TrackerConfig

__all__ = ["PresenceLog", "RecheckResult", "recheck"]


@dataclass(frozen=True)
class RecheckResult:
    rule_id: str
    zone_id: str
    at: dt.datetime
    window_s: float
    present: bool
    seen_s: float  # how long the rule's objects stayed in the zone within the window
    frames_checked: int
    median_score: float | None
    # the frames the officer sees beside the result: the window's first, the one nearest its middle, its last
    key_frames: tuple[Frame, ...] = field(default=(), repr=False)


def recheck(
    source: FrameSource,
    detector: Detector,
    engine_template: RuleEngine,
    rule_id: str,
    zone_id: str,
    at: dt.datetime,
    window_s: float = 120.0,
    interval_s: float = 2.0,
    presence_share: float = 0.5,
) -> RecheckResult:
    """Look at the camera's frames in [at, at + window_s] and tell whether the violation is still there."""
    if window_s <= 0 or not 0 < presence_share <= 1:
        raise RuleError("recheck_window", "window_s must be positive and presence_share in (0, 1]")
    rule = next((r for r in engine_template.rules if r.rule_id == rule_id), None)
    if rule is None:
        raise RuleError("recheck_no_rule", f"the camera has no rule {rule_id!r}", rule=rule_id)
    if zone_id not in rule.zones:
        raise RuleError(
            "rule_unknown_zone", f"rule {rule_id} does not watch zone {zone_id!r}", rule=rule_id, zone=zone_id
        )
    needed = window_s * presence_share
    probe = dataclasses.replace(rule, zones=(zone_id,), min_dwell_s=needed, cooldown_s=0.0)
    engine = RuleEngine([engine_template.zones[zone_id]], [probe], detector.class_names)
    tracker = Tracker(TrackerConfig(interval_s=interval_s))
    end = at + dt.timedelta(seconds=window_s)
    frames = 0
    longest = 0.0
    scores: list[float] = []
    confirmed = False
    middle = at + dt.timedelta(seconds=window_s / 2)
    first: Frame | None = None
    nearest_middle: Frame | None = None
    last: Frame | None = None
    try:
        for frame in source.frames():
            if frame.ts < at:
                continue
            if frame.ts > end:
                break
            frames += 1
            first = first or frame
            if nearest_middle is None or abs(frame.ts - middle) < abs(nearest_middle.ts - middle):
                nearest_middle = frame
            last = frame
            step = engine.observe(frame.ts, tracker.update(detector.detect(frame.image)), frame.size)
            for occurrence in step.seen:
                longest = max(longest, occurrence.dwell_s)
                scores = list(occurrence.scores)
            confirmed = confirmed or bool(step.confirmed)
    finally:
        source.close()
    median = sorted(scores)[len(scores) // 2] if scores else None
    kept = _distinct(first, nearest_middle, last)
    return RecheckResult(rule_id, zone_id, at, window_s, confirmed, round(longest, 3), frames, median, kept)


def _distinct(*frames: Frame | None) -> tuple[Frame, ...]:
    """The frames in order, each once (a window of one or two frames has fewer than three)."""
    kept: list[Frame] = []
    for frame in frames:
        if frame is not None and all(frame.seq != other.seq for other in kept):
            kept.append(frame)
    return tuple(kept)
