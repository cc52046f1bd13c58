"""Labelled data from YOLO, COCO, Label Studio and CVAT, taken into our classes whole or not at all
(vision.label_import). Each format is written here as its tool writes it, and read back: the same boxes come out."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from offsite.learning import told_problem
from vision.label_import import ImportRefused, LabelFormat, import_labels, read_labels

NAMES = ("stall", "goods", "person", "vehicle", "dust", "bare_pile", "covered_pile")
W, H = 640, 480
# (their class, x1, y1, x2, y2) in pixels of a 640×480 picture
BOXES = {"a.jpg": [("stall", 64, 96, 320, 288), ("car", 400, 300, 560, 420)], "b.jpg": [("person", 10, 20, 50, 200)]}


def pictures(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in BOXES:
        cv2.imwrite(str(folder / name), np.full((H, W, 3), 90, np.uint8))
    return folder


def coco_file(tmp_path: Path) -> Path:
    images = [{"id": i + 1, "file_name": name, "width": W, "height": H} for i, name in enumerate(BOXES)]
    categories = [{"id": 1, "name": "stall"}, {"id": 3, "name": "car"}, {"id": 7, "name": "person"}]
    ids = {c["name"]: c["id"] for c in categories}
    annotations = [
        {"id": n, "image_id": i + 1, "category_id": ids[c], "bbox": [x1, y1, x2 - x1, y2 - y1]}
        for i, (_name, boxes) in enumerate(BOXES.items())
        for n, (c, x1, y1, x2, y2) in enumerate(boxes)
    ]
    path = tmp_path / "instances.json"
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}, indent=2))
    return path


def label_studio_file(tmp_path: Path) -> Path:
    tasks = [
        {
            "id": i,
            "data": {"image": f"/data/upload/1/{name}"},
            "annotations": [
                {
                    "result": [
                        {
                            "id": f"r{n}",
                            "type": "rectanglelabels",
                            "original_width": W,
                            "original_height": H,
                            "value": {
                                "x": x1 / W * 100,
                                "y": y1 / H * 100,
                                "width": (x2 - x1) / W * 100,
                                "height": (y2 - y1) / H * 100,
                                "rotation": 0,
                                "rectanglelabels": [c],
                            },
                        }
                        for n, (c, x1, y1, x2, y2) in enumerate(boxes)
                    ]
                }
            ],
        }
        for i, (name, boxes) in enumerate(BOXES.items())
    ]
    path = tmp_path / "project.json"
    path.write_text(json.dumps(tasks, indent=2))
    return path


def cvat_file(tmp_path: Path) -> Path:
    body = "".join(
        f'  <image id="{i}" name="{name}" width="{W}" height="{H}">\n'
        + "".join(
            f'    <box label="{c}" occluded="0" xtl="{x1}" ytl="{y1}" xbr="{x2}" ybr="{y2}" z_order="0"/>\n'
            for c, x1, y1, x2, y2 in boxes
        )
        + "  </image>\n"
        for i, (name, boxes) in enumerate(BOXES.items())
    )
    path = tmp_path / "annotations.xml"
    path.write_text(
        f'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n{body}</annotations>\n'
    )
    return path


def yolo_folder(tmp_path: Path) -> Path:
    root = tmp_path / "yolo"
    pictures(root / "images" / "train")
    (root / "labels" / "train").mkdir(parents=True)
    theirs = ["stall", "car", "person"]
    for name, boxes in BOXES.items():
        lines = [
            f"{theirs.index(c)} {(x1 + x2) / 2 / W} {(y1 + y2) / 2 / H} {(x2 - x1) / W} {(y2 - y1) / H}\n"
            for c, x1, y1, x2, y2 in boxes
        ]
        (root / "labels" / "train" / name.replace(".jpg", ".txt")).write_text("".join(lines))
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/train\nnames: [stall, car, person]\n")
    return root


def source_for(label_format: LabelFormat, tmp_path: Path) -> tuple[Path, Path | None]:
    if label_format is LabelFormat.YOLO:
        return yolo_folder(tmp_path), None
    images = pictures(tmp_path / "pictures")
    made = {LabelFormat.COCO: coco_file, LabelFormat.LABEL_STUDIO: label_studio_file, LabelFormat.CVAT: cvat_file}
    return made[label_format](tmp_path), images


@pytest.mark.parametrize("label_format", list(LabelFormat))
def test_every_format_gives_the_same_boxes_in_our_classes(label_format: LabelFormat, tmp_path: Path) -> None:
    source, images = source_for(label_format, tmp_path)
    summary = import_labels(source, label_format, tmp_path / "out", NAMES, images)
    assert summary.images == 2
    assert summary.boxes_per_class == {"stall": 1, "vehicle": 1, "person": 1}  # COCO's car is our vehicle
    labels = sorted((tmp_path / "out" / "labels" / "train").glob("*.txt"))
    first = [line.split() for line in labels[0].read_text().splitlines()]
    assert [row[0] for row in first] == ["0", "3"]
    assert [float(v) for v in first[0][1:]] == pytest.approx([192 / W, 192 / H, 256 / W, 192 / H], abs=1e-5)
    assert len(list((tmp_path / "out" / "images" / "train").iterdir())) == 2
    assert "  3: vehicle" in (tmp_path / "out" / "data.yaml").read_text()
    assert json.loads((tmp_path / "out" / "source.json").read_text())["format"] == label_format.value


@pytest.mark.parametrize("label_format", list(LabelFormat))
def test_an_export_saved_with_a_byte_order_mark_is_read_as_without(label_format: LabelFormat, tmp_path: Path) -> None:
    """Tools on Windows write UTF-8 with a byte order mark: the annotations (data.yaml for YOLO) read the same."""
    source, images = source_for(label_format, tmp_path)
    marked = source / "data.yaml" if source.is_dir() else source
    marked.write_bytes(b"\xef\xbb\xbf" + marked.read_bytes())
    summary = import_labels(source, label_format, tmp_path / "out", NAMES, images)
    assert (summary.images, summary.boxes_per_class) == (2, {"stall": 1, "vehicle": 1, "person": 1})


def test_a_class_of_theirs_is_mapped_or_dropped_as_told_and_refused_otherwise(tmp_path: Path) -> None:
    source, images = source_for(LabelFormat.COCO, tmp_path)
    text = source.read_text().replace('"name": "stall"', '"name": "booth"')
    source.write_text(text)
    with pytest.raises(ImportRefused) as refused:
        read_labels(source, LabelFormat.COCO, NAMES, images)
    lines = text.splitlines()
    first_annotation = next(
        n + 1 for n, line in enumerate(lines) if line == "    {" and n > lines.index('  "annotations": [')
    )
    assert [(p.line, p.key, p.params["theirs"]) for p in refused.value.problems] == [
        (first_annotation, "class_not_ours", "'booth'")
    ]
    found, _ = read_labels(source, LabelFormat.COCO, NAMES, images, {"booth": "stall"})
    assert sum(b.class_name == "stall" for i in found for b in i.boxes) == 1
    found, dropped = read_labels(source, LabelFormat.COCO, NAMES, images, {"booth": None})
    assert all(b.class_name != "stall" for i in found for b in i.boxes)
    assert dropped == {"booth": 1}
    with pytest.raises(ImportRefused) as refused:
        read_labels(source, LabelFormat.COCO, NAMES, images, {"booth": "kiosk"})
    assert told_problem(refused.value.problems[0]).english == "booth=kiosk: kiosk is not a class of ours"


def problems_of(label_format: LabelFormat, source: Path, images: Path | None) -> list[tuple[str, int | None, str]]:
    """Each problem's file, line, and reason as the catalogue tells it in English."""
    with pytest.raises(ImportRefused) as refused:
        read_labels(source, label_format, NAMES, images)
    return [(Path(p.file).name, p.line, told_problem(p).english) for p in refused.value.problems]


def test_a_bad_yolo_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    root = yolo_folder(tmp_path)
    (root / "labels" / "train" / "b.txt").write_text("2 0.1 0.2 0.1 0.3\n\n0 0.5 0.5 1.4 0.2\n9 0.5 0.5 0.1 0.1\nx\n")
    assert problems_of(LabelFormat.YOLO, root, None) == [
        ("b.txt", 3, "centre and size must be fractions of the picture (0..1)"),
        ("b.txt", 4, "class 9 is not in data.yaml's names"),
        ("b.txt", 5, "1 fields, not 5 (class cx cy w h)"),
    ]


def test_a_bad_coco_annotation_is_named_by_the_line_it_starts_on(tmp_path: Path) -> None:
    source, images = source_for(LabelFormat.COCO, tmp_path)
    document = json.loads(source.read_text())
    document["annotations"][1]["bbox"] = [600, 400, 200, 200]  # past the picture's edge
    document["annotations"][2]["image_id"] = 99
    source.write_text(json.dumps(document, indent=2))
    lines = source.read_text().splitlines()
    starts = [n + 1 for n, line in enumerate(lines) if line == "    {" and n > lines.index('  "annotations": [')]
    assert problems_of(LabelFormat.COCO, source, images) == [
        ("instances.json", starts[1], "the box [600.0, 400.0, 800.0, 600.0] lies outside the 640×480 picture"),
        ("instances.json", starts[2], "image 99 is not among the images (or its file is missing)"),
    ]


def test_broken_json_and_a_missing_picture_are_named(tmp_path: Path) -> None:
    source, images = source_for(LabelFormat.LABEL_STUDIO, tmp_path)
    text = source.read_text()
    source.write_text(text.replace('"rotation": 0,', '"rotation": 0', 1))
    ((name, line, reason),) = problems_of(LabelFormat.LABEL_STUDIO, source, images)
    assert (name, reason.startswith("not JSON")) == ("project.json", True)
    assert line is not None
    assert line > 1
    source.write_text(text)
    assert images is not None
    (images / "b.jpg").unlink()
    second_task = [n + 1 for n, line in enumerate(text.splitlines()) if line == "  {"][1]
    assert problems_of(LabelFormat.LABEL_STUDIO, source, images) == [
        ("project.json", second_task, f"the image '/data/upload/1/b.jpg' is not in {images}")
    ]


def test_cvat_refuses_a_doctype_and_names_a_bad_box_by_line(tmp_path: Path) -> None:
    source, images = source_for(LabelFormat.CVAT, tmp_path)
    text = source.read_text()
    source.write_text(text.replace('xtl="64"', 'xtl="400"'))  # x2 (320) < x1: no area
    assert problems_of(LabelFormat.CVAT, source, images) == [
        ("annotations.xml", 5, "the box [400.0, 96.0, 320.0, 288.0] has no area")
    ]
    hostile = text.replace(
        '<?xml version="1.0" encoding="utf-8"?>',
        '<?xml version="1.0"?>\n<!DOCTYPE a [<!ENTITY e SYSTEM "file:///etc/passwd">]>',
    )
    source.write_text(hostile)
    ((_name, _line, reason),) = problems_of(LabelFormat.CVAT, source, images)
    assert reason == "a DOCTYPE is not accepted"


def test_a_refused_import_writes_nothing(tmp_path: Path) -> None:
    source, images = source_for(LabelFormat.COCO, tmp_path)
    source.write_text(source.read_text().replace('"name": "car"', '"name": "tram"'))
    with pytest.raises(ImportRefused):
        import_labels(source, LabelFormat.COCO, tmp_path / "out", NAMES, images)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["instances.json", "pictures"]
    (tmp_path / "taken").mkdir()
    with pytest.raises(ImportRefused, match="out_exists"):
        import_labels(source, LabelFormat.COCO, tmp_path / "taken", NAMES, images)


def zipped(folder: Path, archive: Path, prefix: str = "") -> Path:
    import zipfile

    with zipfile.ZipFile(archive, "w") as packed:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                packed.write(path, prefix + str(path.relative_to(folder)))
    return archive


def test_a_zipped_label_studio_export_with_its_pictures_in_a_subfolder_is_imported(tmp_path: Path) -> None:
    from vision.label_import import import_archive

    export = tmp_path / "export"
    export.mkdir()
    label_studio_file(export)
    pictures(export / "media" / "upload")
    summary = import_archive(zipped(export, tmp_path / "ls.zip"), LabelFormat.LABEL_STUDIO, tmp_path / "out", NAMES)
    assert (summary.images, summary.boxes_per_class) == (2, {"stall": 1, "vehicle": 1, "person": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "ls.zip", "out"]  # no scratch folder left


def test_a_zipped_export_names_its_problems_as_the_archive_does_and_keeps_nothing(tmp_path: Path) -> None:
    from vision.label_import import import_archive

    export = tmp_path / "export"
    export.mkdir()
    source = coco_file(export)
    source.write_text(source.read_text().replace('"name": "car"', '"name": "tram"'))
    pictures(export)
    with pytest.raises(ImportRefused) as refused:
        import_archive(zipped(export, tmp_path / "coco.zip"), LabelFormat.COCO, tmp_path / "out", NAMES)
    assert {p.file for p in refused.value.problems} == {"instances.json"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["coco.zip", "export"]


@pytest.mark.parametrize(
    ("member", "key"),
    [("../outside.json", "archive_escape"), ("notes.txt", "archive_no_annotations")],
)
def test_an_archive_that_reaches_outside_itself_or_holds_no_annotations_is_refused(
    tmp_path: Path, member: str, key: str
) -> None:
    import zipfile

    from vision.label_import import import_archive

    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as packed:
        packed.writestr(member, "{}")
    with pytest.raises(ImportRefused) as refused:
        import_archive(tmp_path / "bad.zip", LabelFormat.COCO, tmp_path / "work" / "out", NAMES)
    assert [p.key for p in refused.value.problems] == [key]
    assert not (tmp_path / "outside.json").exists()
    assert list((tmp_path / "work").iterdir()) == []
    (tmp_path / "plain.zip").write_bytes(b"not a zip at all")
    with pytest.raises(ImportRefused) as not_zip:
        import_archive(tmp_path / "plain.zip", LabelFormat.COCO, tmp_path / "work" / "out", NAMES)
    assert [p.key for p in not_zip.value.problems] == ["not_zip"]
