"""The training mix: generated scenes, real photos with real boxes, and real negatives, in one YOLO dataset.

A recipe (YAML) names the ingredients: a generated dataset (``offsite model dataset generate``), folders of real photos
(``vision.real_photos``) with the groups held back from training so that real figures come from photos the model
never saw, how many times each real training photo appears (a few real photos against a thousand renders would
otherwise teach nothing), plain real photos as negatives, and the sources whose people and vehicles are not boxed
and get pseudo-labels from a COCO model (``pseudo_labels:``, the model's file, read by the job that builds the mix
and by ``offsite model mix``); and labelled datasets in the detector's classes: the operators' reviews
(``offsite model dataset export --from-reviews``) and imported sets (``offsite model dataset import``), whose
train and val sides stay as they were split. The dataset is links to the photos where they lie plus label files
written here; ``generator.json`` beside ``data.yaml`` says what went in, for the manifest and the model card.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import yaml

from vision.laid_in import LaidIn, Scene, cuts, made
from vision.real_photos import Box, RealPhoto, RealPhotoError, read_folder, split
from vision.text_files import NotUtf8, read_utf8

PseudoLabeller = Callable[[Path], Sequence[Box]]  # person and vehicle boxes a COCO model sees in a photo
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


class MixError(ValueError):
    """A recipe that cannot be followed: which file or field, and why, as the catalogue's ``term.recipe.<key>``
    with its parameters (told in the reader's language by the caller; ``str()`` is for logs)."""

    def __init__(self, key: str, **params: object) -> None:
        self.key = key
        self.params = {name: str(value) for name, value in params.items()}
        super().__init__(f"{key}: " + ", ".join(f"{name}={value}" for name, value in self.params.items()))


@dataclass(frozen=True)
class RealFolder:
    folder: Path
    held_out: tuple[str, ...]  # groups (repositories, or repository:picture) kept back from training


@dataclass(frozen=True)
class LabelledSet:
    folder: Path  # a YOLO dataset in the detector's classes: a review export or an imported set
    copies: int  # how many times each of its training images appears an epoch


@dataclass(frozen=True)
class MixRecipe:
    renders: Path
    real: tuple[RealFolder, ...]
    copies: int
    negatives: tuple[Path, ...]
    pseudo_label_sources: tuple[str, ...]
    datasets: tuple[LabelledSet, ...] = ()
    pseudo_labels: Path | None = None  # the COCO model (.pt) that labels the people and vehicles not boxed
    laid_in: LaidIn | None = None  # real objects cut from the training photos, laid into the negatives

    @property
    def wants_pseudo_labels(self) -> bool:
        """Something in the mix is to be pseudo-labelled: a listed source or a real negative."""
        return bool(self.pseudo_label_sources or self.negatives)

    @classmethod
    def read(cls, path: Path) -> MixRecipe:
        try:
            text = read_utf8(path)
        except OSError as exc:
            raise MixError("unreadable", recipe=path, reason=exc) from exc
        except NotUtf8 as exc:
            raise MixError("not_utf8", recipe=path, line=exc.line) from exc
        return cls.from_text(text, path.parent, str(path))

    @classmethod
    def from_text(cls, text: str, base: Path, path: str) -> MixRecipe:
        """A recipe's text whose relative paths are read from ``base``; ``path`` names it in messages."""
        data = recipe_mapping(text, path)

        def paths(key: str) -> tuple[Path, ...]:
            value = data.get(key) or []
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise MixError("paths", recipe=path, field=key)
            return tuple((base / item).resolve() for item in value)

        def names(key: str, within: dict[str, Any] = data) -> tuple[str, ...]:
            value = within.get(key) or []
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise MixError("names", recipe=path, field=key)
            return tuple(value)

        def real() -> tuple[RealFolder, ...]:
            folders = data.get("real") or []
            if not isinstance(folders, list) or not all(isinstance(f, dict) and isinstance(f.get("folder"), str)
                                                        for f in folders):  # fmt: skip
                raise MixError("real", recipe=path)
            return tuple(RealFolder((base / f["folder"]).resolve(), names("held_out", f)) for f in folders)

        def copies_of(within: dict[str, Any], where: str) -> int:
            copies = within.get("copies", 1)
            if not isinstance(copies, int) or isinstance(copies, bool) or not 1 <= copies <= 100:
                raise MixError("whole_number", recipe=path, field=f"{where}copies", low=1, high=100)
            return copies

        def datasets() -> tuple[LabelledSet, ...]:
            sets = data.get("datasets") or []
            if not isinstance(sets, list) or not all(isinstance(d, dict) and isinstance(d.get("folder"), str)
                                                     for d in sets):  # fmt: skip
                raise MixError("datasets", recipe=path)
            return tuple(
                LabelledSet((base / d["folder"]).resolve(), copies_of(d, f"datasets[{i}].")) for i, d in enumerate(sets)
            )

        def pseudo_labels() -> Path | None:
            model = data.get("pseudo_labels")
            if model is None:
                return None
            if not isinstance(model, str) or not model.endswith(".pt"):
                raise MixError("pseudo_labels", recipe=path)
            return (base / model).resolve()

        def laid_in() -> LaidIn | None:
            value = data.get("laid_in")
            if value is None:
                return None
            if not isinstance(value, dict):
                raise MixError("laid_in", recipe=path)
            classes = names("classes", value)
            heights = value.get("height", [0.08, 0.35])
            if (not isinstance(heights, list) or len(heights) != 2
                    or not all(isinstance(h, int | float) and not isinstance(h, bool) for h in heights)
                    or not 0 < heights[0] < heights[1] <= 0.9):  # fmt: skip
                raise MixError("laid_in_height", recipe=path)
            images, seed = value.get("images", 100), value.get("seed", 0)
            if not isinstance(images, int) or isinstance(images, bool) or not 1 <= images <= 5000:
                raise MixError("whole_number", recipe=path, field="laid_in.images", low=1, high=5000)
            if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed <= 2**31:
                raise MixError("whole_number", recipe=path, field="laid_in.seed", low=0, high=2**31)
            if not classes:
                raise MixError("names", recipe=path, field="laid_in.classes")
            return LaidIn(classes, images, (float(heights[0]), float(heights[1])), seed)

        copies = copies_of(data, "")
        if not isinstance(data.get("renders"), str):
            raise MixError("renders", recipe=path)
        return cls(
            renders=(base / data["renders"]).resolve(),
            real=real(),
            copies=copies,
            negatives=paths("negatives"),
            pseudo_label_sources=names("pseudo_label_sources"),
            datasets=datasets(),
            pseudo_labels=pseudo_labels(),
            laid_in=laid_in(),
        )


def recipe_mapping(text: str, path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise MixError("unreadable", recipe=path, reason=exc) from exc
    if not isinstance(data, dict):
        raise MixError("not_mapping", recipe=path)
    return data


@dataclass(frozen=True)
class MixSummary:
    root: Path
    train_images: int
    val_images: int
    real_trained: tuple[str, ...]
    real_held_out: tuple[str, ...]
    boxes_per_class: dict[str, int]

    @property
    def data_yaml(self) -> Path:
        return self.root / "data.yaml"


def build(recipe: MixRecipe, out: Path, pseudo_labeller: PseudoLabeller | None) -> MixSummary:
    """Write the mixed dataset to ``out`` (new or empty); the validation split is the generated one's (real
    figures are measured apart, on the held-out photos)."""
    classes = _render_classes(recipe.renders)
    if out.exists() and any(out.iterdir()):
        raise MixError("not_empty", folder=out)
    if recipe.laid_in is not None and (unknown := set(recipe.laid_in.classes) - set(classes)):
        raise MixError("laid_in_classes", classes=", ".join(sorted(unknown)), ours=", ".join(classes))
    for labelled in recipe.datasets:  # refused before anything is written
        _check_classes(labelled, classes)
    train: list[RealPhoto] = []
    held_out: list[RealPhoto] = []
    for real in recipe.real:
        try:
            trains, kept = split(read_folder(real.folder), real.held_out)
        except RealPhotoError as exc:
            raise MixError("real_photos", folder=real.folder, problem=exc) from exc
        train += trains
        held_out += kept
    counts: Counter[str] = Counter()
    written = {"train": 0, "val": 0}
    for part in ("train", "val"):
        for image in sorted((recipe.renders / "images" / part).iterdir()):
            label = recipe.renders / "labels" / part / f"{image.stem}.txt"
            text = label.read_text(encoding="utf-8") if label.exists() else ""
            _write(out, part, f"render_{image.name}", image, text, classes, counts)
            written[part] += 1
    for photo in train:
        boxes = list(photo.boxes or ())
        if pseudo_labeller is not None and _pseudo_labelled(photo, recipe.pseudo_label_sources):
            own = {box.name for box in boxes}  # a listed source boxes some classes only: fill in the others
            boxes += [box for box in pseudo_labeller(photo.path) if box.name not in own]
        text = _yolo_lines(boxes, classes)
        for copy in range(recipe.copies):
            _write(out, "train", f"real{copy}_{photo.name}", photo.path, text, classes, counts)
            written["train"] += 1
    negatives = _negative_images(recipe.negatives)
    scenes = [Scene(image, tuple(pseudo_labeller(image)) if pseudo_labeller is not None else ()) for image in negatives]
    for scene in scenes:
        text = _yolo_lines(scene.boxes, classes)
        for copy in range(recipe.copies):
            _write(out, "train", f"neg{copy}_{scene.path.name}", scene.path, text, classes, counts)
            written["train"] += 1
    laid: dict[str, Any] | None = None
    if recipe.laid_in is not None:  # fully boxed photos only: a stall-only source's people would be cut with it
        whole = [photo for photo in train if not _pseudo_labelled(photo, recipe.pseudo_label_sources)]
        pictures, cut_from = 0, Counter[str]()
        for picture in made(recipe.laid_in, cuts(whole, recipe.laid_in.classes), scenes):
            _write_made(out, picture.name, picture.pixels, _yolo_lines(picture.boxes, classes), classes, counts)
            written["train"] += 1
            pictures += 1
            cut_from.update(picture.cut_from)
        laid = {"classes": list(recipe.laid_in.classes), "height": list(recipe.laid_in.height),
                "seed": recipe.laid_in.seed, "images": pictures, "objects": dict(sorted(cut_from.items()))}  # fmt: skip
    for labelled in recipe.datasets:
        _take_labelled(labelled, out, classes, counts, written)
    summary = MixSummary(
        out, written["train"], written["val"], tuple(p.name for p in train), tuple(p.name for p in held_out),
        {name: counts[name] for name in classes},
    )  # fmt: skip
    _describe(recipe, summary, classes, [image.name for image in negatives], pseudo_labeller is not None, laid)
    return summary


def _take_labelled(
    labelled: LabelledSet, out: Path, classes: tuple[str, ...], counts: Counter[str], written: dict[str, int]
) -> None:
    """A labelled dataset's images, each side to the same side of the mix (its training images ``copies`` times)."""
    for part in ("train", "val"):
        folder = labelled.folder / "images" / part
        for image in sorted(folder.iterdir()) if folder.is_dir() else []:
            label = labelled.folder / "labels" / part / f"{image.stem}.txt"
            text = label.read_text(encoding="utf-8") if label.exists() else ""
            for copy in range(labelled.copies if part == "train" else 1):
                _write(out, part, f"{labelled.folder.name}{copy}_{image.name}", image, text, classes, counts)
                written[part] += 1


def _check_classes(labelled: LabelledSet, classes: tuple[str, ...]) -> None:
    theirs = _render_classes(labelled.folder, "`offsite model dataset export` or `import`")
    if theirs != classes:
        raise MixError("classes", folder=labelled.folder, theirs=", ".join(theirs), ours=", ".join(classes))


def classes_of(renders: Path) -> tuple[str, ...]:
    """The classes of a generated dataset: every set of a mix is in these."""
    return _render_classes(renders)


def _render_classes(renders: Path, made_by: str = "`offsite model dataset generate`") -> tuple[str, ...]:
    data_yaml = renders / "data.yaml"
    if not data_yaml.is_file():
        raise MixError("no_data_yaml", folder=renders, made_by=made_by)
    names = yaml.safe_load(data_yaml.read_text(encoding="utf-8")).get("names")
    if isinstance(names, dict):
        return tuple(str(names[key]) for key in sorted(names))
    if isinstance(names, list):
        return tuple(str(name) for name in names)
    raise MixError("class_names", file=data_yaml)


def _pseudo_labelled(photo: RealPhoto, sources: tuple[str, ...]) -> bool:
    return photo.source in sources or photo.source.split(":")[0] in sources


def _negative_images(folders_or_files: tuple[Path, ...]) -> list[Path]:
    images: list[Path] = []
    for path in folders_or_files:
        if path.is_dir():
            images += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            images.append(path)
        else:
            raise MixError("negative_missing", file=path)
    return images


def _yolo_lines(boxes: Sequence[Box], classes: tuple[str, ...]) -> str:
    lines = []
    for box in boxes:
        if box.name not in classes:
            continue
        x1, y1, x2, y2 = box.xyxy
        lines.append(f"{classes.index(box.name)} {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}")
    return "\n".join(lines) + ("\n" if lines else "")


def _write(
    out: Path, part: str, name: str, image: Path, labels: str, classes: tuple[str, ...], counts: Counter[str]
) -> None:
    """A link to ``image`` and its labels, on the ``part`` side of the mix."""
    (_labelled(out, part, name, labels, classes, counts) / name).symlink_to(image.resolve())


def _write_made(out: Path, name: str, pixels: Any, labels: str, classes: tuple[str, ...], counts: Counter[str]) -> None:
    """A picture made for the mix (not a link), and its labels, on the training side."""
    path = _labelled(out, "train", name, labels, classes, counts) / name
    if not cv2.imwrite(str(path), pixels, [cv2.IMWRITE_JPEG_QUALITY, 90]):
        raise MixError("unwritable", file=path)


def _labelled(out: Path, part: str, name: str, labels: str, classes: tuple[str, ...], counts: Counter[str]) -> Path:
    """``name``'s label file written and its boxes counted; the folder its image goes into."""
    images, label_dir = out / "images" / part, out / "labels" / part
    images.mkdir(parents=True, exist_ok=True)
    label_dir.mkdir(parents=True, exist_ok=True)
    (label_dir / f"{Path(name).stem}.txt").write_text(labels, encoding="utf-8")
    for line in labels.splitlines():
        counts[classes[int(line.split()[0])]] += 1
    return images


def _describe(
    recipe: MixRecipe, summary: MixSummary, classes: tuple[str, ...], negatives: list[str], pseudo_labelled: bool,
    laid: dict[str, Any] | None,
) -> None:  # fmt: skip
    generated = json.loads((recipe.renders / "generator.json").read_text(encoding="utf-8"))
    (summary.root / "data.yaml").write_text(
        yaml.safe_dump({"path": str(summary.root.resolve()), "train": "images/train", "val": "images/val",
                        "names": dict(enumerate(classes))}, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )  # fmt: skip
    description: dict[str, Any] = {
        "generator": "vision.training_mix",
        "images": summary.train_images + summary.val_images,
        "val_images": summary.val_images,
        "imgsz": generated.get("imgsz"),
        "classes": list(classes),
        "boxes_per_class": summary.boxes_per_class,
        "generated": generated,
        "real_photos_trained_on": list(summary.real_trained),
        "real_photos_held_out": list(summary.real_held_out),
        "held_out_groups": {str(real.folder.name): list(real.held_out) for real in recipe.real},
        "real_copies": recipe.copies,
        "negatives": negatives,
        "pseudo_label_sources": list(recipe.pseudo_label_sources),
        "pseudo_labelled": pseudo_labelled,
        "datasets": [{"folder": str(d.folder), "copies": d.copies} for d in recipe.datasets],
    }
    if laid is not None:  # the pictures with real objects laid in, and how many objects came from which photo
        description["laid_in"] = laid
    (summary.root / "generator.json").write_text(json.dumps(description, ensure_ascii=False, indent=2) + "\n")
