"""A model's manifest: written and read back whole; malformed ones and mismatched model files are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from vision.manifest import DEFAULT_THRESHOLD, ManifestError, ModelManifest, manifest_path_for, sha256_of


def _manifest(model: Path, **changes: object) -> ModelManifest:
    fields: dict[str, object] = {
        "name": "m",
        "file": model.name,
        "sha256": sha256_of(model),
        "classes": ("stall", "goods"),
        "input_size": 320,
        "architecture": "yolov8n",
        "created": "2026-11-22T12:00:00+00:00",
    }
    return ModelManifest(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_manifest_reads_back_as_written_and_vouches_for_its_model(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"weights")
    manifest = _manifest(model, metrics={"map50": 0.9})
    manifest.write(manifest_path_for(model))
    read = ModelManifest.read(manifest_path_for(model))
    assert read == manifest
    assert read.verify_model(manifest_path_for(model)) == model


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"classes": ()}, "non-empty and distinct"),
        ({"classes": ("stall", "stall")}, "non-empty and distinct"),
        ({"input_size": 300}, "not a multiple of 32"),
        ({"sha256": "abc"}, "64 hex digits"),
        ({"thresholds": {"person": 0.5}}, "threshold person=0.5 must name one of its classes"),
        ({"thresholds": {"stall": 1.0}}, "threshold stall=1.0 must .* lie strictly between 0 and 1"),
        ({"thresholds": {"stall": "high"}}, "threshold stall='high'"),
    ],
)
def test_a_malformed_manifest_is_refused_naming_the_field(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"weights")
    with pytest.raises(ManifestError, match=message):
        _manifest(model, **changes)


def test_a_model_changed_after_its_manifest_is_refused(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"weights")
    _manifest(model).write(manifest_path_for(model))
    model.write_bytes(b"other weights")
    with pytest.raises(ManifestError, match="does not match"):
        ModelManifest.read(manifest_path_for(model)).verify_model(manifest_path_for(model))


@pytest.mark.parametrize(
    ("content", "message"), [("{not json", "not valid JSON"), ('{"format": "x"}', "not an offsite")]
)
def test_a_manifest_file_that_is_not_one_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "m.manifest.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ManifestError, match=message):
        ModelManifest.read(path)


def test_a_class_without_a_shipped_threshold_uses_the_default(tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"weights")
    manifest = _manifest(model, thresholds={"stall": 0.6})
    manifest.write(manifest_path_for(model))
    read = ModelManifest.read(manifest_path_for(model))
    assert read.threshold("stall") == 0.6
    assert read.threshold("goods") == DEFAULT_THRESHOLD
