"""Annotated key frames are captioned in the bureau's local time, to the second (with the offset, since a frame may
leave the bureau in an export), and a box carries a track number only when a track holds it."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from vision.capture import annotate
from vision.config import build_pipeline, camera_spec
from vision.detections import Detections
from vision.events import SubjectKind, SubjectRef
from vision.rules import Sighting, Zone, ZoneKind
from vision.synthetic import CLASS_NAMES
from vision.zones import PolygonZone

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZONE = Zone("Z-ROAD", ZoneKind.NO_VENDING, PolygonZone("Z-ROAD", ((0.1, 0.5), (0.9, 0.5), (0.9, 0.9))),
            SubjectRef(SubjectKind.UNKNOWN))  # fmt: skip
# 02:00:05.654321 UTC is 10:00:05 in Shanghai
SEEN = dt.datetime(2026, 3, 2, 2, 0, 5, 654321, tzinfo=dt.UTC)
UNTRACKED_ID = (1 << 32) | 0xFFFFFFFF  # ByteTrack's "no id" folded into a class's 32 bits: 4294967295 in a label


def _sighting(track_id: int | None, ts: dt.datetime = SEEN) -> Sighting:
    return Sighting(ts, (40.0, 100.0, 120.0, 160.0), 0.91, "stall", track_id)


def _frame() -> Any:
    return np.full((180, 320, 3), 90, np.uint8)


def test_a_caption_reads_the_local_time_to_the_second_with_its_offset() -> None:
    annotated = annotate(_frame(), ZONE, _sighting(1), "cam-1", "street_stall stall-road", SHANGHAI)
    assert annotated.caption == "cam-1  2026-03-02 10:00:05 +08:00  zone Z-ROAD  street_stall stall-road"
    assert annotated.image.shape == (180, 320, 3)
    assert not np.array_equal(annotated.image, _frame()), "nothing was drawn"


def test_a_caption_follows_the_bureau_zone_it_is_given() -> None:
    annotated = annotate(_frame(), ZONE, _sighting(1), "cam-1", "x", ZoneInfo("Europe/Berlin"))
    assert "2026-03-02 03:00:05 +01:00" in annotated.caption


@pytest.mark.parametrize(
    ("track_id", "label"),
    [
        (None, "stall 0.91"),  # a box no track holds
        (UNTRACKED_ID, "stall 0.91"),  # the tracker's "no id", as it reads after folding in the class
        (-1, "stall 0.91"),
        (3, "stall 0.91 #3"),
        ((2 << 32) | 7, "stall 0.91 #7"),  # the number within its class, not the camera-wide 8589934599
    ],
)
def test_a_box_label_names_a_track_only_when_a_track_holds_the_box(track_id: int | None, label: str) -> None:
    annotated = annotate(_frame(), ZONE, _sighting(track_id), "cam-1", "x", SHANGHAI)
    assert annotated.box_label == label
    assert "4294967295" not in annotated.box_label


class _NoSource:
    def frames(self) -> Any:
        return iter(())


class _NoDetector:
    class_names = CLASS_NAMES

    def detect(self, image: Any) -> Detections:
        return Detections.empty()


def test_a_pipeline_captions_in_the_zone_the_server_passes() -> None:
    spec = camera_spec(
        {"camera_id": "cam-1", "source": {"url": "push"},
         "zones": [{"id": "Z-ROAD", "kind": "no_vending", "polygon": [[0.1, 0.5], [0.9, 0.5], [0.9, 0.9]]}],
         "rules": [{"id": "stall-road", "kind": "stall", "zones": ["Z-ROAD"]}]},
        CLASS_NAMES,
    )  # fmt: skip
    pipeline = build_pipeline(
        spec,
        _NoDetector(),
        lambda _: "",
        lambda *_: None,
        None,
        source=_NoSource(),
        caption_tz=SHANGHAI,  # type: ignore[arg-type]
    )
    assert pipeline.capture_config.caption_tz is SHANGHAI
