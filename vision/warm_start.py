"""Continue training from a shipped ONNX model (the ``train`` extra).

Weights are not kept between sittings, only the exported ONNX model is. An Ultralytics export fuses each
convolution with its batch norm, so the ONNX file holds, for every ``Conv`` block, one weight and one bias named
after the PyTorch module (``model.4.m.0.cv1.conv.weight`` / ``.bias``). Putting them back into a fresh model of
the same architecture with a batch norm that does nothing (mean 0, variance 1, scale √(1+ε), shift = the fused
bias) gives a model whose outputs equal the ONNX model's, and whose batch norms learn again from there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vision.manifest import ModelManifest, manifest_path_for


class WarmStartError(ValueError):
    """The ONNX model cannot be turned back into trainable weights of the named architecture."""


def checkpoint_from_onnx(onnx_path: Path, architecture_yaml: str, out: Path) -> Path:
    """Write an Ultralytics checkpoint (``out``, a .pt) holding the ONNX model's weights; returns ``out``.

    The class names come from the model's manifest. Beside the checkpoint, ``lineage_path(out)`` says which model
    it came from and how that one was made, for the next manifest. Raises ``WarmStartError`` when the file has no
    manifest or its tensors do not fit the architecture (another architecture, or not an Ultralytics export).
    """
    import onnx
    import torch
    from onnx import numpy_helper
    from ultralytics.nn.tasks import DetectionModel

    manifest_file = manifest_path_for(onnx_path)
    if not manifest_file.exists():
        raise WarmStartError(f"{onnx_path} has no manifest ({manifest_file.name}) naming its classes")
    manifest = ModelManifest.read(manifest_file)
    names = manifest.classes
    tensors = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(onnx_path)).graph.initializer}
    model = DetectionModel(architecture_yaml, nc=len(names), verbose=False)
    _widen_class_branches(model, tensors)
    with torch.no_grad():
        _load_fused(model, tensors, torch)
    model.names = dict(enumerate(names))
    model.args = {"imgsz": manifest.input_size}
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model, "epoch": -1, "train_args": {}, "warm_start": str(onnx_path)}, out)
    lineage_path(out).write_text(json.dumps(lineage(manifest), indent=2) + "\n", encoding="utf-8")
    return out


def lineage_path(checkpoint: Path) -> Path:
    return checkpoint.with_suffix(".lineage.json")


def lineage(manifest: ModelManifest) -> dict[str, Any]:
    """The model a run continued from, in short: its file and hash, how it was trained, on what, and its mAP50;
    with that model's own lineage, so a chain of runs stays readable from the last manifest."""
    data = manifest.training_data
    return {
        "file": manifest.file,
        "sha256": manifest.sha256,
        "created": manifest.created,
        "training": manifest.training,
        "training_data": {key: data[key] for key in ("generator", "seed", "images", "imgsz") if key in data},
        "map50": manifest.metrics.get("map50"),
    }


def _widen_class_branches(model: Any, tensors: dict[str, Any]) -> None:
    """Give the head's class branches the width the ONNX model has. A fresh head is ``max(64, classes)`` wide, but
    one trained from COCO's weights keeps COCO's 80 (the width Ultralytics transfers), so a model started from COCO
    would not fit a fresh head; its branches are rebuilt as wide as the file says."""
    from torch import nn
    from ultralytics.nn.modules.conv import Conv

    head = model.model[-1]
    index = len(model.model) - 1
    for level, branch in enumerate(head.cv3):
        first = tensors.get(f"model.{index}.cv3.{level}.0.conv.weight")
        if first is None or first.shape[0] == branch[0].conv.out_channels:
            continue
        width, inputs = int(first.shape[0]), int(first.shape[1])
        head.cv3[level] = nn.Sequential(Conv(inputs, width, 3), Conv(width, width, 3), nn.Conv2d(width, head.nc, 1))


def _load_fused(model: Any, tensors: dict[str, Any], torch: Any) -> None:
    from ultralytics.nn.modules.conv import Conv

    missing: list[str] = []

    def take(name: str, target: Any) -> None:
        if name not in tensors:
            missing.append(name)
            return
        value = torch.from_numpy(tensors[name].copy())
        if tuple(value.shape) != tuple(target.shape):
            raise WarmStartError(f"{name} has shape {tuple(value.shape)}, the architecture wants {tuple(target.shape)}")
        target.copy_(value)

    blocks = {name for name, module in model.named_modules() if isinstance(module, Conv)}
    for name, module in model.named_modules():
        if name in blocks:
            take(f"{name}.conv.weight", module.conv.weight)
            take(f"{name}.conv.bias", module.bn.bias)
            module.bn.running_mean.zero_()
            module.bn.running_var.fill_(1.0)
            module.bn.weight.fill_((1.0 + module.bn.eps) ** 0.5)
        elif isinstance(module, torch.nn.Conv2d) and name.rpartition(".")[0] not in blocks and ".dfl" not in name:
            take(f"{name}.weight", module.weight)  # the head's plain output convolutions
            if module.bias is not None:
                take(f"{name}.bias", module.bias)
    if missing:
        shown = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
        raise WarmStartError(f"the ONNX model lacks {len(missing)} tensors of the architecture ({shown})")
