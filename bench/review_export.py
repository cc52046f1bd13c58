"""The review-export benchmark: writing N labelled key frames as a YOLO dataset against copying the same files.

From one run (``python -m bench export --frames 100000 --json``):
- ``export_s`` and ``export_peak_mb``: ``vision.review_dataset.write_dataset`` over N reviewed frames — each read
  and checked against its SHA-256 as the evidence store reads an item, labels and provenance written, the
  camera-minute split computed — and the peak of Python's own allocations while it runs (tracemalloc);
- ``copy_s`` and ``copy_peak_mb``: ``shutil.copyfile`` of the same N pictures (the baseline);
- ``ratio`` = export_s / copy_s: what labelling, checking and splitting cost over moving the bytes.

The frames are small real JPEGs (a rendered street scene at 320×180, re-encoded with a different quality each so
that files differ), 3 key frames an occurrence, 12 cameras, one occurrence a camera every few minutes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2

from bench.machine import machine
from vision.review_dataset import LabelledBox, LabelledFrame, write_dataset
from vision.synthetic import CLASS_NAMES, render_still

T0 = dt.datetime(2026, 3, 2, 0, 0, tzinfo=dt.UTC)
CAMERAS = 12


def _pictures(folder: Path, frames: int) -> list[tuple[Path, str]]:
    """``frames`` JPEG files and their SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    scene = render_still(3, 320, 180).image
    variants = [cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, q])[1].tobytes() for q in range(60, 96)]
    files = []
    for index in range(frames):
        data = variants[index % len(variants)] + index.to_bytes(4, "big")  # bytes after EOI: a distinct file
        path = folder / f"{index:07d}.jpg"
        path.write_bytes(data)
        files.append((path, hashlib.sha256(data).hexdigest()))
    return files


def _checked(path: Path, digest: str) -> Callable[[], bytes]:
    def read() -> bytes:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"{path} does not match its SHA-256")
        return data

    return read


def _frames(files: list[tuple[Path, str]]) -> list[LabelledFrame]:
    frames = []
    for index, (path, digest) in enumerate(files):
        occurrence, role = divmod(index, 3)
        camera = f"cam-{occurrence % CAMERAS:02d}"
        taken = T0 + dt.timedelta(minutes=4 * (occurrence // CAMERAS), seconds=20 * role)
        confirmed = occurrence % 5 != 0  # one review in five a rejection
        person = LabelledBox("person", (200.0, 30.0, 230.0, 120.0), False)
        stall = LabelledBox("stall", (40.0, 60.0, 120.0, 150.0), True)
        boxes: tuple[LabelledBox, ...] = (stall, person) if confirmed else (person,)
        provenance = {"detection_id": occurrence, "confirmed": confirmed, "labelled_by": "operator1",
                      "labelled_at": taken.isoformat(), "package": f"{occurrence:064x}", "frame": path.name,
                      "taken_at": taken.isoformat(), "model_sha256": "0" * 64}  # fmt: skip
        frames.append(
            LabelledFrame(
                f"{camera}-{occurrence:08d}-{role}",
                camera,
                taken,
                320,
                180,
                boxes,
                f"{occurrence:064x}",
                provenance,
                _checked(path, digest),
            )
        )
    return frames


def _measured(work: Callable[[], object]) -> tuple[float, float]:
    """Seconds and peak MB of Python allocations for ``work``."""
    tracemalloc.start()
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    _now, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 1e6


def run(frames: int = 100_000, work_dir: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=work_dir) as folder:
        root = Path(folder)
        files = _pictures(root / "frames", frames)
        labelled = _frames(files)

        def copy() -> None:
            (root / "copy").mkdir()
            for path, _digest in files:
                shutil.copyfile(path, root / "copy" / path.name)

        copy_s, copy_mb = _measured(copy)
        export_s, export_mb = _measured(lambda: write_dataset(labelled, root / "export", CLASS_NAMES, 0.2))
        exported = sum(1 for _ in (root / "export" / "images").rglob("*.jpg"))
    return {
        "frames": frames,
        "exported": exported,
        "export_s": round(export_s, 2),
        "export_peak_mb": round(export_mb, 1),
        "copy_s": round(copy_s, 2),
        "copy_peak_mb": round(copy_mb, 1),
        "ratio": round(export_s / copy_s, 2) if copy_s else None,
        "frames_per_s": round(frames / export_s) if export_s else None,
        "machine": machine(),
    }
