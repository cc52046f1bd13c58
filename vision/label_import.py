"""Labelled data in the formats people have, taken into a YOLO dataset of the detector's classes (issue 15).

Four formats: a YOLO dataset (``data.yaml``, ``images/``, ``labels/``), a COCO JSON file, a Label Studio JSON
export (rectangle labels) and a CVAT XML export ("CVAT for images 1.1"). Every problem is found before anything is
written, and each is named by file, line and reason (``ImportProblem``); a file with any problem is refused whole,
and the output folder is made only when every image and box is good (written beside it, then renamed), so nothing
partial is ever kept.

Class names are matched to the detector's: by name, by the COCO aliases (car, truck and bus are vehicles), or by
the ``mapping`` the caller gives (``{"booth": "stall"}``; ``{"helmet": None}`` drops that class). A class matched
by none of these is a problem, not a silent loss.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from xml.parsers import expat

import yaml

from vision.real_eval import ALIASES

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
MAX_PROBLEMS = 50  # named in full; more are counted


class LabelFormat(StrEnum):
    YOLO = "yolo"
    COCO = "coco"
    LABEL_STUDIO = "labelstudio"
    CVAT = "cvat"


@dataclass(frozen=True)
class ImportProblem:
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}" if self.line is not None else f"{self.file}: {self.reason}"


class ImportRefused(ValueError):
    """The labelled data cannot be taken; ``problems`` names each (file, line, reason)."""

    def __init__(self, problems: Sequence[ImportProblem]) -> None:
        self.problems = list(problems)
        shown = "; ".join(map(str, self.problems[:MAX_PROBLEMS]))
        more = f" (and {len(self.problems) - MAX_PROBLEMS} more)" if len(self.problems) > MAX_PROBLEMS else ""
        super().__init__(f"{len(self.problems)} problem(s), nothing imported: {shown}{more}")


@dataclass(frozen=True)
class ImportedBox:
    class_name: str  # one of the detector's
    cx: float  # centre and size, fractions of the picture
    cy: float
    w: float
    h: float


@dataclass
class ImportedImage:
    source: Path
    boxes: list[ImportedBox] = field(default_factory=list)


@dataclass(frozen=True)
class ImportSummary:
    root: Path
    images: int
    boxes_per_class: dict[str, int]
    dropped: dict[str, int]  # boxes of the classes the mapping drops


class _Reader:
    """Collects problems while a format is read; classes are resolved against the detector's."""

    def __init__(self, names: Sequence[str], mapping: Mapping[str, str | None]) -> None:
        self.names = list(names)
        self.mapping = dict(mapping)
        self.problems: list[ImportProblem] = []
        self.dropped: Counter[str] = Counter()
        for theirs, ours in self.mapping.items():
            if ours is not None and ours not in self.names:
                self.problems.append(ImportProblem("--map", None, f"{theirs}={ours}: {ours!r} is not a class of ours"))

    def problem(self, file: Path | str, line: int | None, reason: str) -> None:
        self.problems.append(ImportProblem(str(file), line, reason))

    def ours(self, theirs: str, file: Path | str, line: int | None) -> str | None:
        """Our class for theirs; None when the mapping drops it, or (with a problem noted) when nothing matches."""
        if theirs in self.mapping:
            ours = self.mapping[theirs]
            if ours is None:
                self.dropped[theirs] += 1
            return ours
        if theirs in self.names:
            return theirs
        if ALIASES.get(theirs) in self.names:
            return ALIASES[theirs]
        self.problem(
            file, line, f"class {theirs!r} is not ours {self.names} (map it with --map {theirs}=OURS, or --drop)"
        )
        return None

    def box(
        self, image: ImportedImage, theirs: str, xyxy: tuple[float, float, float, float], size: tuple[float, float],
        file: Path | str, line: int | None,
    ) -> None:  # fmt: skip
        """A box in pixels (x1, y1, x2, y2) of a picture ``size`` (width, height), checked and kept."""
        width, height = size
        x1, y1, x2, y2 = xyxy
        if not (width > 0 and height > 0):
            self.problem(file, line, f"the picture's size {width}×{height} is not positive")
            return
        slack = 0.01 * max(width, height)  # tools round a box on the edge a pixel out
        if x2 <= x1 or y2 <= y1:
            self.problem(file, line, f"the box {list(xyxy)} has no area")
            return
        if x1 < -slack or y1 < -slack or x2 > width + slack or y2 > height + slack:
            self.problem(file, line, f"the box {list(xyxy)} lies outside the {width:g}×{height:g} picture")
            return
        ours = self.ours(theirs, file, line)
        if ours is None:
            return
        x1, y1, x2, y2 = max(x1, 0.0), max(y1, 0.0), min(x2, width), min(y2, height)
        image.boxes.append(
            ImportedBox(ours, (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height)
        )

    def image_file(self, folder: Path, name: str, file: Path | str, line: int | None) -> Path | None:
        """The picture a label names, found in ``folder`` by its path or, failing that, its file name."""
        candidates = [folder / name, folder / Path(name).name]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            self.problem(file, line, f"the image {name!r} is not in {folder}")
        elif found.suffix.lower() not in IMAGE_SUFFIXES:
            self.problem(file, line, f"{found.name} is not a picture ({', '.join(IMAGE_SUFFIXES)})")
            return None
        return found


# -- the formats ---------------------------------------------------------------------------------------------------


def _yolo(source: Path, reader: _Reader) -> list[ImportedImage]:
    data_yaml = source / "data.yaml" if source.is_dir() else source
    root = data_yaml.parent
    try:
        data = yaml.safe_load(data_yaml.read_text(encoding="utf-8")) or {}
        names = data["names"]
        theirs = {int(k): str(v) for k, v in names.items()} if isinstance(names, dict) else dict(enumerate(names))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        reader.problem(data_yaml, None, f"not a YOLO data.yaml with names ({exc.__class__.__name__}: {exc})")
        return []
    images = []
    for picture in sorted(p for p in (root / "images").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        relative = picture.relative_to(root / "images")
        label = (root / "labels" / relative).with_suffix(".txt")
        image = ImportedImage(picture)
        if label.exists():
            _yolo_lines(label, theirs, image, reader)
        images.append(image)
    if not images:
        reader.problem(root / "images", None, "holds no pictures")
    return images


def _yolo_lines(label: Path, theirs: dict[int, str], image: ImportedImage, reader: _Reader) -> None:
    text = _text(label, reader)
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        fields = raw.split()
        if len(fields) != 5:
            reader.problem(label, number, f"{len(fields)} fields, not 5 (class cx cy w h)")
            continue
        try:
            index, cx, cy, w, h = int(fields[0]), *map(float, fields[1:])
        except ValueError:
            reader.problem(label, number, f"{raw.strip()!r} is not a class number and four numbers")
            continue
        if index not in theirs:
            reader.problem(label, number, f"class {index} is not in data.yaml's names")
            continue
        if not all(0 <= v <= 1 for v in (cx, cy, w, h)):
            reader.problem(label, number, "centre and size must be fractions of the picture (0..1)")
            continue
        reader.box(image, theirs[index], (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), (1.0, 1.0), label, number)


def _coco(source: Path, images_folder: Path, reader: _Reader) -> list[ImportedImage]:
    text = _text(source, reader)
    if text is None:
        return []
    try:
        document, lines = _json_with_element_lines(text, ("images", "annotations", "categories"))
    except json.JSONDecodeError as exc:
        reader.problem(source, exc.lineno, f"not JSON: {exc.msg}")
        return []
    if not isinstance(document, dict) or not all(isinstance(document.get(k), list) for k in ("images", "annotations")):
        reader.problem(source, 1, "not a COCO file: it needs lists of images and annotations (and categories)")
        return []
    categories = {}
    for i, category in enumerate(document.get("categories") or []):
        try:
            categories[int(category["id"])] = str(category["name"])
        except (KeyError, TypeError, ValueError):
            reader.problem(source, _line(lines, "categories", i), "a category needs an id and a name")
    by_id: dict[int, tuple[ImportedImage, tuple[float, float]]] = {}
    for i, entry in enumerate(document["images"]):
        line = _line(lines, "images", i)
        try:
            ident, name, size = (
                int(entry["id"]),
                str(entry["file_name"]),
                (float(entry["width"]), float(entry["height"])),
            )
        except (KeyError, TypeError, ValueError):
            reader.problem(source, line, "an image needs an id, a file_name, a width and a height")
            continue
        found = reader.image_file(images_folder, name, source, line)
        if found is not None:
            by_id[ident] = (ImportedImage(found), size)
    for i, annotation in enumerate(document["annotations"]):
        line = _line(lines, "annotations", i)
        try:
            image_id, category_id = int(annotation["image_id"]), int(annotation["category_id"])
            x, y, w, h = (float(v) for v in annotation["bbox"])
        except (KeyError, TypeError, ValueError):
            reader.problem(source, line, "an annotation needs an image_id, a category_id and a bbox [x, y, w, h]")
            continue
        if category_id not in categories:
            reader.problem(source, line, f"category {category_id} is not among the categories")
        elif image_id not in by_id:
            reader.problem(source, line, f"image {image_id} is not among the images (or its file is missing)")
        else:
            image, size = by_id[image_id]
            reader.box(image, categories[category_id], (x, y, x + w, y + h), size, source, line)
    return [image for image, _size in by_id.values()]


def _label_studio(source: Path, images_folder: Path, reader: _Reader) -> list[ImportedImage]:
    text = _text(source, reader)
    if text is None:
        return []
    try:
        tasks, lines = _json_with_element_lines(text, ())
    except json.JSONDecodeError as exc:
        reader.problem(source, exc.lineno, f"not JSON: {exc.msg}")
        return []
    if not isinstance(tasks, list):
        reader.problem(source, 1, "not a Label Studio JSON export: it is a list of tasks")
        return []
    images = []
    for i, task in enumerate(tasks):
        line = _line(lines, "", i)
        try:
            name = str(task["data"]["image"])
            results = [r for a in task.get("annotations") or [] for r in a.get("result") or []]
        except (KeyError, TypeError, AttributeError):
            reader.problem(source, line, "a task needs data.image and annotations with results")
            continue
        found = reader.image_file(images_folder, name.split("?")[0], source, line)
        if found is None:
            continue
        image = ImportedImage(found)
        for result in results:
            if result.get("type") != "rectanglelabels":
                continue  # polygons, choices and text are not boxes
            try:
                value = result["value"]
                labels = value["rectanglelabels"]
                x, y, w, h = (float(value[k]) for k in ("x", "y", "width", "height"))
            except (KeyError, TypeError, ValueError):
                reader.problem(source, line, f"result {result.get('id', '?')}: a rectangle needs x, y, width, height")
                continue
            if float(value.get("rotation") or 0) != 0:
                reader.problem(source, line, f"result {result.get('id', '?')}: a rotated rectangle is not a box")
                continue
            for label in labels:  # Label Studio's coordinates are percent of the picture
                reader.box(image, str(label), (x, y, x + w, y + h), (100.0, 100.0), source, line)
        images.append(image)
    return images


def _cvat(source: Path, images_folder: Path, reader: _Reader) -> list[ImportedImage]:
    """CVAT for images 1.1: <image name width height> holding <box label xtl ytl xbr ybr>. Read with expat, with
    no DTD and no entities (a hostile file cannot reach the disk or expand without end)."""
    images: list[ImportedImage] = []
    current: list[tuple[ImportedImage, tuple[float, float]] | None] = [None]
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse_doctype(*_args: Any) -> None:
        raise ValueError("a DOCTYPE is not accepted")

    def refuse_entity(*_args: Any) -> None:
        raise ValueError("entities are not accepted")

    def start(tag: str, attrs: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        if tag == "image":
            current[0] = None
            try:
                size = (float(attrs["width"]), float(attrs["height"]))
                name = attrs["name"]
            except (KeyError, ValueError):
                reader.problem(source, line, "an image needs a name, a width and a height")
                return
            found = reader.image_file(images_folder, name, source, line)
            if found is not None:
                image = ImportedImage(found)
                images.append(image)
                current[0] = (image, size)
        elif tag == "box" and current[0] is not None:
            try:
                xyxy = (float(attrs["xtl"]), float(attrs["ytl"]), float(attrs["xbr"]), float(attrs["ybr"]))
                label = attrs["label"]
            except (KeyError, ValueError):
                reader.problem(source, line, "a box needs a label and xtl, ytl, xbr, ybr")
                return
            if float(attrs.get("rotation") or 0) != 0:
                reader.problem(source, line, "a rotated box is not a box")
                return
            image, size = current[0]
            reader.box(image, label, xyxy, size, source, line)

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.StartElementHandler = start
    try:
        parser.Parse(source.read_bytes(), True)
    except OSError as exc:
        reader.problem(source, None, f"cannot be read ({exc.strerror})")
    except expat.ExpatError as exc:
        reader.problem(source, exc.lineno, f"not XML: {expat.ErrorString(exc.code)}")
    except ValueError as exc:
        reader.problem(source, parser.CurrentLineNumber, str(exc))
    if not images and not reader.problems:
        reader.problem(source, None, "holds no <image> (is it a 'CVAT for images' export?)")
    return images


def _line(lines: dict[str, list[int]], key: str, index: int) -> int | None:
    found = lines.get(key, [])
    return found[index] if index < len(found) else None


def _text(source: Path, reader: _Reader) -> str | None:
    try:
        return source.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reader.problem(source, None, f"cannot be read as UTF-8 text ({exc.__class__.__name__})")
        return None


def _json_with_element_lines(text: str, keys: tuple[str, ...]) -> tuple[Any, dict[str, list[int]]]:
    """The JSON document, and the line on which each element of its arrays begins: for a top-level array under
    "" and, in a top-level object, for the arrays under ``keys``. A problem in an entry is then told by its line."""
    decoder = json.JSONDecoder()
    lines: dict[str, list[int]] = {}

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def array(i: int, key: str) -> int:  # i at "["; returns the index after "]"
        found = lines.setdefault(key, [])
        i = skip(i + 1)
        if i < len(text) and text[i] == "]":
            return i + 1
        while True:
            i = skip(i)
            found.append(line_of(i))
            _value, i = decoder.raw_decode(text, i)
            i = skip(i)
            if i < len(text) and text[i] == ",":
                i += 1
                continue
            if i < len(text) and text[i] == "]":
                return i + 1
            raise json.JSONDecodeError("expected ',' or ']'", text, i)

    start = skip(0)
    if start < len(text) and text[start] == "[":
        array(start, "")
    elif start < len(text) and text[start] == "{":
        i = skip(start + 1)
        while i < len(text) and text[i] != "}":
            key, i = decoder.raw_decode(text, i)
            i = skip(i)
            if i >= len(text) or text[i] != ":":
                raise json.JSONDecodeError("expected ':'", text, i)
            i = skip(i + 1)
            if key in keys and i < len(text) and text[i] == "[":
                i = array(i, str(key))
            else:
                _value, i = decoder.raw_decode(text, i)
            i = skip(i)
            if i < len(text) and text[i] == ",":
                i = skip(i + 1)
    document = json.loads(text)  # the whole, checked once more as JSON
    return document, lines


# -- taking it in --------------------------------------------------------------------------------------------------


def read_labels(
    source: Path,
    label_format: LabelFormat,
    names: Sequence[str],
    images: Path | None = None,
    mapping: Mapping[str, str | None] | None = None,
) -> tuple[list[ImportedImage], Counter[str]]:
    """Every image of ``source`` with its boxes in our classes, and the boxes dropped per class; raises
    ``ImportRefused`` naming every problem (file, line, reason)."""
    reader = _Reader(names, mapping or {})
    if not source.exists():
        raise ImportRefused([ImportProblem(str(source), None, "does not exist")])
    folder = images if images is not None else (source if source.is_dir() else source.parent)
    if label_format is LabelFormat.YOLO:
        found = _yolo(source, reader)
    elif label_format is LabelFormat.COCO:
        found = _coco(source, folder, reader)
    elif label_format is LabelFormat.LABEL_STUDIO:
        found = _label_studio(source, folder, reader)
    else:
        found = _cvat(source, folder, reader)
    if reader.problems:
        raise ImportRefused(reader.problems)
    return found, reader.dropped


def import_labels(
    source: Path,
    label_format: LabelFormat,
    out: Path,
    names: Sequence[str],
    images: Path | None = None,
    mapping: Mapping[str, str | None] | None = None,
) -> ImportSummary:
    """Take labelled data into ``out`` (new) as a YOLO dataset of our classes: images/train and labels/train,
    ``data.yaml`` and ``source.json`` (what was imported, from where, in which format). All or nothing."""
    if out.exists():
        raise ImportRefused([ImportProblem(str(out), None, "exists already: name a new folder")])
    found, dropped = read_labels(source, label_format, names, images, mapping)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        counts = _write(found, staging, names, source, label_format)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ImportSummary(out, len(found), dict(counts), dict(dropped))


def _write(
    found: list[ImportedImage], root: Path, names: Sequence[str], source: Path, label_format: LabelFormat
) -> Counter[str]:
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    counts: Counter[str] = Counter()
    for index, image in enumerate(found):
        stem = f"{index:06d}-{image.source.stem}"
        shutil.copyfile(image.source, root / "images" / "train" / f"{stem}{image.source.suffix.lower()}")
        lines = [f"{names.index(b.class_name)} {b.cx:.6f} {b.cy:.6f} {b.w:.6f} {b.h:.6f}\n" for b in image.boxes]
        (root / "labels" / "train" / f"{stem}.txt").write_text("".join(lines), encoding="utf-8")
        counts.update(b.class_name for b in image.boxes)
    (root / "data.yaml").write_text(
        "# Imported by `offsite model dataset import`; every image is for training (the split is the recipe's).\n"
        "path: .\ntrain: images/train\nval: images/train\n"
        "names:\n" + "".join(f"  {i}: {name}\n" for i, name in enumerate(names)),
        encoding="utf-8",
    )
    (root / "source.json").write_text(
        json.dumps(
            {"source": str(source.resolve()), "format": label_format.value, "images": len(found), "boxes": counts},
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return counts
