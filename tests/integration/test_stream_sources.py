"""Stream sources against real servers: GStreamer's RTSP server and ffmpeg serving MPEG-TS over HTTP.

A live camera is read with key-frame-only decoding; when its server dies the camera is reported offline and
retried with backoff, and when the server comes back on the same port the frames flow again; an address nobody
answers gives up after its attempts, naming the camera; a dead camera never holds up a live one.

Without the Debian packages (gstreamer1.0-rtsp, gir1.2-gst-rtsp-server-1.0, python3-gi, the GStreamer plug-ins,
ffmpeg) these tests are skipped with the reason shown, unless OFFSITE_REQUIRE_SERVICES=1 (as in CI), where a missing
server fails the run. Every wait has a deadline, and every server is stopped in its fixture's teardown.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import queue
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import av
import numpy as np
import pytest

from vision.frames import Frame, SourceError
from vision.sources import Backoff, SourceConfig, StreamSource, VideoSource
from vision.synthetic.video import VideoSpec, render_video

REQUIRE_SERVICES = os.environ.get("OFFSITE_REQUIRE_SERVICES") == "1"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's python3-gi lives there, not in the venv
RTSP_SERVER = Path(__file__).parents[1] / "support" / "rtsp_server.py"
GST_CHECK = """
import gi
gi.require_version("Gst", "1.0"); gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer
Gst.init(None)
missing = [e for e in ("filesrc", "qtdemux", "h264parse", "rtph264pay") if Gst.ElementFactory.find(e) is None]
print(" ".join(missing))
"""
FAST = Backoff(first_s=0.1, factor=2.0, max_s=0.5)


def missing_service(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (OFFSITE_REQUIRE_SERVICES=1: integration services are required)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s of the synthetic street at 25 fps, 640×360, a key frame every 2 s."""
    out = tmp_path_factory.mktemp("streams") / "street.mp4"
    render_video(VideoSpec(out=out, scenario="street", seconds=12, width=640, height=360, seed=3, keyframe_seconds=2.0))
    return out


# -- the servers ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gstreamer() -> None:
    if not Path(SYSTEM_PYTHON).exists():
        missing_service(f"no {SYSTEM_PYTHON} to run GStreamer's RTSP server")
    try:
        check = subprocess.run([SYSTEM_PYTHON, "-c", GST_CHECK], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        missing_service("GStreamer did not start within 30 s")
    if check.returncode != 0:
        missing_service(f"GStreamer's RTSP server is not installed: {check.stderr.strip().splitlines()[-1:]}")
    if check.stdout.strip():
        missing_service(f"GStreamer plug-ins missing: {check.stdout.strip()}")


def readline_within(stream: TextIO, seconds: float) -> str:
    ready, _, _ = select.select([stream], [], [], seconds)
    return stream.readline() if ready else ""


class RtspServer:
    """GStreamer's RTSP server in its own process, serving the video at rtsp://127.0.0.1:PORT/cam1."""

    def __init__(self, video: Path, port: int, log: Path) -> None:
        self.video, self.port, self.log = video, port, log
        self.process: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam1"

    def start(self, timeout_s: float = 15) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [SYSTEM_PYTHON, str(RTSP_SERVER), str(self.video), str(self.port)],
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.process.stdout is not None
        line = readline_within(self.process.stdout, timeout_s)
        if not line.startswith("ready"):
            self.stop()
            pytest.fail(f"the RTSP server did not come up on port {self.port}: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """Dies at once, as a camera losing power does: no RTSP teardown."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def rtsp_server(gstreamer: None, video: Path, tmp_path: Path) -> Iterator[RtspServer]:
    server = RtspServer(video, free_port(), tmp_path / "rtsp-server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        missing_service("ffmpeg is not installed")
    assert found is not None
    return found


@pytest.fixture
def http_stream(ffmpeg: str, video: Path, tmp_path: Path) -> Iterator[str]:
    """ffmpeg serving the video, looped in real time, as MPEG-TS to one HTTP client."""
    url = f"http://127.0.0.1:{free_port()}/live.ts"
    command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-stream_loop", "-1"]
    command += ["-i", str(video), "-c", "copy", "-f", "mpegts", "-listen", "1", url]
    with (tmp_path / "ffmpeg.log").open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# -- watching a source in its own thread ---------------------------------------------------------------------------


class Watcher:
    """A StreamSource read in its own thread, as the runner does; frames and status changes land in queues."""

    def __init__(self, config: SourceConfig, backoff: Backoff = FAST, **options: Any) -> None:
        self.frames: queue.Queue[Frame] = queue.Queue()
        self.statuses: queue.Queue[tuple[bool, str]] = queue.Queue()
        self.seen_statuses: list[bool] = []
        self.error: BaseException | None = None
        self.source = StreamSource(config, backoff=backoff, on_status=self._on_status, **options)
        self.thread = threading.Thread(target=self._read, name=f"watch-{config.camera_id}", daemon=True)
        self.thread.start()

    def _on_status(self, camera_id: str, online: bool, reason: str) -> None:
        self.seen_statuses.append(online)
        self.statuses.put((online, reason))

    def _read(self) -> None:
        try:
            for frame in self.source.frames():
                self.frames.put(frame)
        except BaseException as exc:
            self.error = exc

    def next_frame(self, within_s: float) -> Frame:
        try:
            return self.frames.get(timeout=within_s)
        except queue.Empty:
            pytest.fail(f"no frame from {self.source.camera_id} within {within_s} s (error: {self.error!r})")

    def wait_status(self, online: bool, within_s: float) -> str:
        deadline = time.monotonic() + within_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                state, reason = self.statuses.get(timeout=left)
            except queue.Empty:
                break
            if state is online:
                return reason
        pytest.fail(f"{self.source.camera_id} was not reported {'online' if online else 'offline'} in {within_s} s")

    def drain(self) -> list[Frame]:
        frames = []
        while not self.frames.empty():
            frames.append(self.frames.get_nowait())
        return frames

    def stop(self) -> None:
        self.source.close()
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), f"{self.source.camera_id} did not stop"


@pytest.fixture
def watchers() -> Iterator[list[Watcher]]:
    started: list[Watcher] = []
    yield started
    for watcher in started:
        watcher.stop()


def watch(watchers: list[Watcher], config: SourceConfig, **options: Any) -> Watcher:
    watcher = Watcher(config, **options)
    watchers.append(watcher)
    return watcher


def key_frames(video: Path) -> list[Frame]:
    return list(VideoSource(SourceConfig("file", str(video), interval_s=2.0)).frames())


# -- RTSP ----------------------------------------------------------------------------------------------------------


def test_an_rtsp_camera_is_read_decoding_only_its_key_frames(
    rtsp_server: RtspServer, watchers: list[Watcher], tmp_path: Path
) -> None:
    watcher = watch(watchers, SourceConfig("cam-rtsp", rtsp_server.url, interval_s=2.0, clip_keep_s=6))

    frames = [watcher.next_frame(within_s=10) for _ in range(3)]
    watcher.wait_status(True, within_s=1)

    assert all(frame.keyframe for frame in frames)
    assert [frame.seq for frame in frames] == [0, 50, 100]
    # The very pictures of the file's key frames at 0, 2 and 4 s: the first is not lost (FFmpeg gives its packet
    # no timestamp), and a key frame decoded alone is whole.
    for frame, expected in zip(frames, key_frames(rtsp_server.video), strict=False):
        assert np.array_equal(frame.image, expected.image)
    assert [(b.ts - a.ts).total_seconds() for a, b in itertools.pairwise(frames)] == pytest.approx([2.0, 2.0], abs=0.01)
    assert abs((frames[-1].ts - dt.datetime.now(dt.UTC)).total_seconds()) < 2  # live: stamped on arrival
    current = watcher.source._current
    assert current is not None
    assert current.stats.packets >= 100  # every packet demuxed (5 s at 25 fps) ...
    assert current.stats.decoded == current.stats.sampled == 3  # ... only the key frames decoded

    # The clip buffer kept every packet: a clip of the last 3 s has every frame, although RTSP sends no dts.
    buffer = watcher.source.clip_buffer
    assert buffer is not None
    assert buffer.covered_until is not None
    end = buffer.covered_until
    clip = buffer.write_clip(end - dt.timedelta(seconds=3), end, tmp_path / "clip.mp4")
    with av.open(str(clip)) as container:
        times = [float(p.pts * p.time_base) for p in container.decode(container.streams.video[0])]
    assert {round(b - a, 3) for a, b in itertools.pairwise(times)} == {0.04}
    assert times[-1] - times[0] >= 3.0


def test_a_camera_whose_server_dies_goes_offline_is_retried_and_comes_back_on_restart(
    rtsp_server: RtspServer, watchers: list[Watcher]
) -> None:
    watcher = watch(watchers, SourceConfig("cam-rtsp", rtsp_server.url, interval_s=2.0, open_timeout_s=3))
    watcher.next_frame(within_s=10)

    rtsp_server.kill()
    reason = watcher.wait_status(False, within_s=10)
    time.sleep(1.5)  # retries: 0.1, 0.2, 0.4, 0.5 s apart, each refused at once

    assert "cam-rtsp" in reason or reason == "stream ended"
    assert watcher.source.reconnects >= 3
    watcher.drain()

    restarted = dt.datetime.now(dt.UTC)
    rtsp_server.start()  # the same port
    watcher.wait_status(True, within_s=15)
    frame = watcher.next_frame(within_s=10)

    assert frame.ts >= restarted
    assert frame.keyframe
    assert watcher.seen_statuses == [True, False, True]


def test_an_address_nobody_answers_gives_up_after_its_attempts_naming_the_camera() -> None:
    source = StreamSource(
        SourceConfig("cam-dead", f"rtsp://127.0.0.1:{free_port()}/cam1", open_timeout_s=2),
        backoff=Backoff(first_s=0.05, factor=2.0, max_s=0.2),
        max_attempts=3,
    )

    started = time.monotonic()
    with pytest.raises(SourceError, match=r"camera cam-dead: gave up after 3 attempts: .*refused"):
        list(source.frames())

    assert time.monotonic() - started < 5


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word: a hung camera."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()


def test_a_camera_that_accepts_but_never_answers_times_out(silent_server: int) -> None:
    source = StreamSource(
        SourceConfig("cam-hung", f"rtsp://127.0.0.1:{silent_server}/cam1", open_timeout_s=1, read_timeout_s=1),
        max_attempts=1,
    )

    started = time.monotonic()
    with pytest.raises(SourceError, match=r"camera cam-hung: gave up after 1 attempts: .*cannot open"):
        list(source.frames())

    assert time.monotonic() - started < 6


def test_a_dead_camera_does_not_hold_up_a_live_one(rtsp_server: RtspServer, watchers: list[Watcher]) -> None:
    dead = watch(
        watchers,
        SourceConfig("cam-dead", f"rtsp://127.0.0.1:{free_port()}/cam1", open_timeout_s=2),
        backoff=Backoff(first_s=0.05, factor=2.0, max_s=0.2),
    )
    live = watch(watchers, SourceConfig("cam-live", rtsp_server.url, interval_s=1.0))

    frames = [live.next_frame(within_s=10) for _ in range(4)]
    dead.wait_status(False, within_s=5)

    assert [(b.ts - a.ts).total_seconds() for a, b in itertools.pairwise(frames)] == pytest.approx(
        [1.0, 1.0, 1.0], abs=0.01
    )
    assert live.seen_statuses == [True]
    assert dead.seen_statuses == [False]
    assert dead.source.reconnects >= 5  # retrying all along, 0.2 s apart at most
    assert dead.frames.empty()


# -- HTTP ----------------------------------------------------------------------------------------------------------


def test_an_http_mpeg_ts_camera_is_read_decoding_only_its_key_frames(http_stream: str, watchers: list[Watcher]) -> None:
    # ffmpeg listens a moment after it starts: the first attempts may be refused, and are retried.
    watcher = watch(watchers, SourceConfig("cam-http", http_stream, interval_s=2.0, open_timeout_s=5))

    frames = [watcher.next_frame(within_s=15) for _ in range(2)]

    assert all(frame.keyframe for frame in frames)
    assert {frame.size for frame in frames} == {(640, 360)}
    assert (frames[1].ts - frames[0].ts).total_seconds() == pytest.approx(2.0, abs=0.01)
    current = watcher.source._current
    assert current is not None
    assert current.stats.decoded == current.stats.sampled == 2
