"""The camera: where it hangs and how it sees. ``CameraView`` is the perspective warp from the street canvas to the
frame (camera height, tilt, pan, roll and zoom); ``Look`` is the light, haze, blur, noise and compression."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from vision.synthetic.sprites import Image
from vision.synthetic.street import CANVAS_MARGIN, StreetLayout

Matrix = npt.NDArray[np.float64]
Rect = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)


@dataclass(frozen=True, eq=False)
class CameraView:
    homography: Matrix  # canvas pixels → frame pixels
    frame_width: int
    frame_height: int

    def project(self, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
        array = np.asarray(points, np.float64).reshape(-1, 1, 2)
        return np.asarray(cv2.perspectiveTransform(array, self.homography), np.float64).reshape(-1, 2)

    def projected_rect(self, x0: float, y0: float, x1: float, y1: float) -> Rect:
        """The frame rectangle holding the image of a canvas rectangle (a projective map sends the rectangle to a
        quadrilateral, whose bounds are its corners')."""
        corners = self.project([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
        (left, top), (right, bottom) = corners.min(axis=0), corners.max(axis=0)
        return math.floor(left) - 1, math.floor(top) - 1, math.ceil(right) + 2, math.ceil(bottom) + 2

    def warp(self, canvas: npt.NDArray[Any], rect: Rect, nearest: bool = False) -> npt.NDArray[Any]:
        """The part ``rect`` of the frame (which may reach beyond the frame) as the camera sees ``canvas``."""
        x0, y0, x1, y1 = rect
        shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
        flags = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        border = cv2.BORDER_CONSTANT if nearest else cv2.BORDER_REPLICATE
        return cv2.warpPerspective(canvas, shift @ self.homography, (x1 - x0, y1 - y0), flags=flags, borderMode=border)

    def warp_patch(self, patch: npt.NDArray[Any], at: tuple[int, int], rect: Rect) -> npt.NDArray[Any]:
        """A patch lying on the canvas with its top-left at ``at``, seen by the camera within ``rect``."""
        x0, y0, x1, y1 = rect
        shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64)
        place = np.array([[1, 0, at[0]], [0, 1, at[1]], [0, 0, 1]], np.float64)
        return cv2.warpPerspective(patch, shift @ self.homography @ place, (x1 - x0, y1 - y0), flags=cv2.INTER_NEAREST)

    @property
    def frame_rect(self) -> Rect:
        return 0, 0, self.frame_width, self.frame_height

    def zone_in_frame(self, polygon: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """A convex canvas polygon as the camera sees it, clipped to the frame, in normalised coordinates."""
        projected = self.project(polygon).astype(np.float32)
        frame = np.array(
            [[0, 0], [self.frame_width, 0], [self.frame_width, self.frame_height], [0, self.frame_height]], np.float32
        )
        area, clipped = cv2.intersectConvexConvex(projected, frame)
        if area <= 0 or clipped is None:
            return []
        return [
            (round(float(x) / self.frame_width, 5), round(float(y) / self.frame_height, 5))
            for x, y in clipped.reshape(-1, 2)
        ]

    def line_in_frame(self, line: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """A canvas segment (e.g. a shop-front line) in normalised frame coordinates, clipped to the frame
        (Liang–Barsky); empty if the camera does not see it."""
        (ax, ay), (bx, by) = (
            (float(x) / self.frame_width, float(y) / self.frame_height) for x, y in self.project(line)
        )
        low, high = 0.0, 1.0
        for step, room in ((-(bx - ax), ax), (bx - ax, 1 - ax), (-(by - ay), ay), (by - ay, 1 - ay)):
            if step == 0:
                if room < 0:
                    return []
                continue
            share = room / step
            low, high = (max(low, share), high) if step < 0 else (low, min(high, share))
        if high - low <= 1e-6:
            return []
        return [(round(ax + (bx - ax) * t, 5), round(ay + (by - ay) * t, 5)) for t in (low, high)]


def sample_camera(
    rng: np.random.Generator, layout: StreetLayout, frame_width: int, frame_height: int, strength: float = 1.0
) -> CameraView:
    """A camera pose: tilt (a keystone, as from a higher or lower mount), yaw, roll, zoom and pan. The zoom is
    raised until the frame sees only canvas, never a border."""
    w, h = frame_width, frame_height
    tilt = rng.uniform(-0.08, 0.3) * strength
    yaw = rng.uniform(-0.12, 0.12) * strength
    roll = math.radians(rng.uniform(-5, 5) * strength)
    zoom = rng.uniform(0.95, 1.25)
    pan = rng.uniform(-0.04, 0.04, 2) * strength * (w, h)
    frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    keystone_corners = np.array(
        [[tilt * w / 2, yaw * h], [w - tilt * w / 2, -yaw * h], [w, h - yaw * h], [0, h + yaw * h]], np.float32
    )
    keystone = cv2.getPerspectiveTransform(frame, keystone_corners).astype(np.float64)
    to_frame = np.array([[1, 0, -CANVAS_MARGIN * w], [0, 1, -CANVAS_MARGIN * h], [0, 0, 1]], np.float64)
    for _ in range(60):
        homography = _similarity(zoom, roll, pan, w, h) @ keystone @ to_frame
        view = CameraView(homography, w, h)
        if _sees_only_canvas(view, layout):
            return view
        zoom *= 1.04
    return CameraView(to_frame, w, h)  # unreachable in practice: the identity pose always fits


def _similarity(zoom: float, roll: float, pan: npt.NDArray[np.float64], w: int, h: int) -> Matrix:
    cx, cy = w / 2, h / 2
    cos, sin = math.cos(roll) * zoom, math.sin(roll) * zoom
    return np.array(
        [[cos, -sin, cx - cos * cx + sin * cy + pan[0]], [sin, cos, cy - sin * cx - cos * cy + pan[1]], [0, 0, 1]],
        np.float64,
    )


def _sees_only_canvas(view: CameraView, layout: StreetLayout) -> bool:
    w, h = view.frame_width, view.frame_height
    edge = [(x, y) for x in np.linspace(0, w, 5) for y in (0, h)] + [
        (x, y) for y in np.linspace(0, h, 5) for x in (0, w)
    ]
    back = cv2.perspectiveTransform(np.array(edge, np.float64).reshape(-1, 1, 2), np.linalg.inv(view.homography))
    xs, ys = back[:, 0, 0], back[:, 0, 1]
    return bool(
        (xs >= 0).all() and (xs <= layout.width - 1).all() and (ys >= 0).all() and (ys <= layout.height - 1).all()
    )


@dataclass(frozen=True)
class Look:
    """Light and optics. ``haze`` is the fog blend at the top of the frame (far away), fading toward the bottom."""

    gains: tuple[float, float, float]  # colour cast, per B, G, R
    contrast: float
    brightness: float  # added, in grey levels
    gamma: float
    haze: float  # 0..1
    haze_colour: tuple[int, int, int]
    blur_sigma: float  # 0: sharp
    noise_sigma: float  # sensor noise, grey levels
    jpeg_quality: int | None  # None: no compression artefacts

    def lookup_table(self) -> Image:
        levels = np.arange(256, dtype=np.float64) / 255.0
        curve = (levels**self.gamma) * 255.0 * self.contrast + self.brightness + (1 - self.contrast) * 128
        table = np.stack([np.clip(curve * gain, 0, 255) for gain in self.gains], axis=-1)
        return table.astype(np.uint8).reshape(256, 1, 3)


def sample_look(rng: np.random.Generator, video: bool = False) -> Look:
    dusk = rng.random() < 0.2
    warm = rng.uniform(-0.12, 0.12)
    gains = (1.0 - warm + rng.uniform(-0.05, 0.05), 1.0 + rng.uniform(-0.06, 0.06), 1.0 + warm)
    foggy = rng.random() < 0.35
    return Look(
        gains=gains,
        contrast=rng.uniform(0.65, 1.2),
        brightness=rng.uniform(-60, -20) if dusk else rng.uniform(-25, 30),
        gamma=rng.uniform(0.75, 1.35),
        haze=rng.uniform(0.25, 0.6) if foggy else rng.uniform(0, 0.12),
        haze_colour=tuple(int(v) for v in rng.integers(170, 235, 3)),  # type: ignore[arg-type]
        blur_sigma=0.0 if rng.random() < 0.5 else rng.uniform(0.4, 1.6 if not video else 0.9),
        noise_sigma=rng.uniform(0, 9 if not video else 3),
        jpeg_quality=None if video or rng.random() < 0.2 else int(rng.integers(25, 96)),
    )


class Optics:
    """Applies a ``Look`` to frames or parts of frames of one size; built once per video."""

    def __init__(self, look: Look, frame_width: int, frame_height: int) -> None:
        self.look = look
        self._table = look.lookup_table()
        rows = np.linspace(1.0, 0.0, frame_height, dtype=np.float32)
        # fog thickens with distance: the top of the frame is far, the bottom near
        self._haze = (look.haze * (0.25 + 0.75 * rows**1.5)).reshape(-1, 1, 1).astype(np.float32)
        self._haze_colour = np.array(look.haze_colour, np.float32) * self._haze

    def light(self, region: Image, top: int) -> Image:
        """Light, haze and blur for a region of the frame whose first row is ``top``."""
        lit = np.asarray(cv2.LUT(region, self._table), np.uint8)
        if self.look.haze > 0:
            haze = self._haze[top : top + lit.shape[0]]
            lit = (lit * (1 - haze) + self._haze_colour[top : top + lit.shape[0]]).astype(np.uint8)
        if self.look.blur_sigma > 0:
            lit = np.asarray(cv2.GaussianBlur(lit, (0, 0), self.look.blur_sigma), np.uint8)
        return lit

    def sensor(self, frame: Image, rng: np.random.Generator) -> Image:
        """Noise and compression, for a whole frame."""
        if self.look.noise_sigma > 0:
            noise = rng.normal(0, self.look.noise_sigma, frame.shape[:2]).astype(np.int16)
            frame = np.clip(frame.astype(np.int16) + noise[..., None], 0, 255).astype(np.uint8)
        if self.look.jpeg_quality is not None:
            ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.look.jpeg_quality])
            decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR) if ok else None
            frame = frame if decoded is None else np.asarray(decoded, np.uint8)
        return frame
