"""Evidence clips: the packet buffer keeps at least its seconds, from a key frame on, and remuxes a span into an H.264
MP4 with every frame the camera sent (not only the sampled ones); a camera sending any other codec gets the span
transcoded to H.264, every frame at its own time; the frame buffer encodes decoded frames at their own times. A span
that is not buffered is a ClipError.
"""

from __future__ import annotations

import datetime as dt
import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from vision.clips import ClipError, FrameClipBuffer, PacketClipBuffer, encode_clip
from vision.frames import Frame
from vision.sources import DecodeMode, SourceConfig, VideoSource
from vision.synthetic.video import VideoSpec, render_video

FPS = 25
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return START + dt.timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def street_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clips") / "street.mp4"
    render_video(VideoSpec(out=out, scenario="street", seconds=12, width=640, height=360, seed=3, keyframe_seconds=2.0))
    return out


def buffered(video: Path, keep_s: float, until_s: float | None = None) -> tuple[PacketClipBuffer, list[Frame]]:
    """A buffer filled by a source sampling every 2 s (key frames only), read to ``until_s`` or the end."""
    source = VideoSource(SourceConfig("cam-7", str(video), interval_s=2.0, clip_keep_s=keep_s, start=START))
    frames: list[Frame] = []
    for frame in source.frames():
        frames.append(frame)
        if until_s is not None and frame.ts >= at(until_s):
            break
    source.close()  # the buffer outlives its source
    assert source.clip_buffer is not None
    return source.clip_buffer, frames


def decoded(clip: Path) -> tuple[list[float], list[np.ndarray], av.VideoStream]:
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        pictures = list(container.decode(stream))
        times = [float(picture.pts * picture.time_base) for picture in pictures]
        return times, [picture.to_ndarray(format="bgr24") for picture in pictures], stream


def all_frames(video: Path) -> dict[float, np.ndarray]:
    """Every frame of the source, by its time."""
    source = VideoSource(SourceConfig("cam-7", str(video), interval_s=0.01, decode=DecodeMode.ALL, start=START))
    return {round((frame.ts - START).total_seconds(), 2): frame.image for frame in source.frames()}


# -- the packet buffer ---------------------------------------------------------------------------------------------


def test_the_buffer_keeps_at_least_its_seconds_and_always_starts_at_a_key_frame(street_video: Path) -> None:
    source = VideoSource(SourceConfig("cam-7", str(street_video), interval_s=0.5, clip_keep_s=3, start=START))
    for _ in source.frames():
        buffer = source.clip_buffer
        assert buffer is not None
        assert buffer.covered_until is not None
        packets = list(buffer._packets)
        assert packets[0].keyframe
        held = buffer.covered_until - packets[0].ts
        if buffer.covered_until >= at(3):
            # at least keep_s, and less than keep_s plus a GOP (2 s) and the reorder delay
            assert dt.timedelta(seconds=3) <= held < dt.timedelta(seconds=5.3)


def test_a_clip_of_3_s_has_every_frame_at_full_rate_as_h264(street_video: Path, tmp_path: Path) -> None:
    buffer, frames = buffered(street_video, keep_s=8)
    assert len(frames) == 6  # only six frames were sampled (and decoded) ...

    clip = buffer.write_clip(at(4), at(7), tmp_path / "clip.mp4")
    times, images, stream = decoded(clip)

    # ... yet the clip has all of them: 4.00 to 7.00 s at 25 fps, plus the B-frames' reorder tail (< 0.2 s).
    assert stream.codec_context.name == "h264"
    assert stream.average_rate == FPS
    assert 3 * FPS + 1 <= len(times) <= 3 * FPS + 5
    steps = {round(b - a, 3) for a, b in itertools.pairwise(times)}
    assert steps == {1 / FPS}
    assert 3.0 <= times[-1] - times[0] < 3.2
    # Remuxed, not re-encoded: the very same pictures, the last ones too (their references were not cut off).
    source = all_frames(street_video)
    for time, image in zip(times, images, strict=True):
        assert np.array_equal(image, source[round(4 + time - times[0], 2)]), f"the frame at {time:.2f} s differs"


def test_a_clip_starting_between_key_frames_starts_at_the_key_frame_before(street_video: Path, tmp_path: Path) -> None:
    buffer, _ = buffered(street_video, keep_s=8)

    times, images, _ = decoded(buffer.write_clip(at(5.5), at(6.5), tmp_path / "clip.mp4"))

    assert np.array_equal(images[0], all_frames(street_video)[4.0])
    assert 2.48 <= times[-1] - times[0] < 2.7  # to 6.48 s, the last frame by 6.5 s, and the reorder tail


def test_two_clips_from_one_buffer_are_both_whole(street_video: Path, tmp_path: Path) -> None:
    buffer, _ = buffered(street_video, keep_s=8)

    first, _, _ = decoded(buffer.write_clip(at(4), at(8), tmp_path / "first.mp4"))
    second, _, _ = decoded(buffer.write_clip(at(4), at(8), tmp_path / "second.mp4"))  # the packets are not spent

    assert first == second
    assert len(first) >= 4 * FPS + 1


@pytest.mark.parametrize(
    ("start_s", "end_s", "problem"),
    [
        (20, 23, "no packets buffered from"),  # after the end: not recorded (yet)
        (0, 1, "has left the buffer"),  # before the buffer: kept 3 s of a 12 s video
        (8, 7, "before its start"),
    ],
)
def test_a_span_that_is_not_buffered_is_a_clip_error(
    street_video: Path, tmp_path: Path, start_s: float, end_s: float, problem: str
) -> None:
    buffer, _ = buffered(street_video, keep_s=3)

    with pytest.raises(ClipError, match=problem):
        buffer.write_clip(at(start_s), at(end_s), tmp_path / "clip.mp4")

    assert not (tmp_path / "clip.mp4").exists()


def test_an_empty_buffer_has_no_clip(street_video: Path, tmp_path: Path) -> None:
    with av.open(str(street_video)) as container:
        buffer = PacketClipBuffer(container.streams.video[0], keep_s=5)

    with pytest.raises(ClipError, match="no packets buffered"):
        buffer.write_clip(at(0), at(3), tmp_path / "clip.mp4")
    assert buffer.covered_until is None


def test_packets_before_the_first_key_frame_are_not_buffered(street_video: Path) -> None:
    with av.open(str(street_video)) as container:
        stream = container.streams.video[0]
        buffer = PacketClipBuffer(stream, keep_s=5)
        packets = [packet for packet in container.demux(stream) if packet.size][:60]
    for packet in packets[1:]:  # joined the stream just after a key frame
        buffer.add(packet, at(float(packet.pts * stream.time_base)))

    kept = list(buffer._packets)
    assert kept[0].keyframe
    assert kept[0].ts == at(2.0)


def test_a_buffer_needs_a_positive_keep() -> None:
    with pytest.raises(ValueError, match="keep_s"):
        PacketClipBuffer(None, keep_s=0)
    with pytest.raises(ValueError, match="keep_s"):
        FrameClipBuffer(keep_s=-1)


# -- cameras that send another codec -------------------------------------------------------------------------------

CAMERA_CODECS = {  # encoder → (container, codec as decoded)
    "msmpeg4": ("avi", "msmpeg4"),  # MS-MPEG4 v3 (DivX 3) in AVI, as Debian's vtest.avi
    "mpeg4": ("avi", "mpeg4"),  # MPEG-4 part 2 (Xvid/DivX)
    "mjpeg": ("avi", "mjpeg"),
    "libx265": ("mp4", "hevc"),
}


def frame_shade(index: int) -> int:
    """Each frame's own flat shade: neighbours differ by at least 11 levels, so a frame shown at another's time shows."""
    return 30 + (index * 67) % 190


def camera_video(folder: Path, encoder: str, seconds: float = 6.0) -> Path:
    """A camera's recording in ``encoder``'s codec: 25 fps, 160×96, a key frame every 2 s, frame i in frame_shade(i)."""
    container_format, _ = CAMERA_CODECS[encoder]
    out = folder / f"camera-{encoder}.{container_format}"
    with av.open(str(out), "w") as container:
        stream = container.add_stream(encoder, rate=FPS)
        stream.width, stream.height = 160, 96
        stream.pix_fmt = "yuvj420p" if encoder == "mjpeg" else "yuv420p"
        stream.codec_context.gop_size = 2 * FPS
        if encoder == "libx265":
            stream.options = {"x265-params": "log-level=error:keyint=50"}
        for index in range(round(seconds * FPS)):
            picture = av.VideoFrame.from_ndarray(shade(frame_shade(index), 160, 96), format="bgr24")
            picture.pts, picture.time_base = index, Fraction(1, FPS)
            for packet in stream.encode(picture.reformat(format=stream.pix_fmt)):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out


def grey_levels(images: list[np.ndarray]) -> list[int]:
    return [round(float(image.mean())) for image in images]


@pytest.mark.parametrize("encoder", CAMERA_CODECS)
def test_a_camera_sending_another_codec_gets_an_h264_clip_of_exactly_the_span(encoder: str, tmp_path: Path) -> None:
    video = camera_video(tmp_path, encoder)
    buffer, frames = buffered(video, keep_s=8)
    assert buffer.codec == CAMERA_CODECS[encoder][1]
    assert len(frames) == 3  # sampled every 2 s of 6 s

    clip = buffer.write_clip(at(2.48), at(4.48), tmp_path / "clip.mp4")  # from between key frames (2.0 s, 4.0 s)
    times, images, stream = decoded(clip)

    # Transcoded, so it plays in the console's browser; it starts at the span's start, not at the key frame before,
    # and has every frame the camera sent from 2.48 to 4.48 s (frames 62 to 112), each at its own time and looking
    # as the camera's own frame decodes (a frame shown at another's time would be 11 or more levels off).
    assert stream.codec_context.name == "h264"
    assert (stream.width, stream.height) == (160, 96)
    assert times == pytest.approx([i / FPS for i in range(51)], abs=1e-3)
    sent = all_frames(video)
    assert grey_levels(images) == pytest.approx(grey_levels([sent[round(2.48 + t, 2)] for t in times]), abs=2)


def damaged_buffer(video: Path, damaged: set[int]) -> PacketClipBuffer:
    """A buffer filled from the video's packets, the packets at the ``damaged`` indices replaced by garbage."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        buffer = PacketClipBuffer(stream, keep_s=10)
        packets = [packet for packet in container.demux(stream) if packet.size]
        for index, packet in enumerate(packets):
            if index in damaged:
                garbage = av.Packet(b"\x00\x01 not a picture " * 20)
                garbage.pts, garbage.dts, garbage.time_base = packet.pts, packet.dts, packet.time_base
                garbage.is_keyframe = packet.is_keyframe
                packet = garbage
            buffer.add(packet, at(float(packet.pts * stream.time_base)))
    return buffer


def test_a_damaged_picture_is_left_out_of_a_transcoded_clip_and_the_others_kept(tmp_path: Path) -> None:
    video = camera_video(tmp_path, "msmpeg4")
    buffer = damaged_buffer(video, damaged={30})  # frame 30, at 1.2 s

    times, images, _ = decoded(buffer.write_clip(at(0), at(2.0), tmp_path / "clip.mp4"))

    shown = [round(t * FPS) for t in times]
    assert 30 not in shown
    assert shown[:30] == list(range(30))  # everything before it, each at its own time
    sent = all_frames(video)
    assert grey_levels(images[:30]) == pytest.approx(grey_levels([sent[i / FPS] for i in range(30)]), abs=2)
    assert shown[-1] == 50  # and the span goes on to its end


def test_a_transcoded_span_with_no_picture_that_decodes_is_a_clip_error(tmp_path: Path) -> None:
    buffer = damaged_buffer(camera_video(tmp_path, "msmpeg4", seconds=2.0), damaged=set(range(50)))

    with pytest.raises(ClipError, match="no picture of the msmpeg4 stream decodes"):
        buffer.write_clip(at(0), at(1.0), tmp_path / "clip.mp4")
    assert not (tmp_path / "clip.mp4").exists()


# -- decoded frames ------------------------------------------------------------------------------------------------


def shade(value: int, width: int = 160, height: int = 90) -> np.ndarray:
    return np.full((height, width, 3), value, np.uint8)


def frame(seconds: float, value: int = 128) -> Frame:
    return Frame("cam-7", round(seconds * FPS), at(seconds), shade(value))


def test_encoded_frames_keep_their_spacing_in_time(tmp_path: Path) -> None:
    spacing = [0.0, 0.5, 1.0, 3.0, 3.04, 5.0]

    encode_clip([(at(s), shade(40 * i)) for i, s in enumerate(spacing)], tmp_path / "clip.mp4")
    times, images, stream = decoded(tmp_path / "clip.mp4")

    assert stream.codec_context.name == "h264"
    assert times == pytest.approx(spacing, abs=1e-3)
    assert [int(image[45, 80, 1]) for image in images] == pytest.approx([40 * i for i in range(6)], abs=8)


def test_frames_of_odd_or_changing_sizes_are_fitted_to_the_first(tmp_path: Path) -> None:
    frames = [(at(0), shade(50, 161, 91)), (at(1), shade(90, 80, 60))]

    encode_clip(frames, tmp_path / "clip.mp4")
    times, images, _ = decoded(tmp_path / "clip.mp4")

    assert times == pytest.approx([0.0, 1.0], abs=1e-3)
    assert {image.shape for image in images} == {(90, 160, 3)}


def test_a_clip_needs_a_frame(tmp_path: Path) -> None:
    with pytest.raises(ClipError, match="at least one frame"):
        encode_clip([], tmp_path / "clip.mp4")


def test_the_frame_buffer_keeps_its_seconds_and_encodes_the_span_asked(tmp_path: Path) -> None:
    buffer = FrameClipBuffer(keep_s=10)
    for seconds in np.arange(0, 20, 0.5):
        buffer.add(frame(float(seconds)))

    assert buffer.covered_until == at(19.5)
    times, _, _ = decoded(buffer.write_clip(at(12), at(15), tmp_path / "clip.mp4"))
    assert times == pytest.approx([0.5 * i for i in range(7)], abs=1e-3)  # 12.0 … 15.0, every 0.5 s
    with pytest.raises(ClipError, match="no frames buffered"):
        buffer.write_clip(at(2), at(8), tmp_path / "gone.mp4")  # older than the 10 s kept


def test_encoded_times_are_in_milliseconds_from_the_first_frame(tmp_path: Path) -> None:
    encode_clip([(at(0), shade(0)), (at(0.0004), shade(0)), (at(2.5), shade(0))], tmp_path / "clip.mp4")
    times, _, stream = decoded(tmp_path / "clip.mp4")

    assert times == pytest.approx([0.0, 0.001, 2.5], abs=1e-4)  # never two frames at one time
    assert stream.time_base is not None
    assert Fraction(stream.time_base) <= Fraction(1, 1000)
