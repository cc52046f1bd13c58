"""Continuing training from the shipped ONNX model: the rebuilt weights compute what the ONNX model computes.

Needs the train extra (torch, Ultralytics, onnx), which running and testing the service do not: without it these
tests are skipped. Run them with the training environment: `.venv-train/bin/python -m pytest tests/unit/vision/test_warm_start.py`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("ultralytics", exc_type=ImportError)

from offsite.settings import SHIPPED_MODEL
from vision.manifest import ModelManifest, manifest_path_for
from vision.warm_start import WarmStartError, checkpoint_from_onnx, lineage_path


@pytest.fixture(autouse=True)
def _offline_ultralytics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vision import training

    monkeypatch.setitem(os.environ, "YOLO_CONFIG_DIR", str(tmp_path / "settings"))
    training._ultralytics(tmp_path / "settings")


def test_the_rebuilt_model_computes_what_the_onnx_model_computes(tmp_path: Path) -> None:
    import onnxruntime as ort
    import torch

    checkpoint = checkpoint_from_onnx(SHIPPED_MODEL, "yolov8n.yaml", tmp_path / "initial.pt")
    model = torch.load(checkpoint, weights_only=False)["model"].eval()
    size = ModelManifest.read(manifest_path_for(SHIPPED_MODEL)).input_size
    frame = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    session = ort.InferenceSession(str(SHIPPED_MODEL), providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: frame})[0]
    with torch.no_grad():
        got = model(torch.from_numpy(frame))[0].numpy()
    assert got.shape == expected.shape
    assert np.abs(got - expected).max() < 1e-3 * np.abs(expected).max()
    assert model.names == {
        0: "stall",
        1: "goods",
        2: "person",
        3: "vehicle",
        4: "dust",
        5: "bare_pile",
        6: "covered_pile",
    }


def test_a_model_without_its_manifest_is_refused(tmp_path: Path) -> None:
    alone = tmp_path / "alone.onnx"
    shutil.copyfile(SHIPPED_MODEL, alone)
    with pytest.raises(WarmStartError, match="no manifest"):
        checkpoint_from_onnx(alone, "yolov8n.yaml", tmp_path / "initial.pt")


def test_weights_of_another_architecture_are_refused(tmp_path: Path) -> None:
    with pytest.raises(WarmStartError, match="shape"):
        checkpoint_from_onnx(SHIPPED_MODEL, "yolov8s.yaml", tmp_path / "initial.pt")
    assert not (tmp_path / "initial.pt").exists()


def test_the_checkpoint_says_which_model_it_came_from(tmp_path: Path) -> None:
    import json

    checkpoint = checkpoint_from_onnx(SHIPPED_MODEL, "yolov8n.yaml", tmp_path / "initial.pt")
    shipped = ModelManifest.read(manifest_path_for(SHIPPED_MODEL))
    lineage = json.loads(lineage_path(checkpoint).read_text(encoding="utf-8"))
    assert lineage["sha256"] == shipped.sha256
    assert lineage["map50"] == shipped.metrics["map50"]
    assert lineage["training"] == shipped.training
