"""Turning a YOLO (v8/11-style, Ultralytics-exported) output tensor into ``Detections``.

The tensor is (1, 4 + classes, candidates): centre x, centre y, width, height in input pixels, then one score per
class. Candidates under the score threshold are dropped first (cheap), then a class-aware non-maximum
suppression keeps the best box of each overlapping group, all vectorised.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vision.detections import Detections
from vision.letterbox import Letterbox

MAX_DETECTIONS = 300


def iou_one_to_many(box: npt.NDArray[np.float32], boxes: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    intersection = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    result: npt.NDArray[np.float32] = (intersection / np.maximum(area + areas - intersection, 1e-9)).astype(np.float32)
    return result


def non_max_suppression(
    xyxy: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], class_id: npt.NDArray[np.int64], iou: float
) -> npt.NDArray[np.int64]:
    """Indices of the boxes kept, best first. Boxes of different classes never suppress each other: each class
    is shifted to its own region of the plane, so one pass serves all classes."""
    if len(scores) == 0:
        return np.zeros(0, np.int64)
    offset = (class_id.astype(np.float32) * (float(xyxy.max()) + 1.0))[:, None]
    shifted = xyxy + offset
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size and len(keep) < MAX_DETECTIONS:
        best = int(order[0])
        keep.append(best)
        rest = order[1:]
        order = rest[iou_one_to_many(shifted[best], shifted[rest]) <= iou]
    return np.asarray(keep, np.int64)


def decode(
    output: npt.NDArray[np.float32], letterbox: Letterbox, confidence: float = 0.25, iou: float = 0.45
) -> Detections:
    """One image's raw output → detections in frame pixels."""
    if output.ndim != 3 or output.shape[0] != 1 or output.shape[1] < 5:
        raise ValueError(f"expected a YOLO output of shape (1, 4 + classes, candidates), got {output.shape}")
    candidates = output[0].T  # (candidates, 4 + classes)
    class_scores = candidates[:, 4:]
    class_id = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(class_id)), class_id]
    keep = scores >= confidence
    if not np.any(keep):
        return Detections.empty()
    cx, cy, w, h = (candidates[keep, i] for i in range(4))
    xyxy = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1).astype(np.float32)
    scores, class_id = scores[keep].astype(np.float32), class_id[keep].astype(np.int64)
    kept = non_max_suppression(xyxy, scores, class_id, iou)
    return Detections(letterbox.boxes_to_source(xyxy[kept]), scores[kept], class_id[kept])
