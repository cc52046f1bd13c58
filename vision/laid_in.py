"""Real objects laid into real scenes at a street camera's scale, for training (copy-paste augmentation).

The few real photos with a ground-level stall or goods show them large, filling the frame; a pole-mounted camera sees
them small, among other things. Each boxed object of the asked classes is cut out of the training photos (never a
held-out one, never a source boxed for some classes only) and laid into the plain real scenes of the mix at a height
drawn from a range, standing in the lower part of the picture, with the scene's light and noise
(``vision.synthetic.composite``). A placement that would cover much of a box the scene already has (its people and
vehicles) is drawn again, so every box of the new picture is still true.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vision.real_photos import Box, RealPhoto
from vision.synthetic.composite import Image, Placement, lay_in, prepare

MOST_COVERED = 0.25  # of a scene's box that a laid-in object may cover
TRIES = 30  # placements drawn for an object before it is left out of that picture
LOWEST_STANDING = 0.45  # an object's foot lies below this fraction of the picture's height (the ground)


@dataclass(frozen=True)
class LaidIn:
    """How many pictures to make, of which classes, how tall an object stands (a fraction of the picture's height),
    and the seed that draws the scenes, objects and places."""

    classes: tuple[str, ...]
    images: int
    height: tuple[float, float]
    seed: int = 0
    most_per_image: int = 3
    light_match: tuple[float, float] = (0.3, 0.7)  # how far its colours move to the scene's (composite.Placement)


@dataclass(frozen=True)
class Cut:
    """One boxed object cut out of a real photo."""

    name: str  # its class
    pixels: Image
    photo: str  # the photo it was cut from


@dataclass(frozen=True)
class Scene:
    """A plain real picture and the boxes it already has (its people and vehicles)."""

    path: Path
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class Made:
    """A picture made: its pixels, every box in it, and the photos its objects were cut from."""

    name: str
    pixels: Image
    boxes: tuple[Box, ...]
    cut_from: tuple[str, ...]


def cuts(photos: Sequence[RealPhoto], classes: Sequence[str], smallest_px: int = 24) -> list[Cut]:
    """Every box of ``classes`` in ``photos`` whose sides both reach ``smallest_px``, cut out of its photo."""
    found: list[Cut] = []
    for photo in photos:
        wanted = [box for box in photo.boxes or () if box.name in classes]
        if not wanted:
            continue
        image = cv2.imread(str(photo.path))
        if image is None:
            continue
        height, width = image.shape[:2]
        for box in wanted:
            x1, y1, x2, y2 = (round(v * size) for v, size in zip(box.xyxy, (width, height, width, height), strict=True))
            if min(x2 - x1, y2 - y1) >= smallest_px:
                found.append(Cut(box.name, np.ascontiguousarray(image[y1:y2, x1:x2]), photo.name))
    return found


def made(laid: LaidIn, objects: Sequence[Cut], scenes: Sequence[Scene]) -> Iterator[Made]:
    """``laid.images`` pictures: scene after scene in turn, each with one to ``most_per_image`` objects laid in."""
    if not objects or not scenes:
        return
    rng = np.random.default_rng(laid.seed)
    read = {scene.path: cv2.imread(str(scene.path)) for scene in scenes}  # each scene once, not once a picture
    for index in range(laid.images):
        scene = scenes[index % len(scenes)]
        if (plain := read[scene.path]) is None:
            continue
        image: Image = np.asarray(plain, np.uint8)
        boxes, cut_from = list(scene.boxes), []
        for number in range(int(rng.integers(1, laid.most_per_image + 1))):
            cut = objects[int(rng.integers(len(objects)))]
            pixels = cut.pixels[:, ::-1] if rng.random() < 0.5 else cut.pixels
            placement = _placement(rng, image.shape[1], image.shape[0], pixels, laid, boxes, index + number)
            if placement is None:
                continue
            image = lay_in(image, prepare(np.ascontiguousarray(pixels), image, placement), placement, index)
            boxes.append(_normalised(cut.name, placement.box, image.shape[1], image.shape[0]))
            cut_from.append(cut.photo)
        if cut_from:
            yield Made(f"laid{index:04d}_{scene.path.stem}.jpg", image, tuple(boxes), tuple(cut_from))


def _placement(
    rng: np.random.Generator, width: int, height: int, pixels: Image, laid: LaidIn, boxes: Sequence[Box], seed: int,
) -> Placement | None:  # fmt: skip
    """A box for the object, standing on the ground, that covers no more than ``MOST_COVERED`` of any box already
    in the picture; None when ``TRIES`` draws found none."""
    aspect = pixels.shape[1] / pixels.shape[0]
    for _ in range(TRIES):
        tall = rng.uniform(*laid.height) * height
        wide = min(tall * aspect, 0.6 * width)
        tall = wide / aspect
        if min(tall, wide) < 8:
            continue
        foot = rng.uniform(max(LOWEST_STANDING * height, tall), height)
        left = rng.uniform(0, width - wide)
        box = (int(left), int(foot - tall), int(left + wide), int(foot))
        if all(_covered(box, other, width, height) <= MOST_COVERED for other in boxes):
            return Placement(box, light_match=float(rng.uniform(*laid.light_match)), seed=seed)
    return None


def _covered(box: tuple[int, int, int, int], other: Box, width: int, height: int) -> float:
    """How much of ``other`` (normalised) the pixel ``box`` covers."""
    ox1, oy1, ox2, oy2 = other.xyxy[0] * width, other.xyxy[1] * height, other.xyxy[2] * width, other.xyxy[3] * height
    across = max(0.0, min(box[2], ox2) - max(box[0], ox1)) * max(0.0, min(box[3], oy2) - max(box[1], oy1))
    return across / max((ox2 - ox1) * (oy2 - oy1), 1e-9)


def _normalised(name: str, box: tuple[int, int, int, int], width: int, height: int) -> Box:
    x1, y1, x2, y2 = box
    return Box(name, (x1 / width, y1 / height, x2 / width, y2 / height))
