"""The detector: an Ultralytics-exported YOLO ONNX model with its manifest, run by ONNX Runtime.

Any such model plugs in without code changes: the manifest names its classes and input size. The model file is
checked against the manifest's SHA-256 before it is loaded, warmed up once, and each frame goes through
letterbox → inference → decode/NMS → ``Detections`` in frame pixels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from vision.detections import Detections
from vision.letterbox import Letterbox
from vision.manifest import ManifestError, ModelManifest, manifest_path_for
from vision.yolo_output import decode

PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "OpenVINOExecutionProvider", "CPUExecutionProvider")


class ModelError(ValueError):
    """A model that cannot be used: missing, corrupt, not matching its manifest, or of the wrong shape."""


@dataclass(frozen=True)
class DetectorConfig:
    model: Path  # the .onnx file; its manifest lies beside it (NAME.manifest.json)
    confidence: float | None = None  # None: each class's shipped threshold, from the manifest
    iou: float = 0.45
    threads: int = 0  # 0: ONNX Runtime chooses
    # ONNX Runtime's threads spin on the CPU between runs by default, waiting for the next one. That buys a few
    # milliseconds a frame on an idle machine, and costs the cores a camera service shares with its other cameras'
    # decoding, tracking and sealing (decision 0039): off unless asked for.
    spin: bool = False
    providers: tuple[str, ...] = field(default=("CPUExecutionProvider",))

    def __post_init__(self) -> None:
        if (self.confidence is not None and not 0.0 < self.confidence < 1.0) or not 0.0 < self.iou < 1.0:
            raise ValueError("confidence and iou must lie strictly between 0 and 1")
        if self.threads < 0:
            raise ValueError("threads must be 0 (automatic) or more")


class OnnxDetector:
    def __init__(self, config: DetectorConfig) -> None:
        self.config = config
        self.manifest = self._manifest(config.model)
        self.class_names = self.manifest.classes
        self.thresholds = np.array(
            [config.confidence or self.manifest.threshold(name) for name in self.class_names], np.float32
        )
        self.session = self._session(config)
        self.input_name = self._check_io()
        self._letterboxes: dict[tuple[int, int], Letterbox] = {}
        self.warmup_ms = self._warm_up()

    @staticmethod
    def _manifest(model: Path) -> ModelManifest:
        if not model.is_file():
            raise ModelError(f"no model file at {model}")
        try:
            manifest = ModelManifest.read(manifest_path_for(model))
            if manifest.model_path(manifest_path_for(model)) != model:
                raise ManifestError(f"{manifest_path_for(model)} describes {manifest.file}, not {model.name}")
            manifest.verify_model(manifest_path_for(model))
        except ManifestError as exc:
            raise ModelError(str(exc)) from exc
        return manifest

    @staticmethod
    def _session(config: DetectorConfig) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if config.spin else "0")
        available = set(ort.get_available_providers())
        providers = [p for p in config.providers if p in available] or ["CPUExecutionProvider"]
        try:
            return ort.InferenceSession(str(config.model), sess_options=options, providers=providers)
        except Exception as exc:  # ONNX Runtime raises its own exception types for unreadable models
            raise ModelError(f"{config.model}: ONNX Runtime cannot load it ({exc.__class__.__name__}: {exc})") from exc

    def _check_io(self) -> str:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        size = self.manifest.input_size
        if len(inputs) != 1 or list(inputs[0].shape) not in ([1, 3, size, size], ["batch", 3, size, size]):
            raise ModelError(f"{self.config.model}: input {[i.shape for i in inputs]} is not [1, 3, {size}, {size}]")
        expected = 4 + len(self.class_names)
        if len(outputs) != 1 or outputs[0].shape[1] != expected:
            raise ModelError(
                f"{self.config.model}: output {[o.shape for o in outputs]} does not carry 4 + "
                f"{len(self.class_names)} classes per candidate as the manifest says"
            )
        return str(inputs[0].name)

    def _warm_up(self) -> float:
        started = time.perf_counter()
        self.detect(np.zeros((self.manifest.input_size, self.manifest.input_size, 3), np.uint8))
        return (time.perf_counter() - started) * 1000

    def letterbox_for(self, width: int, height: int) -> Letterbox:
        key = (width, height)
        if key not in self._letterboxes:
            self._letterboxes[key] = Letterbox.for_frame(width, height, self.manifest.input_size)
        return self._letterboxes[key]

    def infer(self, tensor: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """The bare network call on a preprocessed input (the baseline the pipeline benchmark compares with)."""
        (output,) = self.session.run(None, {self.input_name: tensor})
        result: npt.NDArray[np.float32] = np.asarray(output, np.float32)
        return result

    def detect(self, frame: npt.NDArray[np.uint8]) -> Detections:
        """BGR frame (h, w, 3) → detections in its pixels."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"a frame is a BGR uint8 array (h, w, 3), got {frame.dtype} {frame.shape}")
        height, width = frame.shape[:2]
        box = self.letterbox_for(width, height)
        found = decode(self.infer(box.apply(frame)), box, float(self.thresholds.min()), self.config.iou)
        return found[found.confidence >= self.thresholds[found.class_id]] if len(found) else found
