"""A folder of real photos with what a careful person sees in each: the data the detector is measured on.

The folder holds ``images/``, a ``labels.csv`` (one row a photo: ``file``, ``classes_present`` separated by ``;``,
``scene``, ``camera``, ``source_repo``, ``source_path``, ``notes``, ``box_labels``) and, for the photos that have
them, YOLO box files under ``labels/`` in the order of ``BOX_CLASSES`` (or of a ``classes.txt`` in the folder).
Nothing here is shipped: the photos live outside the project and are read where they lie.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vision.text_files import NotUtf8, read_utf8

VIOLATION_CLASSES = ("stall", "goods", "dust", "bare_pile", "covered_pile")
KNOWN_CLASSES = (*VIOLATION_CLASSES, "person", "vehicle")
BOX_CLASSES = ("stall", "goods", "dust", "bare_pile", "covered_pile", "person", "vehicle")  # the YOLO files' order
REQUIRED_COLUMNS = ("file", "classes_present")


class RealPhotoError(ValueError):
    """A folder of real photos that cannot be read as described: which file, which line, and why."""


@dataclass(frozen=True)
class Box:
    name: str
    xyxy: tuple[float, float, float, float]  # normalised to the image, 0..1


@dataclass(frozen=True)
class RealPhoto:
    path: Path
    present: frozenset[str]  # the classes a careful person sees in it
    scene: str
    camera: str
    source: str  # where it came from: the group a hold-out keeps together
    notes: str
    boxes: tuple[Box, ...] | None  # None: no box file (image-level labels only)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def excavator(self) -> bool:
        """Photos with an excavator: a vehicle box on it is not held against a model (excavators are not labelled
        vehicles)."""
        return "excavator" in self.notes.lower()

    @property
    def unlisted(self) -> tuple[str, ...]:
        """Classes its boxes name that its row's classes_present does not list: the labels disagree (the row is the
        image-level truth; a box is the truth for box AP50)."""
        boxed = {box.name for box in self.boxes or ()}
        return tuple(name for name in KNOWN_CLASSES if name in boxed - self.present)

    def boxed(self, name: str) -> bool:
        """Whether the photo's boxes can be trusted for a class: it has box files and either boxes of that class
        or none of it present."""
        if self.boxes is None:
            return False
        return name not in self.present or any(box.name == name for box in self.boxes)


def group_of(source_repo: str, source_path: str) -> str:
    """The hold-out group of a photo: its source repository, and for a collection of chips cut from large
    orthophotos, the orthophoto (chips of one picture must not straddle training and measurement)."""
    stem = Path(source_path).name
    if "_chip_" in stem:
        return f"{source_repo}:{stem.split('_chip_')[0]}"
    return source_repo


def read_folder(folder: Path) -> list[RealPhoto]:
    """Every photo of the folder, checked: a missing image, an unknown class, a malformed box line is refused
    with the file and line that hold it."""
    table = folder / "labels.csv"
    if not table.is_file():
        raise RealPhotoError(f"{folder}: no labels.csv (a row a photo: file, classes_present, …)")
    box_classes = _box_classes(folder)
    reader = csv.DictReader(io.StringIO(_text(table), newline=""))
    missing = [column for column in REQUIRED_COLUMNS if column not in (reader.fieldnames or ())]
    if missing:
        raise RealPhotoError(f"{table}: missing column(s) {', '.join(missing)}")
    photos = [_photo(folder, table, line, row, box_classes) for line, row in enumerate(reader, start=2)]
    if not photos:
        raise RealPhotoError(f"{table}: no photos listed")
    names = [photo.name for photo in photos]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise RealPhotoError(f"{table}: photos listed twice: {', '.join(duplicated)}")
    return photos


def read_image(path: Path) -> Any:
    """A listed photo's pixels (BGR, turned upright as its EXIF orientation says), as the scoring reads them; a
    file that does not decode is refused by name: skipping it would change every figure's denominator."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise RealPhotoError(f"{path}: not an image that can be decoded (cut short, or not a photo)")
    return image


def _text(path: Path) -> str:
    try:
        return read_utf8(path)
    except NotUtf8 as exc:
        raise RealPhotoError(str(exc)) from exc


def _box_classes(folder: Path) -> tuple[str, ...]:
    listed = folder / "classes.txt"
    if not listed.is_file():
        return BOX_CLASSES
    names = tuple(line.strip() for line in _text(listed).splitlines() if line.strip())
    unknown = [name for name in names if name not in KNOWN_CLASSES]
    if unknown:
        raise RealPhotoError(f"{listed}: unknown class(es) {', '.join(unknown)}; known: {', '.join(KNOWN_CLASSES)}")
    return names


def _photo(folder: Path, table: Path, line: int, row: dict[str, str], box_classes: tuple[str, ...]) -> RealPhoto:
    file = (row.get("file") or "").strip()
    where = f"{table}, line {line}"
    if not file or Path(file).name != file:
        raise RealPhotoError(f"{where}: file {file!r} is not a plain file name")
    path = folder / "images" / file
    if not path.is_file():
        raise RealPhotoError(f"{where}: image {path} does not exist")
    present = frozenset(name.strip() for name in (row.get("classes_present") or "").split(";") if name.strip())
    unknown = sorted(present - set(KNOWN_CLASSES))
    if unknown:
        raise RealPhotoError(f"{where}: unknown class(es) {', '.join(unknown)}; known: {', '.join(KNOWN_CLASSES)}")
    box_file = (row.get("box_labels") or "").strip()
    boxes = _boxes(folder / box_file, box_classes) if box_file else None
    return RealPhoto(
        path=path,
        present=present,
        scene=(row.get("scene") or "").strip(),
        camera=(row.get("camera") or "").strip(),
        source=group_of((row.get("source_repo") or "").strip(), (row.get("source_path") or "").strip()),
        notes=(row.get("notes") or "").strip(),
        boxes=boxes,
    )


def _boxes(path: Path, box_classes: tuple[str, ...]) -> tuple[Box, ...]:
    if not path.is_file():
        raise RealPhotoError(f"box file {path} does not exist")
    boxes: list[Box] = []
    for line, text in enumerate(_text(path).splitlines(), start=1):
        if text.strip():
            boxes.append(_box(path, line, text, box_classes))
    return tuple(boxes)


def _box(path: Path, line: int, text: str, box_classes: tuple[str, ...]) -> Box:
    parts = text.split()
    try:
        index, cx, cy, w, h = int(parts[0]), *(float(value) for value in parts[1:5])
    except (ValueError, IndexError) as exc:
        raise RealPhotoError(f"{path}, line {line}: not 'class cx cy w h' ({text.strip()!r})") from exc
    if len(parts) != 5 or not 0 <= index < len(box_classes):
        raise RealPhotoError(f"{path}, line {line}: class {parts[0]} or field count is wrong ({text.strip()!r})")
    if not (0 <= cx <= 1 and 0 <= cy <= 1 and 0 < w <= 1 and 0 < h <= 1):
        raise RealPhotoError(f"{path}, line {line}: coordinates must be normalised to 0..1 ({text.strip()!r})")
    x1, y1 = max(0.0, cx - w / 2), max(0.0, cy - h / 2)
    return Box(box_classes[index], (x1, y1, min(1.0, cx + w / 2), min(1.0, cy + h / 2)))


def split(photos: Iterable[RealPhoto], held_out: Iterable[str]) -> tuple[list[RealPhoto], list[RealPhoto]]:
    """(train, held out): a photo is held out when its group is named (a repository names all its groups)."""
    named = set(held_out)
    train: list[RealPhoto] = []
    kept: list[RealPhoto] = []
    for photo in photos:
        repository = photo.source.split(":")[0]
        (kept if photo.source in named or repository in named else train).append(photo)
    return train, kept
