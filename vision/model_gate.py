"""The gate before promotion: a candidate model against the active one, on a frozen golden set and on real photos.

**The golden set** is reviewed frames frozen as the exam (``freeze``): a YOLO dataset copied out of a review export,
every file listed with its SHA-256 in ``golden.json``, so that the exam cannot change under the models it judges
(``read_golden`` refuses a set whose files differ from the list). Its violation classes are what operators vouched
for, so only they are scored on it; people and vehicles in review frames are the old model's own boxes, and are
judged on the real photos instead.

**The rule** (``judge``): a candidate passes when it beats the active model on the golden set (a higher mean
image-level F1 over the classes present, at each model's own thresholds: what operators will see; at equal F1, a
higher box mAP50), no class there is worse by more than the margin (box AP50, and image-level F1 at each model's own thresholds), and it draws no
where real photos are given, no class is worse there by more than the margin either, and the false violation boxes a
photo stay within the active model's plus the margin (or within 0.1, the budget of issue 14, whichever is more).
The golden set's false boxes are left to its per-class figures: a timid active model draws none there, and a
candidate that finds what it missed would otherwise never pass. Every reason is a catalogue key with parameters,
told in the reader's language by the caller.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from vision.manifest import sha256_of
from vision.real_eval import ClassScore, Predict, RealScore, score
from vision.real_photos import VIOLATION_CLASSES, Box, RealPhoto

GOLDEN = "golden.json"
GOLDEN_CLASSES = VIOLATION_CLASSES  # what operators vouch for in review frames: the classes scored on a golden set
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
DEFAULT_MARGIN = 0.02
FALSE_BOX_BUDGET = 0.1  # false violation boxes a real photo that are acceptable whatever the active model draws


class GoldenSetError(ValueError):
    """A golden set that cannot be made or trusted: which file, and why. ``key`` and ``params`` name the problem for
    a reader of another language (the catalogue's ``invalid_input.golden_<key>``); the message says it in English."""

    def __init__(self, problem: str, key: str = "unusable", **params: object) -> None:
        super().__init__(problem)
        self.key = key
        self.params = params


# -- the golden set ------------------------------------------------------------------------------------------------


def freeze(dataset: Path, out: Path, sides: Sequence[str] = ("val",)) -> int:
    """Copy ``sides`` of a YOLO dataset (a review export's val frames, say) into ``out`` (new) with ``golden.json``
    listing every file's SHA-256; returns the number of frames. All or nothing."""
    if out.exists():
        raise GoldenSetError(f"{out} exists already: a golden set is frozen once, into a new folder")
    names = _names(dataset)
    pictures = [p for side in sides for p in sorted((dataset / "images" / side).glob("*")) if _is_picture(p)]
    if not pictures:
        raise GoldenSetError(f"{dataset}: no frames in {', '.join(sides)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        files: dict[str, str] = {}
        for picture in pictures:
            label = dataset / "labels" / picture.parent.name / f"{picture.stem}.txt"
            for source, relative in ((picture, f"images/{picture.name}"), (label, f"labels/{picture.stem}.txt")):
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                if source.exists():
                    shutil.copyfile(source, target)
                else:
                    target.write_text("", encoding="utf-8")  # a frame with nothing in it
                files[relative] = _sha256(target)
        document = {"frozen_at": dt.datetime.now(dt.UTC).isoformat(), "source": str(dataset.resolve()),
                    "names": names, "files": files}  # fmt: skip
        (staging / GOLDEN).write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return len(pictures)


@dataclass(frozen=True)
class GoldenSet:
    folder: Path
    names: tuple[str, ...]
    frames: tuple[RealPhoto, ...]
    fingerprint: str  # SHA-256 of golden.json: which exam a decision was taken on


def read_golden(folder: Path) -> GoldenSet:
    """The frozen set, checked file by file against its list: a changed, missing or added file refuses it."""
    try:
        raw = (folder / GOLDEN).read_bytes()
        document = json.loads(raw)
        files: dict[str, str] = document["files"]
        names = tuple(str(n) for n in document["names"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise GoldenSetError(f"{folder}: not a golden set ({GOLDEN} cannot be read: {exc})", "not_golden") from exc
    present = {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name != GOLDEN}
    for relative in sorted(present - set(files)):
        raise GoldenSetError(f"{folder}: {relative} was added after the set was frozen", "changed", file=relative)
    for relative, digest in sorted(files.items()):
        path = folder / relative
        if not path.is_file():
            raise GoldenSetError(f"{folder}: {relative} is missing", "changed", file=relative)
        if _sha256(path) != digest:
            raise GoldenSetError(f"{folder}: {relative} was changed after the set was frozen", "changed", file=relative)
    frames = tuple(
        _frame(folder, Path(relative), names) for relative in sorted(files) if relative.startswith("images/")
    )
    return GoldenSet(folder, names, frames, hashlib.sha256(raw).hexdigest())


def _frame(folder: Path, relative: Path, names: tuple[str, ...]) -> RealPhoto:
    boxes = []
    for line in (folder / "labels" / f"{relative.stem}.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        index, cx, cy, w, h = line.split()
        x, y, bw, bh = float(cx), float(cy), float(w), float(h)
        boxes.append(Box(names[int(index)], (x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2)))
    present = frozenset(box.name for box in boxes)
    return RealPhoto(folder / relative, present, "golden", "", relative.stem.split("-")[0], "", tuple(boxes))


def _names(dataset: Path) -> list[str]:
    try:
        names = yaml.safe_load((dataset / "data.yaml").read_text(encoding="utf-8"))["names"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise GoldenSetError(f"{dataset}: no data.yaml naming its classes ({exc})") from exc
    return [str(names[k]) for k in sorted(names)] if isinstance(names, dict) else [str(n) for n in names]


def _is_picture(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _sha256(path: Path) -> str:
    return sha256_of(path)


# -- the rule ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    key: str  # a catalogue entry (term.gate.*)
    params: dict[str, object]


@dataclass(frozen=True)
class Exam:
    """One exam both models sat: its name (golden / real), and each model's score on it."""

    name: str
    candidate: RealScore
    active: RealScore
    must_beat: bool  # the golden set: the candidate must be better; real photos: only not worse
    counts_false_boxes: bool = False  # real photos: false violation boxes a photo, the metric of record (issue 14)


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: tuple[Reason, ...]

    def as_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "reasons": [{"key": r.key, "params": r.params} for r in self.reasons]}


def sit(
    photos: Sequence[RealPhoto], predict: Predict, thresholds: dict[str, float], classes: Iterable[str]
) -> RealScore:
    """A model's score on an exam's photos: its findings at its own thresholds."""
    findings = {photo.name: predict(photo.path) for photo in photos}
    return score(photos, findings, thresholds, classes)


def judge(exams: Sequence[Exam], margin: float = DEFAULT_MARGIN) -> Verdict:
    reasons: list[Reason] = []
    for exam in exams:
        reasons += _reasons(exam, margin)
    failed = [r for r in reasons if r.key != "term.gate.better"]
    return Verdict(not failed, tuple(failed or reasons))


def _reasons(exam: Exam, margin: float) -> list[Reason]:
    found: list[Reason] = []
    new, old = exam.candidate, exam.active
    if exam.must_beat:  # better as deployed (mean F1 at its own thresholds), then better ranked (box mAP50)
        mine, theirs_ = _standing(new), _standing(old)
        key = "term.gate.better" if mine > theirs_ else "term.gate.not_better"
        found.append(Reason(key, {"exam": exam.name, "candidate_f1": f"{mine[0]:.3f}", "candidate": f"{mine[1]:.3f}",
                                  "active_f1": f"{theirs_[0]:.3f}", "active": f"{theirs_[1]:.3f}"}))  # fmt: skip
    for name, theirs in new.per_class.items():
        ours = old.per_class.get(name)
        if ours is None:
            continue
        for measure, new_value, old_value in _measures(theirs, ours):
            if new_value < old_value - margin:
                found.append(Reason("term.gate.class_worse", {"exam": exam.name, "class_name": name, "measure": measure,
                                    "candidate": f"{new_value:.3f}", "active": f"{old_value:.3f}",
                                    "margin": f"{margin:g}"}))  # fmt: skip
    new_false, old_false = new.false_violation_boxes_per_image, old.false_violation_boxes_per_image
    if exam.counts_false_boxes and new_false > max(old_false + margin, FALSE_BOX_BUDGET):
        found.append(Reason("term.gate.more_false_boxes", {"exam": exam.name, "candidate": f"{new_false:.3f}",
                            "active": f"{old_false:.3f}", "margin": f"{margin:g}"}))  # fmt: skip
    return found


def _standing(found: RealScore) -> tuple[float, float]:
    """(mean image-level F1 over the classes present, box mAP50), rounded as reported: ties are ties."""
    present = [c for c in found.per_class.values() if c.images_with]
    mean_f1 = sum(_f1(c) for c in present) / len(present) if present else 0.0
    return round(mean_f1, 3), round(found.map50 or 0.0, 3)


def _measures(new: ClassScore, old: ClassScore) -> list[tuple[str, float, float]]:
    measures = []
    if new.box_ap50 is not None and old.box_ap50 is not None:
        measures.append(("AP50", new.box_ap50, old.box_ap50))
    if new.images_with:
        measures.append(("F1", _f1(new), _f1(old)))
    return measures


def _f1(found: ClassScore) -> float:
    p, r = found.precision or 0.0, found.recall or 0.0
    return 2 * p * r / (p + r) if p + r else 0.0
