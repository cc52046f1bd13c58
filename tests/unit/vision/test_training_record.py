"""What a training run leaves for the manifest and the model card: its record, read from the files Ultralytics
writes beside the weights, and the model it continued from. None of this needs torch."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from vision.manifest import ClassMetrics, ModelManifest, manifest_path_for
from vision.training import Evaluation, training_record, write_model_card

PREVIOUS = {
    "file": "offsite-street.onnx",
    "sha256": "a" * 64,
    "created": "2026-12-01T08:25:06+00:00",
    "training": {"imgsz": 480, "epochs": 25, "time": 1.95},
    "training_data": {"generator": "vision.synthetic", "seed": 2027, "images": 1100, "imgsz": 512},
    "map50": 0.734,
}


def _run(tmp_path: Path, initial: str) -> Path:
    run = tmp_path / "train"
    (run / "weights").mkdir(parents=True)
    (run / "args.yaml").write_text(
        yaml.safe_dump({"imgsz": 480, "batch": 16, "seed": 1, "time": 1.5, "model": initial})
    )
    (run / "results.csv").write_text("epoch,time,metrics/mAP50(B)\n1,250.5,0.7\n2,501.2,0.75\n3,760.9,0.8\n")
    return run / "weights" / "best.pt"


def test_a_run_records_its_epochs_seconds_and_arguments(tmp_path: Path) -> None:
    record = training_record(_run(tmp_path, "yolov8n.yaml"))
    assert record["epochs"] == 3
    assert record["seconds"] == 761
    assert record["imgsz"] == 480
    assert record["model"] == "yolov8n.yaml"
    assert "continued_from" not in record


def test_a_continued_run_records_the_model_it_started_from(tmp_path: Path) -> None:
    initial = tmp_path / "initial" / "offsite-street.pt"
    initial.parent.mkdir()
    initial.write_bytes(b"weights")
    initial.with_suffix(".lineage.json").write_text(json.dumps(PREVIOUS))
    record = training_record(_run(tmp_path, str(initial)))
    assert record["continued_from"] == PREVIOUS


def _manifest(tmp_path: Path, training: dict[str, object]) -> Path:
    evaluation = Evaluation(0.9, 0.6, {
        "stall": ClassMetrics(precision=0.9, recall=0.9, map50=0.95, map50_95=0.7),
        "dust": ClassMetrics(precision=0.8, recall=0.7, map50=0.8, map50_95=0.4),
    })  # fmt: skip
    manifest = ModelManifest(
        name="street", file="street.onnx", sha256="b" * 64, classes=("stall", "dust"), input_size=480,
        architecture="yolov8n", created="2026-12-01T13:30:00+00:00",
        training_data={"seed": 2028, "images": 3000, "val_images": 300, "imgsz": 512}, training=training,
        metrics=evaluation.as_dict(),
    )  # fmt: skip
    path = manifest_path_for(tmp_path / "street.onnx")
    manifest.write(path)
    return path


def test_the_card_of_a_continued_model_names_what_it_continued_from(tmp_path: Path) -> None:
    card = write_model_card(_manifest(tmp_path, {"epochs": 20, "continued_from": PREVIOUS})).read_text()
    assert "continued from the model it replaces (SHA-256 `aaaaaaaaaaaa…`, mAP50 0.734" in card
    assert "1100 generated images, seed 2027" in card
    assert "| dust | 0.800 | 0.700 | 0.800 | 0.400 | below goal |" in card
    assert "**Status: below the goal** for dust." in card


def test_the_card_of_a_model_trained_from_scratch_says_so(tmp_path: Path) -> None:
    card = write_model_card(_manifest(tmp_path, {"epochs": 20})).read_text()
    assert "trained from scratch (no pretrained weights)" in card
    assert "continued from" not in card
