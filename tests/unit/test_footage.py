"""The demo's footage cache: a video is reused only while it is what the current generator would render."""

from __future__ import annotations

import pytest

from offsite import footage
from offsite.footage import Footage


def test_a_cached_video_is_named_by_everything_that_decides_its_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    video = Footage("cam-1", "dust", 5031)
    assert video.file_name == f"dust-5031-60s-960x540-r{footage.REVISION}.mp4"
    before = video.file_name
    monkeypatch.setattr(footage, "REVISION", footage.REVISION + 1)
    assert video.file_name != before  # an older generator's cache is not taken for the current one's
    assert Footage("cam-1", "dust", 5032).file_name != Footage("cam-1", "dust", 5031).file_name
