"""Zones in a camera's image, in coordinates normalised to the frame (0..1), so one config serves any
resolution the camera streams at.

- ``PolygonZone``: a no-vending area, a shop's sidewalk strip, a site. Refused on construction unless it has at
  least three points, lies inside the frame and is simple (its edges do not cross).
- ``FrontLine``: a shop-front line; goods on its street side are beyond the shop's door and outer wall.
Detections are tested by their bottom-centre anchor, where an object meets the ground.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt

from vision.detections import Detections

Point = tuple[float, float]
BoolArray = npt.NDArray[np.bool_]


class ZoneError(ValueError):
    """A zone that cannot be used; ``key`` and ``params`` name the problem for a reader of another language (the
    project's message catalogue has ``camera_config.<key>``), the message says it in English."""

    def __init__(self, key: str, problem: str, **params: object) -> None:
        super().__init__(problem)
        self.key = key
        self.params = params


def _cross(o: Point, a: Point, b: Point) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def _segments_cross(p1: Point, p2: Point, q1: Point, q2: Point) -> bool:
    """Proper crossing or touching of two segments (collinear overlaps count as crossing)."""
    d1, d2 = _cross(q1, q2, p1), _cross(q1, q2, p2)
    d3, d4 = _cross(p1, p2, q1), _cross(p1, p2, q2)
    if ((d1 > 0) != (d2 > 0)) and ((d3 > 0) != (d4 > 0)) and 0 not in (d1, d2, d3, d4):
        return True

    def on_segment(a: Point, b: Point, c: Point) -> bool:
        return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and min(a[1], b[1]) <= c[1] <= max(a[1], b[1])

    return any(
        d == 0 and on_segment(a, b, c)
        for d, a, b, c in ((d1, q1, q2, p1), (d2, q1, q2, p2), (d3, p1, p2, q1), (d4, p1, p2, q2))
    )


MAX_POLYGON_POINTS = 100  # a zone drawn on a camera's picture: a street's outline, never thousands of points


@dataclass(frozen=True)
class PolygonZone:
    name: str
    points: tuple[Point, ...]

    def __post_init__(self) -> None:
        if len(self.points) > MAX_POLYGON_POINTS:  # before the edges are compared pairwise
            raise ZoneError(
                "polygon_too_many_points",
                f"zone {self.name}: a polygon has at most {MAX_POLYGON_POINTS} points, got {len(self.points)}",
                zone=self.name,
                count=len(self.points),
                limit=MAX_POLYGON_POINTS,
            )
        if len(self.points) < 3:
            raise ZoneError(
                "polygon_too_few_points",
                f"zone {self.name}: a polygon needs at least 3 points, got {len(self.points)}",
                zone=self.name,
                count=len(self.points),
            )
        outside = [p for p in self.points if not (0.0 <= p[0] <= 1.0 and 0.0 <= p[1] <= 1.0)]
        if outside:
            raise ZoneError("polygon_outside", f"zone {self.name}: points {outside} lie outside the frame (coordinates are 0..1)",
                            zone=self.name)  # fmt: skip
        edges = [(self.points[i], self.points[(i + 1) % len(self.points)]) for i in range(len(self.points))]
        for (i, a), (j, b) in combinations(enumerate(edges), 2):
            adjacent = j == i + 1 or (i == 0 and j == len(edges) - 1)
            if not adjacent and _segments_cross(a[0], a[1], b[0], b[1]):
                raise ZoneError("polygon_not_simple", f"zone {self.name}: edges {i} and {j} cross: the polygon is not simple",
                                zone=self.name, first=i + 1, second=j + 1)  # fmt: skip
        if abs(self.signed_area) < 1e-9:
            raise ZoneError("polygon_no_area", f"zone {self.name}: the polygon has no area", zone=self.name)

    @property
    def signed_area(self) -> float:
        xs = np.array([p[0] for p in self.points])
        ys = np.array([p[1] for p in self.points])
        return float(0.5 * (np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))))

    def contains(self, points: npt.NDArray[np.float32]) -> BoolArray:
        """Which of the (n, 2) normalised points lie inside (even-odd rule, all points at once)."""
        x, y = points[:, 0:1], points[:, 1:2]
        poly = np.array(self.points, np.float64)
        x1, y1 = poly[:, 0], poly[:, 1]
        x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
        straddles = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        crossings = straddles & (x < crossing_x)
        result: BoolArray = (crossings.sum(axis=1) % 2) == 1
        return result

    def contains_anchors(self, detections: Detections, frame_size: tuple[int, int]) -> BoolArray:
        width, height = frame_size
        normalised = (detections.bottom_centers / np.array([width, height], np.float32)).astype(np.float32)
        return self.contains(normalised)


@dataclass(frozen=True)
class FrontLine:
    """A shop-front line from ``start`` to ``end``; the street lies on the side ``street_side`` points to."""

    name: str
    start: Point
    end: Point
    street_side: Point

    def __post_init__(self) -> None:
        for label, p in (("start", self.start), ("end", self.end), ("street_side", self.street_side)):
            if not (0.0 <= p[0] <= 1.0 and 0.0 <= p[1] <= 1.0):
                raise ZoneError(
                    "line_outside", f"front line {self.name}: {label} {p} lies outside the frame", zone=self.name
                )
        if self.start == self.end:
            raise ZoneError(
                "line_no_length", f"front line {self.name}: start and end are the same point", zone=self.name
            )
        if _cross(self.start, self.end, self.street_side) == 0:
            raise ZoneError("line_no_street_side", f"front line {self.name}: street_side lies on the line, so no side is the street",
                            zone=self.name)  # fmt: skip

    def beyond(self, points: npt.NDArray[np.float32]) -> BoolArray:
        """Which normalised points lie strictly on the street side of the line."""
        (sx, sy), (ex, ey) = self.start, self.end
        side = (ex - sx) * (points[:, 1] - sy) - (ey - sy) * (points[:, 0] - sx)
        street = np.sign(_cross(self.start, self.end, self.street_side))
        result: BoolArray = np.sign(side) == street
        return result
