"""Reviews become labels, split by camera-minute, written as a YOLO dataset (vision.review_dataset)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from vision.review_dataset import (
    LabelledBox,
    LabelledFrame,
    Review,
    ReviewDatasetError,
    frames_from_review,
    split,
    write_dataset,
)

NAMES = ("stall", "goods", "person", "vehicle", "dust", "bare_pile", "covered_pile")
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
STALL = [100.0, 200.0, 300.0, 400.0]
PERSON = [400.0, 100.0, 450.0, 300.0]


def boxes_json(sighting_class: str = "stall", sighting: list[float] = STALL, extra: list[dict] | None = None) -> bytes:
    """A package's boxes.json as the pipeline writes it: three key frames, the stall, a near copy of it and a person."""
    boxes = [
        {"class": "stall", "score": 0.8, "xyxy": STALL},
        {"class": "stall", "score": 0.4, "xyxy": [110.0, 210.0, 305.0, 395.0]},  # the same stall, boxed twice
        {"class": "person", "score": 0.9, "xyxy": PERSON},
        *(extra or []),
    ]
    frames = [
        {
            "role": role,
            "image": f"frame-{role}.jpg",
            "taken_at": (T0 + dt.timedelta(seconds=20 * i)).isoformat(),
            "width": 640,
            "height": 480,
            "sighting": {"class": sighting_class, "score": 0.8, "xyxy": sighting},
            "boxes": boxes,
        }
        for i, role in enumerate(("first", "middle", "confirming"))
    ]
    return json.dumps({"format": "offsite-boxes/1", "frames": frames}).encode()


def review(confirmed: bool, class_name: str | None = None) -> Review:
    return Review(7, confirmed, class_name, "operator1", T0 + dt.timedelta(hours=1))


def labelled(data: bytes, rev: Review, package: str = "ab" * 32, camera: str = "cam-1") -> list[LabelledFrame]:
    return frames_from_review(data, rev, camera, package, "f" * 64, lambda name: f"jpeg of {name}".encode())


def test_a_confirmed_detection_labels_its_frames_with_the_vouched_box_and_the_detectors_others() -> None:
    frames = labelled(boxes_json(), review(True))
    assert [f.provenance["frame"] for f in frames] == ["frame-first.jpg", "frame-middle.jpg", "frame-confirming.jpg"]
    assert [f.provenance["role"] for f in frames] == ["first", "middle", "confirming"]
    for frame in frames:
        assert frame.boxes == (
            LabelledBox("stall", tuple(STALL), True),  # type: ignore[arg-type]
            LabelledBox("person", tuple(PERSON), False),  # type: ignore[arg-type]
        )
        assert not frame.hard_negative
        assert frame.provenance | {"frame": None, "taken_at": None, "role": None} == {
            "detection_id": 7,
            "confirmed": True,
            "labelled_by": "operator1",
            "labelled_at": "2026-03-02T03:00:00+00:00",
            "package": "ab" * 32,
            "frame": None,
            "role": None,
            "taken_at": None,
            "model_sha256": "f" * 64,
        }
    assert frames[1].image() == b"jpeg of frame-middle.jpg"


def test_a_rejected_detection_is_a_hard_negative_without_the_false_box_and_its_doubles() -> None:
    frames = labelled(boxes_json(), review(False))
    for frame in frames:
        assert frame.hard_negative
        assert frame.boxes == (LabelledBox("person", tuple(PERSON), False),)  # type: ignore[arg-type]


def test_a_stall_elsewhere_in_a_rejected_frame_stays_as_the_detector_saw_it() -> None:
    other = {"class": "stall", "score": 0.7, "xyxy": [500.0, 300.0, 600.0, 420.0]}
    (frame, *_rest) = labelled(boxes_json(extra=[other]), review(False))
    assert LabelledBox("stall", (500.0, 300.0, 600.0, 420.0), False) in frame.boxes
    assert all(box.xyxy != tuple(STALL) for box in frame.boxes)


def test_an_unknown_object_classified_on_review_becomes_a_box_of_the_violations_class() -> None:
    box = [50.0, 60.0, 150.0, 200.0]
    (frame, *_rest) = labelled(boxes_json("unknown_object", box), review(True, "stall"))
    assert frame.boxes[0] == LabelledBox("stall", tuple(box), True)  # type: ignore[arg-type]
    # classified as a violation no class names: the frame keeps the detector's boxes, the object no label
    (unnamed, *_rest) = labelled(boxes_json("unknown_object", box), review(True, None))
    assert all(b.class_name != "unknown_object" and b.xyxy != tuple(box) for b in unnamed.boxes)


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"not json", "cannot be read"),
        (json.dumps({"format": "other/9", "frames": []}).encode(), "offsite-boxes/1"),
        (boxes_json(sighting=[300.0, 200.0, 100.0, 400.0]), "x2 < x1"),
        (boxes_json().replace(b"+00:00", b""), "time zone"),
    ],
)
def test_boxes_that_cannot_be_read_are_refused_naming_the_package(data: bytes, problem: str) -> None:
    with pytest.raises(ReviewDatasetError, match=problem) as refused:
        labelled(data, review(True))
    assert "abababababab" in str(refused.value)


def frame(camera: str, minute: int, package: str, second: int = 0) -> LabelledFrame:
    taken = T0 + dt.timedelta(minutes=minute, seconds=second)
    return LabelledFrame(f"{camera}-{package}-{minute}-{second}", camera, taken, 640, 480, (), package, {}, bytes)


def test_no_camera_minute_and_no_occurrence_is_on_both_sides() -> None:
    frames = [frame(f"cam-{c}", m, f"p{c}-{m // 3}", s) for c in range(4) for m in range(60) for s in (0, 30)]
    sides = split(frames, 0.25)
    by_minute: dict[str, set[str]] = {}
    by_occurrence: dict[str, set[str]] = {}
    for f in frames:
        by_minute.setdefault(f.camera_minute, set()).add(sides[f.name])
        by_occurrence.setdefault(f.occurrence, set()).add(sides[f.name])
    assert all(len(s) == 1 for s in by_minute.values())
    assert all(len(s) == 1 for s in by_occurrence.values())
    val = sum(1 for s in sides.values() if s == "val") / len(sides)
    assert 0.1 < val < 0.4


def test_an_occurrence_across_minutes_keeps_its_frames_together_and_joins_the_minutes_it_touches() -> None:
    spanning = [frame("cam-1", 0, "long", 50), frame("cam-1", 1, "long", 10), frame("cam-1", 2, "long", 5)]
    short = frame("cam-1", 2, "short", 40)  # another occurrence in a minute the long one touches
    sides = split([*spanning, short], 0.5)
    assert len({sides[f.name] for f in [*spanning, short]}) == 1


def test_the_split_is_stable_as_the_data_grows_and_never_leaves_a_side_empty() -> None:
    first = [frame("cam-1", m, f"p{m}") for m in range(0, 200, 2)]
    more = [frame("cam-2", m, f"q{m}") for m in range(0, 200, 3)]
    before = split(first, 0.2)
    after = split([*first, *more], 0.2)
    assert all(after[name] == side for name, side in before.items())
    two = [frame("cam-1", 0, "a"), frame("cam-1", 5, "b")]
    assert sorted(split(two, 0.01).values()) == ["train", "val"]
    assert sorted(split(two, 0.99).values()) == ["train", "val"]
    with pytest.raises(ReviewDatasetError, match="between 0 and 1"):
        split(two, 1.0)


def test_the_dataset_holds_images_yolo_labels_provenance_and_a_report(tmp_path: Path) -> None:
    frames = labelled(boxes_json(), review(True), package="aa" * 32) + labelled(
        boxes_json(), review(False), package="bb" * 32, camera="cam-2"
    )
    summary = write_dataset(frames, tmp_path / "ds", NAMES, 0.5)
    assert summary.images["train"] + summary.images["val"] == 6
    assert summary.hard_negatives == 3
    data = (tmp_path / "ds" / "data.yaml").read_text()
    assert "train: images/train" in data
    assert "  0: stall\n" in data
    assert "  6: covered_pile\n" in data
    labels = {p.stem: p.read_text().splitlines() for p in (tmp_path / "ds" / "labels").rglob("*.txt")}
    confirmed = labels[frames[0].name]
    assert confirmed[0].split()[0] == "0"  # stall first, then the person
    cx, cy, w, h = (float(v) for v in confirmed[0].split()[1:])
    assert (cx, cy, w, h) == pytest.approx((200 / 640, 300 / 480, 200 / 640, 200 / 480))
    assert [line.split()[0] for line in labels[frames[3].name]] == ["2"]  # the hard negative: the person alone
    images = sorted(p.name for p in (tmp_path / "ds" / "images").rglob("*.jpg"))
    assert images == sorted(f"{f.name}.jpg" for f in frames)
    provenance = [json.loads(line) for line in (tmp_path / "ds" / "provenance.jsonl").read_text().splitlines()]
    assert {p["labelled_by"] for p in provenance} == {"operator1"}
    assert all((tmp_path / "ds" / p["image"]).exists() for p in provenance)
    report = (tmp_path / "ds" / "report.csv").read_text().splitlines()
    assert report[0] == "class,camera,side,frames_of_camera,boxes_vouched,boxes_of_detector"
    stall_row = next(r.split(",") for r in report if r.startswith("stall,cam-1,"))
    assert stall_row[3:] == ["3", "3", "0"]


def test_a_box_of_a_class_the_detector_does_not_name_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    frames = labelled(boxes_json(), review(True, "kiosk"))
    with pytest.raises(ReviewDatasetError, match="kiosk"):
        write_dataset(frames, tmp_path / "ds", NAMES)
    assert not (tmp_path / "ds").exists()


def test_a_failure_while_writing_leaves_nothing_behind(tmp_path: Path) -> None:
    def unreadable(name: str) -> bytes:
        if name == "frame-confirming.jpg":
            raise OSError("the evidence store stopped answering")
        return b"jpeg"

    frames = frames_from_review(boxes_json(), review(True), "cam-1", "cc" * 32, None, unreadable)
    with pytest.raises(OSError, match="stopped answering"):
        write_dataset(frames, tmp_path / "ds", NAMES)
    assert not (tmp_path / "ds").exists()
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("someone's")
    with pytest.raises(ReviewDatasetError, match="not empty"):
        write_dataset(frames, tmp_path / "taken", NAMES)
    assert (tmp_path / "taken" / "x").read_text() == "someone's"
