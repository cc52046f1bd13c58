"""Frame sources read with PyAV: video files, RTSP and HTTP streams; decoding only what the sampling needs.

A camera is analysed once every ``interval_s`` seconds, on a grid of due times: each due time takes the first
picture at or after it (or slightly before it: see ``DUE_SLACK``), so the long-run rate is the one asked for whatever
the frame rate. When the camera's key frames come often enough (street cameras send one every one or two seconds),
only key frames are decoded, each on its own: a key frame is sent to the decoder, drained and the decoder flushed,
so the picture comes out at once rather than after the reorder delay. Every other packet is only demuxed, which
costs next to nothing, and kept in a rolling ``PacketClipBuffer`` so the evidence clip still has every frame. When
key frames are sparser than ``SPARSE_KEYS`` sampling intervals, every frame is decoded and pictures are picked by
their timestamps; the packets since the last key frame are held, so the switch loses no picture.

``StreamSource`` wraps a live address with reconnects and exponential backoff; while it cannot reach the camera the
camera is reported offline, and the other cameras are not affected.

Threads: one thread iterates ``frames()``; ``close()`` may be called from any other. The container is only touched
by the reading thread, or by ``close()`` while the reader is between frames (never while FFmpeg reads from it): a
read already in progress ends within ``read_timeout_s``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import av

from vision.clips import PacketClipBuffer
from vision.frames import Frame, SourceError

log = logging.getLogger("offsite.vision.sources")

STREAM_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://")
SECRET_QUERY_KEY = re.compile(r"user|pass|pwd|token|key|secret|auth|sig", re.IGNORECASE)
SPARSE_KEYS = 1.5  # AUTO decodes every frame once key frames are more than this many sampling intervals apart
DUE_SLACK = 0.4  # a picture this share of a spacing (between key frames, or frames) early still counts as due
HELD_PACKETS = 1500  # at most this many packets held for a switch to decoding every frame (a minute at 25 fps)


class DecodeMode(StrEnum):
    AUTO = "auto"  # key frames only while they come at least every SPARSE_KEYS intervals, otherwise every frame
    KEYFRAMES = "keyframes"
    ALL = "all"


@dataclass(frozen=True)
class SourceConfig:
    camera_id: str
    url: str  # a file path, or rtsp:// rtsps:// http:// https://
    interval_s: float = 2.0  # one analysed frame this often
    decode: DecodeMode = DecodeMode.AUTO
    clip_keep_s: float = 0.0  # seconds of packets kept for clips (0: none)
    start: dt.datetime | None = None  # capture time of a file's first frame (default: its mtime less its length)
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    realtime: bool = False  # play a file at its own pace, as a camera would send it (demos, load benchmarks)

    def __post_init__(self) -> None:
        if not 0.01 <= self.interval_s <= 3600:
            raise ValueError(f"camera {self.camera_id}: interval_s must be 0.01..3600, got {self.interval_s}")
        if self.clip_keep_s < 0:
            raise ValueError(f"camera {self.camera_id}: clip_keep_s must not be negative")
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError(f"camera {self.camera_id}: start must carry a time zone")
        if self.open_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise ValueError(f"camera {self.camera_id}: timeouts must be positive")

    @property
    def is_stream(self) -> bool:
        return self.url.lower().startswith(STREAM_SCHEMES)


@dataclass
class SourceStats:
    packets: int = 0
    decoded: int = 0  # pictures decoded (the cost)
    sampled: int = 0  # frames handed to the pipeline
    corrupt: int = 0  # packets the decoder refused


class VideoSource:
    """One pass over a file or one connection to a stream."""

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.camera_id = config.camera_id
        self.stats = SourceStats()
        self.clip_buffer: PacketClipBuffer | None = None
        self._closed = threading.Event()
        self._io = threading.Lock()  # held while the container is read or decoded; free while a frame is handed on
        self._container: Any = None

    def _open(self) -> Any:
        config = self.config
        options = {}
        if config.is_stream:
            options["timeout"] = str(int(config.open_timeout_s * 1_000_000))  # microseconds, for rtsp and http
            if config.url.lower().startswith(("rtsp://", "rtsps://")):
                options["rtsp_transport"] = "tcp"
        elif not Path(config.url).is_file():
            raise SourceError(f"camera {config.camera_id}: no video file at {config.url}")
        try:
            return av.open(
                config.url,
                options=options,
                timeout=(config.open_timeout_s, config.read_timeout_s),
                metadata_errors="ignore",
            )
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise self._error(f"cannot open {redact(config.url)}", exc) from self._cause(exc)

    def _origin(self, first_pts_s: float) -> dt.datetime:
        """The capture time of pts 0."""
        if self.config.start is not None:
            return self.config.start - dt.timedelta(seconds=first_pts_s)
        if self.config.is_stream:  # live: the first packet is now
            return dt.datetime.now(dt.UTC) - dt.timedelta(seconds=first_pts_s)
        # a recording is written as it goes: the file was last modified when its last frame was captured
        ended = dt.datetime.fromtimestamp(Path(self.config.url).stat().st_mtime, dt.UTC)
        duration = float(self._container.duration or 0) / 1_000_000 if self._container is not None else 0.0
        return ended - dt.timedelta(seconds=duration) - dt.timedelta(seconds=first_pts_s)

    def frames(self) -> Iterator[Frame]:
        self._io.acquire()
        reader: Generator[Frame, None, None] | None = None
        try:
            if self._closed.is_set():
                return
            reader = self._read()
            for frame in reader:
                if self._closed.is_set():  # closed by another thread while this frame was decoded
                    return
                self._io.release()
                try:
                    yield frame
                finally:
                    self._io.acquire()
        finally:
            try:
                if reader is not None:
                    reader.close()
                self._release()
            finally:
                self._io.release()

    def _read(self) -> Generator[Frame, None, None]:
        """The frames of one pass; runs with ``_io`` held."""
        container = self._container = self._open()
        if not container.streams.video:
            raise SourceError(f"camera {self.camera_id}: {redact(self.config.url)} has no video stream")
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1  # the runner's parallelism is across cameras, not inside one
        if self.config.clip_keep_s > 0:
            self.clip_buffer = PacketClipBuffer(stream, self.config.clip_keep_s)
        sampler = _Sampler(self, stream)
        yield from sampler.run(_with_timestamps(self._packets(container, stream), sampler.frame_ticks))

    def _packets(self, container: Any, stream: Any) -> Iterator[Any]:
        demuxed = container.demux(stream)
        while not self._closed.is_set():
            try:
                packet = next(demuxed)
            except (StopIteration, av.error.EOFError):
                return
            except (av.error.FFmpegError, OSError) as exc:
                if self._closed.is_set():
                    return
                raise self._error(f"reading {redact(self.config.url)} failed", exc) from self._cause(exc)
            if packet.size:
                yield packet

    def _error(self, problem: str, exc: BaseException) -> SourceError:
        """A SourceError naming the camera; FFmpeg's message quotes the address, which may hold a password."""
        detail = str(exc).replace(self.config.url, redact(self.config.url))
        return SourceError(f"camera {self.camera_id}: {problem}: {detail}")

    def _cause(self, exc: BaseException) -> BaseException | None:
        """FFmpeg's own error, chained only when it shows no credentials (a logged traceback would)."""
        return exc if redact(self.config.url) == self.config.url else None

    def _release(self) -> None:
        container, self._container = self._container, None
        if container is not None:
            container.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def close(self) -> None:
        """Stop reading and release the stream; the clip buffer stays readable. Safe from any thread."""
        self._closed.set()
        if self._io.acquire(blocking=False):  # nobody is reading now; otherwise the reader releases it
            try:
                self._release()
            finally:
                self._io.release()


class _Sampler:
    """One pass's choice of what to decode and which pictures to hand on, in seconds."""

    def __init__(self, source: VideoSource, stream: Any) -> None:
        self.source, self.stats, self.camera_id = source, source.stats, source.camera_id
        self.stream, self.codec = stream, stream.codec_context
        self.interval = source.config.interval_s
        self.auto = source.config.decode is DecodeMode.AUTO
        self.decode_all = source.config.decode is DecodeMode.ALL
        self.time_base = float(stream.time_base)
        self.rate = float(stream.average_rate or stream.guessed_rate or 0)
        self.origin: dt.datetime | None = None
        self.first_s = 0.0
        self.last_ticks: int | None = None
        self.next_due: float | None = None
        self.last_key_s: float | None = None
        self.key_group: list[Any] = []  # the packets of one key picture, which may come in several
        self.group_s = 0.0
        self.group_due = False
        self.held: list[Any] | None = None  # AUTO: the packets since the last key frame, for a switch to ALL
        self.wall_start: float | None = None  # realtime: the wall clock's reading for the first packet

    def run(self, packets: Iterable[Any]) -> Iterator[Frame]:
        for packet in packets:
            self.stats.packets += 1
            pts_s = self._time(packet)
            if self.origin is None:
                if not packet.is_keyframe:
                    continue  # joined mid-GOP: nothing decodes before the first key frame
                self.origin, self.first_s = self.source._origin(pts_s), pts_s
            if self.source.config.realtime:
                self._pace(pts_s)
            if self.source.clip_buffer is not None:
                self.source.clip_buffer.add(packet, self.origin + dt.timedelta(seconds=pts_s))
            if self.decode_all:
                yield from self._pick(self._decode([packet]))
            else:
                yield from self._key_frames_only(packet, pts_s)
        if self.source.closed:
            return  # the container may be gone: decode nothing more
        yield from self._decode_key_group()
        if self.decode_all:
            yield from self._pick(self._decode([], drain=True))  # the pictures still in the reorder delay

    def _pace(self, pts_s: float) -> None:
        """Wait until the packet's time has come on the wall clock (the first packet sets the clock)."""
        if self.wall_start is None:
            self.wall_start = time.monotonic() - (pts_s - self.first_s)
        delay = self.wall_start + (pts_s - self.first_s) - time.monotonic()
        if delay > 0:
            self.source._closed.wait(delay)

    @property
    def frame_ticks(self) -> int:
        """One frame's duration in the stream's time base (1 when the rate is unknown)."""
        return max(1, round(1 / (self.rate * self.time_base))) if self.rate else 1

    def _time(self, packet: Any) -> float:
        ticks = packet.pts if packet.pts is not None else packet.dts
        self.last_ticks = ticks
        return float(ticks * self.time_base)

    def _key_frames_only(self, packet: Any, pts_s: float) -> Iterator[Frame]:
        if packet.is_keyframe and self.key_group and abs(pts_s - self.group_s) < 1e-6:
            self.key_group.append(packet)  # another slice of the same picture
            self._hold(packet)
            return
        yield from self._decode_key_group()
        if packet.is_keyframe:
            spacing = None if self.last_key_s is None else pts_s - self.last_key_s
            self.last_key_s = pts_s
            if self.auto and spacing is not None and spacing > SPARSE_KEYS * self.interval:
                self._switch_to_all(spacing)  # only reached when the last GOP was too long to hold
                yield from self._pick(self._decode([packet]))
                return
            self.key_group, self.group_s = [packet], pts_s
            self.group_due = self._due(pts_s, DUE_SLACK * spacing if spacing else 0.0)
            self.held = [packet] if self.auto else None
            return
        self._hold(packet)
        assert self.last_key_s is not None  # the first packet handled is a key frame
        if self.auto and self.held is not None and pts_s - self.last_key_s > SPARSE_KEYS * self.interval:
            held, self.held = self.held, None
            self._switch_to_all(pts_s - self.last_key_s)
            yield from self._pick(self._decode(held))  # the key frame again: the later packets refer to it

    def _hold(self, packet: Any) -> None:
        if self.held is not None:
            self.held.append(packet)
            if len(self.held) > HELD_PACKETS:
                self.held = None  # too long to replay: a switch will wait for the next key frame

    def _switch_to_all(self, gap_s: float) -> None:
        log.info("camera %s: no key frame for %.1f s, decoding every frame", self.camera_id, gap_s)
        self.decode_all = True

    def _decode_key_group(self) -> Iterator[Frame]:
        group, self.key_group = self.key_group, []
        if group and self.group_due:
            pictures = self._decode(group, drain=True)
            if pictures:
                yield self._frame(pictures[0], self.group_s)

    def _due(self, pts_s: float, slack_s: float) -> bool:
        return self.next_due is None or pts_s >= self.next_due - max(slack_s, 1e-3)

    def _pick(self, pictures: list[Any]) -> Iterator[Frame]:
        slack = DUE_SLACK / self.rate if self.rate else 0.0
        for picture in pictures:
            pts_s = picture.pts * self.time_base if picture.pts is not None else self.last_ticks_s
            if self._due(pts_s, slack):
                yield self._frame(picture, pts_s)

    @property
    def last_ticks_s(self) -> float:
        return float((self.last_ticks or 0) * self.time_base)

    def _frame(self, picture: Any, pts_s: float) -> Frame:
        if self.next_due is None or self.next_due + self.interval <= pts_s:
            self.next_due = pts_s + self.interval  # the first, or after a gap: the grid starts again here
        else:
            self.next_due += self.interval
        self.stats.sampled += 1
        assert self.origin is not None
        seq = round((pts_s - self.first_s) * self.rate) if self.rate else self.stats.packets - 1
        image = picture.to_ndarray(format="bgr24")
        return Frame(self.camera_id, seq, self.origin + dt.timedelta(seconds=pts_s), image, bool(picture.key_frame))

    def _decode(self, packets: list[Any], drain: bool = False) -> list[Any]:
        """Decode packets; ``drain``: then empty the decoder and reset it, so a key frame alone comes out now."""
        codec = self.codec
        pictures: list[Any] = []
        try:
            for packet in packets:
                pictures += codec.decode(packet)
            if drain:
                pictures += codec.decode(None)
        except av.error.FFmpegError:
            self.stats.corrupt += 1
        finally:
            if drain:
                codec.flush_buffers()
        self.stats.decoded += len(pictures)
        return pictures


def _with_timestamps(packets: Iterable[Any], frame_ticks: int, lookahead: int = 8) -> Iterator[Any]:
    """The packets, each with a pts. FFmpeg's RTSP demuxer sends the first one without any timestamp: such a packet
    is given one frame before the earliest pts of the few packets after it (a key frame is shown before the
    pictures decoded after it, B-frames included), or one frame after the last pts when none follows."""
    window: deque[Any] = deque()
    last: int | None = None

    def stamped() -> Any:
        nonlocal last
        packet = window.popleft()
        if packet.pts is None:
            if packet.dts is not None:
                packet.pts = packet.dts
            else:
                later = [p.pts if p.pts is not None else p.dts for p in window]
                known = [ticks for ticks in later if ticks is not None]
                packet.pts = min(known) - frame_ticks if known else (0 if last is None else last + frame_ticks)
        last = packet.pts
        return packet

    for packet in packets:
        window.append(packet)
        while window and (window[0].pts is not None or window[0].dts is not None or len(window) > lookahead):
            yield stamped()
    while window:
        yield stamped()


@dataclass(frozen=True)
class Backoff:
    first_s: float = 0.5
    factor: float = 2.0
    max_s: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.max_s or self.factor < 1:
            raise ValueError("a backoff needs 0 < first_s <= max_s and factor >= 1")

    def delays(self) -> Iterator[float]:
        delay = self.first_s
        while True:
            yield delay
            delay = min(self.max_s, delay * self.factor)


class StreamSource:
    """A live camera: reads its stream, and when the stream fails or ends, reconnects with backoff until closed.

    ``on_status(camera_id, online, reason)`` is told the first state (offline if the first connection fails) and
    each change between online and offline. Frame ``seq`` keeps counting up across reconnects.
    """

    def __init__(
        self,
        config: SourceConfig,
        backoff: Backoff = Backoff(),
        on_status: Callable[[str, bool, str], None] | None = None,
        max_attempts: int | None = None,  # consecutive failed connects before giving up (None: never)
        sleep: Callable[[float], bool] | None = None,  # waits; True: stop (default: wait unless closed)
    ) -> None:
        if max_attempts is not None and max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.config = config
        self.camera_id = config.camera_id
        self.backoff = backoff
        self.on_status = on_status
        self.max_attempts = max_attempts
        self._closed = threading.Event()
        self._sleep = sleep or self._closed.wait
        self._current: VideoSource | None = None
        self._reported = False
        self.online = False
        self.reconnects = 0
        self.clip_buffer: PacketClipBuffer | None = None

    def _status(self, online: bool, reason: str) -> None:
        if online != self.online or not self._reported:
            self.online, self._reported = online, True
            log.warning("camera %s %s: %s", self.camera_id, "online" if online else "offline", reason)
            if self.on_status is not None:
                self.on_status(self.camera_id, online, reason)

    def frames(self) -> Iterator[Frame]:
        delays = self.backoff.delays()
        failures = 0
        next_seq = 0
        while not self._closed.is_set():
            source = self._current = VideoSource(self.config)
            if self._closed.is_set():  # closed while it was being made: close() may have missed it
                break
            reason = "stream ended"
            seq_base = next_seq
            try:
                for frame in source.frames():
                    self.clip_buffer = source.clip_buffer
                    if not self.online:
                        self._status(True, "receiving frames")
                        delays, failures = self.backoff.delays(), 0
                    next_seq = seq_base + frame.seq + 1
                    yield dataclasses.replace(frame, seq=seq_base + frame.seq) if seq_base else frame
            except SourceError as exc:
                reason = str(exc)
            except Exception as exc:  # anything else from a live connection is one more failure to retry
                reason = redact(f"{exc.__class__.__name__}: {exc}")
                log.exception("camera %s: unexpected error reading the stream", self.camera_id)
            finally:
                source.close()
            if self._closed.is_set():
                break
            failures += 1
            self._status(False, reason)
            if self.max_attempts is not None and failures >= self.max_attempts:
                raise SourceError(f"camera {self.camera_id}: gave up after {failures} attempts: {reason}")
            self.reconnects += 1
            if self._sleep(next(delays)):
                break

    def close(self) -> None:
        """Stop: the reader ends after its current read. Safe from any thread."""
        self._closed.set()
        if self._current is not None:
            self._current.close()


def open_source(config: SourceConfig, **stream_options: Any) -> VideoSource | StreamSource:
    """A file is read once; a stream address is watched with reconnects."""
    return StreamSource(config, **stream_options) if config.is_stream else VideoSource(config)


def redact(url: str) -> str:
    """An address without its user and password, and without query values that look like credentials, for logs
    and messages."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority = rest.split("/", 1)[0]
    if "@" not in rest:
        return _mask_query(url)
    if "@" in authority:  # the last @ ends the credentials: a password may hold an unescaped @
        at = authority.rindex("@")
    elif ":" in authority:  # user:pa/ss@host, a password with an unescaped /: cut at the last @ before any query
        at = rest.rfind("@", 0, min([rest.find(c) for c in "?#" if c in rest], default=len(rest)))
    else:
        return _mask_query(url)
    shown = url if at < 0 else f"{scheme}://***@{rest[at + 1 :]}"
    return _mask_query(shown)


def _mask_query(url: str) -> str:
    """Query values that look like credentials (``password=``, ``token=``…, as Hikvision and Dahua URLs carry)."""
    base, sep, query = url.partition("?")
    if not sep:
        return url
    query, hash_sep, fragment = query.partition("#")
    masked = "&".join(
        f"{key}=***" if eq and SECRET_QUERY_KEY.search(key) else f"{key}{eq}{value}"
        for key, eq, value in (pair.partition("=") for pair in query.split("&"))
    )
    return f"{base}?{masked}{hash_sep}{fragment}"


def wall_clock_pacer(speed: float = 1.0) -> Callable[[Frame], None]:
    """Sleep so that a file plays at ``speed`` × real time (demos); returns a per-frame hook."""
    started: list[tuple[float, dt.datetime]] = []

    def pace(frame: Frame) -> None:
        if not started:
            started.append((time.monotonic(), frame.ts))
            return
        wall0, ts0 = started[0]
        due = wall0 + (frame.ts - ts0).total_seconds() / speed
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    return pace
