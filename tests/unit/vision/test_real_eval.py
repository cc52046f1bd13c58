"""The real-photo figures count as the issue defines them: image-level precision and recall at the shipped
threshold, false violation boxes per photo, box AP50 over trusted boxes, vehicles under COCO's names, excavators
not held against a model, and photos trained on kept apart from those never seen."""

from __future__ import annotations

from pathlib import Path

import pytest

from vision.real_eval import Finding, average_precision, best_thresholds, evaluate, ours, score
from vision.real_photos import Box, RealPhoto

CLASSES = ("stall", "goods", "dust", "bare_pile", "covered_pile", "person", "vehicle")


def photo(name: str, present: str, boxes: list[Box] | None = None, notes: str = "") -> RealPhoto:
    classes = frozenset(p for p in present.split(";") if p)
    return RealPhoto(Path(name), classes, "street", "high", "repo", notes, None if boxes is None else tuple(boxes))


def find(name: str, confidence: float, xyxy: tuple[float, float, float, float] = (0.1, 0.1, 0.3, 0.3)) -> Finding:
    return Finding(name, confidence, xyxy)


def test_a_class_is_predicted_in_a_photo_when_a_box_reaches_its_threshold() -> None:
    photos = [photo("a", "stall"), photo("b", "stall"), photo("c", "person"), photo("d", "")]
    findings = {"a": [find("stall", 0.9)], "b": [find("stall", 0.3)], "c": [find("stall", 0.6)], "d": []}
    result = score(photos, findings, {"stall": 0.5}, CLASSES)
    stall = result.per_class["stall"]
    assert (stall.images_with, stall.images_predicted, stall.true_images) == (2, 2, 1)
    assert stall.precision == 0.5
    assert stall.recall == 0.5
    assert result.per_class["goods"].precision is None
    assert result.per_class["goods"].recall is None


def test_false_violation_boxes_count_violation_boxes_in_photos_without_that_violation() -> None:
    photos = [photo("street", "person"), photo("market", "stall;person")]
    findings = {
        "street": [find("stall", 0.9), find("goods", 0.8), find("dust", 0.1), find("person", 0.9)],
        "market": [find("stall", 0.9), find("stall", 0.8), find("bare_pile", 0.7)],
    }
    result = score(photos, findings, dict.fromkeys(CLASSES, 0.25), CLASSES)
    # street: stall + goods (dust under threshold, person is no violation); market: the pile only
    assert result.false_violation_boxes == 3
    assert result.false_violation_boxes_per_image == 1.5


def test_coco_names_count_as_ours() -> None:
    assert [ours(n) for n in ("car", "truck", "bus", "person", "chair", "stall")] == [
        "vehicle", "vehicle", "vehicle", "person", None, "stall",
    ]  # fmt: skip


def test_a_vehicle_box_on_an_excavator_is_not_held_against_the_model() -> None:
    truck = Box("vehicle", (0.5, 0.5, 0.9, 0.9))
    photos = [
        photo("dig", "bare_pile", [Box("bare_pile", (0.0, 0.0, 0.4, 0.4))], notes="excavator on a heap"),
        photo("load", "vehicle", [truck], notes="excavator loading a truck"),
        photo("road", "", []),
    ]
    findings = {
        "dig": [find("vehicle", 0.9, (0.6, 0.6, 0.8, 0.8))],
        "load": [find("vehicle", 0.95, (0.0, 0.0, 0.3, 0.3)), find("vehicle", 0.9, (0.5, 0.5, 0.9, 0.9))],
        "road": [],
    }
    vehicle = score(photos, findings, {"vehicle": 0.5}, CLASSES).per_class["vehicle"]
    assert vehicle.precision == 1.0
    assert vehicle.recall == 1.0
    assert vehicle.box_ap50 == pytest.approx(1.0)  # the excavator's box, ranked first, is no false positive
    findings["road"] = [find("vehicle", 0.9)]
    assert score(photos, findings, {"vehicle": 0.5}, CLASSES).per_class["vehicle"].precision == 0.5


def test_box_ap50_matches_boxes_at_iou_half_and_ranks_by_confidence() -> None:
    truth = [Box("person", (0.1, 0.1, 0.3, 0.5)), Box("person", (0.6, 0.1, 0.8, 0.5))]
    photos = [photo("p", "person", truth)]
    exact = {"p": [find("person", 0.9, truth[0].xyxy), find("person", 0.8, truth[1].xyxy)]}
    assert score(photos, exact, {}, CLASSES).per_class["person"].box_ap50 == pytest.approx(1.0)
    # IoU 1/7: a false positive ranked first; half the people found at precision 0.5
    shifted = {"p": [find("person", 0.9, (0.2, 0.3, 0.4, 0.7)), find("person", 0.8, truth[1].xyxy)]}
    assert score(photos, shifted, {}, CLASSES).per_class["person"].box_ap50 == pytest.approx(0.25, abs=0.01)
    twice = {"p": [find("person", 0.9, truth[0].xyxy), find("person", 0.8, truth[0].xyxy)]}  # a duplicate
    assert score(photos, twice, {}, CLASSES).per_class["person"].box_ap50 == pytest.approx(0.5, abs=0.01)


def test_box_ap50_only_counts_photos_whose_boxes_can_be_trusted_for_the_class() -> None:
    aerial = photo("chip", "stall;person", [Box("stall", (0.1, 0.1, 0.2, 0.2))])  # people seen, not boxed
    findings = {"chip": [find("person", 0.9), find("stall", 0.8, (0.1, 0.1, 0.2, 0.2))]}
    result = score([aerial], findings, {}, CLASSES)
    assert result.per_class["person"].box_ap50 is None
    assert result.per_class["stall"].box_ap50 == pytest.approx(1.0)
    assert result.map50 == pytest.approx(1.0)


def test_average_precision_of_nothing_found_is_zero() -> None:
    assert average_precision([], 3) == 0.0
    assert average_precision([(0.9, False), (0.8, True)], 1) == pytest.approx(0.5, abs=0.01)


def test_photos_trained_on_are_scored_apart_from_those_never_seen() -> None:
    photos = [photo("seen.jpg", "stall"), photo("new.jpg", "stall")]
    found = {"seen.jpg": [find("stall", 0.9)], "new.jpg": []}
    result = evaluate("m.onnx", photos, lambda path: found[path.name], {"stall": 0.5}, ["stall"], ["seen.jpg"])
    assert result.trained_on.per_class["stall"].recall == 1.0
    assert result.held_out.per_class["stall"].recall == 0.0
    assert result.all.per_class["stall"].recall == 0.5
    assert list(result.held_out.per_class) == ["stall"]  # a class the model cannot name is not scored
    assert result.as_dict()["held_out"]["photos"] == 1


def test_the_chosen_threshold_is_the_one_of_best_image_level_f1() -> None:
    photos = [photo("a", "stall"), photo("b", "stall"), photo("c", "person"), photo("d", "")]
    findings = {
        "a": [find("stall", 0.9)],
        "b": [find("stall", 0.5)],
        "c": [find("stall", 0.4), find("person", 0.3)],
        "d": [find("stall", 0.2)],
    }
    chosen = best_thresholds(photos, findings, ["stall", "person", "goods"])
    assert chosen["stall"] == 0.5  # the highest that keeps both stalls, dropping the false ones at 0.4 and 0.2
    assert chosen["person"] == 0.3
    assert "goods" not in chosen  # no photo holds goods: nothing to choose by
    result = evaluate("m", photos, lambda path: findings[path.name], {}, ["stall", "person"], choose=True)
    assert result.thresholds["stall"] == 0.5
    assert result.all.per_class["stall"].precision == 1.0


def test_a_violation_class_keeps_its_false_boxes_within_its_share() -> None:
    # 20 photos without a stall, one false stall box at 0.6 in each of three; one photo with a stall found at 0.7
    photos = [photo("s", "stall")] + [photo(f"n{i}", "person") for i in range(20)]
    findings: dict[str, list[Finding]] = {"s": [find("stall", 0.7)]} | {f"n{i}": [] for i in range(20)}
    for i in range(3):
        findings[f"n{i}"].append(find("stall", 0.6))
    chosen = best_thresholds(photos, findings, ["stall"])
    assert chosen["stall"] == 0.7  # 0.6 would keep the stall too but leave 3 false boxes in 21 photos


def test_photos_whose_boxes_and_row_disagree_are_named_and_scored_by_their_row() -> None:
    """The row's classes_present is the image-level truth; a box of a class it does not list is reported, so that
    whoever keeps the labels can mend one or the other."""
    person = Box("person", (0.1, 0.1, 0.3, 0.3))
    photos = [photo("dumper.jpg", "vehicle", [person, Box("vehicle", (0.5, 0.5, 0.9, 0.9))]), photo("b.jpg", "")]
    findings = {"dumper.jpg": [find("person", 0.8)], "b.jpg": []}
    result = evaluate("m.onnx", photos, lambda path: findings[path.name], {"person": 0.5}, ["person", "vehicle"])
    assert result.disagreements == {"dumper.jpg": ("person",)}
    assert result.as_dict()["label_disagreements"] == {"dumper.jpg": ["person"]}
    assert result.all.per_class["person"].precision == 0.0
