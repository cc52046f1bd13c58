"""Video sources sample in seconds, not frames: one picture per interval on a grid of due times, decoding only the
key frames when they come often enough; bad input fails with an error naming the camera and the problem; a stream
source reconnects with backoff and says when its camera goes offline.

The video is the project's own synthetic street: 12 s at 25 fps, 640×360, a key frame every 2 s, with B-frames.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from vision.frames import Frame, SourceError
from vision.sources import (
    Backoff,
    DecodeMode,
    SourceConfig,
    StreamSource,
    VideoSource,
    open_source,
    redact,
)
from vision.synthetic.video import VideoSpec, render_video

FPS = 25
SECONDS = 12
FRAMES = FPS * SECONDS
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def street_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sources") / "street.mp4"
    render_video(
        VideoSpec(out=out, scenario="street", seconds=SECONDS, width=640, height=360, seed=3, keyframe_seconds=2.0)
    )
    return out


def read(video: Path, interval_s: float, decode: DecodeMode = DecodeMode.AUTO) -> tuple[list[Frame], VideoSource]:
    source = VideoSource(SourceConfig("cam-7", str(video), interval_s=interval_s, decode=decode, start=START))
    return list(source.frames()), source


def offsets(frames: list[Frame]) -> list[float]:
    return [round((frame.ts - START).total_seconds(), 3) for frame in frames]


# -- sampling ------------------------------------------------------------------------------------------------------


def test_sampling_every_2_s_with_key_frames_every_2_s_decodes_only_those_key_frames(street_video: Path) -> None:
    frames, source = read(street_video, 2.0)

    assert offsets(frames) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert all(frame.keyframe for frame in frames)
    assert [frame.seq for frame in frames] == [0, 50, 100, 150, 200, 250]
    assert source.stats.decoded == source.stats.sampled == 6  # the 294 other frames were never decoded
    assert source.stats.packets == FRAMES
    assert {frame.size for frame in frames} == {(640, 360)}


def test_sampling_every_half_second_decodes_every_frame_and_picks_the_first_at_each_due_time(
    street_video: Path,
) -> None:
    frames, source = read(street_video, 0.5)

    # Key frames every 2 s are too sparse for 0.5 s: every frame is decoded, and each due time k × 0.5 s takes the
    # first frame at or after it (frames are 40 ms apart), so the rate is 2 a second, not one every 13 frames.
    expected = [math.ceil(k * 0.5 * FPS) / FPS for k in range(24)]
    assert offsets(frames) == pytest.approx(expected)
    assert [frame.seq for frame in frames] == [math.ceil(k * 0.5 * FPS) for k in range(24)]
    assert source.stats.decoded >= FRAMES  # every frame, from the first GOP on (its key frame twice)
    assert source.stats.sampled == 24
    assert [frame.keyframe for frame in frames] == [t % 2 == 0 for t in expected]


def test_sampling_every_5_s_decodes_only_the_key_frames_that_are_due(street_video: Path) -> None:
    frames, source = read(street_video, 5.0)

    # Due at 0, 5, 10: key frames come at 0, 2, 4, … — 4 is a whole key interval early, so 6 is taken for 5.
    assert offsets(frames) == [0.0, 6.0, 10.0]
    assert all(frame.keyframe for frame in frames)
    assert source.stats.decoded == source.stats.sampled == 3


def test_forcing_every_frame_decoded_samples_the_same_pictures(street_video: Path) -> None:
    key_only, _ = read(street_video, 2.0)
    everything, source = read(street_video, 2.0, DecodeMode.ALL)

    assert offsets(everything) == offsets(key_only)
    assert source.stats.decoded == FRAMES  # the last frames too, out of the decoder's reorder delay
    for alone, in_sequence in zip(key_only, everything, strict=True):
        assert np.array_equal(alone.image, in_sequence.image)  # a key frame decoded alone is the same picture


def test_forcing_key_frames_only_never_decodes_anything_else(street_video: Path) -> None:
    frames, source = read(street_video, 0.5, DecodeMode.KEYFRAMES)

    assert offsets(frames) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert source.stats.decoded == 6


def test_a_frame_is_stamped_from_the_configured_start(street_video: Path) -> None:
    start = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    source = VideoSource(SourceConfig("cam-7", str(street_video), interval_s=2.0, start=start))

    frames = list(source.frames())

    assert frames[0].ts == start
    assert frames[3].ts == start + dt.timedelta(seconds=6)


def test_without_a_start_the_first_frame_is_the_files_modification_time_less_its_length(street_video: Path) -> None:
    source = VideoSource(SourceConfig("cam-7", str(street_video), interval_s=5.0))

    first = next(source.frames())
    source.close()

    with av.open(str(street_video)) as container:
        length = dt.timedelta(microseconds=container.duration)
    # the file was last written when its last frame was: the first frame is its length earlier
    assert first.ts == dt.datetime.fromtimestamp(os.stat(street_video).st_mtime, dt.UTC) - length


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"interval_s": 0}, "interval_s"),
        ({"interval_s": 7200}, "interval_s"),
        ({"clip_keep_s": -1}, "clip_keep_s"),
        ({"start": dt.datetime(2026, 3, 2)}, "time zone"),
        ({"read_timeout_s": 0}, "timeouts"),
    ],
)
def test_a_source_config_out_of_bounds_is_refused_naming_the_camera(changes: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=f"camera cam-7: .*{problem}"):
        SourceConfig("cam-7", "x.mp4", **changes)  # type: ignore[arg-type]


# -- closing -------------------------------------------------------------------------------------------------------


def test_closing_mid_iteration_stops_the_frames_and_releases_the_file(street_video: Path) -> None:
    source = VideoSource(SourceConfig("cam-7", str(street_video), interval_s=0.5, start=START))
    frames = source.frames()
    seen = [next(frames), next(frames)]

    source.close()

    assert list(frames) == []
    assert len(seen) == 2
    assert source._container is None


def test_a_closed_source_gives_no_frames(street_video: Path) -> None:
    source = VideoSource(SourceConfig("cam-7", str(street_video)))
    source.close()

    assert list(source.frames()) == []


def test_closing_from_another_thread_while_it_decodes_ends_the_reader_promptly(street_video: Path) -> None:
    for delay in (0.0, 0.01, 0.05, 0.1):  # closes land during open, demux, decode and hand-over
        source = VideoSource(SourceConfig("cam-7", str(street_video), interval_s=0.04, start=START))
        seen: list[Frame] = []
        failed: list[BaseException] = []

        def consume(
            source: VideoSource = source, seen: list[Frame] = seen, failed: list[BaseException] = failed
        ) -> None:
            try:
                seen.extend(source.frames())
            except BaseException as exc:  # pragma: no cover - reported below
                failed.append(exc)

        reader = threading.Thread(target=consume)
        reader.start()
        time.sleep(delay)
        source.close()
        reader.join(timeout=10)

        assert not reader.is_alive()
        assert failed == []
        assert len(seen) < FRAMES
        assert source._container is None


# -- bad input -----------------------------------------------------------------------------------------------------


def write_audio_only(path: Path) -> None:
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        for index in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, index * 1024
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def bad_input(kind: str, street_video: Path, folder: Path) -> tuple[Path, str]:
    """A file of the kind asked, and the words the error must hold."""
    path = folder / f"{kind}.mp4"
    if kind == "missing":
        return path, f"no video file at {path}"
    if kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    elif kind == "text":
        path = folder / "notes.txt"
        path.write_text("camera 7 was moved on Tuesday\n")
    elif kind == "cut at half":
        data = street_video.read_bytes()  # the index (moov) is written last: without it nothing can be read
        path.write_bytes(data[: len(data) // 2])
    elif kind == "audio only":
        write_audio_only(path)
        return path, "has no video stream"
    elif kind == "empty":
        path.write_bytes(b"")
    return path, f"cannot open {path}"


@pytest.mark.parametrize("kind", ["missing", "random bytes", "text", "cut at half", "audio only", "empty"])
def test_a_file_that_is_not_a_readable_video_fails_naming_the_camera_and_the_problem(
    kind: str, street_video: Path, tmp_path: Path
) -> None:
    path, problem = bad_input(kind, street_video, tmp_path)
    source = VideoSource(SourceConfig("cam-7", str(path)))

    started = time.monotonic()
    with pytest.raises(SourceError) as raised:
        list(source.frames())

    assert str(raised.value).startswith("camera cam-7: ")
    assert problem in str(raised.value)
    assert time.monotonic() - started < 5


def faststart_copy(video: Path, out: Path) -> None:
    """The same video with its index first, as streaming servers write it: a cut copy still has frames."""
    with av.open(str(video)) as source, av.open(str(out), "w", format="mp4", options={"movflags": "faststart"}) as copy:
        stream = copy.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                copy.mux(packet)


def test_a_streamable_mp4_cut_at_half_gives_the_frames_up_to_the_cut_or_a_clear_error(
    street_video: Path, tmp_path: Path
) -> None:
    whole = tmp_path / "faststart.mp4"
    faststart_copy(street_video, whole)
    data = whole.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    source = VideoSource(SourceConfig("cam-7", str(cut), interval_s=2.0, start=START))

    frames: list[Frame] = []
    failure: SourceError | None = None
    started = time.monotonic()
    try:
        frames.extend(source.frames())
    except SourceError as exc:
        failure = exc

    assert time.monotonic() - started < 5
    assert failure is None or str(failure).startswith("camera cam-7: ")
    assert 1 <= len(frames) < 6
    assert offsets(frames) == [2.0 * i for i in range(len(frames))]


# -- streams: reconnects, backoff, status --------------------------------------------------------------------------


class Recorder:
    """Records status changes and backoff delays; ``stop_after`` sleeps answer "stop"."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.statuses: list[tuple[str, bool]] = []
        self.delays: list[float] = []
        self.stop_after = stop_after

    def status(self, camera_id: str, online: bool, reason: str) -> None:
        self.statuses.append((camera_id, online))

    def sleep(self, seconds: float) -> bool:
        self.delays.append(seconds)
        return self.stop_after is not None and len(self.delays) >= self.stop_after


def test_a_camera_that_never_answers_is_reported_offline_retried_with_backoff_then_given_up(tmp_path: Path) -> None:
    recorder = Recorder()
    source = StreamSource(
        SourceConfig("cam-9", str(tmp_path / "gone.mp4")),
        backoff=Backoff(first_s=0.1, factor=2, max_s=0.3),
        on_status=recorder.status,
        max_attempts=4,
        sleep=recorder.sleep,
    )

    with pytest.raises(SourceError, match=r"camera cam-9: gave up after 4 attempts: .*no video file"):
        list(source.frames())

    assert recorder.statuses == [("cam-9", False)]  # told once, not at every attempt
    assert recorder.delays == [0.1, 0.2, 0.3]
    assert source.reconnects == 3


def test_a_stream_that_ends_is_read_again_and_its_seq_keeps_counting(street_video: Path) -> None:
    recorder = Recorder(stop_after=2)
    source = StreamSource(
        SourceConfig("cam-7", str(street_video), interval_s=5.0, start=START),
        on_status=recorder.status,
        sleep=recorder.sleep,
    )

    frames = list(source.frames())

    assert [frame.seq for frame in frames] == [0, 150, 250, 251, 401, 501]  # the second pass counts on
    assert recorder.statuses == [("cam-7", True), ("cam-7", False), ("cam-7", True), ("cam-7", False)]
    assert recorder.delays == [0.5, 0.5]  # back to the first delay after each success


def test_closing_a_stream_source_ends_its_frames_without_a_reconnect(street_video: Path) -> None:
    source = StreamSource(SourceConfig("cam-7", str(street_video), interval_s=2.0, start=START))
    frames = source.frames()
    next(frames)

    source.close()

    assert list(frames) == []
    assert source.reconnects == 0


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        (Backoff(), [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]),
        (Backoff(first_s=1, factor=3, max_s=10), [1, 3, 9, 10, 10, 10, 10, 10]),
        (Backoff(first_s=2, factor=1, max_s=2), [2] * 8),
    ],
)
def test_backoff_grows_by_its_factor_up_to_its_ceiling(backoff: Backoff, expected: list[float]) -> None:
    delays: Iterator[float] = backoff.delays()
    assert [next(delays) for _ in expected] == pytest.approx(expected)


@pytest.mark.parametrize(("first_s", "factor", "max_s"), [(0, 2, 30), (5, 2, 1), (1, 0.5, 30)])
def test_a_backoff_that_would_not_back_off_is_refused(first_s: float, factor: float, max_s: float) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(first_s, factor, max_s)


def test_a_file_is_read_once_and_an_address_is_watched() -> None:
    assert isinstance(open_source(SourceConfig("cam-7", "/videos/a.mp4")), VideoSource)
    assert isinstance(open_source(SourceConfig("cam-7", "RTSP://10.0.0.7/cam1"), max_attempts=2), StreamSource)
    assert isinstance(open_source(SourceConfig("cam-7", "https://cams.example/7.ts")), StreamSource)


# -- redaction -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtsp://admin:s3cret@10.0.0.7:554/Streaming/101", "rtsp://***@10.0.0.7:554/Streaming/101"),
        ("rtsp://admin@10.0.0.7/cam1", "rtsp://***@10.0.0.7/cam1"),
        ("rtsp://admin:p@ss@10.0.0.7/cam1", "rtsp://***@10.0.0.7/cam1"),  # an unescaped @ in the password
        ("rtsp://admin:pa/ss@10.0.0.7/cam1", "rtsp://***@10.0.0.7/cam1"),  # an unescaped / in the password
        ("http://user:pw@cams.example/live.ts?token=a@b", "http://***@cams.example/live.ts?token=***"),
        ("rtsp://10.0.0.7/cam1", "rtsp://10.0.0.7/cam1"),
        ("rtsp://10.0.0.7/cam?channel=1&user=admin&password=x", "rtsp://10.0.0.7/cam?channel=1&user=***&password=***"),
        ("http://cams.example/live.ts?owner=a@b", "http://cams.example/live.ts?owner=a@b"),
        ("/videos/street@night.mp4", "/videos/street@night.mp4"),
    ],
)
def test_an_address_is_shown_without_its_credentials(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert not any(secret in redact(url) for secret in ("s3cret", "pa/ss", "p@ss", "pw@"))


def test_an_open_error_shows_the_address_without_its_credentials() -> None:
    source = VideoSource(SourceConfig("cam-7", "rtsp://admin:s3cret@127.0.0.1:9/cam1", open_timeout_s=2))

    with pytest.raises(SourceError) as raised:
        list(source.frames())

    assert "s3cret" not in str(raised.value)
    assert "rtsp://***@127.0.0.1:9/cam1" in str(raised.value)


def test_a_file_played_in_real_time_takes_its_own_duration(street_video: Path) -> None:
    import time as wall

    source = VideoSource(SourceConfig("cam-1", str(street_video), interval_s=2.0, realtime=True, start=START))
    started = wall.monotonic()
    frames = []
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == 3:  # the key frames at 0, 2 and 4 s
            break
    source.close()
    assert 3.8 <= wall.monotonic() - started <= 6.0
