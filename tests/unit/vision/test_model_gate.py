"""The gate's rule and the golden set's freezing (vision.model_gate): better on the golden set, no class worse than
the margin anywhere; a golden set whose files changed is refused."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.model_gate import Exam, GoldenSetError, freeze, judge, read_golden
from vision.real_eval import ClassScore, RealScore


def scored(false_boxes: int = 0, **classes: tuple[int, int, int, float | None]) -> RealScore:
    """A score on 10 frames: per class (frames with it, frames predicted, true frames, box AP50)."""
    return RealScore(10, false_boxes, {name: ClassScore(*figures) for name, figures in classes.items()})


ACTIVE = scored(1, stall=(5, 5, 4, 0.80), dust=(3, 3, 2, 0.60))


def reasons(*exams: Exam) -> list[tuple[str, dict[str, object]]]:
    verdict = judge(exams, 0.02)
    return [(r.key, r.params) for r in verdict.reasons]


def test_a_candidate_better_everywhere_passes_and_says_by_how_much() -> None:
    better = scored(0, stall=(5, 5, 5, 0.90), dust=(3, 3, 3, 0.70))
    verdict = judge([Exam("golden", better, ACTIVE, must_beat=True)])
    assert verdict.passed
    ((key, params),) = [(r.key, r.params) for r in verdict.reasons]
    assert key == "term.gate.better"
    assert (params["candidate_f1"], params["active_f1"]) == ("1.000", "0.733")  # mean of 0.8 and 2/3


def test_the_same_model_is_not_better_and_is_refused() -> None:
    verdict = judge([Exam("golden", ACTIVE, ACTIVE, must_beat=True)])
    assert not verdict.passed
    assert [r.key for r in verdict.reasons] == ["term.gate.not_better"]


def test_better_on_average_but_one_class_worse_than_the_margin_is_refused_naming_it() -> None:
    mixed = scored(1, stall=(5, 5, 5, 0.95), dust=(3, 3, 2, 0.50))  # dust's AP50 falls 0.10
    found = reasons(Exam("golden", mixed, ACTIVE, must_beat=True))
    assert found == [
        ("term.gate.class_worse", {"exam": "golden", "class_name": "dust", "measure": "AP50", "candidate": "0.500",
                                   "active": "0.600", "margin": "0.02"}),
    ]  # fmt: skip


def test_more_false_boxes_or_a_worse_class_on_real_photos_refuse_a_candidate_better_on_the_golden_set() -> None:
    better = scored(0, stall=(5, 5, 5, 0.90), dust=(3, 3, 3, 0.70))
    real_active = scored(2, person=(8, 8, 7, 0.7))
    real_candidate = scored(4, person=(8, 6, 5, 0.7))  # 0.4 false boxes a photo against 0.2; person F1 falls
    found = reasons(Exam("golden", better, ACTIVE, True), Exam("real", real_candidate, real_active, False, True))
    assert [(key, params["exam"]) for key, params in found] == [
        ("term.gate.class_worse", "real"),
        ("term.gate.more_false_boxes", "real"),
    ]


def test_false_boxes_within_the_budget_do_not_refuse_and_the_golden_set_does_not_count_them() -> None:
    timid, keen = scored(0, stall=(5, 1, 1, 0.9)), scored(1, stall=(5, 5, 5, 0.9))  # 0.1 false boxes a photo
    assert judge([Exam("real", keen, timid, must_beat=False, counts_false_boxes=True)]).passed
    assert judge([Exam("golden", scored(5, stall=(5, 5, 5, 0.9)), timid, must_beat=True)]).passed


def golden_source(root: Path) -> Path:
    for side, count in (("train", 2), ("val", 3)):
        (root / "images" / side).mkdir(parents=True)
        (root / "labels" / side).mkdir(parents=True)
        for i in range(count):
            cv2.imwrite(str(root / "images" / side / f"cam-1-{side}{i}.jpg"), np.full((48, 64, 3), i * 40, np.uint8))
            (root / "labels" / side / f"cam-1-{side}{i}.txt").write_text("0 0.5 0.5 0.2 0.4\n4 0.2 0.2 0.1 0.1\n")
    (root / "data.yaml").write_text("names: {0: stall, 1: goods, 2: person, 3: vehicle, 4: dust}\n")
    return root


def test_a_frozen_golden_set_reads_back_its_frames_and_boxes(tmp_path: Path) -> None:
    assert freeze(golden_source(tmp_path / "export"), tmp_path / "golden") == 3
    golden = read_golden(tmp_path / "golden")
    assert len(golden.frames) == 3
    assert golden.frames[0].present == {"stall", "dust"}
    assert golden.frames[0].boxes is not None
    assert golden.frames[0].boxes[0].xyxy == pytest.approx((0.4, 0.3, 0.6, 0.7))
    assert read_golden(tmp_path / "golden").fingerprint == golden.fingerprint


@pytest.mark.parametrize(
    ("tamper", "says"),
    [
        (lambda g: (g / "labels" / "cam-1-val0.txt").write_text(""), "labels/cam-1-val0.txt was changed"),
        (lambda g: (g / "images" / "cam-1-val1.jpg").unlink(), "images/cam-1-val1.jpg is missing"),
        (lambda g: (g / "images" / "extra.jpg").write_bytes(b"x"), "images/extra.jpg was added"),
    ],
)
def test_a_golden_set_changed_after_freezing_is_refused(tmp_path: Path, tamper, says: str) -> None:  # type: ignore[no-untyped-def]
    freeze(golden_source(tmp_path / "export"), tmp_path / "golden")
    tamper(tmp_path / "golden")
    with pytest.raises(GoldenSetError, match=says):
        read_golden(tmp_path / "golden")


def test_freezing_refuses_an_existing_folder_and_an_empty_side(tmp_path: Path) -> None:
    source = golden_source(tmp_path / "export")
    (tmp_path / "taken").mkdir()
    with pytest.raises(GoldenSetError, match="exists already"):
        freeze(source, tmp_path / "taken")
    with pytest.raises(GoldenSetError, match="no frames in test"):
        freeze(source, tmp_path / "new", ("test",))
    assert not (tmp_path / "new").exists()
