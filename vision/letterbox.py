"""Letterbox: fit a frame into the model's square input without distorting it, and map boxes back."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

PAD_VALUE = 114  # Ultralytics' grey, which the models were trained with


@dataclass(frozen=True)
class Letterbox:
    """How a frame of ``source_size`` (width, height) was placed in a ``size`` × ``size`` input."""

    size: int
    source_size: tuple[int, int]
    scale: float
    pad_x: float
    pad_y: float

    @classmethod
    def for_frame(cls, width: int, height: int, size: int) -> Letterbox:
        if width <= 0 or height <= 0:
            raise ValueError(f"frame size {width}x{height} is empty")
        scale = min(size / width, size / height)
        new_w, new_h = scaled_size(width, height, scale)
        return cls(size, (width, height), scale, (size - new_w) / 2, (size - new_h) / 2)

    def apply(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """BGR uint8 (h, w, 3) → RGB float32 NCHW in 0..1, ready for the network."""
        height, width = frame.shape[:2]
        if (width, height) != self.source_size:
            raise ValueError(f"frame is {width}x{height}, this letterbox is for {self.source_size}")
        new_w, new_h = scaled_size(width, height, self.scale)
        resized = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
        top, left = round(self.pad_y - 0.1), round(self.pad_x - 0.1)
        canvas = np.full((self.size, self.size, 3), PAD_VALUE, np.uint8)
        canvas[top : top + new_h, left : left + new_w] = resized
        rgb = canvas[:, :, ::-1].transpose(2, 0, 1)
        return np.ascontiguousarray(rgb[np.newaxis], dtype=np.float32) / np.float32(255.0)

    def boxes_to_source(self, xyxy: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Boxes in input pixels → boxes in frame pixels, clipped to the frame."""
        out = xyxy.astype(np.float32, copy=True)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        width, height = self.source_size
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
        return out


def scaled_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The frame's size in the input: at least one pixel each way, since a very long thin frame (4096×1) would
    otherwise round its short side to nothing, which cv2.resize refuses with an assertion."""
    return max(1, round(width * scale)), max(1, round(height * scale))
