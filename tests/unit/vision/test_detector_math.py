"""The detector's arithmetic: columnar detections, letterbox there and back, YOLO output decoding and NMS."""

from __future__ import annotations

import numpy as np
import pytest

from vision.detections import Detections, iou
from vision.letterbox import PAD_VALUE, Letterbox
from vision.yolo_output import decode, non_max_suppression


def dets(boxes: list[list[float]], scores: list[float], classes: list[int]) -> Detections:
    return Detections(np.array(boxes, np.float32), np.array(scores, np.float32), np.array(classes, np.int64))


# ---- Detections ---------------------------------------------------------------------------------------------------
def test_a_mask_selects_the_same_rows_of_every_column() -> None:
    d = dets([[0, 0, 10, 10], [5, 5, 20, 30], [1, 1, 2, 2]], [0.9, 0.5, 0.7], [0, 1, 2]).with_tracker_ids(
        np.array([7, 8, 9], np.int64)
    )
    kept = d[d.confidence > 0.6]
    assert len(kept) == 2
    assert kept.class_id.tolist() == [0, 2]
    assert kept.tracker_id is not None
    assert kept.tracker_id.tolist() == [7, 9]


def test_the_anchor_of_a_box_is_its_bottom_centre() -> None:
    assert dets([[10, 20, 30, 60]], [1.0], [0]).bottom_centers.tolist() == [[20.0, 60.0]]


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),  # the same box
        ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),  # half of each overlaps
        ((0, 0, 10, 10), (2, 2, 4, 4), 4 / 100),  # one inside the other
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # touching edges share no area
        ((0, 0, 10, 10), (30, 30, 40, 40), 0.0),  # apart
        ((5, 5, 5, 5), (5, 5, 5, 5), 0.0),  # boxes without area
    ],
)
def test_the_overlap_of_two_boxes_is_their_intersection_over_their_union(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float], expected: float
) -> None:
    assert iou(a, b) == pytest.approx(expected)
    assert iou(b, a) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("xyxy", "confidence", "class_id", "message"),
    [
        (np.zeros((2, 3)), np.zeros(2), np.zeros(2, np.int64), "shape \\(n, 4\\)"),
        (np.zeros((2, 4)), np.zeros(3), np.zeros(2, np.int64), "confidence must have shape"),
        (np.zeros((2, 4)), np.zeros(2), np.zeros(1, np.int64), "class_id must have shape"),
        (np.array([[10, 0, 5, 5]]), np.zeros(1), np.zeros(1, np.int64), "x2 < x1"),
    ],
)
def test_malformed_columns_are_refused_on_construction(
    xyxy: np.ndarray, confidence: np.ndarray, class_id: np.ndarray, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Detections(xyxy.astype(np.float32), confidence.astype(np.float32), class_id)


# ---- letterbox ----------------------------------------------------------------------------------------------------
def test_a_wide_frame_is_scaled_to_the_width_and_padded_top_and_bottom() -> None:
    frame = np.full((720, 1280, 3), 200, np.uint8)
    box = Letterbox.for_frame(1280, 720, 640)
    tensor = box.apply(frame)
    assert tensor.shape == (1, 3, 640, 640)
    assert (box.scale, box.pad_x, box.pad_y) == (0.5, 0.0, 140.0)
    assert tensor[0, 0, 0, 0] == pytest.approx(PAD_VALUE / 255)
    assert tensor[0, 0, 320, 320] == pytest.approx(200 / 255)


def test_the_letterbox_maps_boxes_back_to_the_frame_and_clips_them() -> None:
    box = Letterbox.for_frame(1280, 720, 640)
    inside = np.array([[100, 140 + 50, 300, 140 + 150], [-10, 100, 700, 600]], np.float32)
    assert box.boxes_to_source(inside).tolist() == [[200, 100, 600, 300], [0, 0, 1280, 720]]


@pytest.mark.parametrize(("width", "height"), [(4096, 1), (1, 4096), (5000, 3)])
def test_a_frame_whose_short_side_would_scale_to_nothing_keeps_one_row_of_pixels(width: int, height: int) -> None:
    frame = np.full((height, width, 3), 200, np.uint8)
    tensor = Letterbox.for_frame(width, height, 640).apply(frame)  # cv2.resize to 0 pixels would assert
    assert tensor.shape == (1, 3, 640, 640)
    assert np.count_nonzero(tensor[0, 0] == np.float32(200 / 255)) == 640


def test_a_frame_of_another_size_is_refused() -> None:
    with pytest.raises(ValueError, match="this letterbox is for"):
        Letterbox.for_frame(1280, 720, 640).apply(np.zeros((480, 640, 3), np.uint8))


# ---- decoding and NMS --------------------------------------------------------------------------------------------
def yolo_output(rows: list[tuple[float, float, float, float, list[float]]]) -> np.ndarray:
    """(1, 4 + classes, candidates) from (cx, cy, w, h, class scores) rows."""
    return np.array([[cx, cy, w, h, *scores] for cx, cy, w, h, scores in rows], np.float32).T[np.newaxis]


IDENTITY = Letterbox(size=640, source_size=(640, 640), scale=1.0, pad_x=0.0, pad_y=0.0)


def test_overlapping_boxes_of_one_class_keep_only_the_best() -> None:
    out = yolo_output([(100, 100, 50, 50, [0.9, 0.0]), (105, 102, 50, 50, [0.8, 0.0]), (400, 400, 40, 40, [0.7, 0.0])])
    d = decode(out, IDENTITY)
    assert d.confidence.tolist() == pytest.approx([0.9, 0.7])
    assert d.xyxy[0].tolist() == [75, 75, 125, 125]


def test_overlapping_boxes_of_different_classes_both_stay() -> None:
    out = yolo_output([(100, 100, 50, 50, [0.9, 0.0]), (102, 100, 50, 50, [0.0, 0.8])])
    assert sorted(decode(out, IDENTITY).class_id.tolist()) == [0, 1]


def test_candidates_under_the_score_threshold_are_dropped() -> None:
    out = yolo_output([(100, 100, 50, 50, [0.2, 0.1])])
    assert len(decode(out, IDENTITY, confidence=0.25)) == 0


def test_nms_agrees_with_a_pairwise_reference_on_random_boxes() -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 500, (200, 2)).astype(np.float32)
    wh = rng.uniform(10, 120, (200, 2)).astype(np.float32)
    boxes = np.concatenate([xy, xy + wh], axis=1)
    scores = rng.uniform(0, 1, 200).astype(np.float32)
    classes = rng.integers(0, 3, 200).astype(np.int64)
    kept = non_max_suppression(boxes, scores, classes, iou=0.5)
    reference: list[int] = []
    for i in np.argsort(-scores, kind="stable"):
        if all(classes[i] != classes[j] or _iou(boxes[i], boxes[j]) <= 0.5 for j in reference):
            reference.append(int(i))
    assert kept.tolist() == reference


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def test_an_output_of_the_wrong_shape_is_refused_naming_the_shape() -> None:
    with pytest.raises(ValueError, match="got \\(1, 3, 10\\)"):
        decode(np.zeros((1, 3, 10), np.float32), IDENTITY)
