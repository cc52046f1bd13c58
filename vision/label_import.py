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
from vision.text_files import NotUtf8, read_utf8

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
MAX_PROBLEMS = 50  # named in full; more are counted


class LabelFormat(StrEnum):
    YOLO = "yolo"
    COCO = "coco"
    LABEL_STUDIO = "labelstudio"
    CVAT = "cvat"


@dataclass(frozen=True)
class ImportProblem:
    """One problem: where (file and line), and what, as the catalogue's ``term.import.<key>`` with its parameters,
    told in the reader's language by the caller."""

    file: str
    line: int | None
    key: str
    params: dict[str, object] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line is not None else self.file

    def __str__(self) -> str:  # for logs; a person reads the catalogue's words
        return f"{self.where}: {self.key} {self.params}"


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
        self._pictures: dict[Path, dict[str, list[Path]]] = {}
        for theirs, ours in self.mapping.items():
            if ours is not None and ours not in self.names:
                self.problems.append(
                    ImportProblem("--map", None, "map_not_ours", {"pair": f"{theirs}={ours}", "ours": ours})
                )

    def _by_name(self, folder: Path) -> dict[str, list[Path]]:
        if folder not in self._pictures:
            found: dict[str, list[Path]] = {}
            for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    found.setdefault(path.name, []).append(path)
            self._pictures[folder] = found
        return self._pictures[folder]

    def problem(self, file: Path | str, line: int | None, key: str, **params: object) -> None:
        self.problems.append(ImportProblem(str(file), line, key, params))

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
        self.problem(file, line, "class_not_ours", theirs=repr(theirs), ours=", ".join(self.names))
        return None

    def box(
        self, image: ImportedImage, theirs: str, xyxy: tuple[float, float, float, float], size: tuple[float, float],
        file: Path | str, line: int | None,
    ) -> None:  # fmt: skip
        """A box in pixels (x1, y1, x2, y2) of a picture ``size`` (width, height), checked and kept."""
        width, height = size
        x1, y1, x2, y2 = xyxy
        if not (width > 0 and height > 0):
            self.problem(file, line, "size", width=f"{width:g}", height=f"{height:g}")
            return
        slack = 0.01 * max(width, height)  # tools round a box on the edge a pixel out
        if x2 <= x1 or y2 <= y1:
            self.problem(file, line, "no_area", box=str(list(xyxy)))
            return
        if x1 < -slack or y1 < -slack or x2 > width + slack or y2 > height + slack:
            self.problem(file, line, "outside", box=str(list(xyxy)), width=f"{width:g}", height=f"{height:g}")
            return
        ours = self.ours(theirs, file, line)
        if ours is None:
            return
        x1, y1, x2, y2 = max(x1, 0.0), max(y1, 0.0), min(x2, width), min(y2, height)
        image.boxes.append(
            ImportedBox(ours, (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height)
        )

    def image_file(self, folder: Path, name: str, file: Path | str, line: int | None) -> Path | None:
        """The picture a label names, found in ``folder`` by its path, or failing that by its file name anywhere
        under ``folder`` (tools write ``/data/upload/1/a.jpg`` or ``images/a.jpg`` for a picture kept elsewhere)."""
        candidates = [folder / name, folder / Path(name).name, *self._by_name(folder).get(Path(name).name, [])]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            self.problem(file, line, "image_missing", image=repr(name), folder=str(folder))
        elif found.suffix.lower() not in IMAGE_SUFFIXES:
            self.problem(file, line, "not_picture", image=found.name, suffixes=", ".join(IMAGE_SUFFIXES))
            return None
        return found


# -- the formats ---------------------------------------------------------------------------------------------------


def _yolo(source: Path, reader: _Reader) -> list[ImportedImage]:
    data_yaml = source / "data.yaml" if source.is_dir() else source
    root = data_yaml.parent
    try:
        data = yaml.safe_load(read_utf8(data_yaml)) or {}
        names = data["names"]
        theirs = {int(k): str(v) for k, v in names.items()} if isinstance(names, dict) else dict(enumerate(names))
    except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError, AttributeError) as exc:
        reader.problem(data_yaml, None, "not_data_yaml", error=exc.__class__.__name__)
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
        reader.problem(root / "images", None, "no_pictures")
    return images


def _yolo_lines(label: Path, theirs: dict[int, str], image: ImportedImage, reader: _Reader) -> None:
    text = _text(label, reader)
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        fields = raw.split()
        if len(fields) != 5:
            reader.problem(label, number, "yolo_fields", count=len(fields))
            continue
        try:
            index, cx, cy, w, h = int(fields[0]), *map(float, fields[1:])
        except ValueError:
            reader.problem(label, number, "yolo_numbers", text=repr(raw.strip()[:80]))
            continue
        if index not in theirs:
            reader.problem(label, number, "yolo_class", index=index)
            continue
        if not all(0 <= v <= 1 for v in (cx, cy, w, h)):
            reader.problem(label, number, "yolo_fractions")
            continue
        reader.box(image, theirs[index], (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), (1.0, 1.0), label, number)


def _coco(source: Path, images_folder: Path, reader: _Reader) -> list[ImportedImage]:
    text = _text(source, reader)
    if text is None:
        return []
    try:
        document, lines = _json_with_element_lines(text, ("images", "annotations", "categories"))
    except json.JSONDecodeError as exc:
        reader.problem(source, exc.lineno, "not_json", error=exc.msg)
        return []
    if not isinstance(document, dict) or not all(isinstance(document.get(k), list) for k in ("images", "annotations")):
        reader.problem(source, 1, "not_coco")
        return []
    categories = {}
    for i, category in enumerate(document.get("categories") or []):
        try:
            categories[int(category["id"])] = str(category["name"])
        except (KeyError, TypeError, ValueError):
            reader.problem(source, _line(lines, "categories", i), "coco_category")
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
            reader.problem(source, line, "coco_image")
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
            reader.problem(source, line, "coco_annotation")
            continue
        if category_id not in categories:
            reader.problem(source, line, "coco_no_category", category=category_id)
        elif image_id not in by_id:
            reader.problem(source, line, "coco_no_image", image=image_id)
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
        reader.problem(source, exc.lineno, "not_json", error=exc.msg)
        return []
    if not isinstance(tasks, list):
        reader.problem(source, 1, "not_label_studio")
        return []
    images = []
    for i, task in enumerate(tasks):
        line = _line(lines, "", i)
        try:
            name = str(task["data"]["image"])
            results = [r for a in task.get("annotations") or [] for r in a.get("result") or []]
        except (KeyError, TypeError, AttributeError):
            reader.problem(source, line, "ls_task")
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
                reader.problem(source, line, "ls_rectangle", result=str(result.get("id", "?")))
                continue
            if float(value.get("rotation") or 0) != 0:
                reader.problem(source, line, "ls_rotated", result=str(result.get("id", "?")))
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
        raise ValueError("doctype")

    def refuse_entity(*_args: Any) -> None:
        raise ValueError("entity")

    def start(tag: str, attrs: dict[str, str]) -> None:
        line = parser.CurrentLineNumber
        if tag == "image":
            current[0] = None
            try:
                size = (float(attrs["width"]), float(attrs["height"]))
                name = attrs["name"]
            except (KeyError, ValueError):
                reader.problem(source, line, "cvat_image")
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
                reader.problem(source, line, "cvat_box")
                return
            if float(attrs.get("rotation") or 0) != 0:
                reader.problem(source, line, "cvat_rotated")
                return
            image, size = current[0]
            reader.box(image, label, xyxy, size, source, line)

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.StartElementHandler = start
    try:
        parser.Parse(source.read_bytes(), True)
    except OSError:
        reader.problem(source, None, "unreadable")
    except expat.ExpatError as exc:
        reader.problem(source, exc.lineno, "not_xml", error=expat.ErrorString(exc.code))
    except ValueError as exc:
        reader.problem(source, parser.CurrentLineNumber, f"xml_{exc}")  # xml_doctype, xml_entity
    if not images and not reader.problems:
        reader.problem(source, None, "cvat_no_image")
    return images


def _line(lines: dict[str, list[int]], key: str, index: int) -> int | None:
    found = lines.get(key, [])
    return found[index] if index < len(found) else None


def _text(source: Path, reader: _Reader) -> str | None:
    try:
        return read_utf8(source)  # with or without the byte order mark Windows tools write
    except (OSError, NotUtf8):
        reader.problem(source, None, "not_utf8")
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
        raise ImportRefused([ImportProblem(str(source), None, "no_source")])
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
        raise ImportRefused([ImportProblem(str(out), None, "out_exists")])
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


ARCHIVE_MAX_BYTES = 4 << 30  # unpacked: a labelled set of pictures, not a disk filler
ARCHIVE_MAX_MEMBERS = 200_000


def import_archive(
    archive: Path,
    label_format: LabelFormat,
    out: Path,
    names: Sequence[str],
    mapping: Mapping[str, str | None] | None = None,
) -> ImportSummary:
    """A zip of labelled data as a tool exports it (the annotation file and its pictures; for YOLO, the folder
    with ``data.yaml``), unpacked into a scratch folder beside ``out`` and imported (``import_labels``). Problems
    name files as the archive does. A member outside the archive's own folder (an absolute path, ``..``) or an
    archive too large unpacked is refused before anything is written."""
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}-unpacked-", dir=out.parent))
    try:
        _unpack(archive, scratch)
        source = _annotations(scratch, label_format)
        try:
            return import_labels(source, label_format, out, names, scratch, mapping)
        except ImportRefused as exc:
            raise ImportRefused([_relative(p, scratch) for p in exc.problems]) from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _unpack(archive: Path, into: Path) -> None:
    import zipfile

    try:
        with zipfile.ZipFile(archive) as packed:
            members = packed.infolist()
            if len(members) > ARCHIVE_MAX_MEMBERS or sum(m.file_size for m in members) > ARCHIVE_MAX_BYTES:
                raise ImportRefused([ImportProblem(archive.name, None, "archive_too_large",
                                                   {"limit": f"{ARCHIVE_MAX_BYTES >> 30} GiB"})])  # fmt: skip
            for member in members:
                target = (into / member.filename).resolve()
                if member.filename.startswith("/") or not target.is_relative_to(into.resolve()):
                    raise ImportRefused(
                        [ImportProblem(archive.name, None, "archive_escape", {"member": member.filename})]
                    )
            packed.extractall(into)
    except zipfile.BadZipFile as exc:
        raise ImportRefused([ImportProblem(archive.name, None, "not_zip")]) from exc


def _annotations(folder: Path, label_format: LabelFormat) -> Path:
    """The annotation file of an unpacked archive: its data.yaml (YOLO), or its one JSON (COCO, Label Studio) or
    XML (CVAT) file, the shallowest where several lie at different depths."""
    pattern = {LabelFormat.YOLO: "data.yaml", LabelFormat.COCO: "*.json", LabelFormat.LABEL_STUDIO: "*.json",
               LabelFormat.CVAT: "*.xml"}[label_format]  # fmt: skip
    found = sorted(folder.rglob(pattern), key=lambda p: (len(p.relative_to(folder).parts), str(p)))
    shallowest = [p for p in found if len(p.parts) == len(found[0].parts)] if found else []
    if len(shallowest) != 1:
        key = "archive_no_annotations" if not found else "archive_several_annotations"
        raise ImportRefused([ImportProblem(".", None, key, {"pattern": pattern, "count": len(shallowest)})])
    return shallowest[0].parent if label_format is LabelFormat.YOLO else shallowest[0]


def _relative(problem: ImportProblem, scratch: Path) -> ImportProblem:
    path = Path(problem.file)
    shown = str(path.relative_to(scratch)) if path.is_relative_to(scratch) else problem.file
    return ImportProblem(shown, problem.line, problem.key, problem.params)
