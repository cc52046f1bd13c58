"""Let the PyPI torchvision wheel import next to the CPU build of torch (training only).

The torchvision 0.28.0 wheel is built against CUDA torch: with torch's CPU build its compiled ops fail to load and
``import torchvision`` dies with "operator torchvision::nms does not exist". Registering the two op schemas it
needs with a pure-torch kernel before torchvision is imported fixes the import; Ultralytics then runs on the CPU.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

_library: Any = None


def _nms(dets: Any, scores: Any, iou_threshold: float) -> Any:
    """Greedy NMS with torchvision's semantics: indices by descending score, dropping IoU above the threshold."""
    import torch

    if dets.numel() == 0:
        return torch.empty((0,), dtype=torch.long, device=dets.device)
    order = torch.argsort(scores, descending=True, stable=True)
    boxes = dets.float()[order]
    x1, y1, x2, y2 = boxes.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    suppressed = torch.zeros(boxes.shape[0], dtype=torch.bool)
    keep = []
    for i in range(boxes.shape[0]):
        if suppressed[i]:
            continue
        keep.append(i)
        width = (torch.minimum(x2[i], x2[i + 1 :]) - torch.maximum(x1[i], x1[i + 1 :])).clamp(min=0)
        height = (torch.minimum(y2[i], y2[i + 1 :]) - torch.maximum(y1[i], y1[i + 1 :])).clamp(min=0)
        overlap = width * height
        suppressed[i + 1 :] |= overlap / (areas[i] + areas[i + 1 :] - overlap) > iou_threshold
    return order[torch.tensor(keep, dtype=torch.long)]


def install() -> bool:
    """Register the ops when torchvision's own cannot load; True when it did."""
    global _library
    spec = importlib.util.find_spec("torchvision")
    if _library is not None or spec is None or spec.origin is None:
        return _library is not None
    import torch

    try:
        torch.ops.load_library(str(Path(spec.origin).parent / "_C.so"))
        return False  # the compiled ops match this torch: nothing to do
    except (OSError, ImportError, RuntimeError):
        pass
    _library = torch.library.Library("torchvision", "DEF")
    _library.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _library.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    _library.impl("nms", _nms, "CPU")
    import torchvision.extension  # its import-time registrations now find the ops

    torchvision.extension._has_ops = lambda: True  # let torchvision.ops.nms call the op defined above
    return True
