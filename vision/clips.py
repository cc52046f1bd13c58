"""Short H.264 MP4 clips for evidence, cut from a rolling buffer around the moment a violation was confirmed.

- ``PacketClipBuffer`` keeps a camera's compressed packets, as they came from the stream, for the last few seconds.
  An H.264 camera's clip is those packets remuxed: every frame the camera sent, at full rate, although the pipeline
  decoded only a few of them, and no encoding. Any other codec (MPEG-4 part 2, MS-MPEG4, MJPEG, HEVC…) is decoded
  from the packets and encoded to H.264, every frame of the span at the camera's own times, so that every clip plays
  in the console's browser (docs/decisions/0018-clips-keep-the-camera-codec.md).
- ``FrameClipBuffer`` keeps decoded frames (pushed JPEGs have no stream to copy) and encodes them with x264 at
  their own timestamps.
Both answer ``covered_until`` so the runner knows when the post-event seconds have arrived.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import itertools
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np
from av.video.reformatter import ColorRange

from vision.frames import Frame, Image

REORDER_PACKETS = 5  # B-frames arrive at most this many packets after a later picture (x264 uses up to 3, cameras 0-2)
COPIED_CODECS = frozenset({"h264"})  # remuxed into the clip as sent; any other codec is transcoded to H.264
CLIP_CRF = 23  # x264's own default: a transcoded camera clip looks as the camera sent it (the measurements: 0018)


class ClipError(RuntimeError):
    """A clip that cannot be cut: nothing buffered for the span asked, or the span has already left the buffer."""


class ClipBuffer(Protocol):
    covered_until: dt.datetime | None

    def write_clip(self, start: dt.datetime, end: dt.datetime, out: Path) -> Path: ...


@dataclass(frozen=True)
class _Decoding:
    """What a decoder needs to read a stream's packets, copied from the stream: it outlives the connection."""

    codec: str
    width: int
    height: int
    extradata: bytes | None
    codec_tag: str

    @classmethod
    def of(cls, stream: Any) -> _Decoding:
        context = stream.codec_context
        extradata = bytes(context.extradata) if context.extradata else None
        return cls(context.name, context.width, context.height, extradata, context.codec_tag)

    def decoder(self) -> Any:
        context: Any = av.CodecContext.create(self.codec, "r")  # a VideoCodecContext
        context.width, context.height, context.extradata = self.width, self.height, self.extradata
        context.codec_tag = self.codec_tag  # MPEG-4 part 2 decoders work around encoders' bugs by their tag
        context.thread_count = 1
        return context


@dataclass(frozen=True)
class _Packet:
    ts: dt.datetime
    keyframe: bool
    packet: Any  # av.Packet, as demuxed; never changed (a clip is written from copies)


class PacketClipBuffer:
    """The last ``keep_s`` seconds of one video stream's packets (always from a key frame on).

    The stream's codec parameters are copied at once, so the buffer outlives the connection it was filled from:
    a clip can still be cut after the stream has dropped and the source has reconnected.
    """

    def __init__(self, template: Any, keep_s: float) -> None:
        if keep_s <= 0:
            raise ValueError("keep_s must be positive")
        self.codec: str = template.codec_context.name
        self.copies = self.codec in COPIED_CODECS  # remuxed; otherwise transcoded
        self.template: Any = None  # codec parameters for a remuxed clip's stream
        if self.copies:  # an output container that is never written holds a copy of them (extradata too)
            self._holder = av.open(io.BytesIO(), "w", format="mp4")
            self.template = self._holder.add_stream_from_template(template)
        self._decoding = _Decoding.of(template)
        rate = template.average_rate or template.guessed_rate
        self.rate: Fraction | None = rate if rate and 1 <= rate <= 240 else None  # for x264's rate control
        self.time_base: Fraction = template.time_base
        self.keep = dt.timedelta(seconds=keep_s)
        self._packets: deque[_Packet] = deque()
        self._recent: deque[dt.datetime] = deque(maxlen=REORDER_PACKETS)
        self._lock = threading.Lock()
        self.covered_until: dt.datetime | None = None  # every picture up to this time is buffered

    def add(self, packet: Any, ts: dt.datetime) -> None:
        """A demuxed packet (decode order) and the capture time of its picture. Needs a pts."""
        if packet.pts is None:
            raise ValueError("a buffered packet needs a pts")
        keyframe = bool(packet.is_keyframe)
        with self._lock:
            if not self._packets and not keyframe:
                return  # a clip must start at a key frame: what comes before the first one cannot be decoded
            self._packets.append(_Packet(ts, keyframe, packet))
            # Packets come in decode order: a B-frame arrives after the later picture it refers to. Every picture up
            # to the earliest of the last few packets has arrived (for a reorder depth below REORDER_PACKETS).
            self._recent.append(ts)
            complete = min(self._recent)
            self.covered_until = complete if self.covered_until is None else max(self.covered_until, complete)
            self._trim(self.covered_until - self.keep)

    def _trim(self, horizon: dt.datetime) -> None:
        """Drop whole GOPs that ended before the horizon, so the buffer still starts at a key frame."""
        cut = 0
        for index, item in enumerate(self._packets):
            if item.ts > horizon:
                break
            if item.keyframe and index:
                cut = index
        for _ in range(cut):
            self._packets.popleft()

    def write_clip(self, start: dt.datetime, end: dt.datetime, out: Path) -> Path:
        """An H.264 MP4 of the span. Remuxed: every frame from the last key frame at or before ``start`` through
        ``end`` (and the few frames after ``end`` that the decode order brings along). Transcoded: every frame from
        ``start`` through ``end``. Raises ClipError when nothing of the span is buffered; a span that began before
        the buffer gets what is left of it."""
        with self._lock:
            chosen = self._span(start, end)
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            if self.copies:
                self._remux(chosen, out)
            else:
                self._transcode(chosen, start, end, out)
        except (av.error.FFmpegError, ValueError) as exc:
            out.unlink(missing_ok=True)
            raise ClipError(f"cannot write the clip {out.name}: {exc}") from exc
        return out

    def _remux(self, chosen: list[_Packet], out: Path) -> None:
        pictures = _pictures(chosen)
        with av.open(str(out), "w", format="mp4") as container:
            stream = container.add_stream_from_template(self.template)
            for packet in self._packets_of(pictures):
                packet.stream = stream
                container.mux(packet)

    def _packets_of(self, pictures: list[_Picture]) -> Iterator[Any]:
        """The pictures as packets in decode order, their times counted from the first decoded."""
        decode_ticks = _decode_times(pictures)
        origin = decode_ticks[0]
        for picture, dts in zip(pictures, decode_ticks, strict=True):
            packet = av.Packet(picture.data)
            packet.pts, packet.dts, packet.duration = picture.pts - origin, dts - origin, picture.duration
            packet.time_base = self.time_base
            packet.is_keyframe = picture.keyframe
            yield packet

    def _transcode(self, chosen: list[_Packet], start: dt.datetime, end: dt.datetime, out: Path) -> None:
        """Decode the packets from their key frame on and encode the pictures shown from ``start`` to ``end``."""
        pictures = _pictures(chosen)
        origin = _decode_times(pictures)[0]
        shown_at = {item.packet.pts - origin: item.ts for item in chosen}  # a picture's pts in the clip → its time
        decoder = self._decoding.decoder()

        def decoded() -> Iterator[tuple[dt.datetime, Any]]:
            for packet in [*self._packets_of(pictures), None]:
                try:
                    frames = decoder.decode(packet)
                except av.error.FFmpegError:
                    continue  # a damaged picture is left out, as the sampler leaves it out; the others are kept
                for frame in frames:
                    ts = shown_at.get(frame.pts) if frame.pts is not None else None
                    if ts is not None and start <= ts <= end:
                        yield ts, frame

        if not _encode(decoded(), out, self.rate):
            raise ClipError(
                f"no picture of the {self.codec} stream decodes between {start.isoformat()} and {end.isoformat()}"
            )

    def _span(self, start: dt.datetime, end: dt.datetime) -> list[_Packet]:
        if end < start:
            raise ClipError(f"a clip's end {end.isoformat()} is before its start {start.isoformat()}")
        packets = list(self._packets)
        if not packets:
            raise ClipError("no packets buffered")
        if self.covered_until is not None and self.covered_until < start:
            raise ClipError(
                f"no packets buffered from {start.isoformat()}: the buffer ends at {self.covered_until.isoformat()}"
            )
        if end < packets[0].ts:
            raise ClipError(
                f"the span up to {end.isoformat()} has left the buffer, which starts at {packets[0].ts.isoformat()}"
            )
        begin = 0
        for index, item in enumerate(packets):  # the last key frame at or before the start
            if item.keyframe and item.ts <= start:
                begin = index
        # Decode order: keep every packet up to the last one shown by the end, then those that fill in the pictures
        # between (B-frames after a P-frame that is already in); cutting there would leave references missing.
        last = max(i for i in range(begin, len(packets)) if packets[i].ts <= end or i == begin)
        latest = max(p.ts for p in packets[begin : last + 1])
        while last + 1 < len(packets) and packets[last + 1].ts < latest:
            last += 1
        return packets[begin : last + 1]


@dataclass(frozen=True)
class _Picture:
    pts: int
    keyframe: bool
    data: bytes
    duration: int | None


def _pictures(chosen: list[_Packet]) -> list[_Picture]:
    """One packet per picture, in decode order: consecutive packets of one pts and kind (a picture's slices) joined."""
    pictures: list[_Picture] = []
    for item in chosen:
        pts, data = int(item.packet.pts), bytes(item.packet)
        if pictures and pictures[-1].pts == pts and pictures[-1].keyframe == item.keyframe:
            pictures[-1] = dataclasses.replace(pictures[-1], data=pictures[-1].data + data)
        else:
            pictures.append(_Picture(pts, item.keyframe, data, item.packet.duration or None))
    return pictures


def _decode_times(pictures: list[_Picture]) -> list[int]:
    """Decode timestamps: increasing, and never after a picture is shown (RTSP packets often come without them).

    The k-th picture decoded gets the k-th smallest pts, moved back by the largest reorder delay seen."""
    shown = sorted(picture.pts for picture in pictures)
    delay = max(0, *(first - picture.pts for first, picture in zip(shown, pictures, strict=True)))
    return [first - delay for first in shown]


class FrameClipBuffer:
    """The last ``keep_s`` seconds of decoded frames, encoded to H.264 on request at their own times."""

    def __init__(self, keep_s: float, max_frames: int = 600) -> None:
        if keep_s <= 0:
            raise ValueError("keep_s must be positive")
        self.keep = dt.timedelta(seconds=keep_s)
        self._frames: deque[Frame] = deque(maxlen=max_frames)
        self._lock = threading.Lock()
        self.covered_until: dt.datetime | None = None

    def add(self, frame: Frame) -> None:
        with self._lock:
            self._frames.append(frame)
            self.covered_until = frame.ts
            while self._frames and self._frames[0].ts < frame.ts - self.keep:
                self._frames.popleft()

    def write_clip(self, start: dt.datetime, end: dt.datetime, out: Path) -> Path:
        with self._lock:
            chosen = [f for f in self._frames if start <= f.ts <= end]
        if not chosen:
            raise ClipError(f"no frames buffered between {start.isoformat()} and {end.isoformat()}")
        encode_clip([(f.ts, f.image) for f in chosen], out)
        return out


def encode_clip(frames: list[tuple[dt.datetime, Image]], out: Path) -> None:
    """Encode (time, BGR image) pairs to an H.264 MP4 whose frames keep their spacing in time (1 ms resolution)."""
    if not frames:
        raise ClipError("a clip needs at least one frame")
    pictures = ((ts, av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")) for ts, image in frames)
    _encode(pictures, out, crf=26)


def _encode(
    pictures: Iterable[tuple[dt.datetime, Any]], out: Path, rate: Fraction | None = None, crf: int = CLIP_CRF
) -> int:
    """Encode (time, av.VideoFrame) pairs to an H.264 MP4 at their times (1 ms resolution), in the first picture's
    size (made even); the number of frames written. No picture: nothing is written."""
    first = next(iter_pictures := iter(pictures), None)
    if first is None:
        return 0
    origin, picture = first
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with av.open(str(out), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=rate or 25)
        stream.width, stream.height = picture.width - picture.width % 2, picture.height - picture.height % 2
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        stream.options = {"preset": "veryfast", "crf": str(crf)}
        last_pts = -1
        for ts, picture in itertools.chain([first], iter_pictures):
            pts = max(last_pts + 1, round((ts - origin).total_seconds() * 1000))
            picture = _fitted(picture, stream.width, stream.height)
            picture.pts, picture.time_base, last_pts = pts, Fraction(1, 1000), pts
            for packet in stream.encode(picture):
                container.mux(packet)
            written += 1
        for packet in stream.encode(None):
            container.mux(packet)
    return written


def _fitted(picture: Any, width: int, height: int) -> Any:
    """The picture as x264 is given it: the clip's size (odd sizes, or a camera that changed), 8-bit 4:2:0 in the
    video range. A full-range picture (MJPEG's yuvj420p) is scaled into the video range, not only relabelled: its
    levels would otherwise play too dark or too bright."""
    full_range = picture.color_range == ColorRange.JPEG
    if (picture.width, picture.height, picture.format.name) == (width, height, "yuv420p") and not full_range:
        return picture
    source_range = ColorRange.JPEG if full_range else None
    return picture.reformat(width, height, "yuv420p", src_color_range=source_range, dst_color_range=ColorRange.MPEG)
