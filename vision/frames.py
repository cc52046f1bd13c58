"""``Frame``: one decoded picture of one camera, as it enters the pipeline; ``FrameSource``: what yields them.

Every frame carries its capture time (UTC, from the stream's own timestamps where it has them), so that every rule
downstream reasons in seconds, never in frame counts: a camera sampled once every two seconds and one sampled at
ten frames a second give the same verdict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]


class SourceError(RuntimeError):
    """A source that cannot give frames: unreadable file, corrupt stream, unreachable address. Names the source."""


@dataclass(frozen=True)
class Frame:
    camera_id: str
    seq: int  # the frame's index in its source, counting every frame the source holds, decoded or not
    ts: dt.datetime  # capture time, UTC
    image: Image = field(repr=False)  # BGR (h, w, 3)
    keyframe: bool = False

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError("a frame's ts must carry a time zone")
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(f"a frame is a BGR uint8 array (h, w, 3), got {self.image.dtype} {self.image.shape}")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


class FrameSource(Protocol):
    """Yields a camera's frames at its sampling rate, in capture order, until the source ends or is closed."""

    camera_id: str

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...
