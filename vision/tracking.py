"""Multi-object tracking with supervision's ByteTrack, configured in seconds.

ByteTrack counts in frames; a camera analysed once every two seconds and one analysed ten times a second must keep
a lost object for the same time, so the frame counts are derived from the camera's sampling interval. One tracker
runs per class (a stall never continues a person's track), and ids are unique across a camera's classes.
Detections that no track has confirmed yet are dropped here: a single stray detection never reaches the rules.

supervision is imported when a tracker is first made, not with this module: its package import brings matplotlib
and scipy (most of a second), which every `offsite` command would otherwise pay at start, tracking or not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vision.detections import Detections

if TYPE_CHECKING:
    import supervision as sv


@dataclass(frozen=True)
class TrackerConfig:
    interval_s: float  # the camera's sampling interval: seconds between analysed frames
    lost_s: float = 30.0  # how long a track survives without a detection
    activation_score: float = 0.25
    matching_iou: float = 0.2  # sparse sampling moves things far between frames: be lenient (1 - cost)
    confirm_s: float = 0.0  # a track counts once seen this long (0: on its first frame)

    def __post_init__(self) -> None:
        if not self.interval_s > 0 or self.lost_s < 0 or self.confirm_s < 0:
            raise ValueError("interval_s must be positive; lost_s and confirm_s must not be negative")
        if not 0 < self.activation_score < 1 or not 0 < self.matching_iou < 1:
            raise ValueError("activation_score and matching_iou lie strictly between 0 and 1")

    def frames(self, seconds: float) -> int:
        return max(1, math.ceil(seconds / self.interval_s - 1e-9))


class Tracker:
    """Assigns track ids to one camera's detections, frame after frame."""

    def __init__(self, config: TrackerConfig) -> None:
        self.config = config
        self._by_class: dict[int, sv.ByteTrack] = {}

    def _tracker(self, class_id: int) -> sv.ByteTrack:
        if class_id not in self._by_class:
            import supervision as sv

            config = self.config
            self._by_class[class_id] = sv.ByteTrack(
                track_activation_threshold=config.activation_score,
                lost_track_buffer=config.frames(config.lost_s),
                minimum_matching_threshold=1 - config.matching_iou,
                frame_rate=30,  # with 30 the buffer above is in frames, as computed
                minimum_consecutive_frames=config.frames(config.confirm_s) if config.confirm_s > 0 else 1,
            )
        return self._by_class[class_id]

    def update(self, detections: Detections) -> Detections:
        """Every class's tracker is stepped on every frame (an empty step ages lost tracks), ids made global."""
        classes = set(self._by_class) | {int(c) for c in np.unique(detections.class_id)}
        parts: list[Detections] = []
        import supervision as sv

        for class_id in sorted(classes):
            mine = detections[detections.class_id == class_id]
            tracked = self._tracker(class_id).update_with_detections(
                sv.Detections(
                    xyxy=mine.xyxy.astype(np.float32),
                    confidence=mine.confidence.astype(np.float32),
                    class_id=mine.class_id.astype(int),
                )
            )
            if len(tracked) == 0 or tracked.tracker_id is None:
                continue
            ids = np.array([self._global_id(class_id, int(t)) for t in tracked.tracker_id], np.int64)
            parts.append(
                Detections(
                    np.asarray(tracked.xyxy, np.float32),
                    np.asarray(tracked.confidence, np.float32),
                    np.full(len(tracked), class_id, np.int64),
                    ids,
                )
            )
        if not parts:
            return Detections.empty().with_tracker_ids(np.zeros(0, np.int64))
        return Detections(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.confidence for p in parts]),
            np.concatenate([p.class_id for p in parts]),
            np.concatenate([p.tracker_id for p in parts if p.tracker_id is not None]),
        )

    @staticmethod
    def _global_id(class_id: int, local_id: int) -> int:
        """Unique across the camera's classes, derived rather than remembered (a camera runs for months)."""
        return (class_id << 32) | local_id
