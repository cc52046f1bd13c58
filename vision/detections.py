"""``Detections``: one columnar record of what a frame holds, passed from stage to stage.

Boxes, scores, classes and (after tracking) track ids are parallel numpy arrays, checked on construction; a stage
filters with a boolean mask or an index array and gets ``Detections`` back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
Selector = npt.NDArray[np.bool_] | npt.NDArray[np.integer] | slice
Xyxy = tuple[float, float, float, float]  # one box: left, top, right, bottom


def iou(a: Xyxy, b: Xyxy) -> float:
    """Intersection over union of two boxes: 0 when they do not meet, 1 when they are the same."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class Detections:
    xyxy: FloatArray  # (n, 4): x1, y1, x2, y2 in pixels of the original frame
    confidence: FloatArray  # (n,)
    class_id: IntArray  # (n,)
    tracker_id: IntArray | None = field(default=None)  # (n,) once tracked

    def __post_init__(self) -> None:
        n = self.xyxy.shape[0] if self.xyxy.ndim == 2 else -1
        if self.xyxy.ndim != 2 or self.xyxy.shape[1] != 4:
            raise ValueError(f"xyxy must have shape (n, 4), got {self.xyxy.shape}")
        for name in ("confidence", "class_id") + (("tracker_id",) if self.tracker_id is not None else ()):
            array = getattr(self, name)
            if array.shape != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {array.shape}")
        if n and bool(np.any(self.xyxy[:, 2:] < self.xyxy[:, :2])):
            raise ValueError("a box has x2 < x1 or y2 < y1")

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.xyxy.shape[0])

    def __getitem__(self, selector: Selector) -> Detections:
        return Detections(
            self.xyxy[selector],
            self.confidence[selector],
            self.class_id[selector],
            None if self.tracker_id is None else self.tracker_id[selector],
        )

    def plus(self, other: Detections) -> Detections:
        """These detections followed by ``other``'s (both tracked, or neither)."""
        if len(other) == 0:
            return self
        if (self.tracker_id is None) != (other.tracker_id is None):
            raise ValueError("cannot join tracked and untracked detections")
        tracks = None
        if self.tracker_id is not None and other.tracker_id is not None:
            tracks = np.concatenate([self.tracker_id, other.tracker_id])
        return Detections(
            np.concatenate([self.xyxy, other.xyxy]),
            np.concatenate([self.confidence, other.confidence]),
            np.concatenate([self.class_id, other.class_id]),
            tracks,
        )

    def with_tracker_ids(self, tracker_id: IntArray) -> Detections:
        return Detections(self.xyxy, self.confidence, self.class_id, tracker_id)

    @property
    def bottom_centers(self) -> FloatArray:
        """Where an object stands on the ground: the anchor that zone rules test."""
        x = (self.xyxy[:, 0] + self.xyxy[:, 2]) / 2
        return np.stack([x, self.xyxy[:, 3]], axis=1).astype(np.float32)
