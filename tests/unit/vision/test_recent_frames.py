"""A camera's recent frames: one kept every interval, with the detector's boxes beside it, pruned when their time is
up, and named so that a name from outside is checked before any path is made of it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from vision import recent_frames
from vision.capture import SeenBox
from vision.frames import Frame
from vision.recent_frames import RecentFrames

T0 = dt.datetime(2026, 12, 5, 2, 0, tzinfo=dt.UTC)
STALL = SeenBox("stall", 0.8, (1.0, 2.0, 30.0, 40.0))


def frame(seconds: float) -> Frame:
    return Frame("cam-1", int(seconds * 10), T0 + dt.timedelta(seconds=seconds), np.zeros((48, 64, 3), np.uint8))


def keeper(root: Path, keep_s: float = 3600) -> RecentFrames:
    return RecentFrames(root, "cam-1", dt.timedelta(seconds=10), dt.timedelta(seconds=keep_s))


def test_one_frame_is_kept_every_interval_and_the_boxes_are_asked_for_only_then(tmp_path: Path) -> None:
    recent, asked = keeper(tmp_path), []
    for second in range(0, 31, 2):
        recent.offer(frame(second), lambda: asked.append(1) or [STALL], "a" * 64)
    kept = recent_frames.listed(tmp_path, "cam-1")
    assert [f.taken_at for f in kept] == [T0 + dt.timedelta(seconds=s) for s in (30, 20, 10, 0)]
    assert len(asked) == 4
    assert (kept[0].width, kept[0].height, kept[0].boxes, kept[0].model_sha256) == (64, 48, (STALL,), "a" * 64)
    assert kept[0].image.read_bytes()[:2] == b"\xff\xd8"


def test_frames_older_than_the_keeping_time_go_as_new_ones_come(tmp_path: Path) -> None:
    recent = keeper(tmp_path, keep_s=60)
    for second in range(0, 301, 10):
        recent.offer(frame(second), lambda: [])
    kept = recent_frames.listed(tmp_path, "cam-1")
    assert min(f.taken_at for f in kept) >= T0 + dt.timedelta(seconds=300 - 60 - 60)  # pruned once a minute
    assert recent_frames.prune(tmp_path, T0 + dt.timedelta(seconds=300)) == len(kept) - 1
    assert [f.taken_at for f in recent_frames.listed(tmp_path, "cam-1")] == [T0 + dt.timedelta(seconds=300)]
    assert sorted(p.suffix for p in (tmp_path / "cam-1").iterdir()) == [".jpg", ".json"]


def test_a_frame_from_before_the_last_kept_one_restarts_the_interval(tmp_path: Path) -> None:
    recent = keeper(tmp_path)
    recent.offer(frame(100), lambda: [])
    recent.offer(frame(5), lambda: [])  # a camera whose clock went back: kept, and counted from there
    recent.offer(frame(9), lambda: [])
    assert len(recent_frames.listed(tmp_path, "cam-1")) == 2


@pytest.mark.parametrize("camera", ["../cam", "", "cam/1", "x" * 65])
def test_a_camera_id_that_cannot_name_a_folder_is_refused(tmp_path: Path, camera: str) -> None:
    with pytest.raises(ValueError, match="cannot name a folder"):
        RecentFrames(tmp_path, camera, dt.timedelta(seconds=10), dt.timedelta(hours=1))
    assert recent_frames.listed(tmp_path, camera) == []
