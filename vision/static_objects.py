"""A second path for what no model names yet: a new object that stays (abandoned-object detection).

Two background models of the picture, both OpenCV's MOG2 (``cv2.createBackgroundSubtractorMOG2``): a long-term one
that remembers what was there before (time constant ``long_s``) and a short-term one that learns what is there now
(``short_s``). A pixel that the long model still calls foreground but the short one has already taken into its
background belongs to something that arrived and stayed: *static foreground*. Whatever moves (walkers, traffic)
is foreground in both and never static.

Made robust to what fools plain background subtraction:
- **people and vehicles**: the detector's person and vehicle boxes are painted with the long model's background
  before either model sees the frame, so someone standing still never becomes a "staying object";
- **shadows**: MOG2's shadow detection marks them, and shadow pixels never count;
- **lighting**: a change that sweeps most of the picture relearns both models at once, and a candidate whose
  structure (image gradients) matches the background's where it lies is light on the same ground, not an object;
- **flicker**: a pixel must stay static for ``hold_s`` (an accumulator in seconds, not frames) before it counts;
- **something taken away** (a car parked when the camera started, now gone): the long model still remembers it
  where the picture shows the ground again. Such a *ghost* is told from a new object by the contour along the
  region's outline: the remembered picture's is clearly the stronger (``is_ghost``). Only edges across the
  outline count, so the ground's texture, a kerb or a pole behind a new object do not make it a ghost (a grey
  kiosk over a lawn's edge, seen in a camera's black-and-white night mode, was one when edge strength alone
  was compared);
- **a camera that moves** (shaken by wind, knocked, re-fixed after maintenance): each frame's shift against the
  long model's background is measured by phase correlation (``cv2.phaseCorrelate``), and a frame whose view moved
  is laid back onto the background before either model sees it, so the street's edges do not become "objects" in
  their new place. A view moved further than ``max_shift`` of its width is a new view, relearned as a change of
  light is, and so is a picture of another size (the camera's resolution changed mid-stream). Candidates are
  reported where they stand in the picture the camera sent.

Candidates are boxes in frame pixels with a score: how unlike the background's structure the region is (0..1).
The rule engine then treats them as the class ``unknown_object`` (``STATIC_CLASS``) under its dwell rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vision.detections import Detections
from vision.rules import STATIC_CLASS

__all__ = ["STATIC_CLASS", "StaticCandidate", "StaticObjectConfig", "StaticObjects", "as_detections"]
SHADOW = 127  # MOG2's value for a shadow pixel
STILL_PX = 0.5  # a view moved by less than this (in the models' pixels) is taken as it is
MIN_RESPONSE = 0.1  # a phase correlation peak weaker than this measures no shift (a picture without structure)
GHOST_MARGIN = 1.15  # a departed object's remembered contour is this much stronger than the picture's (is_ghost)
GHOST_ROOM = 4  # pixels around a region that is_ghost sees, so that its outline lies inside the crop


@dataclass(frozen=True)
class StaticObjectConfig:
    long_s: float = 900.0  # the long-term background's time constant: what was there before
    short_s: float = 10.0  # the short-term one's: what is there now
    hold_s: float = 3.0  # static this long (seconds) before a pixel counts
    warmup_s: float = 20.0  # no candidate while the models are younger than this (they are still learning)
    min_area: float = 0.0015  # a candidate covers at least this share of the picture
    min_difference: float = 0.35  # and its structure differs at least this much from the background's
    relearn_fraction: float = 0.45  # this share of the picture changing at once is a change of light
    width: int = 320  # the models work on the picture scaled to this width
    max_shift: float = 0.1  # a view moved by more than this share of its width is a new view, not a shaken one

    def __post_init__(self) -> None:
        if not 0 < self.short_s < self.long_s:
            raise ValueError("short_s must be positive and shorter than long_s")
        if self.hold_s < 0 or not 0 < self.min_area < 1 or not 0 <= self.min_difference < 1:
            raise ValueError("hold_s must not be negative; min_area and min_difference must lie in 0..1")
        if not 0 < self.relearn_fraction <= 1 or self.width < 32:
            raise ValueError("relearn_fraction must lie in (0, 1] and width be at least 32")
        if not 0 <= self.max_shift < 0.5:
            raise ValueError("max_shift must lie in 0..0.5")


@dataclass(frozen=True)
class StaticCandidate:
    box: tuple[float, float, float, float]  # frame pixels
    score: float  # how unlike the background's structure it is, 0..1


class StaticObjects:
    """One camera's static-foreground detector; fed frames in capture order."""

    def __init__(self, config: StaticObjectConfig | None = None, masked_classes: tuple[int, ...] = ()) -> None:
        self.config = config or StaticObjectConfig()
        self.masked_classes = np.array(masked_classes, np.int64)  # the detector's person and vehicle ids
        self._long = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=True)
        self._short = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=True)
        self._held: npt.NDArray[np.float32] | None = None  # seconds each pixel has been static
        self._last: dt.datetime | None = None
        self._frames = 0
        self._shape: tuple[int, ...] = ()  # the models' picture: a change of the camera's resolution starts them again
        self._age = 0.0  # seconds of picture the models have seen since they (re)started
        self.relearned = 0  # times a change of light, of view or of resolution made the models start again
        self._window: npt.NDArray[np.float32] | None = None  # the phase correlation's Hanning window

    def update(self, ts: dt.datetime, image: npt.NDArray[np.uint8], detections: Detections) -> list[StaticCandidate]:
        """Take one frame (BGR) and the detector's findings in it; answer what has stayed."""
        small, scale = self._small(image)
        elapsed = 0.0 if self._last is None else max(0.0, (ts - self._last).total_seconds())
        self._last = ts
        resized, self._shape = bool(self._frames) and small.shape != self._shape, small.shape
        if resized:  # the camera's resolution changed: a new view
            self._relearn(small)
            return []
        masked = self._mask_of(detections, small.shape[:2], scale)
        shift = (0.0, 0.0)
        if self._frames:
            background = np.asarray(self._long.getBackgroundImage(), np.uint8)
            shift = self._view_shift(small, background)
            if shift != (0.0, 0.0):
                small, masked = self._laid_back(small, masked, shift)
            if masked.any():
                small = np.where(masked[..., None], background, small)
        long_fg = self._apply(self._long, small, elapsed, self.config.long_s)
        short_fg = self._apply(self._short, small, elapsed, self.config.short_s)
        self._frames += 1
        if self._frames > 1 and np.mean(long_fg == 255) > self.config.relearn_fraction:
            self._relearn(small)
            return []
        self._age += elapsed
        static = (long_fg == 255) & (short_fg == 0) & ~masked
        if self._age < self.config.warmup_s:
            return []  # nothing is held while the models learn the scene
        held = self._hold(static, elapsed)
        return self._candidates(held >= self.config.hold_s, small, scale, shift)

    def _view_shift(self, small: npt.NDArray[np.uint8], background: npt.NDArray[np.uint8]) -> tuple[float, float]:
        """How far the picture's view has moved against the background (models' pixels); (0, 0) for a view that
        stayed, or one moved so far that it is a new view (the relearning takes that)."""
        height, width = small.shape[:2]
        if self._window is None or self._window.shape != (height, width):
            self._window = np.asarray(cv2.createHanningWindow((width, height), cv2.CV_32F), np.float32)
        now, before = (cv2.cvtColor(p, cv2.COLOR_BGR2GRAY).astype(np.float32) for p in (small, background))
        (dx, dy), response = cv2.phaseCorrelate(before, now, self._window)
        moved = float(np.hypot(dx, dy))
        if moved < STILL_PX or moved > self.config.max_shift * width or response < MIN_RESPONSE:
            return 0.0, 0.0
        return float(dx), float(dy)

    @staticmethod
    def _laid_back(small: npt.NDArray[np.uint8], masked: npt.NDArray[np.bool_], shift: tuple[float, float]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.bool_]]:  # fmt: skip
        """The picture and its mask moved back onto the background; the band the moved view no longer covers is
        masked (the background fills it)."""
        height, width = small.shape[:2]
        back = np.array([[1, 0, -shift[0]], [0, 1, -shift[1]]], np.float32)
        picture = cv2.warpAffine(small, back, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        covered = cv2.warpAffine(np.ones((height, width), np.uint8), back, (width, height), flags=cv2.INTER_NEAREST,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
        mask = cv2.warpAffine(masked.astype(np.uint8), back, (width, height), flags=cv2.INTER_NEAREST,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # fmt: skip
        return np.asarray(picture, np.uint8), (mask > 0) | (covered == 0)

    def _small(self, image: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], float]:
        height, width = image.shape[:2]
        scale = min(1.0, self.config.width / width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if scale < 1 else image
        return np.asarray(cv2.GaussianBlur(small, (3, 3), 0), np.uint8), scale

    def _mask_of(self, detections: Detections, shape: tuple[int, ...], scale: float) -> npt.NDArray[np.bool_]:
        mask = np.zeros(shape[:2], np.bool_)
        if len(detections) == 0 or not len(self.masked_classes):
            return mask
        people = detections[np.isin(detections.class_id, self.masked_classes)]
        height, width = shape[:2]
        for x1, y1, x2, y2 in people.xyxy * scale:
            pad_x, pad_y = (x2 - x1) * 0.15, (y2 - y1) * 0.1  # a loose box: limbs, shadows at the feet
            mask[max(0, int(y1 - pad_y)) : min(height, int(y2 + pad_y) + 1),
                 max(0, int(x1 - pad_x)) : min(width, int(x2 + pad_x) + 1)] = True  # fmt: skip
        return mask

    def _apply(self, model: cv2.BackgroundSubtractorMOG2, small: npt.NDArray[np.uint8], elapsed: float, tau: float) -> npt.NDArray[np.uint8]:  # fmt: skip
        # Learning in seconds: a model forgets with time constant tau whatever the frame rate. While it warms up it
        # averages everything it has seen (rate elapsed/age), so that people crossing the first frames fade from
        # it instead of staying behind as ghosts.
        if self._frames == 0:
            rate = 1.0
        elif self._age < self.config.warmup_s:
            rate = max(min(1.0, elapsed / tau), elapsed / max(self._age + elapsed, 1e-6))
        else:
            rate = min(1.0, elapsed / tau)
        return np.asarray(model.apply(small, learningRate=rate), np.uint8)

    def _relearn(self, small: npt.NDArray[np.uint8]) -> None:
        for model in (self._long, self._short):
            model.apply(small, learningRate=1.0)
        self._held = None
        self._frames = 1
        self._age = 0.0
        self.relearned += 1

    def _hold(self, static: npt.NDArray[np.bool_], elapsed: float) -> npt.NDArray[np.float32]:
        if self._held is None or self._held.shape != static.shape:
            self._held = np.zeros(static.shape, np.float32)
        held = self._held
        held[static] += elapsed
        held[~static] = np.maximum(0.0, held[~static] - 2 * elapsed)  # a gap counts double against it
        return held

    def _candidates(self, region: npt.NDArray[np.bool_], small: npt.NDArray[np.uint8], scale: float,
                    shift: tuple[float, float]) -> list[StaticCandidate]:  # fmt: skip
        if not region.any():
            return []
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        mask = cv2.morphologyEx(region.astype(np.uint8) * 255, cv2.MORPH_CLOSE, kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        count, labels, stats, _centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        min_pixels = self.config.min_area * mask.size
        background = np.asarray(self._long.getBackgroundImage(), np.uint8)
        found: list[StaticCandidate] = []
        for index, (x, y, w, h, area) in enumerate(stats[1:count], start=1):
            if area < min_pixels:
                continue
            difference = structure_difference(small[y : y + h, x : x + w], background[y : y + h, x : x + w])
            if difference < self.config.min_difference:
                continue  # the same structure as before under other light
            around = (
                slice(max(0, y - GHOST_ROOM), y + h + GHOST_ROOM),
                slice(max(0, x - GHOST_ROOM), x + w + GHOST_ROOM),
            )
            if is_ghost(labels[around] == index, small[around], background[around]):
                continue  # something left: the long model still remembers it, the picture no longer shows it
            found.append(StaticCandidate(self._as_sent((x, y, x + w, y + h), shift, mask.shape, scale), difference))
        return found

    @staticmethod
    def _as_sent(box: tuple[int, int, int, int], shift: tuple[float, float], shape: tuple[int, ...], scale: float) -> tuple[float, float, float, float]:  # fmt: skip
        """A box of the models' (background's) picture where it stands in the picture the camera sent."""
        (dx, dy), (height, width) = shift, shape[:2]
        x1, y1, x2, y2 = (float(np.clip(v + d, 0, limit)) for v, d, limit in
                          zip(box, (dx, dy, dx, dy), (width, height, width, height), strict=True))  # fmt: skip
        return x1 / scale, y1 / scale, x2 / scale, y2 / scale


def structure_difference(patch: npt.NDArray[np.uint8], background: npt.NDArray[np.uint8]) -> float:
    """1 minus the correlation of the two regions' image gradients: near 0 when only the light differs (edges stay
    where they were), near 1 for a new object (its own edges)."""
    if patch.shape[0] < 3 or patch.shape[1] < 3:
        return 0.0
    a, b = (_gradient(region) for region in (patch, background))
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if denominator < 1e-6:
        return 0.0 if float(np.abs(a).sum() + np.abs(b).sum()) < 1e-6 else 1.0
    correlation = float((a * b).sum()) / denominator
    return float(np.clip(1.0 - correlation, 0.0, 1.0))


def is_ghost(blob: npt.NDArray[np.bool_], patch: npt.NDArray[np.uint8], background: npt.NDArray[np.uint8]) -> bool:
    """Whether a static region is where something *was* rather than something new: along the region's outline the
    remembered background has a contour clearly stronger (``GHOST_MARGIN``) than the picture's (the departed
    object's contour there, the ground's continuity here). Only edges across the outline count, as a contour's are
    (the gradient along the outline's normal): the ground's texture, a kerb or a pole crossing the outline count
    little. In doubt it is no ghost: a candidate goes to an operator, a ghost is dropped unseen. ``blob`` is the
    region in a crop with room around it (its outline must not lie on the crop's edge)."""
    if blob.shape[0] < 3 or blob.shape[1] < 3:
        return False
    normal = _outline_normal(blob)
    if normal is None:
        return False
    return contour_strength(background, normal) > GHOST_MARGIN * contour_strength(patch, normal)


def _outline_normal(blob: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None:
    """The region's outline as a field of unit normals (x and y) weighted by how sharply the region ends there; zero
    away from the outline. None for a region without one."""
    soft = cv2.GaussianBlur(blob.astype(np.float32), (0, 0), 1.5)
    nx = cv2.Sobel(soft, cv2.CV_32F, 1, 0, ksize=3)
    ny = cv2.Sobel(soft, cv2.CV_32F, 0, 1, ksize=3)
    weight = np.hypot(nx, ny)
    if float(weight.max()) <= 0:
        return None
    weight[weight < 0.05 * weight.max()] = 0
    unit = np.maximum(weight, 1e-6)
    return np.asarray(nx / unit * weight, np.float32), np.asarray(ny / unit * weight, np.float32)


def contour_strength(
    region: npt.NDArray[np.uint8], normal: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]
) -> float:
    """The mean edge strength across an outline (its normals weighted as ``_outline_normal`` gives them), the
    strongest of the three colour channels."""
    gx, gy = _sobel(region)
    nx, ny = normal
    across = np.abs(gx * nx[..., None] + gy * ny[..., None]).max(axis=2)
    return float(across.sum() / max(float(np.hypot(nx, ny).sum()), 1e-6))


def _gradient(region: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
    """Edge strength per pixel, the strongest of the three colour channels (an object of the ground's brightness
    but another colour still has edges)."""
    gx, gy = _sobel(region)
    return np.asarray(np.sqrt(gx * gx + gy * gy).max(axis=2), np.float32)


def _sobel(region: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The image gradient in x and in y, per colour channel."""
    channels = region.astype(np.float32)
    gx = np.asarray(cv2.Sobel(channels, cv2.CV_32F, 1, 0, ksize=3), np.float32)
    return gx, np.asarray(cv2.Sobel(channels, cv2.CV_32F, 0, 1, ksize=3), np.float32)


def as_detections(candidates: list[StaticCandidate], class_id: int) -> Detections:
    """Candidates as detections of the static class (for the rule engine)."""
    if not candidates:
        return Detections.empty()
    return Detections(
        np.array([c.box for c in candidates], np.float32),
        np.array([c.score for c in candidates], np.float32),
        np.full(len(candidates), class_id, np.int64),
    )
