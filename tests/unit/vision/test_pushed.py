"""Pushed frames: a bounded queue per camera that accepts whole JPEGs in order, refuses everything else naming why,
never drops a frame it accepted, and tells a gateway facing a full queue when to try again."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import cv2
import numpy as np
import pytest

from vision.frames import Frame, SourceError
from vision.pushed import (
    FrameIntake,
    FrameLimits,
    FrameQueueFull,
    NoPipeline,
    PushedFrameError,
    PushedFrames,
    jpeg_dimensions,
)

T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def jpeg(width: int = 64, height: int = 48, shade: int = 0, progressive: bool = False) -> bytes:
    picture = np.full((height, width, 3), shade, np.uint8)
    picture[: height // 2, : width // 2] = (255, 0, 0)
    ok, encoded = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)])
    assert ok
    return encoded.tobytes()


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def source(capacity: int = 8, **limits: Any) -> PushedFrames:
    return PushedFrames("cam-1", capacity, limits=FrameLimits(**limits), now=lambda: T0)


def drain(frames: PushedFrames) -> list[Frame]:
    frames.close()
    return list(frames.frames())


def counters(frames: PushedFrames) -> tuple[int, int, int]:
    return frames.frames_in, frames.frames_refused_full, frames.frames_refused_bad


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# ---- accepted --------------------------------------------------------------------------------------------------
def test_accepted_frames_come_out_in_order_with_consecutive_seq_and_their_capture_time() -> None:
    frames = source()
    shanghai = dt.timezone(dt.timedelta(hours=8))
    seqs = [frames.push(jpeg(shade=10 * i), at(i).astimezone(shanghai)) for i in range(5)]
    assert seqs == [0, 1, 2, 3, 4]
    out = drain(frames)
    assert [f.seq for f in out] == seqs
    assert [f.ts for f in out] == [at(i) for i in range(5)]
    assert all(f.ts.tzinfo is dt.UTC for f in out)  # stored in UTC, whatever offset it was sent with
    assert {(f.camera_id, f.size, f.image.dtype.name) for f in out} == {("cam-1", (64, 48), "uint8")}
    assert tuple(out[0].image[0, 0]) == pytest.approx((255, 0, 0), abs=8)  # BGR, decoded
    assert counters(frames) == (5, 0, 0)


def test_a_progressive_or_greyscale_jpeg_is_decoded_to_bgr() -> None:
    frames = source()
    grey = cv2.imencode(".jpg", np.full((30, 40), 90, np.uint8))[1].tobytes()
    frames.push(jpeg(progressive=True), at(0))
    frames.push(grey, at(1))
    assert [f.image.shape for f in drain(frames)] == [(48, 64, 3), (30, 40, 3)]


def test_a_timestamp_slightly_behind_the_last_frame_is_tolerated_as_clock_jitter() -> None:
    frames = source(backwards_tolerance_s=2.0)
    frames.push(jpeg(), at(10))
    frames.push(jpeg(), at(8.5))
    assert [f.ts for f in drain(frames)] == [at(10), at(8.5)]


def test_the_header_gives_the_size_without_decoding() -> None:
    assert jpeg_dimensions("cam-1", jpeg(640, 360)) == (640, 360)
    assert jpeg_dimensions("cam-1", jpeg(640, 360, progressive=True)) == (640, 360)


# ---- refused, naming why, changing nothing ---------------------------------------------------------------------
def truncated() -> bytes:
    whole = jpeg()
    return whole[: len(whole) // 2]


def oversize_pixels() -> bytes:
    return jpeg(120, 100)  # 12,000 pixels, over the 10,000 the tests below allow


def with_header_size(content: bytes, width: int, height: int) -> bytes:
    """The same JPEG with another size written into its frame header (SOF0)."""
    patched = bytearray(content)
    sof = next(i for i in range(len(patched) - 1) if patched[i] == 0xFF and patched[i + 1] == 0xC0)
    patched[sof + 5 : sof + 7] = height.to_bytes(2, "big")
    patched[sof + 7 : sof + 9] = width.to_bytes(2, "big")
    return bytes(patched)


@pytest.mark.parametrize(
    ("content", "ts", "message"),
    [
        (b"", at(0), "empty"),
        (b'{"not": "a jpeg"}', at(0), "not a JPEG"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, at(0), "not a JPEG"),
        (truncated(), at(0), "truncated"),
        (jpeg()[:40], at(0), "truncated or corrupt"),
        (b"\xff\xd8" + b"\x00" * 100 + b"\xff\xd9", at(0), "corrupt"),
        (jpeg() + b"\x00" * (20_000), at(0), "over the limit of 20000 bytes"),
        (oversize_pixels(), at(0), "120×100 = 12000 pixels, over the limit of 10000 pixels"),
        (jpeg(), at(0).replace(tzinfo=None), "has no time zone"),
        (jpeg(), at(301), "ahead of the server's clock"),
    ],
    ids=[
        "empty",
        "json",
        "png",
        "truncated",
        "cut-in-header",
        "garbage-between-markers",
        "oversize-bytes",
        "oversize-pixels",
        "naive-ts",
        "ts-far-ahead",
    ],
)
def test_a_frame_that_cannot_be_used_is_refused_naming_why_and_nothing_is_queued(
    content: bytes, ts: dt.datetime, message: str
) -> None:
    frames = source(max_bytes=20_000, max_pixels=10_000, ahead_tolerance_s=300)
    with pytest.raises(PushedFrameError, match=message) as refused:
        frames.push(content, ts)
    assert "cam-1" in str(refused.value)
    assert isinstance(refused.value, SourceError)
    assert frames.queued == 0
    assert counters(frames) == (0, 0, 1)
    assert frames.push(jpeg(), at(1)) == 0  # a refused frame takes no seq


@pytest.mark.parametrize(
    ("content", "too_large"),
    [(jpeg() + b"\x00" * 20_000, True), (oversize_pixels(), True), (truncated(), False), (b"nope", False)],
    ids=["bytes", "pixels", "truncated", "not-jpeg"],
)
def test_a_refusal_says_whether_it_was_for_size(content: bytes, too_large: bool) -> None:
    with pytest.raises(PushedFrameError) as refused:
        source(max_bytes=20_000, max_pixels=10_000).push(content, at(0))
    assert refused.value.too_large is too_large


def test_a_frame_too_far_behind_the_last_one_is_refused() -> None:
    frames = source(backwards_tolerance_s=2.0)
    frames.push(jpeg(), at(10))
    with pytest.raises(PushedFrameError, match=r"3\.000 s before the camera's last frame"):
        frames.push(jpeg(), at(7))
    assert [f.seq for f in drain(frames)] == [0]


@pytest.mark.parametrize(
    ("width", "height", "message"),
    [
        (4096, 1, r"4096×1 pixels: its shorter side is under 16 pixels"),
        (15, 600, r"15×600 pixels: its shorter side is under 16 pixels"),
        (4096, 200, r"4096×200 pixels: its sides are 20\.5 to 1, beyond the 10 to 1"),
        (200, 2100, r"200×2100 pixels: its sides are 10\.5 to 1, beyond the 10 to 1"),
    ],
    ids=["4096x1", "15-wide", "panorama-20-to-1", "tower-10.5-to-1"],
)
def test_a_degenerate_frame_is_refused_as_bad_not_too_large_and_nothing_is_queued(
    width: int, height: int, message: str
) -> None:
    frames = source()
    with pytest.raises(PushedFrameError, match=message) as refused:
        frames.push(jpeg(width, height), at(0))
    assert not refused.value.too_large
    assert counters(frames) == (0, 0, 1)
    assert frames.push(jpeg(), at(1)) == 0


@pytest.mark.parametrize(("width", "height"), [(16, 16), (160, 16), (1920, 1080), (640, 3840)])
def test_a_frame_within_the_side_and_aspect_limits_is_taken(width: int, height: int) -> None:
    frames = source()
    assert frames.push(jpeg(width, height), at(0)) == 0
    assert drain(frames)[0].size == (width, height)


def test_a_zero_size_header_is_refused() -> None:
    with pytest.raises(PushedFrameError, match=r"zero size \(16×0 pixels\)"):
        source().push(with_header_size(jpeg(16, 16), 16, 0), at(0))


def test_by_default_a_frame_over_4096_x_4096_pixels_is_refused_from_its_header_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_decoding(*args: object) -> None:
        raise AssertionError("the picture was decoded")

    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    with pytest.raises(PushedFrameError, match="4097×4096 = 16781312 pixels, over the limit of 16777216") as refused:
        PushedFrames("cam-1", now=lambda: T0).push(with_header_size(jpeg(16, 16), 4097, 4096), at(0))
    assert refused.value.too_large


def test_by_default_a_frame_over_8_mib_is_refused() -> None:
    frames = PushedFrames("cam-1", now=lambda: T0)
    with pytest.raises(PushedFrameError, match="over the limit of 8388608 bytes") as refused:
        frames.push(jpeg() + b"\x00" * (8 * 1024 * 1024), at(0))
    assert refused.value.too_large
    frames.push(jpeg() + b"\x00" * 1024, at(0))  # trailing padding is allowed within the limit
    assert frames.queued == 1


# ---- a full queue ----------------------------------------------------------------------------------------------
def test_a_full_queue_refuses_with_a_positive_retry_after_and_drops_nothing() -> None:
    frames = source(capacity=3)
    for i in range(3):
        frames.push(jpeg(shade=i), at(i))
    for attempt in range(2):
        with pytest.raises(FrameQueueFull) as full:
            frames.push(jpeg(), at(3 + attempt))
        assert full.value.retry_after_s == 1.0  # the pipeline has not taken anything yet: the pace is unknown
        assert "full (3 frames waiting)" in str(full.value)
    assert frames.queued == 3
    assert counters(frames) == (3, 2, 0)

    first = next(frames.frames())  # the pipeline takes one: there is room for one more
    assert first.seq == 0
    assert frames.push(jpeg(), at(5)) == 3
    assert [f.seq for f in drain(frames)] == [1, 2, 3]


def test_a_full_queue_is_refused_before_the_frame_is_even_decoded() -> None:
    frames = source(capacity=1)
    frames.push(jpeg(), at(0))
    with pytest.raises(FrameQueueFull):
        frames.push(b"not even a jpeg", at(1))
    assert counters(frames) == (1, 1, 0)


@pytest.mark.parametrize(
    ("interval_s", "since_last_s", "expected_s"),
    [
        (0.5, 0.2, 0.3),  # the pipeline takes one every 0.5 s: the next in 0.3 s
        (0.5, 0.45, 0.1),  # imminent, but never less than 0.1 s
        (2.0, 5.0, 5.0),  # later than its usual pace: wait as long again
        (20.0, 60.0, 30.0),  # never more than 30 s
    ],
)
def test_retry_after_follows_the_pace_at_which_the_pipeline_takes_frames(
    interval_s: float, since_last_s: float, expected_s: float
) -> None:
    ticker = Ticker()
    frames = PushedFrames("cam-1", 2, now=lambda: T0, monotonic=ticker)
    taken = frames.frames()
    for i in range(6):
        frames.push(jpeg(), at(i))
        next(taken)
        ticker.now += interval_s
    ticker.now += since_last_s - interval_s
    frames.push(jpeg(), at(6))
    frames.push(jpeg(), at(7))
    with pytest.raises(FrameQueueFull) as full:
        frames.push(jpeg(), at(8))
    assert full.value.retry_after_s == pytest.approx(expected_s)
    assert frames.retry_after_s() == pytest.approx(expected_s)


# ---- closing ---------------------------------------------------------------------------------------------------
def test_close_ends_a_waiting_iterator() -> None:
    frames = source()
    seen: list[int] = []
    consumer = threading.Thread(target=lambda: seen.extend(f.seq for f in frames.frames()))
    consumer.start()
    frames.push(jpeg(), at(0))
    frames.close()
    consumer.join(timeout=5)
    assert not consumer.is_alive()
    assert seen == [0]


def test_after_close_pushes_are_refused_and_what_was_accepted_is_still_delivered() -> None:
    frames = source()
    frames.push(jpeg(), at(0))
    frames.close()
    with pytest.raises(NoPipeline, match="no pipeline"):
        frames.push(jpeg(), at(1))
    assert [f.seq for f in frames.frames()] == [0]
    assert list(frames.frames()) == []


def test_a_producer_and_a_consumer_thread_together_lose_nothing_and_keep_order() -> None:
    frames = PushedFrames("cam-1", 4)
    picture = jpeg(32, 24)
    total = 200
    taken: list[Frame] = []
    retry_after: list[float] = []

    def consume() -> None:
        taken.extend(frames.frames())

    def produce() -> None:
        start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=total)
        sent = 0
        while sent < total:
            try:
                frames.push(picture, start + dt.timedelta(seconds=sent))
                sent += 1
            except FrameQueueFull as full:
                retry_after.append(full.retry_after_s)
                threading.Event().wait(0.001)  # a real gateway waits retry_after_s; the test keeps it short
        frames.close()

    threads = [threading.Thread(target=consume), threading.Thread(target=produce)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert [f.seq for f in taken] == list(range(total))
    assert frames.frames_in == total
    assert frames.frames_refused_full == len(retry_after)
    assert all(0.1 <= wait_s <= 30 for wait_s in retry_after)
    assert frames.frames_refused_bad == 0


def test_two_producers_get_distinct_seqs_queued_in_seq_order() -> None:
    frames = PushedFrames("cam-1", 1000)
    picture = jpeg(32, 24)
    now = dt.datetime.now(dt.UTC)
    seqs: list[list[int]] = [[], []]

    def produce(which: int) -> None:
        seqs[which].extend(frames.push(picture, now) for _ in range(50))

    threads = [threading.Thread(target=produce, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(seqs[0] + seqs[1]) == list(range(100))
    assert [f.seq for f in drain(frames)] == list(range(100))


# ---- the intake ------------------------------------------------------------------------------------------------
def test_the_intake_pushes_to_the_source_its_pipeline_opened() -> None:
    intake = FrameIntake(capacity=2, now=lambda: T0)
    opened = intake.open("cam-1")
    assert intake.open("cam-1") is opened  # idempotent
    assert intake.get("cam-1") is opened
    assert opened.capacity == 2
    assert intake.open("cam-2", capacity=5).capacity == 5
    assert intake.push("cam-1", jpeg(), at(0)) == 0
    assert opened.queued == 1
    assert intake.get("cam-2") is not None
    assert intake.get("cam-2").queued == 0  # type: ignore[union-attr]


def test_the_intake_refuses_a_camera_no_pipeline_opened_or_one_that_closed() -> None:
    intake = FrameIntake(now=lambda: T0)
    assert intake.get("cam-1") is None
    with pytest.raises(NoPipeline) as refused:
        intake.push("cam-1", jpeg(), at(0))
    assert isinstance(refused.value, KeyError)
    assert refused.value.camera_id == "cam-1"
    assert str(refused.value) == "camera 'cam-1': no pipeline is taking pushed frames for this camera"

    intake.open("cam-1").close()
    assert intake.get("cam-1") is None
    with pytest.raises(NoPipeline):
        intake.push("cam-1", jpeg(), at(0))
    reopened = intake.open("cam-1")  # a new pipeline starts afresh
    assert intake.push("cam-1", jpeg(), at(0)) == 0
    assert reopened.queued == 1


def test_closing_the_intake_closes_every_source_and_opens_no_more() -> None:
    intake = FrameIntake(now=lambda: T0)
    sources = [intake.open("cam-1"), intake.open("cam-2")]
    intake.close()
    assert all(s.closed for s in sources)
    with pytest.raises(NoPipeline):
        intake.push("cam-1", jpeg(), at(0))
    with pytest.raises(SourceError, match="closed"):
        intake.open("cam-3")


def test_a_queue_needs_room_for_at_least_one_frame() -> None:
    with pytest.raises(ValueError, match="at least 1 frame"):
        PushedFrames("cam-1", 0)
