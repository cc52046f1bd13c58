"""The learning loop's first half: the operators' reviews as a training dataset (issue 15).

A review is a label the moment it is made: the export reads every reviewed detection and its sealed
``boxes.json`` (``vision.review_dataset``), so a frame reviewed a second ago is in the next export. The key
frames are read from the evidence store, checked against their hashes as they are read.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cases.messages import Term
from cases.model.detection import Detection, DetectionStatus
from cases.services.base import Actor
from cases.services.detections import FrameLabels
from evidence_store.store import EvidenceError, EvidenceStore
from offsite.parts import LearningParts
from vision.capture import BOXES_ITEM
from vision.config import class_of_violation
from vision.label_import import ImportProblem
from vision.review_dataset import (
    ExportSummary,
    LabelledBox,
    LabelledFrame,
    Review,
    ReviewDatasetError,
    check_target,
    frames_from_review,
)
from vision.review_dataset import write_dataset as write_yolo

log = logging.getLogger("offsite.learning")
PURPOSE = "training dataset export (offsite model dataset export --from-reviews)"


@dataclass(frozen=True)
class Skipped:
    detection_id: int
    package_id: str
    reason: str


@dataclass(frozen=True)
class ReviewedFrames:
    frames: list[LabelledFrame]
    detections: int  # reviewed detections read
    skipped: list[Skipped]  # those that give no frame, and why


def reviewed_frames(components: LearningParts, reader: Actor) -> ReviewedFrames:
    """Every reviewed detection's key frames with their labels, and the missed-violation frames operators boxed. A
    package sealed before key frames kept their boxes (or one that cannot be read now) is skipped and named, never
    half-read."""
    detections = components.detections.reviewed_for_training(reader, PURPOSE)
    store = components.evidence_reader() if detections else None  # a new install has sealed nothing yet
    drawn = components.detections.drawn_labels()
    frames: list[LabelledFrame] = []
    skipped: list[Skipped] = []
    for detection in detections:
        try:
            assert detection.id is not None
            assert store is not None
            frames += _frames_of(store, detection, drawn.get(detection.id, {}))
        except (EvidenceError, ReviewDatasetError) as exc:
            assert detection.id is not None
            skipped.append(Skipped(detection.id, detection.evidence_package_id, str(exc)))
    from offsite.missed import training_frames  # what the operators boxed on recent frames, the detector missed

    frames += training_frames(components, reader, PURPOSE)
    return ReviewedFrames(frames, len(detections), skipped)


def _frames_of(store: EvidenceStore, detection: Detection, drawn: dict[str, FrameLabels]) -> list[LabelledFrame]:
    package = detection.evidence_package_id
    context = store.manifest(package).get("context", {})
    _type, boxes = store.item(package, BOXES_ITEM)
    assert detection.id is not None
    assert detection.reviewed_by is not None
    assert detection.reviewed_at is not None
    review = Review(
        detection_id=detection.id,
        confirmed=detection.status is DetectionStatus.CONFIRMED,
        class_name=_class_confirmed(detection),
        reviewer=detection.reviewed_by,
        reviewed_at=detection.reviewed_at,
    )
    model = context.get("model") or {}
    frames = frames_from_review(
        boxes,
        review,
        str(context.get("camera_id") or detection.camera_id),
        package,
        model.get("sha256"),
        lambda name: store.item(package, name)[1],
    )
    return [_as_drawn(frame, drawn.get(frame.provenance["role"])) for frame in frames]


def _as_drawn(frame: LabelledFrame, drawn: FrameLabels | None) -> LabelledFrame:
    """A frame with the boxes an operator drew on it, when there are some: they stand for the frame, all vouched."""
    if drawn is None:
        return frame
    boxes = tuple(LabelledBox(str(b["class"]), tuple(b["xyxy"]), True) for b in drawn.boxes)  # type: ignore[arg-type]
    provenance = frame.provenance | {"labelled_by": drawn.labelled_by, "labelled_at": drawn.labelled_at.isoformat(),
                                     "drawn": True}  # fmt: skip
    return dataclasses.replace(frame, boxes=boxes, provenance=provenance)


def _class_confirmed(detection: Detection) -> str | None:
    """The detector class the confirmed box is: the detector's own (None), unless the operator classified a review
    candidate, whose box becomes the class of the violation chosen (no label where no class names it)."""
    return None if detection.classified_from is None else class_of_violation(detection.violation_code)


def export(
    components: LearningParts, reader: Actor, out: Path, class_names: Sequence[str], val_fraction: float
) -> tuple[ExportSummary, ReviewedFrames]:
    """Write the reviewed frames under ``out`` as a YOLO dataset (``vision.review_dataset.write_dataset``)."""
    check_target(out, val_fraction)  # a refused export reads nothing and logs no read
    found = reviewed_frames(components, reader)
    for skip in found.skipped:
        log.warning("detection %d (package %s…) gives no training frame: %s", skip.detection_id,
                    skip.package_id[:12], skip.reason)  # fmt: skip
    return write_yolo(found.frames, out, class_names, val_fraction), found


def told_problem(problem: ImportProblem) -> Term:
    """An import's problem as the catalogue tells it (``term.import.<key>``)."""
    return Term(f"term.import.{problem.key}", problem.params)


@dataclass(frozen=True)
class ImportedSet:
    name: str
    images: int
    boxes: dict[str, int]
    format: str


def imported_sets(components: LearningParts) -> list[ImportedSet]:
    """The labelled sets imported into the dataset store, for a training recipe's ``datasets:``."""
    root = components.settings.dataset_store
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            source = json.loads((folder / "source.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # not an imported set (a scratch folder, say)
        found.append(ImportedSet(folder.name, int(source.get("images", 0)), dict(source.get("boxes", {})),
                                 str(source.get("format", ""))))  # fmt: skip
    return found
