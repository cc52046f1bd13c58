"""A YOLO-format training set of generated street frames, laid out as Ultralytics expects:

    DIR/images/{train,val}/000123.jpg   DIR/labels/{train,val}/000123.txt   DIR/data.yaml   DIR/generator.json

Each image has its own seed, derived from the dataset seed and the image's index, so any image can be rebuilt
alone; which images are held out for validation is drawn from the dataset seed too.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from vision.synthetic.classes import CLASS_NAMES
from vision.synthetic.errors import SyntheticInputError
from vision.synthetic.scene import (
    GOODS_GAP,
    MASK_OPACITY,
    MIN_BOX_PIXELS,
    MIN_VISIBLE_FRACTION,
    RenderedFrame,
    render_still,
)

MIN_IMGSZ, MAX_IMGSZ = 64, 4096
JPEG_QUALITY = 95


@dataclass(frozen=True)
class DatasetSpec:
    out: Path
    images: int
    val_fraction: float = 0.2
    imgsz: int = 640  # the long (horizontal) side; frames are 16:9 or 4:3 like camera pictures
    seed: int = 0

    def __post_init__(self) -> None:
        if self.images < 1:
            raise SyntheticInputError(f"images must be at least 1, got {self.images}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise SyntheticInputError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if not MIN_IMGSZ <= self.imgsz <= MAX_IMGSZ:
            raise SyntheticInputError(f"imgsz must be between {MIN_IMGSZ} and {MAX_IMGSZ}, got {self.imgsz}")
        if self.seed < 0:
            raise SyntheticInputError(f"seed must not be negative, got {self.seed}")
        if self.out.exists() and (not self.out.is_dir() or any(self.out.iterdir())):
            raise SyntheticInputError(f"out {self.out} exists and is not an empty folder")


@dataclass(frozen=True)
class DatasetSummary:
    root: Path
    train_images: int
    val_images: int
    boxes_per_class: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def image_seed(dataset_seed: int, index: int) -> int:
    return int(np.random.SeedSequence([dataset_seed, index]).generate_state(1)[0])


def frame_size(seed: int, imgsz: int) -> tuple[int, int]:
    """Width ``imgsz``, height for 16:9 or 4:3 (even, as video encoders want)."""
    ratio = (9 / 16, 3 / 4)[seed % 2]
    return imgsz, max(2, round(imgsz * ratio / 2) * 2)


def held_out(spec: DatasetSpec) -> frozenset[int]:
    count = round(spec.images * spec.val_fraction)
    if spec.val_fraction > 0 and spec.images > 1:
        count = max(1, min(count, spec.images - 1))  # keep both splits non-empty when a split is asked for
    order = np.random.default_rng(spec.seed).permutation(spec.images)
    return frozenset(int(i) for i in order[:count])


def write_dataset(spec: DatasetSpec, on_image: Callable[[], None] | None = None) -> DatasetSummary:
    started = time.perf_counter()
    for split in ("train", "val"):
        (spec.out / "images" / split).mkdir(parents=True, exist_ok=True)
        (spec.out / "labels" / split).mkdir(parents=True, exist_ok=True)
    validation = held_out(spec)
    boxes: Counter[str] = Counter()
    for index in range(spec.images):
        seed = image_seed(spec.seed, index)
        width, height = frame_size(seed, spec.imgsz)
        frame = render_still(seed, width, height)
        _write_example(spec.out, "val" if index in validation else "train", f"{index:06d}", frame)
        boxes.update(CLASS_NAMES[label.kind] for label in frame.labels)
        if on_image is not None:
            on_image()
    _write_data_yaml(spec.out)
    _write_generator_note(spec, len(validation), boxes)
    return DatasetSummary(
        spec.out,
        spec.images - len(validation),
        len(validation),
        {name: boxes[name] for name in CLASS_NAMES},
        time.perf_counter() - started,
    )


def _write_example(root: Path, split: str, stem: str, frame: RenderedFrame) -> None:
    height, width = frame.image.shape[:2]
    ok, encoded = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise OSError(f"could not encode image {stem}")
    (root / "images" / split / f"{stem}.jpg").write_bytes(encoded.tobytes())
    lines = [label.yolo_line(width, height) for label in frame.labels]
    (root / "labels" / split / f"{stem}.txt").write_text("".join(line + "\n" for line in lines))


def _write_data_yaml(root: Path) -> None:
    data = {
        "path": str(root.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(CLASS_NAMES)),
    }
    (root / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _write_generator_note(spec: DatasetSpec, val_images: int, boxes: Counter[str]) -> None:
    """What made this data, for the model manifest's training-data description."""
    note = {
        "generator": "vision.synthetic",
        "seed": spec.seed,
        "images": spec.images,
        "val_images": val_images,
        "imgsz": spec.imgsz,
        "classes": list(CLASS_NAMES),
        "boxes_per_class": {name: boxes[name] for name in CLASS_NAMES},
        "label_rules": {
            "mask_opacity": MASK_OPACITY / 255,
            "min_visible_fraction": MIN_VISIBLE_FRACTION,
            "min_box_pixels": MIN_BOX_PIXELS,
            "goods_gap": GOODS_GAP,
        },
    }
    (spec.out / "generator.json").write_text(json.dumps(note, indent=2) + "\n")
