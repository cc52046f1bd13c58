"""A real object made to stay in real footage: a crop of a real photo placed into a video's frames with the
scene's light and noise, for testing the pipeline on real pixels (a stall where there was none).

The crop's colours are moved toward the scene's where it is placed (mean and spread of each Lab channel, so a
sunlit photo does not glow in an overcast scene), it is softened to the scene's sharpness, its edge is feathered,
and noise of the scene's own level is laid over it, so that it is not a perfectly clean patch in a noisy frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Placement:
    """Where the object stands: its box in the frame's pixels (x1, y1, x2, y2), the crop scaled to fill it."""

    box: tuple[int, int, int, int]
    light_match: float = 0.7  # 0: the photo's own colours, 1: the scene's statistics exactly
    seed: int = 0

    def __post_init__(self) -> None:
        x1, y1, x2, y2 = self.box
        if x2 - x1 < 4 or y2 - y1 < 4:
            raise ValueError(f"placement box {self.box} is too small")
        if not 0 <= self.light_match <= 1:
            raise ValueError("light_match must lie in 0..1")


def noise_level(frame: Image) -> float:
    """The frame's noise, in grey levels (Immerkær's estimate: a Laplacian-like kernel cancels the image's
    structure and leaves the noise)."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    kernel = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)
    response = np.abs(cv2.filter2D(gray, -1, kernel))[1:-1, 1:-1]
    height, width = gray.shape
    return float(response.sum() * np.sqrt(np.pi / 2) / (6 * (width - 2) * (height - 2)))


def prepare(crop: Image, frame: Image, placement: Placement) -> tuple[Image, npt.NDArray[np.float32]]:
    """The crop as it will be laid into frames like ``frame`` at the placement, and its feathered alpha mask."""
    x1, y1, x2, y2 = placement.box
    width, height = x2 - x1, y2 - y1
    scaled = cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA)
    region = frame[y1:y2, x1:x2]
    lab = cv2.cvtColor(scaled, cv2.COLOR_BGR2LAB).astype(np.float32)
    scene = cv2.cvtColor(region, cv2.COLOR_BGR2LAB).astype(np.float32)
    for channel in range(3):
        mean, spread = lab[..., channel].mean(), lab[..., channel].std() + 1e-3
        target_mean = scene[..., channel].mean()
        target_spread = max(scene[..., channel].std(), 1.0)
        matched = (lab[..., channel] - mean) / spread * target_spread + target_mean
        lab[..., channel] = placement.light_match * matched + (1 - placement.light_match) * lab[..., channel]
    adjusted = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)
    softened = np.asarray(cv2.GaussianBlur(adjusted, (3, 3), 0.8), np.uint8)
    feather = max(1, min(width, height) // 12)
    edge = np.zeros((height, width), np.float32)
    edge[feather:-feather, feather:-feather] = 1.0
    alpha = np.asarray(cv2.GaussianBlur(edge, (0, 0), feather / 2 + 0.5), np.float32)
    return softened, alpha


def lay_in(frame: Image, prepared: tuple[Image, npt.NDArray[np.float32]], placement: Placement, index: int) -> Image:
    """``frame`` with the prepared object laid in and fresh noise of the scene's level over it (frame ``index``
    seeds the noise, so each frame's differs as a camera's does)."""
    patch, alpha = prepared
    x1, y1, x2, y2 = placement.box
    out = frame.copy()
    rng = np.random.default_rng(placement.seed * 1_000_003 + index)
    noisy = patch.astype(np.float32) + rng.normal(0, noise_level(frame), patch.shape).astype(np.float32)
    region = out[y1:y2, x1:x2].astype(np.float32)
    blended = alpha[..., None] * noisy + (1 - alpha[..., None]) * region
    out[y1:y2, x1:x2] = np.clip(blended, 0, 255).astype(np.uint8)
    return out
