"""A training job's recipe: the mix (``vision.training_mix``: generated scenes, real photos, imported sets), the
operators' reviews exported when the job starts, and how to train.

    reviews:              # the reviewed frames, exported from the cases database when the job starts
      copies: 4           # each training frame this many times an epoch
      val_fraction: 0.2   # by camera-minute (offsite model dataset export --from-reviews)
    training:
      name: offsite-street-bureau   # the candidate's name (the ONNX file's)
      initial: active     # active (the model the cameras use), none (from scratch), or an .onnx/.pt path
      epochs: 10
      imgsz: 640
      batch: 16
      seed: 0
      hours: 1.5          # optional: bounds the run by time (the schedule fits it)
      threads: 2          # optional: CPU threads
      freeze: 10          # optional: keep the initial model's first layers (10: the backbone) as they are
      device: auto        # auto (CUDA where a GPU is, else the CPU), cpu or cuda

Every field is checked when the recipe is read, so a job is refused before it is queued, never half-way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vision.training import FROZEN_AT_MOST
from vision.training_mix import MixError, MixRecipe, recipe_mapping

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class ReviewsPart:
    copies: int
    val_fraction: float


@dataclass(frozen=True)
class TrainingPlan:
    name: str
    initial: str  # "active", "none", or a resolved path
    epochs: int
    imgsz: int
    batch: int
    seed: int
    hours: float | None
    threads: int | None
    device: str
    freeze: int = 0

    @property
    def initial_path(self) -> Path | None:
        return None if self.initial in ("active", "none") else Path(self.initial)


@dataclass(frozen=True)
class JobRecipe:
    mix: MixRecipe
    reviews: ReviewsPart | None
    plan: TrainingPlan

    @classmethod
    def from_text(cls, text: str, base: Path, path: str) -> JobRecipe:
        data = recipe_mapping(text, path)
        mix = MixRecipe.from_text(text, base, path)
        return cls(mix, _reviews(data.get("reviews"), path), _plan(data.get("training"), base, path))

    def check(self) -> None:
        """What the recipe names is there: the generated scenes, the labelled sets, the initial model, the model
        that pseudo-labels."""
        for folder, made_by in [(self.mix.renders, "offsite model dataset generate")] + [
            (d.folder, "offsite model dataset export or import") for d in self.mix.datasets
        ]:
            if not (folder / "data.yaml").is_file():
                raise MixError("no_data_yaml", folder=folder, made_by=made_by)
        initial = self.plan.initial_path
        if initial is not None and not initial.is_file():
            raise MixError("missing_file", field="training.initial", file=initial)
        labeller = self.mix.pseudo_labels
        if labeller is not None and not labeller.is_file():
            raise MixError("missing_file", field="pseudo_labels", file=labeller)


def _reviews(value: Any, path: str) -> ReviewsPart | None:
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise MixError("reviews", recipe=path)
    copies = _whole(value, "copies", 1, 1, 100, "reviews.", path)
    fraction = value.get("val_fraction", 0.2)
    if not isinstance(fraction, int | float) or isinstance(fraction, bool) or not 0 < fraction < 1:
        raise MixError("val_fraction", recipe=path)
    return ReviewsPart(copies, float(fraction))


def _plan(value: Any, base: Path, path: str) -> TrainingPlan:
    if not isinstance(value, dict):
        raise MixError("training", recipe=path)
    name = value.get("name", "offsite-street-candidate")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise MixError("name", recipe=path)
    initial = value.get("initial", "active")
    if not isinstance(initial, str) or not initial:
        raise MixError("initial", recipe=path)
    if initial not in ("active", "none"):
        initial = str((base / initial).resolve())
    imgsz = _whole(value, "imgsz", 640, 64, 1920, "training.", path)
    if imgsz % 32:
        raise MixError("imgsz", recipe=path)
    hours = value.get("hours")
    if hours is not None and (not isinstance(hours, int | float) or isinstance(hours, bool) or not 0 < hours <= 240):
        raise MixError("hours", recipe=path)
    threads = value.get("threads")
    if threads is not None:
        threads = _whole(value, "threads", 1, 1, 256, "training.", path)
    device = value.get("device", "auto")
    if device not in DEVICES:
        raise MixError("device", recipe=path, choices=", ".join(DEVICES))
    freeze = _whole(value, "freeze", 0, 0, FROZEN_AT_MOST, "training.", path)
    if freeze and initial == "none":
        raise MixError("freeze", recipe=path)
    return TrainingPlan(
        name=name,
        initial=initial,
        epochs=_whole(value, "epochs", 10, 1, 1000, "training.", path),
        imgsz=imgsz,
        batch=_whole(value, "batch", 16, 1, 512, "training.", path),
        seed=_whole(value, "seed", 0, 0, 2**31 - 1, "training.", path),
        hours=None if hours is None else float(hours),
        threads=threads,
        device=device,
        freeze=freeze,
    )


def _whole(within: dict[str, Any], key: str, default: int, low: int, high: int, prefix: str, path: str) -> int:
    value = within.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise MixError("whole_number", recipe=path, field=f"{prefix}{key}", low=low, high=high)
    return value
