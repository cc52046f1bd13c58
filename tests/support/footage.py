"""Real footage as a camera: Debian opencv-doc's vtest.avi (people walking on a campus road), sampled like a
camera's source, with a real object made to stay in it for a while (a crop of a real photo laid in with the
scene's light and noise, ``vision.synthetic.composite``), and the camera knocked, if asked, so that its view moves
for good by a few pixels, or the scene's light falling (a cloud, dusk, the camera's exposure), or the camera
switching to its black-and-white infrared night mode."""

from __future__ import annotations

import datetime as dt
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.support.real_data import required, shared
from vision.frames import Frame, Image
from vision.real_photos import read_folder
from vision.synthetic.composite import Placement, lay_in, prepare

VTEST = Path("/usr/share/doc/opencv-doc/examples/data/vtest.avi")  # `dpkg -L opencv-doc | grep vtest.avi`


def vtest() -> Path:
    """The footage, or a skip naming what is missing (a failure where it is required, as in CI)."""
    if VTEST.is_file():
        return VTEST
    try:
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "opencv-doc"], capture_output=True, text=True,
                                timeout=30).stdout  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        status = ""
    reason = (
        f"opencv-doc is installed but {VTEST} is not there (a dpkg path-exclude for /usr/share/doc?)"
        if "installed" in status.split()
        else f"the real footage {VTEST} is missing: apt-get install opencv-doc"
    )
    if required():
        pytest.fail(f"{reason}; it is required here")
    pytest.skip(reason)


def real_crop(photo: str, kind: str) -> Image:
    """The first box of ``kind`` in a real-dev photo, cut out of it."""
    found = {p.name: p for p in read_folder(shared("real-dev"))}[photo]
    image = cv2.imread(str(found.path))
    height, width = image.shape[:2]
    x1, y1, x2, y2 = next(box.xyxy for box in found.boxes or () if box.name == kind)
    return np.asarray(image[int(y1 * height) : int(y2 * height), int(x1 * width) : int(x2 * width)], np.uint8)


@dataclass(frozen=True)
class Staying:
    """A real object laid into the footage from ``appear_s`` to ``leave_s`` (seconds from its start)."""

    crop: Image
    placement: Placement
    appear_s: float
    leave_s: float


@dataclass(frozen=True)
class Knock:
    """The camera knocked at ``at_s`` (wind, a maintenance visit): from then on its view is moved by (dx, dy)
    pixels, the edge it no longer sees filled with the picture's border."""

    at_s: float
    dx: float
    dy: float

    def moved(self, image: Image) -> Image:
        return moved_view(image, self.dx, self.dy)


@dataclass(frozen=True)
class Dimming:
    """The scene's light falls at once at ``at_s`` to ``gain`` of what it was, and stays there."""

    at_s: float
    gain: float

    def lit(self, image: Image, at_s: float) -> Image:
        return image if at_s < self.at_s else np.asarray(cv2.convertScaleAbs(image, alpha=self.gain), np.uint8)


@dataclass(frozen=True)
class NightMode:
    """At ``at_s`` the camera switches to its infrared night mode, as CCTV cameras do at dusk, and stays in it: the
    picture turns black and white, harder in contrast and brighter under the infrared lamp, with the sensor's grain.
    It is the camera's rendering, so it applies to everything in view, a real object laid in included."""

    at_s: float
    contrast: float = 1.4
    lift: float = 20.0
    grain: float = 10.0  # the noise's standard deviation, grey levels

    def seen(self, image: Image, at_s: float, seq: int) -> Image:
        if at_s < self.at_s:
            return image
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
        noise = np.random.default_rng(seq).normal(0.0, self.grain, grey.shape).astype(np.float32)
        night = np.clip(grey * self.contrast + self.lift - 128 * (self.contrast - 1) + noise, 0, 255).astype(np.uint8)
        return np.asarray(cv2.cvtColor(night, cv2.COLOR_GRAY2BGR), np.uint8)


def moved_view(image: Image, dx: float, dy: float) -> Image:
    """The picture as the camera sees it once its view has moved by (dx, dy) pixels, the edge it no longer sees
    filled with the picture's border."""
    height, width = image.shape[:2]
    shift = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
    return np.asarray(cv2.warpAffine(image, shift, (width, height), borderMode=cv2.BORDER_REPLICATE), np.uint8)


class Footage:
    """A FrameSource: the footage's frames every ``interval_s`` from ``start``, moved by ``knock`` from its time, its
    light fallen by ``dimming``, with ``staying`` laid in where it stands in the picture sent (in the light of then),
    all of it rendered in ``night``'s mode from its time."""

    def __init__(self, camera_id: str, video: Path, start: dt.datetime, interval_s: float,
                 staying: Staying | None = None, knock: Knock | None = None,
                 dimming: Dimming | None = None, night: NightMode | None = None) -> None:  # fmt: skip
        self.camera_id = camera_id
        self.video, self.start, self.interval_s, self.staying = video, start, interval_s, staying
        self.knock, self.dimming, self.night = knock, dimming, night
        self._closed = threading.Event()

    def frames(self) -> Iterator[Frame]:
        prepared = None
        next_s = 0.0
        with av.open(str(self.video)) as container:
            stream = container.streams.video[0]
            for seq, decoded in enumerate(container.decode(stream)):
                if self._closed.is_set():
                    return
                at_s = float(decoded.pts * stream.time_base)
                if at_s + 1e-6 < next_s:
                    continue
                next_s += self.interval_s
                image = np.asarray(decoded.to_ndarray(format="bgr24"), np.uint8)
                if self.knock is not None and at_s >= self.knock.at_s:
                    image = self.knock.moved(image)
                if self.dimming is not None:
                    image = self.dimming.lit(image, at_s)
                staying = self.staying
                if staying is not None and staying.appear_s <= at_s < staying.leave_s:
                    prepared = prepared or prepare(staying.crop, image, staying.placement)
                    image = lay_in(image, prepared, staying.placement, seq)
                if self.night is not None:
                    image = self.night.seen(image, at_s, seq)
                yield Frame(self.camera_id, seq, self.start + dt.timedelta(seconds=at_s), image)

    def close(self) -> None:
        self._closed.set()


def still_camera(photo: str, video: Path, seconds: float = 30.0, fps: int = 5, seed: int = 0) -> Path:
    """A real-dev photo as a fixed camera would stream the scene if nothing in it moved: every frame the same
    picture under fresh sensor noise (σ 4 grey levels), compressed as H.264 at a camera's quality. Noise and
    compression move the detector's scores from frame to frame, as on real footage."""
    found = {p.name: p for p in read_folder(shared("real-dev"))}[photo]
    picture = cv2.imread(str(found.path))
    height, width = (side - side % 2 for side in picture.shape[:2])
    picture = picture[:height, :width].astype(np.float32)
    noise = np.random.default_rng(seed)
    with av.open(str(video), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "28", "g": str(2 * fps)}
        for _ in range(int(seconds * fps)):
            noisy = np.clip(picture + noise.normal(0.0, 4.0, picture.shape), 0, 255).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(noisy, format="bgr24")))
        container.mux(stream.encode())
    return video
