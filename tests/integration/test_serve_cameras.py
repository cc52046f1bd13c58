"""A server that runs the camera pipelines (``offsite serve --cameras``): frames pushed through the gateway route
reach the camera's pipeline and its detector; a stream address the gateway registers is pulled at once; the
cameras' figures appear in /metrics."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from offsite.bootstrap import Components
from offsite.cameras import CameraSupervisor
from tests.conftest import SHANGHAI
from tests.integration.test_gateway_frames import call_stream, jpeg, push_frame
from tests.integration.world import World
from tests.unit.evidence.test_store import open_store
from vision.config import camera_spec
from vision.detections import Detections
from vision.sources import StreamSource
from vision.synthetic import CLASS_NAMES

ZONE = {"id": "Z-ROAD", "kind": "no_vending", "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]}


class CountingDetector:
    class_names = CLASS_NAMES

    class manifest:  # noqa: N801 (stands in for a ModelManifest)
        name = "counting"
        sha256 = "0" * 64

    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []

    def detect(self, image: Any) -> Detections:
        self.sizes.append((image.shape[1], image.shape[0]))
        return Detections.empty()


def supervisor(components: Components, tmp_path: Path, url: str) -> tuple[CameraSupervisor, CountingDetector]:
    spec = camera_spec(
        {"camera_id": "cam-1", "source": {"url": url, "interval_s": 1.0}, "zones": [ZONE],
         "rules": [{"id": "stall-road", "kind": "stall", "zones": ["Z-ROAD"]}]},
        CLASS_NAMES,
    )  # fmt: skip
    detector = CountingDetector()

    def registered(camera_id: str) -> tuple[str | None, float | None]:
        camera = components.registry.find_camera(camera_id)
        return camera.stream_url, camera.sample_interval_s

    cameras = CameraSupervisor(
        [spec], detector, open_store(tmp_path / "evidence"), lambda e, _: None,  # type: ignore[arg-type]
        tmp_path / "work", components.frames, registered, caption_tz=SHANGHAI,
    )  # fmt: skip
    components.cameras = cameras
    cameras.start()
    return cameras, detector


def until(condition: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_pushed_frames_reach_the_cameras_detector(
    client: TestClient, components: Components, world: World, tmp_path: Path
) -> None:
    cameras, detector = supervisor(components, tmp_path, "push")
    try:
        for second in range(3):
            stamp = (components.clock.now() + dt.timedelta(seconds=second)).isoformat()
            response = push_frame(client, components, jpeg(96, 54), stamp)
            assert response.status_code == 202, response.text
        assert until(lambda: len(detector.sizes) == 3)
        assert detector.sizes == [(96, 54)] * 3
        metrics = client.get("/metrics").text
        assert 'offsite_camera_frames_analysed_total{camera="cam-1"} 3.0' in metrics
        assert 'offsite_camera_frames_dropped_total{camera="cam-1"} 0.0' in metrics
    finally:
        assert cameras.stop(10)


def test_a_newly_registered_stream_address_is_pulled_at_once(
    client: TestClient, components: Components, world: World, tmp_path: Path
) -> None:
    cameras, _ = supervisor(components, tmp_path, "gateway")
    try:
        assert cameras.waiting == {"cam-1"}  # no address registered yet
        address = "rtsp://127.0.0.1:9/cam1"  # nothing listens there: the camera goes offline and retries
        response = call_stream(client, components, "PUT", {"url": address, "sample_interval_s": 2.0})
        assert response.status_code == 200, response.text
        assert until(lambda: cameras.waiting == set())
        assert until(lambda: "cam-1" in cameras.runner.pipelines)
        source = cameras.runner.pipelines["cam-1"].source
        assert isinstance(source, StreamSource)
        assert (source.config.url, source.config.interval_s) == (address, 2.0)
        assert until(lambda: source.reconnects >= 1)
        assert not cameras.metrics()["cam-1"].online
        assert until(lambda: not source.online)
    finally:
        assert cameras.stop(10)


def test_pushed_frames_for_a_camera_the_server_pulls_are_refused(
    client: TestClient, components: Components, world: World, tmp_path: Path
) -> None:
    cameras, _ = supervisor(components, tmp_path, "gateway")
    try:
        response = push_frame(client, components, jpeg())
        assert response.status_code == 409
        assert response.json()["code"] == "no_pipeline"
    finally:
        assert cameras.stop(10)


@pytest.fixture(autouse=True)
def _no_numpy_warnings() -> Any:
    with np.errstate(all="raise"):
        yield
