"""The party's pictures: every person's head and every vehicle's plate region found by the shipped model is
covered by a mosaic; the rest of the picture is left as it was."""

from __future__ import annotations

import numpy as np
import pytest

from offsite.settings import SHIPPED_MODEL
from vision.capture import decode_jpeg, encode_jpeg
from vision.detector import DetectorConfig, OnnxDetector
from vision.redaction import BLOCK, HEAD_SHARE, PLATE_SHARE, pixelate, redact_jpeg
from vision.synthetic import render_still


@pytest.fixture(scope="module")
def detector() -> OnnxDetector:
    return OnnxDetector(DetectorConfig(SHIPPED_MODEL, threads=1))


def test_a_mosaic_leaves_no_detail_finer_than_its_cells() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 255, (120, 120, 3), dtype=np.uint8)
    before = image.copy()
    pixelate(image, 10, 10, 10 + 4 * BLOCK, 10 + 4 * BLOCK)
    cell = image[10 : 10 + BLOCK, 10 : 10 + BLOCK]
    assert (cell == cell[0, 0]).all()  # one colour per cell: the pattern inside is gone
    assert (image[70:, 70:] == before[70:, 70:]).all()  # outside the region nothing changed


def test_heads_and_plates_of_a_street_scene_are_hidden(detector: OnnxDetector) -> None:
    for seed in range(9_100_001, 9_100_021):
        frame = render_still(seed, 960, 540)
        found = detector.detect(frame.image)
        names = [detector.class_names[i] for i in found.class_id.tolist()]
        if "person" in names and "vehicle" in names:
            break
    else:
        pytest.fail("no generated scene with both a person and a vehicle")
    raw = encode_jpeg(frame.image)
    shown = redact_jpeg(raw, detector)
    assert shown.faces == names.count("person")
    assert shown.plates == names.count("vehicle")
    original, redacted = decode_jpeg(raw).astype(int), decode_jpeg(shown.jpeg).astype(int)
    for (x0, y0, x1, y1), name in zip(found.xyxy.tolist(), names, strict=True):
        if name == "person":
            region = (slice(int(y0), int(y0 + (y1 - y0) * HEAD_SHARE)), slice(int(x0), int(x1)))
        elif name == "vehicle":
            region = (slice(int(y1 - (y1 - y0) * PLATE_SHARE) + 1, int(y1)), slice(int(x0) + 1, int(x1)))
        else:
            continue
        if redacted[region].size:
            assert np.abs(redacted[region] - original[region]).mean() > 1.0  # changed where it must be
    mask = np.ones(original.shape[:2], bool)
    for x0, y0, x1, y1 in found.xyxy.tolist():
        mask[max(0, int(y0) - 2) : int(y1) + 3, max(0, int(x0) - 2) : int(x1) + 3] = False
    assert np.abs(redacted[mask] - original[mask]).mean() < 2.0  # and only there (JPEG noise aside)


def test_a_shown_picture_of_another_size_is_refused(detector: OnnxDetector) -> None:
    small = encode_jpeg(np.zeros((90, 160, 3), np.uint8))
    large = encode_jpeg(np.zeros((180, 320, 3), np.uint8))
    with pytest.raises(ValueError, match="must be the same frame"):
        redact_jpeg(small, detector, large)
