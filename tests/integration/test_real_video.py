"""Real footage, end to end: Debian's opencv-doc ships vtest.avi, people walking on a campus road (768×576, 10 fps,
MS-MPEG4 v3 in AVI, a key frame every 25 s), which no MP4 can hold and no browser plays. `offsite camera run`
reads it to its end, and the camera's evidence clips are H.264 MP4s with every frame of their span, each at its
own time and looking as the camera's own frame decodes.

Which violations the detector finds on it is mostly not asserted (the model is retrained from time to time): only that
the run completes, every sampled frame is analysed, and the clips are kept and decode. One test holds what the
shipped model still gets wrong here as a strict expected failure: the campus as an H.264 camera sends it, at the
rules' default timings, makes a cross-door event of a sign on a lamp post. Without opencv-doc these tests
are skipped with the reason shown, unless OFFSITE_REQUIRE_SERVICES=1 (as in CI: `make test` and .ci/run install
it), where a missing file fails the run.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from tests.conftest import SHANGHAI
from tests.integration.test_cli import run
from tests.integration.test_real_scene import campus_document
from tests.integration.test_stream_sources import missing_service
from tests.support import footage
from tests.unit.evidence.test_store import open_store
from vision.sources import SourceConfig, VideoSource

START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)  # the footage's first frame, as the cameras file says
INTERVAL_S = 2.0


@pytest.fixture(scope="module")
def vtest() -> Path:
    return footage.vtest()


def frame_times(video: Path) -> list[dt.datetime]:
    """When each of the footage's frames was captured, as the source computes it from the start and the pts."""
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        ticks = sorted(packet.pts for packet in container.demux(stream) if packet.size)
        return [START + dt.timedelta(seconds=float(tick * stream.time_base)) for tick in ticks]


def sampled_count(times: list[dt.datetime]) -> int:
    """Frames analysed at one every INTERVAL_S from the first (the footage's frames fall on the sampling grid)."""
    return int((times[-1] - times[0]).total_seconds() // INTERVAL_S) + 1


def expected_in_clip(times: list[dt.datetime], confirmed_at: dt.datetime, pre_s: float, post_s: float) -> int:
    start, end = confirmed_at - dt.timedelta(seconds=pre_s), confirmed_at + dt.timedelta(seconds=post_s)
    return sum(1 for ts in times if start <= ts <= end)


def decoded_clip(data_or_path: bytes | Path) -> tuple[av.VideoStream, list[float], list[np.ndarray]]:
    """The clip's stream, its frames' times in seconds and their grey pictures."""
    source = str(data_or_path) if isinstance(data_or_path, Path) else io.BytesIO(data_or_path)
    with av.open(source) as container:
        stream = container.streams.video[0]
        pictures = list(container.decode(stream))
        times = [float(picture.pts * picture.time_base) for picture in pictures]
        return stream, times, [picture.to_ndarray(format="gray") for picture in pictures]


def test_camera_run_reads_the_real_footage_to_its_end_and_its_clips_decode(vtest: Path, tmp_path: Path) -> None:
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(
        "cameras:\n"
        "  - camera_id: cam-campus\n"
        f"    source: {{url: {vtest}, interval_s: {INTERVAL_S}, start: '{START.isoformat()}'}}\n"
        "    pre_s: 10\n"
        "    post_s: 5\n"
        "    zones: [{id: Z-ROAD, kind: no_vending, polygon: [[0, 0.3], [1, 0.3], [1, 1], [0, 1]]}]\n"
        "    rules: [{id: stall-road, kind: stall, zones: [Z-ROAD], min_dwell_s: 4, min_median_score: 0.01}]\n"
    )
    env = {"OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "OFFSITE_EVIDENCE_DIR": str(tmp_path / "evidence")}

    result = run("camera", "run", str(cameras), "--no-record", "--json", env=env)

    assert result.returncode == 0, result.stderr[-3000:]
    *events, summary = (json.loads(line) for line in result.stdout.strip().splitlines())
    figures = summary["cameras"]["cam-campus"]
    assert (figures["failed"], figures["failures"]) == (None, 0), figures
    times = frame_times(vtest)
    assert figures["frames_in"] == figures["frames_analysed"] == sampled_count(times) == 40  # 0 … 78 s of 79.4 s
    assert figures["evidence_failures"] == 0
    assert figures["events"] == len(events)
    store = open_store(tmp_path / "evidence")
    for event in events:  # whatever the model finds: each event's clip is kept, and decodes whole
        media_type, data = store.item(event["evidence_package_id"], "clip.mp4")
        assert media_type == "video/mp4"
        stream, clip_times, _ = decoded_clip(data)
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 768, 576)
        confirmed_at = dt.datetime.fromisoformat(event["last_seen"])
        assert len(clip_times) == expected_in_clip(times, confirmed_at, 10, 5)
        assert clip_times == pytest.approx([i / 10 for i in range(len(clip_times))], abs=1e-3)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * float(np.log10(255**2 / mse))


def test_a_clip_of_the_real_footage_has_every_frame_of_its_span_as_the_camera_sent_it(
    vtest: Path, tmp_path: Path
) -> None:
    """The source the pipeline reads the footage with, its clip buffer, and a 15 s clip from between two key frames
    (the one before it is 20 s earlier)."""
    source = VideoSource(SourceConfig("cam-campus", str(vtest), interval_s=INTERVAL_S, clip_keep_s=90, start=START))
    sampled = sum(1 for _ in source.frames())
    times = frame_times(vtest)
    assert sampled == sampled_count(times)
    assert source.clip_buffer is not None

    start, end = START + dt.timedelta(seconds=20), START + dt.timedelta(seconds=35)
    stream, clip_times, pictures = decoded_clip(source.clip_buffer.write_clip(start, end, tmp_path / "clip.mp4"))

    assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 768, 576)
    assert stream.average_rate == 10
    assert len(pictures) == expected_in_clip(times, start + dt.timedelta(seconds=10), 10, 5) == 151
    assert clip_times == pytest.approx([i / 10 for i in range(151)], abs=1e-3)  # 20.0 … 35.0 s, each at its time
    with av.open(str(vtest)) as container:  # the camera's frames from 20 to 35 s, as they decode
        sent = [
            picture.to_ndarray(format="gray")
            for picture in container.decode(video=0)
            if 20 <= round(float(picture.pts * picture.time_base), 3) <= 35
        ]
    quality = [psnr(picture, own) for picture, own in zip(pictures, sent, strict=True)]
    assert min(quality) > 35, f"a transcoded frame differs from the camera's: {min(quality):.1f} dB"
    for index in range(1, 150):  # and each is the camera's frame of its own time, not a neighbour's
        neighbours = max(psnr(pictures[index], sent[index - 1]), psnr(pictures[index], sent[index + 1]))
        assert quality[index] > neighbours, f"the frame at {clip_times[index]:.1f} s shows another time"


def resolution_changed(vtest: Path, folder: Path) -> Path:
    """vtest.avi as an H.264 MPEG-TS stream whose resolution changes at 30 s, from its own 768×576 (4:3) to
    1280×720 (16:9), the timeline running on: what a camera sends when its resolution is changed in its settings."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        missing_service("ffmpeg is not installed")
    assert ffmpeg is not None
    parts = []
    for n, (start_s, scale) in enumerate(((0, "768:576"), (30, "1280:720"))):
        part = folder / f"part{n}.ts"
        subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-ss", str(start_s), "-t", "30", "-i", str(vtest),
                        "-vf", f"scale={scale}", "-c:v", "libx264", "-g", "50", "-bsf:v", "h264_mp4toannexb",
                        "-output_ts_offset", str(start_s), "-f", "mpegts", str(part)], check=True)  # fmt: skip
        parts.append(part.read_bytes())
    stream = folder / "changed.ts"
    stream.write_bytes(b"".join(parts))
    return stream


def test_a_camera_whose_resolution_changes_mid_stream_runs_on_with_every_rule(vtest: Path, tmp_path: Path) -> None:
    """Stall, cross-door and unknown-object rules over the campus while the picture goes from 4:3 to 16:9 at 30 s:
    the camera is not stopped (the static-object path once failed on the new size), every sampled frame of both
    halves is analysed, and the change is no unknown object."""
    changed = resolution_changed(vtest, tmp_path)
    camera = campus_document("cam-campus", {"url": str(changed), "interval_s": INTERVAL_S, "start": START.isoformat()})
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(json.dumps({"cameras": [camera]}))  # JSON is YAML
    env = {"OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "OFFSITE_EVIDENCE_DIR": str(tmp_path / "evidence")}

    result = run("camera", "run", str(cameras), "--no-record", "--json", env=env)

    assert result.returncode == 0, result.stderr[-3000:]
    *events, summary = (json.loads(line) for line in result.stdout.strip().splitlines())
    figures = summary["cameras"]["cam-campus"]
    assert (figures["failed"], figures["failures"]) == (None, 0), figures
    assert figures["frames_in"] == figures["frames_analysed"] == 30  # 0 … 58 s, both sizes
    assert [e for e in events if e["violation_code"] == "unknown_object"] == []  # the new size is no new object


def h264_camera(vtest: Path, folder: Path) -> Path:
    """vtest.avi as most cameras send it: H.264 (libx264's default quality, CRF 23; one thread, so the same bytes on
    every machine)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        missing_service("ffmpeg is not installed")
    assert ffmpeg is not None
    stream = folder / "vtest.mp4"
    subprocess.run([ffmpeg, "-loglevel", "error", "-y", "-i", str(vtest), "-c:v", "libx264", "-crf", "23",
                    "-threads", "1", "-pix_fmt", "yuv420p", str(stream)], check=True)  # fmt: skip
    return stream


@pytest.mark.xfail(strict=True, reason="issue 14 not met yet: the shipped model reads the green sign on the lamp post by the road as goods, 0.3 to 0.8 from frame to frame in H.264, over its 0.5 threshold in 7 of the 80 sampled frames, 3 of them in the last 10 s before the event (presence 0.3, the rule asks 0.25); the camera's own MS-MPEG4 frames sampled from the first make none, by luck: from 0.9 s later they would")  # fmt: skip
def test_the_campus_as_an_h264_camera_sends_it_raises_nothing_at_the_rules_default_timings(
    vtest: Path, tmp_path: Path
) -> None:
    """The campus camera's zones (the walkway a no-vending zone and a shop strip), its stall and cross-door rules
    at a 10 s dwell and otherwise at their defaults (inertia, presence, cooldown), a frame a second: 80 s of people
    walking is no violation."""
    source = {"url": str(h264_camera(vtest, tmp_path)), "interval_s": 1.0, "start": START.isoformat()}
    camera = campus_document("cam-campus", source)
    camera["rules"] = [{key: rule[key] for key in ("id", "kind", "zones")} | {"min_dwell_s": 10}
                       for rule in camera["rules"] if rule["kind"] in ("stall", "cross_door")]  # fmt: skip
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(json.dumps({"cameras": [camera]}))  # JSON is YAML
    env = {"OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/c.db", "OFFSITE_EVIDENCE_DIR": str(tmp_path / "evidence")}

    result = run("camera", "run", str(cameras), "--no-record", "--json", env=env)

    assert result.returncode == 0, result.stderr[-3000:]
    *events, summary = (json.loads(line) for line in result.stdout.strip().splitlines())
    assert summary["cameras"]["cam-campus"]["frames_analysed"] == 80
    assert [(e["violation_code"], e["zone_id"]) for e in events] == []
