"""Zones: refused unless usable; anchors tested inside polygons and beyond shop-front lines."""

from __future__ import annotations

import numpy as np
import pytest

from vision.detections import Detections
from vision.zones import FrontLine, PolygonZone, ZoneError

SQUARE = ((0.2, 0.2), (0.6, 0.2), (0.6, 0.6), (0.2, 0.6))


@pytest.mark.parametrize(
    ("points", "message"),
    [
        (((0.1, 0.1), (0.5, 0.1)), "at least 3 points"),
        (((0.1, 0.1), (1.2, 0.1), (0.5, 0.5)), "outside the frame"),
        (((0.1, 0.1), (0.5, 0.5), (0.9, 0.9)), "no area"),
        (((0.1, 0.1), (0.9, 0.9), (0.9, 0.1), (0.1, 0.9)), "edges 0 and 2 cross"),  # a bow tie
        (((0.5, 0.5),) * 30_000, "at most 100 points, got 30000"),  # refused before its edges are compared
    ],
)
def test_a_zone_that_cannot_be_used_is_refused_naming_why(
    points: tuple[tuple[float, float], ...], message: str
) -> None:
    with pytest.raises(ZoneError, match=message):
        PolygonZone("Z1", points)


@pytest.mark.parametrize(
    ("point", "inside"),
    [((0.4, 0.4), True), ((0.1, 0.4), False), ((0.7, 0.4), False), ((0.4, 0.65), False), ((0.59, 0.21), True)],
)
def test_points_inside_a_square_zone(point: tuple[float, float], inside: bool) -> None:
    assert PolygonZone("Z1", SQUARE).contains(np.array([point], np.float32)).tolist() == [inside]


def test_a_concave_zone_leaves_its_notch_outside() -> None:
    notched = PolygonZone("L", ((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.5, 0.9), (0.5, 0.5), (0.1, 0.5)))
    points = np.array([[0.3, 0.3], [0.3, 0.7], [0.7, 0.7]], np.float32)
    assert notched.contains(points).tolist() == [True, False, True]


def test_a_detection_counts_where_it_stands_not_where_its_box_reaches() -> None:
    # in a 1000 x 1000 frame: a box reaching into the zone from below, standing outside it; another standing inside
    boxes = Detections(
        np.array([[350, 500, 450, 700], [350, 300, 450, 500]], np.float32),
        np.array([0.9, 0.9], np.float32),
        np.array([0, 0], np.int64),
    )
    assert PolygonZone("Z1", SQUARE).contains_anchors(boxes, (1000, 1000)).tolist() == [False, True]


def test_goods_beyond_the_shop_front_line_are_on_the_street_side() -> None:
    line = FrontLine("SHOP-1", start=(0.1, 0.5), end=(0.9, 0.5), street_side=(0.5, 0.9))
    points = np.array([[0.5, 0.7], [0.5, 0.3], [0.5, 0.5]], np.float32)
    assert line.beyond(points).tolist() == [True, False, False]  # on the line is not beyond it


@pytest.mark.parametrize(
    ("start", "end", "side", "message"),
    [
        ((0.1, 0.5), (0.1, 0.5), (0.5, 0.9), "the same point"),
        ((0.1, 0.5), (0.9, 0.5), (0.5, 0.5), "lies on the line"),
        ((0.1, 0.5), (1.9, 0.5), (0.5, 0.9), "outside the frame"),
    ],
)
def test_a_front_line_that_cannot_be_used_is_refused(
    start: tuple[float, float], end: tuple[float, float], side: tuple[float, float], message: str
) -> None:
    with pytest.raises(ZoneError, match=message):
        FrontLine("SHOP-1", start, end, side)
