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


def test_a_second_stage_records_the_first_stage_run_it_started_from(tmp_path: Path) -> None:
    """A run from an earlier run's weights (a first stage with a frozen backbone, say): the earlier run is the model
    below it, with what it started from and its frozen layers, so the lineage reaches the COCO weights."""
    first = _run(tmp_path / "first", "var/train-freeze/initial/yolov8n_coco.pt")
    args = yaml.safe_load((first.parent.parent / "args.yaml").read_text()) | {"freeze": 10}
    (first.parent.parent / "args.yaml").write_text(yaml.safe_dump(args))
    first.write_bytes(b"first-stage weights")
    record = training_record(_run(tmp_path / "second", str(first)))
    earlier = record["continued_from"]
    assert earlier["file"] == "best.pt"
    assert len(earlier["sha256"]) == 64
    assert earlier["training"]["model"] == "var/train-freeze/initial/yolov8n_coco.pt"
    assert earlier["training"]["freeze"] == 10
    card = write_model_card(_manifest(tmp_path, {"epochs": 3, "model": str(first), "continued_from": earlier}))
    text = card.read_text()
    assert "started from YOLOv8n pretrained on COCO, in 2 runs (see Lineage and Licence)" in text
    assert "| 3 epochs, 0.2 h, input 480, batch 16, seed 1, first 10 layers frozen, cpu" in text
    assert "| started from | `var/train-freeze/initial/yolov8n_coco.pt` |" in text
    assert "Ultralytics' YOLOv8n trained on COCO" in text.split("## Licence")[1]


def test_a_resumed_run_naming_its_own_last_weights_has_no_model_below_it(tmp_path: Path) -> None:
    """Ultralytics' resume writes the run's own last.pt as its model: that is the same run, not an earlier one."""
    best = _run(tmp_path, str(tmp_path / "train" / "weights" / "last.pt"))
    (best.parent / "last.pt").write_bytes(b"last epoch")
    record = training_record(best)
    assert record["epochs"] == 3
    assert "continued_from" not in record


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


GRANDPARENT = PREVIOUS | {"sha256": "c" * 64, "training": {"model": "yolov8n.yaml", "epochs": 25, "seconds": 7042}}
PARENT = PREVIOUS | {"training": {"model": "var/train/initial/offsite-street.pt", "epochs": 32,
                                  "continued_from": GRANDPARENT}, "map50": 0.9077}  # fmt: skip


def test_the_card_of_a_continued_model_names_what_it_continued_from(tmp_path: Path) -> None:
    card = write_model_card(_manifest(tmp_path, {"epochs": 20, "continued_from": PREVIOUS})).read_text()
    assert "continued from an earlier model of this project (see Lineage)" in card
    assert "| 1 back | `offsite-street.onnx` | `aaaaaaaaaaaa…` | 2026-12-01 08:25 | 1100 generated images" in card
    assert "| dust | 0.800 | 0.700 | 0.800 | 0.400 | below goal |" in card
    assert "**Status: below the goal** on the generated set for dust." in card


def test_the_card_shows_the_lineage_once_as_a_table_of_ancestors(tmp_path: Path) -> None:
    training = {"epochs": 20, "seconds": 3600, "imgsz": 480, "model": "x.pt", "continued_from": PARENT}
    card = write_model_card(_manifest(tmp_path, training)).read_text()
    assert "{" not in card.split("## Training data")[0], "the lineage is printed as JSON"
    assert card.count("aaaaaaaaaaaa") == 1
    assert card.count("cccccccccccc") == 1
    lineage = card.split("## Lineage")[1].split("## ")[0]
    rows = [line for line in lineage.splitlines() if line.startswith("| ")]
    assert rows[0] == "| | file | SHA-256 | created (UTC) | trained on | run | mAP50 |"
    assert rows[1].startswith("| this model | `street.onnx` | `bbbbbbbbbbbb…` | 2026-12-01 13:30 | 3000 generated")
    assert rows[1].endswith("| 20 epochs, 1.0 h, input 480 | 0.9000 |")
    assert rows[2].startswith("| 1 back | `offsite-street.onnx` | `aaaaaaaaaaaa…` |")
    assert rows[2].endswith("| 0.9077 |")
    assert rows[3].startswith("| 2 back | `offsite-street.onnx` | `cccccccccccc…` |")
    assert rows[3].endswith("| 25 epochs, 2.0 h | 0.7340 |")
    assert (
        rows[4] == "| started from | `yolov8n.yaml` | | | the architecture alone, random weights (from scratch) | | |"
    )


def test_the_card_of_a_model_trained_from_scratch_says_so_and_which_licence_applies(tmp_path: Path) -> None:
    card = write_model_card(_manifest(tmp_path, {"epochs": 20, "model": "yolov8n.yaml"})).read_text()
    assert "trained from scratch (no pretrained weights)" in card
    assert "continued from" not in card
    licence = card.split("## Licence")[1].split("## ")[0]
    assert "trained from scratch" in licence
    assert "no licence of anyone's weights or data applies" in licence
    assert "AGPL-3.0-or-later" in licence


def test_the_card_of_a_model_started_from_pretrained_weights_says_their_licence_applies(tmp_path: Path) -> None:
    card = write_model_card(_manifest(tmp_path, {"epochs": 20, "model": "yolov8n.pt"})).read_text()
    licence = card.split("## Licence")[1].split("## ")[0]
    assert "started from `yolov8n.pt`" in licence
    assert "the licence of those weights" in licence


def test_writing_the_card_again_keeps_the_sections_a_person_added(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, {"epochs": 20})
    card = write_model_card(manifest)
    added = "## Measured after export\n- On real footage: mAP50 0.5.\n"
    card.write_text(card.read_text() + "\n" + added)
    again = write_model_card(manifest).read_text()
    assert again.endswith(added)
    assert again.count("## Lineage") == 1
    assert again.count("## Measured after export") == 1


def test_the_card_of_a_mix_names_its_pictures_with_real_objects_laid_in(tmp_path: Path) -> None:
    mix = {"generator": "vision.training_mix", "generated": {"images": 700, "seed": 7, "imgsz": 640},
           "real_photos_trained_on": ["stall_04.jpg"], "negatives": ["home.jpg"], "pseudo_label_sources": ["air"],
           "laid_in": {"classes": ["stall", "goods"], "height": [0.08, 0.35], "images": 120,
                       "objects": {"stall_04.jpg": 52, "stall_07.jpg": 104}}}  # fmt: skip
    path = _manifest(tmp_path, {"epochs": 3})
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(manifest | {"training_data": mix}))
    card = write_model_card(path).read_text()
    assert (
        "- 120 pictures made from the plain photos, with real stall and goods laid in, cut from the training photos "
        "(stall_04.jpg 52, "
        "stall_07.jpg 104 objects) and standing at 8% to 35% of the picture's height (`vision/laid_in.py`).\n" in card
    )
