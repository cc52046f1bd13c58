"""A camera's recent frames, for "missed violation" (issue 15): one frame every so often, kept for a set time, on which
an operator boxes what the detector did not report.

They are not evidence: nothing is sealed, and they go when their time is up (``prune``). Each frame is a JPEG and a
JSON sidecar beside it (its time, size, the detector's boxes on it and the model that saw it), in a folder of its
camera; the sidecar is written last, so a frame is listed only once both are whole. Names are the frame's UTC time,
so that a listing is in time order and a name from outside can be checked against the pattern before any path is
made of it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from vision.capture import SeenBox, encode_jpeg
from vision.frames import Frame

log = logging.getLogger("vision.recent")

NAME = re.compile(r"\d{8}T\d{6}\.\d{3}Z")  # 20261205T101500.250Z: the frame's UTC time
CAMERA = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
PRUNE_EVERY = dt.timedelta(minutes=1)


class RecentFrameError(ValueError):
    """A name that is no recent frame's, or a frame that is gone."""


@dataclass(frozen=True)
class RecentFrame:
    camera_id: str
    name: str
    taken_at: dt.datetime
    width: int
    height: int
    boxes: tuple[SeenBox, ...]  # what the detector reported on it
    model_sha256: str | None
    image: Path


@dataclass
class RecentFrames:
    """Keeps one frame every ``every`` for ``keep`` under ``root/<camera>``; wired into a camera's pipeline."""

    root: Path
    camera_id: str
    every: dt.timedelta
    keep: dt.timedelta

    def __post_init__(self) -> None:
        if not CAMERA.fullmatch(self.camera_id):
            raise ValueError(f"camera id {self.camera_id!r} cannot name a folder")
        if self.every <= dt.timedelta(0) or self.keep <= dt.timedelta(0):
            raise ValueError("recent frames need a positive interval and keeping time")
        self._last: dt.datetime | None = None
        self._pruned: dt.datetime | None = None

    def offer(
        self, frame: Frame, seen: Callable[[], Sequence[SeenBox]], model_sha256: str | None = None
    ) -> Path | None:
        """Keep the frame when ``every`` has passed since the last kept one, with the boxes the model
        (``model_sha256``) reported on it, asked for only then. Returns the JPEG's path, or None."""
        if self._last is not None and dt.timedelta(0) <= frame.ts - self._last < self.every:
            return None
        self._last = frame.ts
        path = self._write(frame, seen(), model_sha256)
        if self._pruned is None or frame.ts - self._pruned >= PRUNE_EVERY:
            self._pruned = frame.ts
            prune(self.root, frame.ts - self.keep, self.camera_id)
        return path

    def _write(self, frame: Frame, seen: Sequence[SeenBox], model_sha256: str | None) -> Path:
        folder = self.root / self.camera_id
        folder.mkdir(parents=True, exist_ok=True)
        name = name_of(frame.ts)
        width, height = frame.size
        sidecar = {"camera_id": self.camera_id, "taken_at": frame.ts.astimezone(dt.UTC).isoformat(),
                   "width": width, "height": height, "model_sha256": model_sha256,
                   "boxes": [box.as_json() for box in seen]}  # fmt: skip
        image = folder / f"{name}.jpg"
        write_whole(image, encode_jpeg(frame.image))
        write_whole(folder / f"{name}.json", json.dumps(sidecar).encode())  # last: the frame is listed from now
        return image


def name_of(moment: dt.datetime) -> str:
    utc = moment.astimezone(dt.UTC)
    return f"{utc:%Y%m%dT%H%M%S}.{utc.microsecond // 1000:03d}Z"


def write_whole(path: Path, data: bytes) -> None:
    """``data`` at ``path``, appearing whole (written beside it, then renamed over it)."""
    handle, partial = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.replace(partial, path)


def listed(root: Path, camera_id: str, since: dt.datetime | None = None) -> list[RecentFrame]:
    """A camera's recent frames, newest first (those taken at ``since`` or later, when given)."""
    if not CAMERA.fullmatch(camera_id):
        return []
    folder = root / camera_id
    found = []
    for sidecar in sorted(folder.glob("*.json"), reverse=True) if folder.is_dir() else []:
        if not NAME.fullmatch(sidecar.stem):
            continue
        try:
            frame = _read(root, camera_id, sidecar.stem)
        except RecentFrameError:
            continue  # pruned between the listing and the read
        if since is None or frame.taken_at >= since:
            found.append(frame)
    return found


def newest(root: Path, camera_id: str) -> tuple[str, dt.datetime] | None:
    """The name and time of a camera's newest recent frame, from the folder's names alone (no sidecar read: the
    camera wall asks it of every camera every few seconds); None when it has none."""
    if not CAMERA.fullmatch(camera_id):
        return None
    try:
        with os.scandir(root / camera_id) as entries:
            names = [e.name[:-5] for e in entries if e.name.endswith(".json") and NAME.fullmatch(e.name[:-5])]
    except FileNotFoundError:
        return None
    if not names:
        return None
    name = max(names)
    return name, dt.datetime.strptime(name, "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=dt.UTC)


def read(root: Path, camera_id: str, name: str) -> RecentFrame:
    """One recent frame by its camera and name; a name that is none, or a frame that is gone, is refused."""
    if not CAMERA.fullmatch(camera_id) or not NAME.fullmatch(name):
        raise RecentFrameError(f"{camera_id!r}/{name!r} is not a recent frame's name")
    return _read(root, camera_id, name)


def _read(root: Path, camera_id: str, name: str) -> RecentFrame:
    folder = root / camera_id
    try:
        sidecar = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        boxes = tuple(SeenBox(str(b["class"]), float(b["score"]), tuple(b["xyxy"])) for b in sidecar["boxes"])
        frame = RecentFrame(
            camera_id, name, dt.datetime.fromisoformat(sidecar["taken_at"]), int(sidecar["width"]),
            int(sidecar["height"]), boxes, sidecar.get("model_sha256"), folder / f"{name}.jpg",
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RecentFrameError(f"recent frame {camera_id}/{name} is gone or unreadable") from exc
    if not frame.image.is_file():
        raise RecentFrameError(f"recent frame {camera_id}/{name} is gone")
    return frame


def prune(root: Path, before: dt.datetime, camera_id: str | None = None) -> int:
    """Remove the recent frames taken before ``before`` (of one camera, or of all); how many went."""
    cutoff = name_of(before)
    if not root.is_dir():
        return 0
    folders = [root / camera_id] if camera_id is not None else [p for p in root.iterdir() if p.is_dir()]
    removed = 0
    for folder in folders:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            if NAME.fullmatch(path.stem) and path.stem < cutoff:
                path.unlink(missing_ok=True)  # the sidecar first: the frame is no longer listed
                path.with_suffix(".jpg").unlink(missing_ok=True)
                removed += 1
    return removed
