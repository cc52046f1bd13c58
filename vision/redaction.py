"""What the party may see of the evidence: the pictures with bystanders' faces and uninvolved number plates made
unrecognisable (个人信息保护法: personal information of others is not disclosed with the record).

The detector finds the people and vehicles in the raw key frame; the picture shown (the annotated frame, the same
size) gets a coarse mosaic over every person's head and every vehicle's plate region. None of the three
violations involves a person's face or a vehicle, so all are hidden. The mosaic is applied to the bytes the party
downloads: nothing unredacted leaves.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision.capture import decode_jpeg, encode_jpeg
from vision.detections import Detections
from vision.frames import Image
from vision.pipeline import Detector

HEAD_SHARE = 0.35  # the top of a person's box, where the face is
PLATE_SHARE = 0.45  # the bottom of a vehicle's box, where the plates are
BLOCK = 12  # pixels per mosaic cell at least: no feature or plate character survives


@dataclass(frozen=True)
class Redaction:
    jpeg: bytes
    faces: int
    plates: int


def pixelate(image: Image, x0: int, y0: int, x1: int, y1: int) -> None:
    """Replace a region by a coarse mosaic, in place."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    region = image[y0:y1, x0:x1]
    cells = (max(1, (x1 - x0) // BLOCK), max(1, (y1 - y0) // BLOCK))
    small = cv2.resize(region, cells, interpolation=cv2.INTER_AREA)
    image[y0:y1, x0:x1] = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)


def hide_faces_and_plates(image: Image, found: Detections, class_names: tuple[str, ...]) -> tuple[int, int]:
    """Mosaic over each person's head and each vehicle's plate region; returns (faces, plates) hidden."""
    faces = plates = 0
    for (x0, y0, x1, y1), class_id in zip(found.xyxy.tolist(), found.class_id.tolist(), strict=True):
        name, height = class_names[class_id], y1 - y0
        if name == "person":
            pixelate(image, int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y0 + height * HEAD_SHARE)))
            faces += 1
        elif name == "vehicle":
            pixelate(image, int(x0), int(y1 - height * PLATE_SHARE), int(np.ceil(x1)), int(np.ceil(y1)))
            plates += 1
    return faces, plates


def redact_jpeg(raw: bytes, detector: Detector, shown: bytes | None = None) -> Redaction:
    """``shown`` (default: the raw frame itself) as the party may see it, people and vehicles found in ``raw``."""
    raw_image = decode_jpeg(raw)
    image = np.ascontiguousarray(decode_jpeg(shown) if shown is not None else raw_image)
    if image.shape != raw_image.shape:
        raise ValueError(f"the shown picture is {image.shape[1]}x{image.shape[0]}, the raw frame "
                         f"{raw_image.shape[1]}x{raw_image.shape[0]}: they must be the same frame")  # fmt: skip
    faces, plates = hide_faces_and_plates(image, detector.detect(raw_image), detector.class_names)
    return Redaction(encode_jpeg(image), faces, plates)
