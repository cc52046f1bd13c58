"""How a model does on real photos: the metric of record for the detector.

For each class, image-level precision and recall (a class is predicted in a photo when any of its boxes reaches
the model's shipped threshold for it); false violation boxes per photo (boxes of stall, goods, dust, bare_pile or
covered_pile, at threshold, in photos where that class is absent); and box AP at IoU 0.5 over the photos whose
boxes can be trusted for that class. A model that names car, truck or bus is scored as naming vehicle; a vehicle
box on an excavator (not labelled vehicle) is not held against it. The figures are given for every photo, for the
photos the model trained on and for those it never saw (only the latter count).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vision.detections import iou
from vision.manifest import DEFAULT_THRESHOLD
from vision.real_photos import KNOWN_CLASSES, VIOLATION_CLASSES, RealPhoto, read_image

# A class of ours that a COCO model names otherwise: scored as ours, and a training from COCO starts it from the first
# of them (Ultralytics copies a head's class rows by name: vision.training.renamed_for).
COCO_ALIASES = {"vehicle": ("car", "truck", "bus")}
ALIASES = {alias: name for name, aliases in COCO_ALIASES.items() for alias in aliases}
IOU = 0.5
LOWEST = 0.001  # findings are gathered down to this confidence, for the precision-recall curve


@dataclass(frozen=True)
class Finding:
    name: str  # one of KNOWN_CLASSES (aliases resolved)
    confidence: float
    xyxy: tuple[float, float, float, float]  # normalised to the image


Predict = Callable[[Path], Sequence[Finding]]  # every finding down to a low confidence


def ours(name: str) -> str | None:
    """A model's class name as one of ours, or None for a class we do not score (COCO's chair, say)."""
    name = ALIASES.get(name, name)
    return name if name in KNOWN_CLASSES else None


@dataclass(frozen=True)
class ClassScore:
    images_with: int  # photos that contain the class
    images_predicted: int  # photos where the model predicts it at threshold
    true_images: int
    box_ap50: float | None  # None: no box of the class among the photos boxed for it

    @property
    def precision(self) -> float | None:
        return self.true_images / self.images_predicted if self.images_predicted else None

    @property
    def recall(self) -> float | None:
        return self.true_images / self.images_with if self.images_with else None

    def as_dict(self) -> dict[str, Any]:
        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 4)

        return {
            "precision": rounded(self.precision),
            "recall": rounded(self.recall),
            "images_with": self.images_with,
            "images_predicted": self.images_predicted,
            "true_images": self.true_images,
            "box_ap50": rounded(self.box_ap50),
        }


@dataclass(frozen=True)
class RealScore:
    photos: int
    false_violation_boxes: int
    per_class: dict[str, ClassScore]

    @property
    def false_violation_boxes_per_image(self) -> float:
        return self.false_violation_boxes / self.photos if self.photos else 0.0

    @property
    def map50(self) -> float | None:
        aps = [score.box_ap50 for score in self.per_class.values() if score.box_ap50 is not None]
        return sum(aps) / len(aps) if aps else None

    def as_dict(self) -> dict[str, Any]:
        map50 = self.map50
        return {
            "photos": self.photos,
            "false_violation_boxes_per_image": round(self.false_violation_boxes_per_image, 4),
            "map50": None if map50 is None else round(map50, 4),
            "per_class": {name: score.as_dict() for name, score in self.per_class.items()},
        }


def score(
    photos: Sequence[RealPhoto],
    findings: dict[str, Sequence[Finding]],
    thresholds: dict[str, float],
    classes: Iterable[str],
) -> RealScore:
    """The figures for ``photos``, given every photo's findings (by file name) and the threshold of each class;
    ``classes`` are the classes the model names (after aliases): a class it cannot name is not scored."""
    named = [name for name in KNOWN_CLASSES if name in set(classes)]
    per_class = {name: _class_score(name, photos, findings, thresholds.get(name, DEFAULT_THRESHOLD)) for name in named}
    false_boxes = sum(
        _false_boxes(name, photos, findings, thresholds.get(name, DEFAULT_THRESHOLD)) for name in VIOLATION_CLASSES
    )
    return RealScore(len(photos), false_boxes, per_class)


def _counted(photo: RealPhoto, name: str) -> bool:
    """Whether a prediction of ``name`` in a photo without it counts against the model."""
    return not (name == "vehicle" and photo.excavator)


def _class_score(name: str, photos: Sequence[RealPhoto], findings: dict[str, Sequence[Finding]], threshold: float) -> ClassScore:  # fmt: skip
    with_it = predicted = true = 0
    for photo in photos:
        present = name in photo.present
        hit = any(f.name == name and f.confidence >= threshold for f in findings[photo.name])
        with_it += present
        if hit and (present or _counted(photo, name)):
            predicted += 1
            true += present
    return ClassScore(with_it, predicted, true, _box_ap50(name, photos, findings))


def _box_ap50(name: str, photos: Sequence[RealPhoto], findings: dict[str, Sequence[Finding]]) -> float | None:
    scored: list[tuple[float, bool]] = []  # (confidence, true positive)
    truths = 0
    for photo in photos:
        if not photo.boxed(name):
            continue
        truth = [box.xyxy for box in photo.boxes or () if box.name == name]
        truths += len(truth)
        taken = [False] * len(truth)
        for finding in sorted((f for f in findings[photo.name] if f.name == name), key=lambda f: -f.confidence):
            best, best_iou = -1, IOU
            for index, box in enumerate(truth):
                overlap = iou(finding.xyxy, box)
                if not taken[index] and overlap >= best_iou:
                    best, best_iou = index, overlap
            if best >= 0:
                taken[best] = True
                scored.append((finding.confidence, True))
            elif _counted(photo, name):
                scored.append((finding.confidence, False))
    return average_precision(scored, truths) if truths else None


def average_precision(scored: list[tuple[float, bool]], truths: int) -> float:
    """Area under the precision-recall curve, interpolated at 101 recall points (as COCO and Ultralytics do)."""
    if not scored:
        return 0.0
    order = sorted(scored, key=lambda item: -item[0])
    hits = np.cumsum([1 if true else 0 for _, true in order])
    recall = hits / truths
    precision = hits / np.arange(1, len(order) + 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    points = np.linspace(0, 1, 101)
    at = np.searchsorted(recall, points, side="left")
    return float(np.mean([envelope[i] if i < len(envelope) else 0.0 for i in at]))


THRESHOLD_GRID = tuple(round(0.05 * step, 2) for step in range(2, 19))  # 0.10 … 0.90


FALSE_BOX_BUDGET = 0.1 / len(VIOLATION_CLASSES)  # each violation class's share of the 0.1 false boxes a photo


def best_thresholds(
    photos: Sequence[RealPhoto], findings: dict[str, Sequence[Finding]], classes: Iterable[str]
) -> dict[str, float]:
    """For each class that some photo contains, the threshold of the grid with the best image-level F1 (ties: the
    higher threshold). A violation class may only take a threshold at which its false boxes stay within its share
    of 0.1 a photo (``FALSE_BOX_BUDGET``); when none does, the grid's highest. A class no photo contains keeps the
    default."""
    chosen: dict[str, float] = {}
    for name in classes:
        best: tuple[float, float] | None = None
        for threshold in THRESHOLD_GRID:
            figures = _class_score(name, photos, findings, threshold)
            if not figures.images_with:
                break
            if name in VIOLATION_CLASSES and _false_boxes(name, photos, findings, threshold) > FALSE_BOX_BUDGET * len(
                photos
            ):
                continue
            precision, recall = figures.precision or 0.0, figures.recall or 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            if best is None or f1 >= best[0]:
                best = (f1, threshold)
        if best is not None or any(name in photo.present for photo in photos):
            chosen[name] = best[1] if best is not None else THRESHOLD_GRID[-1]
    return chosen


def _false_boxes(name: str, photos: Sequence[RealPhoto], findings: dict[str, Sequence[Finding]], threshold: float) -> int:  # fmt: skip
    return sum(
        1
        for photo in photos
        if name not in photo.present
        for finding in findings[photo.name]
        if finding.name == name and finding.confidence >= threshold
    )


@dataclass(frozen=True)
class RealEvaluation:
    model: str
    thresholds: dict[str, float]
    all: RealScore
    held_out: RealScore
    trained_on: RealScore
    disagreements: dict[str, tuple[str, ...]] = field(default_factory=dict)  # photo: classes boxed, not listed

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "thresholds": self.thresholds,
            "held_out": self.held_out.as_dict(),
            "trained_on": self.trained_on.as_dict(),
            "all": self.all.as_dict(),
            "label_disagreements": {name: list(classes) for name, classes in self.disagreements.items()},
        }


def evaluate(
    model: str,
    photos: Sequence[RealPhoto],
    predict: Predict,
    thresholds: dict[str, float],
    classes: Iterable[str],
    trained_on: Iterable[str] = (),
    choose: bool = False,
) -> RealEvaluation:
    """Run ``predict`` on every photo once and score the three groups; with ``choose``, at the thresholds of best
    image-level F1 over all the photos (``best_thresholds``) instead of ``thresholds``."""
    findings = {photo.name: predict(photo.path) for photo in photos}
    if choose:
        thresholds = {**thresholds, **best_thresholds(photos, findings, list(classes))}
    seen = set(trained_on)
    names = list(classes)
    never = [photo for photo in photos if photo.name not in seen]
    trained = [photo for photo in photos if photo.name in seen]
    return RealEvaluation(
        model, thresholds, score(photos, findings, thresholds, names), score(never, findings, thresholds, names),
        score(trained, findings, thresholds, names), {p.name: p.unlisted for p in photos if p.unlisted},
    )  # fmt: skip


def onnx_predictor(model: Path) -> tuple[Predict, dict[str, float], list[str], list[str]]:
    """An exported model (with its manifest) as a predictor; with its shipped thresholds, the classes it names
    (ours) and the real photos it trained on (from its manifest)."""
    from vision.detector import DetectorConfig, OnnxDetector

    detector = OnnxDetector(DetectorConfig(model, confidence=LOWEST))
    names = [ours(name) for name in detector.class_names]

    def predict(path: Path) -> list[Finding]:
        image = read_image(path)
        height, width = image.shape[:2]
        found = detector.detect(np.asarray(image, np.uint8))
        scale = np.array([width, height, width, height], np.float32)
        return [
            Finding(name, float(conf), tuple(float(v) for v in np.clip(xyxy / scale, 0, 1)))  # type: ignore[arg-type]
            for xyxy, conf, class_id in zip(found.xyxy, found.confidence, found.class_id, strict=True)
            if (name := names[int(class_id)]) is not None
        ]

    manifest = detector.manifest
    thresholds = {ours(name) or name: manifest.threshold(name) for name in manifest.classes}
    trained_on = list(manifest.training_data.get("real_photos_trained_on", []))
    return predict, thresholds, [n for n in names if n is not None], trained_on
