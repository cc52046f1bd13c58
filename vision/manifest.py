"""A model's manifest: what the runtime needs to trust and use an ONNX file, written next to it.

Any Ultralytics-exported YOLO ONNX plugs in with a manifest: its class names, input size and SHA-256, plus what
it was trained on and how well it did, for the model card and the evidence record (the model's hash is sealed
with every package).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_FORMAT = "offsite-model-manifest/1"
DEFAULT_THRESHOLD = 0.25


class ManifestError(ValueError):
    """A manifest that is missing, malformed, or does not match its model file."""


@dataclass(frozen=True)
class ClassMetrics:
    precision: float
    recall: float
    map50: float
    map50_95: float


@dataclass(frozen=True)
class ModelManifest:
    name: str
    file: str  # the ONNX file, beside the manifest
    sha256: str
    classes: tuple[str, ...]
    input_size: int
    architecture: str
    created: str
    training_data: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)  # map50, map50_95, per_class{name: ClassMetrics}
    # The shipped threshold of each class (a box counts from this confidence on); a class not named here uses
    # DEFAULT_THRESHOLD. The pipeline and the real-photo evaluation both read it.
    thresholds: dict[str, float] = field(default_factory=dict)
    format: str = MANIFEST_FORMAT

    def __post_init__(self) -> None:
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise ManifestError(f"manifest of {self.name}: classes must be non-empty and distinct")
        if not 32 <= self.input_size <= 4096 or self.input_size % 32:
            raise ManifestError(f"manifest of {self.name}: input_size {self.input_size} is not a multiple of 32")
        if len(self.sha256) != 64:
            raise ManifestError(f"manifest of {self.name}: sha256 must be 64 hex digits")
        for name, value in self.thresholds.items():
            if name not in self.classes or not isinstance(value, int | float) or not 0 < value < 1:
                raise ManifestError(
                    f"manifest of {self.name}: threshold {name}={value!r} must name one of its classes and lie "
                    "strictly between 0 and 1"
                )

    def threshold(self, name: str) -> float:
        """The confidence from which a box of this class counts."""
        return float(self.thresholds.get(name, DEFAULT_THRESHOLD))

    def model_path(self, manifest_path: Path) -> Path:
        return manifest_path.parent / self.file

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> ModelManifest:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ManifestError(f"{path}: no manifest beside the model (expected {path.name})") from exc
        except json.JSONDecodeError as exc:
            raise ManifestError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
            raise ManifestError(f"{path}: not an {MANIFEST_FORMAT} manifest")
        try:
            return cls(**{**data, "classes": tuple(data["classes"])})
        except (KeyError, TypeError) as exc:
            raise ManifestError(f"{path}: missing or unknown field ({exc})") from exc

    def verify_model(self, manifest_path: Path) -> Path:
        """The model file, after checking it is the one the manifest describes."""
        model = self.model_path(manifest_path)
        if not model.is_file():
            raise ManifestError(f"{manifest_path}: model file {model} is missing")
        actual = sha256_of(model)
        if actual != self.sha256:
            raise ManifestError(f"{model}: SHA-256 {actual[:16]}… does not match the manifest's {self.sha256[:16]}…")
        return model


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_path_for(model: Path) -> Path:
    return model.with_suffix(".manifest.json")
