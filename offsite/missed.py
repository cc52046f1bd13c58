"""Missed violations (issue 15): what the detector did not report, boxed by an operator on a camera's recent frames.

Camera pipelines keep a frame every ``recent_frame_every_s`` for ``recent_frames_keep_h`` (``vision.recent_frames``),
with the boxes the detector reported on it. An operator looks through a camera's recent frames (the look is logged),
boxes what was missed on one, and saves it: the picture is copied into the training-frame store under its hash and
the boxes recorded (``cases.services.missed_frames``), kept ``training_frames_keep_days``. The next training export
takes it like a reviewed frame, its provenance saying ``missed``. ``sweep`` removes recent frames and training frames
whose time is up; ``offsite serve`` runs it every few minutes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from cases.errors import InvalidInput, NotFound
from cases.services.base import Actor
from cases.services.detections import LabelLimits
from cases.services.missed_frames import MissedFrame, RecentFrameFile
from offsite.parts import MissedParts
from offsite.settings import Settings
from vision import recent_frames
from vision.recent_frames import RecentFrame, RecentFrameError, RecentFrames
from vision.review_dataset import LabelledBox, LabelledFrame

log = logging.getLogger("offsite.missed")
SWEEP_EVERY_S = 300.0


def keeper(settings: Settings) -> Callable[[str], RecentFrames]:
    """What a camera supervisor gives each pipeline: its camera's recent frames."""
    every = dt.timedelta(seconds=settings.recent_frame_every_s)
    keep = dt.timedelta(hours=settings.recent_frames_keep_h)
    return lambda camera_id: RecentFrames(settings.recent_frames_dir, camera_id, every, keep)


def recent(components: MissedParts, reader: Actor, camera_id: str) -> list[RecentFrame]:
    """A camera's recent frames still kept, newest first; the look is logged (they show people)."""
    settings = components.settings
    if not recent_frames.CAMERA.fullmatch(camera_id):
        raise NotFound(variant="recent_frame", camera=camera_id[:64], name="")
    since = components.clock.now() - dt.timedelta(hours=settings.recent_frames_keep_h)
    found = recent_frames.listed(settings.recent_frames_dir, camera_id, since)
    components.missed.log_recent_read(reader, camera_id, len(found))
    return found


def recent_frame(components: MissedParts, camera_id: str, name: str) -> RecentFrame:
    try:
        return recent_frames.read(components.settings.recent_frames_dir, camera_id, name)
    except RecentFrameError as exc:
        raise NotFound(variant="recent_frame", camera=camera_id[:64], name=name[:40]) from exc


def label(
    components: MissedParts, camera_id: str, name: str, boxes: object, classes: tuple[str, ...], labeller: Actor
) -> MissedFrame:
    """The operator's boxes on a recent frame: the frame is copied into the training-frame store (a frame whose time
    ran out meanwhile is refused, 404) and the boxes recorded. A frame with no box is no label: refused."""
    frame = recent_frame(components, camera_id, name)
    limits = LabelLimits(classes, frame.width, frame.height, frame.model_sha256)
    checked = limits.boxes(boxes)
    if not checked:
        raise InvalidInput(variant="missed_no_box")
    kept = _keep_picture(components.settings.training_frames_dir, frame)
    keep = dt.timedelta(days=components.settings.training_frames_keep_days)
    return components.missed.label(kept, checked, labeller, limits, keep)


def _keep_picture(store: Path, frame: RecentFrame) -> RecentFrameFile:
    data = frame.image.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    relative = Path(frame.camera_id) / f"{frame.name}-{sha256[:12]}.jpg"
    target = store / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        recent_frames.write_whole(target, data)
    return RecentFrameFile(frame.camera_id, frame.name, frame.taken_at, str(relative), sha256)


def training_frames(components: MissedParts, reader: Actor, purpose: str) -> list[LabelledFrame]:
    """The missed-violation frames still kept, as labelled frames for an export (the read is logged)."""
    store = components.settings.training_frames_dir
    frames = []
    for missed in components.missed.for_training(reader, purpose):
        picture = store / missed.image

        def image(picture: Path = picture, expected: str = missed.image_sha256) -> bytes:
            data = picture.read_bytes()
            if hashlib.sha256(data).hexdigest() != expected:
                raise ValueError(f"training frame {picture.name} changed since it was labelled")
            return data

        boxes = tuple(LabelledBox(str(b["class"]), tuple(b["xyxy"]), True) for b in missed.boxes)  # type: ignore[arg-type]
        provenance = {"role": "missed", "camera": missed.camera, "frame": missed.name,
                      "taken_at": missed.taken_at.isoformat(), "labelled_by": missed.labelled_by,
                      "labelled_at": missed.labelled_at.isoformat(), "model_sha256": missed.model_sha256}  # fmt: skip
        frames.append(LabelledFrame(f"{missed.camera}-{missed.name}-missed", missed.camera, missed.taken_at,
                                    missed.width, missed.height, boxes, f"missed:{missed.camera}:{missed.name}",
                                    provenance, image))  # fmt: skip
    return frames


def sweep(components: MissedParts) -> tuple[int, int]:
    """Remove the recent frames and the training frames whose time is up; (recent, training) removed."""
    settings = components.settings
    now = components.clock.now()
    removed_recent = recent_frames.prune(
        settings.recent_frames_dir, now - dt.timedelta(hours=settings.recent_frames_keep_h)
    )
    expired = components.missed.expired()
    for missed in expired:
        (settings.training_frames_dir / missed.image).unlink(missing_ok=True)
    components.missed.forget(expired)
    if removed_recent or expired:
        log.info("removed %d recent frames and %d training frames whose time was up", removed_recent, len(expired))
    return removed_recent, len(expired)


def sweep_forever(components: MissedParts, stop: threading.Event) -> None:
    while not stop.wait(SWEEP_EVERY_S):
        try:
            sweep(components)
        except Exception:  # keep sweeping: one failed round must not keep frames past their time for good
            log.exception("sweeping recent and training frames failed")
