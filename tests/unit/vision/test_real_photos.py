"""A folder of real photos is read as labels.csv and its box files say, and every way it can be wrong is refused
with the file and line that hold the fault."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.real_photos import RealPhotoError, group_of, read_folder, read_image, split

COLUMNS = ("file", "source_repo", "source_path", "classes_present", "scene", "camera", "box_labels", "notes")


def write_folder(root: Path, rows: list[dict[str, str]], boxes: dict[str, str]) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for row in rows:
        cv2.imwrite(str(root / "images" / row["file"]), np.full((48, 64, 3), 90, np.uint8))
    for name, text in boxes.items():
        (root / "labels" / name).write_text(text, encoding="utf-8")
    with (root / "labels.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: row.get(column, "") for column in COLUMNS})
    return root


def row(file: str, present: str, repo: str = "someone/photos", **more: str) -> dict[str, str]:
    return {"file": file, "classes_present": present, "source_repo": repo, **more}


def test_photos_carry_their_classes_boxes_and_group(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "real",
        [
            row("a.jpg", "stall;person", box_labels="labels/a.txt", notes="market"),
            row("b.jpg", "vehicle", notes="Excavator beside a truck"),
        ],
        {"a.txt": "0 0.5 0.5 0.2 0.4\n5 0.25 0.75 0.1 0.2\n"},
    )
    a, b = read_folder(folder)
    assert a.present == {"stall", "person"}
    assert a.source == "someone/photos"
    assert [box.name for box in a.boxes or ()] == ["stall", "person"]
    assert a.boxes is not None
    assert a.boxes[0].xyxy == pytest.approx((0.4, 0.3, 0.6, 0.7))
    assert a.boxed("stall")
    assert a.boxed("goods")
    assert b.boxes is None
    assert not b.boxed("vehicle")
    assert b.excavator
    assert not a.excavator


def test_chips_of_one_orthophoto_form_one_group() -> None:
    path = "sets/test/images/ortofoto_bogota_kennedy_2021_rgb__chip_10_63_png.rf.044a.jpg"
    assert group_of("Ingenieco/pesquisaMMQ", path) == "Ingenieco/pesquisaMMQ:ortofoto_bogota_kennedy_2021_rgb_"
    assert group_of("someone/photos", "street/7.jpg") == "someone/photos"


def test_a_hold_out_keeps_whole_repositories_and_named_groups_back(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "real",
        [
            row("kept.jpg", "person", "held/back"),
            row("chip1.jpg", "stall", "air/chips", source_path="x/city_a_chip_1_2.jpg"),
            row("chip2.jpg", "stall", "air/chips", source_path="x/city_b_chip_3_4.jpg"),
            row("train.jpg", "person", "other/repo"),
        ],
        {},
    )
    train, held = split(read_folder(folder), ["held/back", "air/chips:city_a"])
    assert [p.name for p in train] == ["chip2.jpg", "train.jpg"]
    assert [p.name for p in held] == ["kept.jpg", "chip1.jpg"]


@pytest.mark.parametrize(
    ("rows", "boxes", "says"),
    [
        ([row("a.jpg", "stall;cat")], {}, "line 2: unknown class(es) cat"),
        ([row("a.jpg", "stall"), row("a.jpg", "stall")], {}, "photos listed twice: a.jpg"),
        ([row("a.jpg", "stall", box_labels="labels/a.txt")], {"a.txt": "0 0.5 0.5 0.2\n"}, "a.txt, line 1"),
        ([row("a.jpg", "stall", box_labels="labels/a.txt")], {"a.txt": "\n9 0.5 0.5 0.2 0.2\n"}, "a.txt, line 2"),
        ([row("a.jpg", "stall", box_labels="labels/a.txt")], {"a.txt": "0 1.5 0.5 0.2 0.2\n"}, "normalised"),
        ([row("a.jpg", "stall", box_labels="labels/none.txt")], {}, "none.txt does not exist"),
        ([row("../a.jpg", "stall")], {}, "is not a plain file name"),
    ],
)
def test_a_faulty_folder_is_refused_naming_the_fault(
    tmp_path: Path, rows: list[dict[str, str]], boxes: dict[str, str], says: str
) -> None:
    if rows[0]["file"].startswith(".."):
        folder = write_folder(tmp_path / "real", [], {})
        with (folder / "labels.csv").open("a", encoding="utf-8") as handle:
            handle.write("../a.jpg,r,p,stall,,,,\n")
    else:
        folder = write_folder(tmp_path / "real", rows, boxes)
    with pytest.raises(RealPhotoError) as refused:
        read_folder(folder)
    assert says in str(refused.value)


def test_a_listed_photo_that_is_missing_is_named(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "real", [row("a.jpg", "stall")], {})
    (folder / "images" / "a.jpg").unlink()
    with pytest.raises(RealPhotoError, match=r"line 2: image .*a\.jpg does not exist"):
        read_folder(folder)


def test_a_folder_without_labels_csv_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RealPhotoError, match=r"no labels\.csv"):
        read_folder(tmp_path)


def test_a_photo_whose_boxes_name_a_class_its_row_does_not_list_says_which(tmp_path: Path) -> None:
    folder = write_folder(
        tmp_path / "real",
        [row("a.jpg", "vehicle", box_labels="labels/a.txt"), row("b.jpg", "stall", box_labels="labels/b.txt")],
        {"a.txt": "6 0.5 0.5 0.2 0.4\n5 0.25 0.75 0.1 0.2\n1 0.2 0.2 0.1 0.1\n", "b.txt": "0 0.5 0.5 0.2 0.4\n"},
    )
    a, b = read_folder(folder)
    assert a.unlisted == ("goods", "person")
    assert b.unlisted == ()


def test_a_labels_csv_saved_with_a_byte_order_mark_reads_as_without(tmp_path: Path) -> None:
    """Excel and WPS save UTF-8 with a byte order mark: the first column is still ``file``."""
    folder = write_folder(tmp_path / "real", [row("a.jpg", "stall", notes="路边摊")], {})
    table = folder / "labels.csv"
    table.write_bytes(b"\xef\xbb\xbf" + table.read_bytes())
    (photo,) = read_folder(folder)
    assert (photo.name, photo.present, photo.notes) == ("a.jpg", {"stall"}, "路边摊")


@pytest.mark.parametrize("name", ["labels.csv", "classes.txt", "labels/a.txt"])
def test_a_file_of_the_folder_that_is_not_utf8_is_refused_naming_it(tmp_path: Path, name: str) -> None:
    """A file saved in GBK (as Chinese Windows saves text by default) is refused with its name and where it stops
    reading, not a traceback."""
    folder = write_folder(tmp_path / "real", [row("a.jpg", "stall", box_labels="labels/a.txt")],
                          {"a.txt": "0 0.5 0.5 0.2 0.4\n"})  # fmt: skip
    path = folder / name
    text = path.read_text(encoding="utf-8") if path.exists() else "stall\n"
    path.write_bytes(text.encode("utf-8") + "# 路边摊\n".encode("gbk"))
    with pytest.raises(RealPhotoError, match=rf"{name}: not UTF-8 text \(line \d+\); save it as UTF-8"):
        read_folder(folder)


def test_a_photo_that_does_not_decode_is_refused_naming_it(tmp_path: Path) -> None:
    """A photo cut short in copying: read_image says which, as the scoring reads it."""
    folder = write_folder(tmp_path / "real", [row("a.jpg", "stall")], {})
    (photo,) = read_folder(folder)
    assert read_image(photo.path).shape == (48, 64, 3)
    photo.path.write_bytes(photo.path.read_bytes()[:40])
    with pytest.raises(RealPhotoError, match=r"a\.jpg: not an image that can be decoded"):
        read_image(photo.path)
