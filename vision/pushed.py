"""Frames pushed by camera gateways: ``PushedFrames`` is the ``FrameSource`` of one camera, fed by ``push``;
``FrameIntake`` holds one of them per camera whose pipeline takes pushed frames.

A pulled stream lets the newest frame win and counts what it drops. A pushed frame is the gateway's until the
service accepts it, so a full queue does not drop anything: it refuses the frame with ``FrameQueueFull`` and an
estimate of when a slot frees (from how fast the pipeline has been taking frames), and the gateway retries or
decides itself what to give up. Every accepted frame reaches the consumer, in the order it was accepted.

    SourceError (vision.frames)
    └── PushedFrameError    the frame cannot be used: not a JPEG, truncated, undecodable, too many bytes or pixels,
                            a side too short or too long for the other (a degenerate picture such as 4096×1),
                            a capture time without a zone, far ahead of the clock or behind the camera's last frame
    FrameQueueFull          the camera's queue is full; ``retry_after_s`` says when to try again
    NoPipeline (KeyError)   no pipeline has opened pushed frames for that camera (or it has closed them)
    FramesUnreachable       the pipeline runs in another process and the way there is down now (a cluster's
                            broker): nothing was accepted, try again shortly

``FramePush`` is what the API pushes into: this process's ``FrameIntake``, or in a cluster a relay to the worker
that holds the camera (``offsite.cluster.frames``), which answers with the same outcomes.

Thread-safe: gateway pushes arrive on the web server's threads, the pipeline takes frames on its own.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

from vision.frames import Frame, Image, SourceError

DEFAULT_CAPACITY = 8
DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_PIXELS = 4096 * 4096
DEFAULT_MIN_SIDE = 16  # pixels: a narrower picture shows nothing a rule could judge
DEFAULT_MAX_ASPECT_RATIO = 10.0  # longer side : shorter side; a 32:9 panorama is 3.6
RETRY_AFTER_UNKNOWN_S = 1.0
RETRY_AFTER_BOUNDS_S = (0.1, 30.0)
_RATE_WINDOW = 16  # how many recent takes the drain rate is estimated from

_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
# Start-of-frame markers carry the image size; C4 (Huffman tables), C8 (reserved) and CC (arithmetic coding
# conditioning) share the range but are not frame headers.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0..7: no length field


class PushedFrameError(SourceError):
    """A pushed frame that cannot be used; the message names the camera and the problem. ``key`` and ``params``
    name the problem for a reader of another language (the project's message catalogue has ``frame.<key>``);
    ``too_large`` is set when the frame is refused for its size (bytes or pixels) rather than its content."""

    def __init__(self, camera_id: str, key: str, problem: str, *, too_large: bool = False, **params: object) -> None:
        super().__init__(f"camera {camera_id!r}: the pushed frame {problem}")
        self.camera_id = camera_id
        self.key = key
        self.problem = problem
        self.params = params
        self.too_large = too_large


class FrameQueueFull(Exception):
    """The camera's queue holds ``capacity`` frames the pipeline has not taken yet: nothing was dropped, and the
    frame was not accepted; push it again after ``retry_after_s`` seconds."""

    def __init__(self, camera_id: str, capacity: int, retry_after_s: float) -> None:
        super().__init__(
            f"camera {camera_id!r}: the frame queue is full ({capacity} frames waiting); retry in {retry_after_s:.1f} s"
        )
        self.camera_id = camera_id
        self.capacity = capacity
        self.retry_after_s = retry_after_s


class NoPipeline(KeyError):
    """No pipeline takes pushed frames of this camera: none has opened them, or it has closed them."""

    def __init__(self, camera_id: str) -> None:
        super().__init__(camera_id)
        self.camera_id = camera_id

    def __str__(self) -> str:
        return f"camera {self.camera_id!r}: no pipeline is taking pushed frames for this camera"


class FramesUnreachable(Exception):
    """The camera's pipeline runs in another process, which cannot be reached now: the frame was not accepted;
    push it again after ``retry_after_s`` seconds."""

    def __init__(self, camera_id: str, reason: str, retry_after_s: float = 2.0) -> None:
        super().__init__(f"camera {camera_id!r}: the pipeline taking its frames cannot be reached: {reason}")
        self.camera_id = camera_id
        self.reason = reason
        self.retry_after_s = retry_after_s


class FramePush(Protocol):
    """Where the API puts a gateway's frame: accepted with its ``seq``, or refused with ``PushedFrameError``,
    ``FrameQueueFull``, ``NoPipeline`` or ``FramesUnreachable``."""

    def push(self, camera_id: str, jpeg: bytes, ts: dt.datetime) -> int: ...


@dataclass(frozen=True)
class FrameLimits:
    """What a pushed frame may be. Timestamps may run slightly backwards (gateway clock jitter) within
    ``backwards_tolerance_s`` of the camera's last accepted frame, and ahead of the server's clock by at most
    ``ahead_tolerance_s`` (one frame stamped far in the future would otherwise put every later one "behind" it).
    A picture's shorter side is at least ``min_side`` pixels and its longer side at most ``max_aspect_ratio`` times
    the shorter: a degenerate picture (4096×1) is refused at the door instead of reaching the detector."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    min_side: int = DEFAULT_MIN_SIDE
    max_aspect_ratio: float = DEFAULT_MAX_ASPECT_RATIO
    backwards_tolerance_s: float = 2.0
    ahead_tolerance_s: float = 300.0

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_pixels < 1 or self.min_side < 1:
            raise ValueError("frame limits max_bytes, max_pixels and min_side must be positive")
        if self.max_aspect_ratio < 1:
            raise ValueError("the frame limit max_aspect_ratio is at least 1 (a square picture)")
        if self.backwards_tolerance_s < 0 or self.ahead_tolerance_s < 0:
            raise ValueError("frame time tolerances must not be negative")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def jpeg_dimensions(camera_id: str, jpeg: bytes) -> tuple[int, int]:
    """(width, height) from the JPEG's frame header, read without decoding the picture."""
    position, end = 2, len(jpeg)
    while position < end:
        if jpeg[position] != 0xFF:
            raise PushedFrameError(camera_id, "corrupt_marker", f"is corrupt: no JPEG marker at byte {position}",
                                   position=position)  # fmt: skip
        while position < end and jpeg[position] == 0xFF:  # fill bytes before a marker
            position += 1
        if position >= end:
            break
        marker = jpeg[position]
        position += 1
        if marker in _STANDALONE_MARKERS:
            continue
        if marker in (0xD9, 0xDA):  # end of image, or image data, before any frame header
            break
        if position + 2 > end:
            break
        length = int.from_bytes(jpeg[position : position + 2], "big")
        if length < 2:
            raise PushedFrameError(camera_id, "corrupt_segment",
                                   f"is corrupt: a JPEG segment at byte {position} has length {length}",
                                   position=position, length=length)  # fmt: skip
        if marker in _SOF_MARKERS:
            if position + 7 > end:
                break
            height = int.from_bytes(jpeg[position + 3 : position + 5], "big")
            width = int.from_bytes(jpeg[position + 5 : position + 7], "big")
            return width, height
        position += length
    raise PushedFrameError(
        camera_id, "no_header", "is truncated or corrupt: no JPEG frame header (SOF) before its image data"
    )


def decode_jpeg(camera_id: str, jpeg: bytes, limits: FrameLimits) -> Image:
    """The BGR picture of a pushed JPEG, refused (naming why) unless it is whole, decodable and within the limits.
    Sizes are checked on the header before the picture is decoded."""
    if not jpeg:
        raise PushedFrameError(camera_id, "empty", "is empty (0 bytes)")
    if len(jpeg) > limits.max_bytes:
        raise PushedFrameError(camera_id, "too_many_bytes",
                               f"is {len(jpeg)} bytes, over the limit of {limits.max_bytes} bytes",
                               too_large=True, size=len(jpeg), limit=limits.max_bytes)  # fmt: skip
    if not jpeg.startswith(_SOI):
        raise PushedFrameError(
            camera_id, "not_jpeg", "is not a JPEG: it does not start with the start-of-image marker FF D8"
        )
    width, height = jpeg_dimensions(camera_id, jpeg)
    _check_pixels(camera_id, width, height, limits)
    if not jpeg.rstrip(b"\x00").endswith(_EOI):  # libjpeg would fill a cut-off picture with grey and say nothing
        raise PushedFrameError(
            camera_id, "truncated", "is truncated: it does not end with the end-of-image marker FF D9"
        )
    try:
        decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise PushedFrameError(camera_id, "undecodable", "cannot be decoded: corrupt JPEG data") from exc
    if decoded is None or decoded.size == 0:
        raise PushedFrameError(camera_id, "undecodable", "cannot be decoded: corrupt JPEG data")
    image = np.asarray(decoded, np.uint8)
    if image.ndim != 3 or image.shape[2] != 3:
        raise PushedFrameError(camera_id, "unusable_shape", f"decodes to an unusable picture of shape {image.shape}",
                               shape=str(image.shape))  # fmt: skip
    _check_pixels(camera_id, int(image.shape[1]), int(image.shape[0]), limits)
    return image


def _check_pixels(camera_id: str, width: int, height: int, limits: FrameLimits) -> None:
    if width == 0 or height == 0:
        raise PushedFrameError(camera_id, "zero_size", f"has zero size ({width}×{height} pixels)",
                               width=width, height=height)  # fmt: skip
    if width * height > limits.max_pixels:
        raise PushedFrameError(
            camera_id,
            "too_many_pixels",
            f"is {width}×{height} = {width * height} pixels, over the limit of {limits.max_pixels} pixels",
            too_large=True,
            width=width,
            height=height,
            pixels=width * height,
            limit=limits.max_pixels,
        )
    short, long = min(width, height), max(width, height)
    if short < limits.min_side:
        raise PushedFrameError(
            camera_id,
            "short_side",
            f"is {width}×{height} pixels: its shorter side is under {limits.min_side} pixels",
            width=width,
            height=height,
            min_side=limits.min_side,
        )
    if long / short > limits.max_aspect_ratio:
        raise PushedFrameError(
            camera_id,
            "aspect",
            f"is {width}×{height} pixels: its sides are {long / short:.1f} to 1, "
            f"beyond the {limits.max_aspect_ratio:g} to 1 a camera's picture may have",
            width=width,
            height=height,
            ratio=f"{long / short:.1f}",
            max_ratio=f"{limits.max_aspect_ratio:g}",
        )


class PushedFrames:
    """The ``FrameSource`` of one camera whose gateway pushes JPEG frames: a bounded queue of decoded frames.

    ``push`` accepts a frame (and gives its ``seq``) or refuses it; ``frames()`` yields accepted frames in order,
    waiting for the next, until ``close()``: then further pushes are refused with ``NoPipeline``, and the iterator
    yields what had already been accepted before it ends. Metrics are plain counters: ``frames_in`` (accepted),
    ``frames_refused_full`` and ``frames_refused_bad``.
    """

    def __init__(
        self,
        camera_id: str,
        capacity: int = DEFAULT_CAPACITY,
        *,
        limits: FrameLimits | None = None,
        now: Callable[[], dt.datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"camera {camera_id!r}: a frame queue holds at least 1 frame, got capacity {capacity}")
        self.camera_id = camera_id
        self.capacity = capacity
        self.limits = limits or FrameLimits()
        self._now = now
        self._monotonic = monotonic
        self._queue: deque[Frame] = deque()
        self._taken_at: deque[float] = deque(maxlen=_RATE_WINDOW)
        self._ready = threading.Condition()
        self._closed = False
        self._next_seq = 0
        self._last_ts: dt.datetime | None = None
        self.frames_in = 0
        self.frames_refused_full = 0
        self.frames_refused_bad = 0

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def queued(self) -> int:
        """Frames accepted and not yet taken by the pipeline."""
        with self._ready:
            return len(self._queue)

    def push(self, jpeg: bytes, ts: dt.datetime) -> int:
        """Accept a JPEG captured at ``ts`` and return its ``seq``; or refuse it, leaving the queue as it was,
        with ``PushedFrameError``, ``FrameQueueFull`` or ``NoPipeline``."""
        try:
            captured = self._capture_time(ts)
            with self._ready:  # refuse cheaply before decoding when the frame could not be taken anyway
                self._check_room()
                self._check_order(captured)
            image = decode_jpeg(self.camera_id, jpeg, self.limits)
            with self._ready:  # another push may have taken the room or moved time on while this one decoded
                self._check_room()
                self._check_order(captured)
                seq = self._next_seq
                self._queue.append(Frame(self.camera_id, seq, captured, image, keyframe=True))
                self._next_seq += 1
                self._last_ts = captured if self._last_ts is None else max(self._last_ts, captured)
                self.frames_in += 1
                self._ready.notify()
                return seq
        except PushedFrameError:
            with self._ready:
                self.frames_refused_bad += 1
            raise

    def frames(self) -> Iterator[Frame]:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                frame = self._queue.popleft()
                self._taken_at.append(self._monotonic())
            yield frame

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def retry_after_s(self) -> float:
        """When a slot should free, from the pace at which the pipeline took its recent frames: the rest of the
        usual interval since the last take, or, when the pipeline is later than usual, as long again as it has
        been since. 1 s while the pace is unknown; always within 0.1..30 s."""
        with self._ready:
            return self._retry_after_locked()

    # ---- inside ----------------------------------------------------------------------------------------------
    def _capture_time(self, ts: dt.datetime) -> dt.datetime:
        if ts.tzinfo is None or ts.utcoffset() is None:
            raise PushedFrameError(
                self.camera_id,
                "no_time_zone",
                f"timestamp {ts.isoformat()} has no time zone: give its UTC offset or Unix seconds",
                timestamp=ts.isoformat(),
            )
        captured = ts.astimezone(dt.UTC)
        ahead = (captured - self._now()).total_seconds()
        if ahead > self.limits.ahead_tolerance_s:
            raise PushedFrameError(
                self.camera_id,
                "ahead",
                f"timestamp {captured.isoformat()} is {ahead:.0f} s ahead of the server's clock "
                f"(at most {self.limits.ahead_tolerance_s:.0f} s): check the gateway's clock",
                timestamp=captured.isoformat(),
                ahead_s=f"{ahead:.0f}",
                tolerance_s=f"{self.limits.ahead_tolerance_s:.0f}",
            )
        return captured

    def _check_room(self) -> None:
        if self._closed:
            raise NoPipeline(self.camera_id)
        if len(self._queue) >= self.capacity:
            self.frames_refused_full += 1
            raise FrameQueueFull(self.camera_id, self.capacity, self._retry_after_locked())

    def _check_order(self, captured: dt.datetime) -> None:
        if self._last_ts is None:
            return
        behind = (self._last_ts - captured).total_seconds()
        if behind > self.limits.backwards_tolerance_s:
            raise PushedFrameError(
                self.camera_id,
                "behind",
                f"timestamp {captured.isoformat()} is {behind:.3f} s before the camera's last frame "
                f"({self._last_ts.isoformat()}; at most {self.limits.backwards_tolerance_s} s is tolerated)",
                timestamp=captured.isoformat(),
                behind_s=f"{behind:.3f}",
                last=self._last_ts.isoformat(),
                tolerance_s=f"{self.limits.backwards_tolerance_s}",
            )

    def _retry_after_locked(self) -> float:
        low, high = RETRY_AFTER_BOUNDS_S
        if len(self._taken_at) < 2:
            return RETRY_AFTER_UNKNOWN_S
        interval = (self._taken_at[-1] - self._taken_at[0]) / (len(self._taken_at) - 1)
        since_last = self._monotonic() - self._taken_at[-1]
        estimate = interval - since_last if since_last < interval else since_last
        return min(max(estimate, low), high)


class FrameIntake:
    """The pushed-frame sources of every camera whose pipeline takes pushed frames, by camera id.

    A pipeline ``open``s its camera and consumes ``frames()``; the API ``push``es what gateways send. A camera no
    pipeline has opened (or whose source was closed) refuses pushes with ``NoPipeline``."""

    def __init__(
        self,
        capacity: int = DEFAULT_CAPACITY,
        *,
        limits: FrameLimits | None = None,
        now: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.capacity = capacity
        self.limits = limits or FrameLimits()
        self._now = now
        self._sources: dict[str, PushedFrames] = {}
        self._lock = threading.Lock()
        self._closed = False

    def open(self, camera_id: str, capacity: int | None = None) -> PushedFrames:
        """The camera's open source, created if it has none (idempotent: an open one is returned as it is)."""
        with self._lock:
            if self._closed:
                raise SourceError(f"camera {camera_id!r}: the frame intake is closed")
            source = self._sources.get(camera_id)
            if source is None or source.closed:
                source = PushedFrames(
                    camera_id, self.capacity if capacity is None else capacity, limits=self.limits, now=self._now
                )
                self._sources[camera_id] = source
            return source

    def get(self, camera_id: str) -> PushedFrames | None:
        with self._lock:
            source = self._sources.get(camera_id)
        return None if source is None or source.closed else source

    def push(self, camera_id: str, jpeg: bytes, ts: dt.datetime) -> int:
        source = self.get(camera_id)
        if source is None:
            raise NoPipeline(camera_id)
        return source.push(jpeg, ts)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            sources = list(self._sources.values())
        for source in sources:
            source.close()


# ---- an intake's answer carried between processes ---------------------------------------------------------------
def reply_of(push: Callable[[], int]) -> dict[str, Any]:
    """Run a push into an intake; its outcome as plain data, for a relay to carry back to where the frame came in
    (a cluster's API node): accepted with its ``seq``, or which refusal, with what the refusal says."""
    try:
        return {"seq": push()}
    except NoPipeline:
        return {"refused": "no_pipeline"}
    except FrameQueueFull as exc:
        return {"refused": "queue_full", "capacity": exc.capacity, "retry_after_s": exc.retry_after_s}
    except PushedFrameError as exc:
        params = {name: value if isinstance(value, int | float | str) else str(value)
                  for name, value in exc.params.items()}  # fmt: skip
        return {"refused": "bad_frame", "key": exc.key, "problem": exc.problem, "params": params,
                "too_large": exc.too_large}  # fmt: skip


def outcome_of(camera_id: str, reply: dict[str, Any], tellable: Callable[[str], bool]) -> int:
    """A carried answer as the intake gave it: the ``seq``, or the same refusal raised again. A frame problem whose
    key this side cannot tell (``tellable`` is False: a relay of a newer release) is raised as ``undecodable``."""
    refused = reply.get("refused")
    if refused is None:
        return int(reply["seq"])
    if refused == "no_pipeline":
        raise NoPipeline(camera_id)
    if refused == "queue_full":
        raise FrameQueueFull(camera_id, int(reply["capacity"]), float(reply["retry_after_s"]))
    key, params = str(reply.get("key")), dict(reply.get("params") or {})
    if not tellable(key):
        key, params = "undecodable", {}
    raise PushedFrameError(camera_id, key, str(reply.get("problem")), too_large=bool(reply.get("too_large")), **params)
