"""``python -m bench.sustain VIDEO CAMERAS SECONDS [CORE]``: can one core keep up with that many cameras, for real?

Runs CAMERAS pipelines at once in this process, pinned to one CPU, each reading the same 1080p file at its own
pace (as a camera sends it) and analysing one frame every 2 s, key frames only, with live drop policy. Prints one
JSON line: how many frames were due, analysed and dropped. No drops and every due frame analysed means the core
sustains that many cameras.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vision.capture import CapturedEvidence
from vision.config import DEFAULT_TIMES, build_pipeline, camera_from_sidecar, camera_spec
from vision.detector import DetectorConfig, OnnxDetector
from vision.frames import Frame
from vision.pipeline import DropPolicy, Runner
from vision.sources import DecodeMode, SourceConfig, VideoSource

MODEL = Path("models/offsite-street.onnx")


class _NoSeal:
    def seal(self, evidence: CapturedEvidence) -> str:
        return "sustain"


def sustain(video: Path, cameras: int, seconds: float) -> dict[str, object]:
    detector = OnnxDetector(DetectorConfig(MODEL, threads=1))
    sidecar = json.loads(video.with_suffix(".json").read_text())
    pipelines = []
    with tempfile.TemporaryDirectory() as work:
        for index in range(cameras):
            camera_id = f"cam-{index:03d}"
            spec = camera_spec(camera_from_sidecar(sidecar, camera_id, video, DEFAULT_TIMES, 2.0), detector.class_names)
            config = SourceConfig(camera_id, str(video), 2.0, DecodeMode.KEYFRAMES, clip_keep_s=25, realtime=True)
            source = _Bounded(VideoSource(config), seconds)
            pipeline = build_pipeline(spec, detector, _NoSeal(), lambda e, _: None, Path(work), source=source)
            pipeline.drop_policy, pipeline.queue_size = DropPolicy.DROP_OLDEST, 2
            pipelines.append(pipeline)
        runner = Runner(pipelines)
        runner.start()
        runner.wait(seconds + 60)
    due = cameras * (int(seconds // 2) + 1)
    analysed = sum(p.metrics.frames_analysed for p in pipelines)
    dropped = sum(p.metrics.frames_dropped for p in pipelines)
    read = sum(p.metrics.frames_in for p in pipelines)
    return {"cameras": cameras, "seconds": seconds, "due": due, "read": read, "analysed": analysed, "dropped": dropped}


class _Bounded:
    """The first ``seconds`` of a source."""

    def __init__(self, inner: VideoSource, seconds: float) -> None:
        self.inner, self.seconds, self.camera_id = inner, seconds, inner.camera_id
        self.clip_buffer = None

    def frames(self) -> Iterator[Frame]:
        first: dt.datetime | None = None
        for frame in self.inner.frames():
            first = first or frame.ts
            if (frame.ts - first).total_seconds() > self.seconds + 1e-6:
                break
            yield frame
        self.inner.close()

    def close(self) -> None:
        self.inner.close()


if __name__ == "__main__":
    if hasattr(os, "sched_setaffinity"):  # one core (the last, unless told): the process and every thread it starts
        core = int(sys.argv[4]) if len(sys.argv) > 4 else sorted(os.sched_getaffinity(0))[-1]
        os.sched_setaffinity(0, {core})
    video, count, span = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(sustain(video, count, span)))
