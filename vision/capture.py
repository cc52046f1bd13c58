"""Evidence capture for a confirmed violation: the raw key frames (first seen, middle, confirming), the same frames
annotated (box, zone, time, camera), a short clip around the confirmation, quality figures for the reviewer's
真实/清晰/完整/准确 checklist, and every box the detector reported on each key frame (``boxes.json``: what the
operator's review turns into training labels, ``vision.review_dataset``).

While an occurrence goes on, ``KeyFrameKeeper`` keeps a few of its frames (JPEG, evenly thinned as it grows), so
that the first and middle frames still exist when the occurrence is confirmed minutes later.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from vision.clips import ClipBuffer, ClipError
from vision.frames import Frame, Image
from vision.rules import Confirmation, Sighting, Zone

JPEG_QUALITY = 95
KEEP_FRAMES = 9  # per occurrence: enough to pick a middle one, little enough for thousands of cameras


BOXES_FORMAT = "offsite-boxes/1"


@dataclass(frozen=True)
class SeenBox:
    """A box the detector reported on a frame, at its thresholds."""

    class_name: str
    score: float
    xyxy: tuple[float, float, float, float]  # pixels of the frame

    def as_json(self) -> dict[str, object]:
        return {"class": self.class_name, "score": round(self.score, 4), "xyxy": [round(v, 1) for v in self.xyxy]}


@dataclass(frozen=True)
class KeptFrame:
    ts: dt.datetime
    jpeg: bytes = field(repr=False)
    sighting: Sighting
    size: tuple[int, int]  # width, height
    seen: tuple[SeenBox, ...] = ()  # every box the detector reported on the frame


def encode_jpeg(image: Image, quality: int = JPEG_QUALITY) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("the frame could not be encoded as JPEG")
    return bytes(data.tobytes())


def decode_jpeg(data: bytes) -> Image:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("the kept frame is not a readable JPEG")
    return np.asarray(image, np.uint8)


class KeyFrameKeeper:
    """The first frame of an occurrence, and up to ``KEEP_FRAMES`` more spread over its length."""

    def __init__(self, limit: int = KEEP_FRAMES) -> None:
        self.limit = max(3, limit)
        self.frames: list[KeptFrame] = []
        self.confirming: KeptFrame | None = None
        self._spacing = dt.timedelta(0)

    def offer(self, frame: Frame, sighting: Sighting, seen: tuple[SeenBox, ...] = ()) -> None:
        if self.frames and frame.ts - self.frames[-1].ts < self._spacing:
            return
        self.frames.append(KeptFrame(frame.ts, encode_jpeg(frame.image), sighting, frame.size, seen))
        if len(self.frames) > self.limit:  # keep the first, then every other one counting back from the newest
            self.frames = [self.frames[0], *self.frames[1:][::-1][::2][::-1]]
            self._spacing = max(self._spacing * 2, (self.frames[-1].ts - self.frames[0].ts) / self.limit)

    def confirm(self, frame: Frame, sighting: Sighting, seen: tuple[SeenBox, ...] = ()) -> None:
        """The frame in which the occurrence became a violation, kept apart from the thinning."""
        self.confirming = KeptFrame(frame.ts, encode_jpeg(frame.image), sighting, frame.size, seen)

    def key_frames(self) -> tuple[KeptFrame, KeptFrame, KeptFrame]:
        """First seen, the one nearest the middle, and the confirming frame (the last kept, if none)."""
        if not self.frames and self.confirming is None:
            raise ValueError("no frames kept")
        last = self.confirming or self.frames[-1]
        first = self.frames[0] if self.frames else last
        middle_ts = first.ts + (last.ts - first.ts) / 2
        middle = min(self.frames or [last], key=lambda kept: abs((kept.ts - middle_ts).total_seconds()))
        return first, middle, last


@dataclass(frozen=True)
class Quality:
    """Figures for the reviewer: is the picture sharp enough and well exposed?"""

    sharpness: float  # variance of the Laplacian of the grey picture: low means blurred
    brightness: float  # mean grey level, 0..255
    underexposed: float  # share of pixels at or below 10
    overexposed: float  # share of pixels at or above 245
    width: int
    height: int

    @classmethod
    def of(cls, image: Image) -> Quality:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return cls(
            sharpness=round(float(cv2.Laplacian(grey, cv2.CV_64F).var()), 2),
            brightness=round(float(grey.mean()), 2),
            underexposed=round(float((grey <= 10).mean()), 4),
            overexposed=round(float((grey >= 245).mean()), 4),
            width=int(image.shape[1]),
            height=int(image.shape[0]),
        )


@dataclass(frozen=True)
class AnnotatedFrame:
    """A key frame as drawn for the reviewer, with the texts drawn on it."""

    image: Image = field(repr=False)
    caption: str  # the band across the top: camera, local time, zone, what was found
    box_label: str  # beside the object's box: class, score and, when tracked, the track


# ByteTrack's "no id" (-1) as it reads once a track id is folded into 32 bits: a box no track has claimed.
UNTRACKED = 0xFFFFFFFF


def box_label(sighting: Sighting) -> str:
    """Class and score, and the track's number within its class when a track holds the box.

    Track ids are made unique across a camera's classes by putting the class in the high bits
    (``vision.tracking``); a person reads the number within the class, which is what the tracker counts.
    """
    label = f"{sighting.class_name} {sighting.score:.2f}"
    if sighting.track_id is None or sighting.track_id < 0:
        return label
    number = sighting.track_id & 0xFFFFFFFF
    return label if number == UNTRACKED else f"{label} #{number}"


def local_caption_time(ts: dt.datetime, tz: dt.tzinfo) -> str:
    """The frame's time as a person reads it: local, to the second, with the offset (a frame may leave the
    bureau in an export). A time without a zone is taken as UTC, as every time in the pipeline is."""
    moment = ts if ts.tzinfo is not None else ts.replace(tzinfo=dt.UTC)
    local = moment.astimezone(tz).replace(microsecond=0)
    offset = local.isoformat()[19:]  # "+08:00"
    return f"{local:%Y-%m-%d %H:%M:%S} {offset}"


def caption_text(camera_id: str, ts: dt.datetime, zone_id: str, label: str, tz: dt.tzinfo) -> str:
    return f"{camera_id}  {local_caption_time(ts, tz)}  zone {zone_id}  {label}"


def annotate(image: Image, zone: Zone, sighting: Sighting, camera_id: str, label: str, tz: dt.tzinfo) -> AnnotatedFrame:
    """The frame with the zone outlined, the object's box and label, and a caption of camera, local time (in
    ``tz``, the bureau's zone) and what was found."""
    out = image.copy()
    height, width = out.shape[:2]
    polygon = np.array([[round(x * width), round(y * height)] for x, y in zone.polygon.points], np.int32)
    cv2.polylines(out, [polygon], isClosed=True, color=(0, 200, 255), thickness=max(1, width // 640))
    x1, y1, x2, y2 = (round(v) for v in sighting.box)
    cv2.rectangle(out, (x1, y1), (x2, y2), (0, 0, 255), max(1, width // 480))
    tag = box_label(sighting)
    scale = max(0.4, width / 1920)
    cv2.putText(out, tag, (x1, max(12, y1 - 4)), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.7, (0, 0, 255), 2)
    caption = caption_text(camera_id, sighting.ts, zone.zone_id, label, tz)
    cv2.rectangle(out, (0, 0), (width, round(34 * scale)), (0, 0, 0), -1)
    cv2.putText(out, caption, (8, round(24 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale * 0.8, (255, 255, 255), 2)
    return AnnotatedFrame(out, caption, tag)


@dataclass(frozen=True)
class EvidenceItem:
    name: str  # e.g. "frame-first.jpg", "annotated-first.jpg", "clip.mp4", "quality.json"
    media_type: str
    path: Path


@dataclass(frozen=True)
class CapturedEvidence:
    """What one confirmed violation left on disk, before it is sealed."""

    camera_id: str
    confirmation: Confirmation
    items: tuple[EvidenceItem, ...]
    quality: dict[str, Quality]
    clip_error: str | None = None  # why there is no clip, when there is none


KEY_FRAME_ROLES = ("first", "middle", "confirming")
BOXES_ITEM = "boxes.json"


def boxes_of_frame(role: str, image_name: str, kept: KeptFrame) -> dict[str, object]:
    """One key frame's entry in ``boxes.json``: its picture, time and size, the occurrence's box (the sighting the
    rule followed) and every box the detector reported."""
    sighting = kept.sighting
    return {
        "role": role,
        "image": image_name,
        "taken_at": kept.ts.isoformat(),
        "width": kept.size[0],
        "height": kept.size[1],
        "sighting": SeenBox(sighting.class_name, sighting.score, sighting.box).as_json(),
        "boxes": [box.as_json() for box in kept.seen],
    }


@dataclass(frozen=True)
class CaptureConfig:
    pre_s: float = 10.0  # clip seconds before the confirming frame
    post_s: float = 5.0  # and after it
    caption_tz: dt.tzinfo = dt.UTC  # the bureau's zone, for the annotated frames' captions (the server sets it)

    def __post_init__(self) -> None:
        if self.pre_s < 0 or self.post_s < 0 or self.pre_s + self.post_s <= 0:
            raise ValueError("pre_s and post_s must not be negative, and the clip must have some length")


def capture(
    camera_id: str,
    confirmation: Confirmation,
    keeper: KeyFrameKeeper,
    clips: ClipBuffer | None,
    config: CaptureConfig,
    folder: Path,
) -> CapturedEvidence:
    """Write the evidence files of one confirmation into ``folder`` (new) and describe them."""
    folder.mkdir(parents=True, exist_ok=False)
    items: list[EvidenceItem] = []
    quality: dict[str, Quality] = {}
    label = f"{confirmation.rule.violation_code} {confirmation.rule.rule_id}"
    seen: list[dict[str, object]] = []
    for role, kept in zip(KEY_FRAME_ROLES, keeper.key_frames(), strict=True):
        image = decode_jpeg(kept.jpeg)
        raw = folder / f"frame-{role}.jpg"
        raw.write_bytes(kept.jpeg)
        marked = folder / f"annotated-{role}.jpg"
        annotated = annotate(image, confirmation.zone, kept.sighting, camera_id, label, config.caption_tz)
        marked.write_bytes(encode_jpeg(annotated.image))
        items += [EvidenceItem(raw.name, "image/jpeg", raw), EvidenceItem(marked.name, "image/jpeg", marked)]
        quality[role] = Quality.of(image)
        seen.append(boxes_of_frame(role, raw.name, kept))
    boxes = folder / BOXES_ITEM
    boxes.write_text(json.dumps({"format": BOXES_FORMAT, "frames": seen}, indent=1) + "\n", encoding="utf-8")
    clip_error = None
    if clips is None:
        clip_error = "the source keeps no clip buffer"
    else:
        start = confirmation.confirmed_at - dt.timedelta(seconds=config.pre_s)
        end = confirmation.confirmed_at + dt.timedelta(seconds=config.post_s)
        try:
            clip = clips.write_clip(start, end, folder / "clip.mp4")
            items.append(EvidenceItem(clip.name, "video/mp4", clip))
        except ClipError as exc:
            clip_error = str(exc)
    figures = folder / "quality.json"
    figures.write_text(
        json.dumps({role: vars(q) for role, q in quality.items()} | {"clip_error": clip_error}, indent=2) + "\n"
    )
    items += [
        EvidenceItem(figures.name, "application/json", figures),
        EvidenceItem(boxes.name, "application/json", boxes),
    ]
    return CapturedEvidence(camera_id, confirmation, tuple(items), quality, clip_error)
