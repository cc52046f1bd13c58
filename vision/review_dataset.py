"""Training data from the operators' reviews: labelled key frames, split by camera and time, written as YOLO.

Every sealed violation carries ``boxes.json`` (``vision.capture``): for each key frame, the occurrence's box and
every box the detector reported. A review turns that into labels, with no step of its own:

- **confirmed**: the frame's boxes as the detector saw them, the occurrence's box vouched for by the operator and
  named as the violation that was confirmed (an unknown object classified as a street stall becomes a ``stall``
  box);
- **rejected**: a hard negative: the same frame with the occurrence's box, and the detector's boxes of that class
  over it, taken away; the detector's other boxes (people, vehicles) stay as it saw them.

A frame's boxes the operator did not judge are the detector's own (``vouched=False``), counted apart in the report.

The split keeps near-identical frames apart from the exam: frames of one camera within one minute, and all key
frames of one occurrence, always fall on the same side (``split``), so no camera-minute is in both train and val.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vision.capture import BOXES_FORMAT
from vision.detections import Xyxy, iou
from vision.rules import STATIC_CLASS

OVERLAP = 0.5  # a detector box of the rejected class over the rejected box this much (IoU) was the same object


class ReviewDatasetError(ValueError):
    """Labels that cannot be made or written: the package's boxes are unreadable, or the output folder is taken."""


@dataclass(frozen=True)
class LabelledBox:
    class_name: str
    xyxy: Xyxy  # pixels of the frame
    vouched: bool  # True: the operator judged this box; False: the detector's, unjudged


@dataclass(frozen=True)
class Review:
    """What an operator decided on one detection, as the labels need it."""

    detection_id: int
    confirmed: bool
    class_name: str | None  # the class the confirmed box is, where the operator named it; None: the detector's
    reviewer: str
    reviewed_at: dt.datetime


@dataclass(frozen=True)
class LabelledFrame:
    name: str  # unique within a dataset: the image's file stem
    camera: str
    taken_at: dt.datetime
    width: int
    height: int
    boxes: tuple[LabelledBox, ...]
    occurrence: str  # the evidence package: the key frames of one occurrence stay together
    provenance: dict[str, Any]  # who labelled it, when, from which frame, and the model that saw it
    image: Callable[[], bytes] = field(repr=False, compare=False)

    @property
    def camera_minute(self) -> str:
        return f"{self.camera}@{self.taken_at.astimezone(dt.UTC):%Y-%m-%dT%H:%M}"

    @property
    def hard_negative(self) -> bool:
        return not self.provenance.get("confirmed", True)


def frames_from_review(
    boxes_json: bytes,
    review: Review,
    camera: str,
    package_id: str,
    model_sha256: str | None,
    image: Callable[[str], bytes],
) -> list[LabelledFrame]:
    """The labelled key frames of one reviewed detection, from its package's ``boxes.json``."""
    try:
        recorded = json.loads(boxes_json)
        if recorded.get("format") != BOXES_FORMAT:
            raise ValueError(f"format {recorded.get('format')!r}, not {BOXES_FORMAT}")
        frames = [_labelled(entry, review, camera, package_id, model_sha256, image) for entry in recorded["frames"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ReviewDatasetError(f"package {package_id[:12]}…: boxes.json cannot be read ({exc})") from exc
    return frames


def _labelled(
    entry: dict[str, Any],
    review: Review,
    camera: str,
    package_id: str,
    model_sha256: str | None,
    image: Callable[[str], bytes],
) -> LabelledFrame:
    sighting = _box(entry["sighting"])
    seen = [(str(b["class"]), _box(b)) for b in entry["boxes"]]
    same_object = [b for b in seen if b[0] == entry["sighting"]["class"] and iou(b[1], sighting) >= OVERLAP]
    boxes = [LabelledBox(name, xyxy, False) for name, xyxy in seen if (name, xyxy) not in same_object]
    confirmed_as = review.class_name or str(entry["sighting"]["class"])
    if review.confirmed and confirmed_as != STATIC_CLASS:  # an unknown object no class names yet is no label
        boxes.insert(0, LabelledBox(confirmed_as, sighting, True))
    taken_at = dt.datetime.fromisoformat(entry["taken_at"])
    if taken_at.tzinfo is None:
        raise ValueError(f"taken_at {entry['taken_at']!r} carries no time zone")
    item = str(entry["image"])
    return LabelledFrame(
        name=f"{camera}-{package_id[:16]}-{entry['role']}",
        camera=camera,
        taken_at=taken_at,
        width=int(entry["width"]),
        height=int(entry["height"]),
        boxes=tuple(boxes),
        occurrence=package_id,
        provenance={
            "detection_id": review.detection_id,
            "confirmed": review.confirmed,
            "labelled_by": review.reviewer,
            "labelled_at": review.reviewed_at.isoformat(),
            "package": package_id,
            "frame": item,
            "role": str(entry["role"]),
            "taken_at": taken_at.isoformat(),
            "model_sha256": model_sha256,
        },
        image=lambda: image(item),
    )


def _box(entry: dict[str, Any]) -> Xyxy:
    x1, y1, x2, y2 = (float(v) for v in entry["xyxy"])
    if x2 < x1 or y2 < y1:
        raise ValueError(f"box {entry['xyxy']} has x2 < x1 or y2 < y1")
    return x1, y1, x2, y2


# -- the split -----------------------------------------------------------------------------------------------------


def split(frames: Sequence[LabelledFrame], val_fraction: float) -> dict[str, str]:
    """Each frame's side, "train" or "val". Frames that share a camera-minute, or an occurrence, form one group
    (joined transitively), and a group goes to one side, chosen by a hash of its earliest camera-minute: the same
    frames fall on the same side in every export, so a growing dataset never moves a frame from val to train.
    With two groups or more, neither side is left empty."""
    if not 0 < val_fraction < 1:
        raise ReviewDatasetError(f"val_fraction {val_fraction} must lie between 0 and 1")
    groups = _groups(frames)
    side = {key: ("val" if _unit(key) < val_fraction else "train") for key in groups}
    if len(groups) >= 2 and len(set(side.values())) == 1:  # few groups: give the emptier side the extreme one
        wanted = "train" if next(iter(side.values())) == "val" else "val"
        extreme = (max if wanted == "train" else min)(groups, key=_unit)
        side[extreme] = wanted
    return {frame.name: side[key] for key, members in groups.items() for frame in members}


def _groups(frames: Sequence[LabelledFrame]) -> dict[str, list[LabelledFrame]]:
    parent: dict[str, str] = {}

    def find(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    def join(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the earliest camera-minute names the group

    for frame in frames:
        join(f"minute:{frame.camera_minute}", f"occurrence:{frame.occurrence}")
    earliest: dict[str, str] = {}
    for frame in frames:
        root = find(f"minute:{frame.camera_minute}")
        earliest[root] = min(earliest.get(root, frame.camera_minute), frame.camera_minute)
    groups: dict[str, list[LabelledFrame]] = {}
    for frame in frames:
        groups.setdefault(earliest[find(f"minute:{frame.camera_minute}")], []).append(frame)
    return groups


def _unit(key: str) -> float:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64


# -- writing -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportSummary:
    root: Path
    data_yaml: Path
    images: dict[str, int]  # side → frames
    hard_negatives: int
    boxes: dict[tuple[str, str, str, bool], int]  # (class, camera, side, vouched) → boxes
    frames_per_camera: dict[tuple[str, str], int]  # (camera, side) → frames


def check_target(out: Path, val_fraction: float) -> None:
    """Refuse, before anything is read, an output folder that holds something or a share that is no share."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ReviewDatasetError(f"{out} is not empty")
    if not 0 < val_fraction < 1:
        raise ReviewDatasetError(f"val_fraction {val_fraction} must lie between 0 and 1")


def write_dataset(
    frames: Sequence[LabelledFrame], out: Path, class_names: Sequence[str], val_fraction: float = 0.2
) -> ExportSummary:
    """Write ``frames`` under ``out`` (new or empty) as a YOLO dataset: images/ and labels/ for train and val,
    ``data.yaml`` naming ``class_names`` in the detector's order, ``provenance.jsonl`` (one line a frame: who
    labelled it, when, the frame it came from and the model that saw it) and ``report.csv`` (boxes per class,
    camera and side). A frame with a box of a class the detector does not name is refused; nothing is left
    behind when writing fails."""
    check_target(out, val_fraction)
    unknown = sorted({b.class_name for f in frames for b in f.boxes} - set(class_names))
    if unknown:
        raise ReviewDatasetError(f"classes {unknown} are not the detector's {list(class_names)}")
    sides = split(frames, val_fraction) if frames else {}
    created = not out.exists()
    try:
        return _write(frames, sides, out, list(class_names))
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise


def _write(frames: Sequence[LabelledFrame], sides: dict[str, str], out: Path, names: list[str]) -> ExportSummary:
    for side in ("train", "val"):
        (out / "images" / side).mkdir(parents=True, exist_ok=True)
        (out / "labels" / side).mkdir(parents=True, exist_ok=True)
    boxes: Counter[tuple[str, str, str, bool]] = Counter()
    per_camera: Counter[tuple[str, str]] = Counter()
    with (out / "provenance.jsonl").open("w", encoding="utf-8") as provenance:
        for frame in frames:
            side = sides[frame.name]
            (out / "images" / side / f"{frame.name}.jpg").write_bytes(frame.image())
            (out / "labels" / side / f"{frame.name}.txt").write_text(yolo_lines(frame, names), encoding="utf-8")
            provenance.write(json.dumps({"image": f"images/{side}/{frame.name}.jpg", **frame.provenance}) + "\n")
            per_camera[(frame.camera, side)] += 1
            for box in frame.boxes:
                boxes[(box.class_name, frame.camera, side, box.vouched)] += 1
    _write_report(out / "report.csv", boxes, per_camera)
    data_yaml = out / "data.yaml"
    data_yaml.write_text(
        "# Written by `offsite model dataset export --from-reviews`: reviewed key frames, split by camera-minute.\n"
        f"path: {out.resolve()}\ntrain: images/train\nval: images/val\n"
        "names:\n" + "".join(f"  {i}: {name}\n" for i, name in enumerate(names)),
        encoding="utf-8",
    )
    images = Counter(sides.values())
    return ExportSummary(
        out,
        data_yaml,
        {"train": images["train"], "val": images["val"]},
        sum(1 for frame in frames if frame.hard_negative),
        dict(boxes),
        dict(per_camera),
    )


def yolo_lines(frame: LabelledFrame, names: list[str]) -> str:
    """The frame's boxes as YOLO label lines: class index, centre and size as fractions of the picture."""
    lines = []
    for box in frame.boxes:
        x1, y1, x2, y2 = (
            min(max(box.xyxy[0], 0.0), frame.width),
            min(max(box.xyxy[1], 0.0), frame.height),
            min(max(box.xyxy[2], 0.0), frame.width),
            min(max(box.xyxy[3], 0.0), frame.height),
        )
        if x2 <= x1 or y2 <= y1:
            continue  # wholly outside the picture
        cx, cy = (x1 + x2) / 2 / frame.width, (y1 + y2) / 2 / frame.height
        w, h = (x2 - x1) / frame.width, (y2 - y1) / frame.height
        lines.append(f"{names.index(box.class_name)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
    return "".join(lines)


def _write_report(path: Path, boxes: Counter[tuple[str, str, str, bool]], per_camera: Counter[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as report:
        writer = csv.writer(report)
        writer.writerow(["class", "camera", "side", "frames_of_camera", "boxes_vouched", "boxes_of_detector"])
        with_boxes = {(cam, side) for _c, cam, side, _v in boxes}
        keys = sorted(
            {(c, cam, side) for c, cam, side, _ in boxes}
            | {("-", cam, s) for cam, s in per_camera if (cam, s) not in with_boxes}
        )
        for class_name, camera, side in keys:
            writer.writerow(
                [
                    class_name,
                    camera,
                    side,
                    per_camera[(camera, side)],
                    boxes[(class_name, camera, side, True)],
                    boxes[(class_name, camera, side, False)],
                ]
            )


def report_rows(summary: ExportSummary) -> Iterable[tuple[str, str, str, int]]:
    """(class, camera, side, boxes) for a person to read, vouched and unjudged together."""
    merged: Counter[tuple[str, str, str]] = Counter()
    for (class_name, camera, side, _vouched), count in summary.boxes.items():
        merged[(class_name, camera, side)] += count
    return sorted((*key, count) for key, count in merged.items())
