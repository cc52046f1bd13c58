"""A server that runs the camera pipelines (``offsite serve --cameras``): frames pushed through the gateway route
reach the camera's pipeline and its detector; a stream address the gateway registers is pulled at once; the
cameras' figures appear in /metrics."""

from __future__ import annotations

import datetime as dt
import logging
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
from vision.sources import Backoff, StreamSource
from vision.synthetic import CLASS_NAMES

ZONE = {"id": "Z-ROAD", "kind": "no_vending", "polygon": [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]}


class CountingDetector:
    class_names = CLASS_NAMES

    class manifest:  # noqa: N801 (stands in for a ModelManifest)
        name = "counting"
        sha256 = "0" * 64

    def __init__(self, fails_on_width: int | None = None) -> None:
        self.sizes: list[tuple[int, int]] = []
        self.fails_on_width = fails_on_width

    def detect(self, image: Any) -> Detections:
        if image.shape[1] == self.fails_on_width:  # a stage that breaks on one picture, as letterbox once did
            raise RuntimeError(f"the detector cannot take a picture {image.shape[1]} pixels wide")
        self.sizes.append((image.shape[1], image.shape[0]))
        return Detections.empty()


def supervisor(
    components: Components, tmp_path: Path, url: str, detector: CountingDetector | None = None
) -> tuple[CameraSupervisor, CountingDetector]:
    spec = camera_spec(
        {"camera_id": "cam-1", "source": {"url": url, "interval_s": 1.0}, "zones": [ZONE],
         "rules": [{"id": "stall-road", "kind": "stall", "zones": ["Z-ROAD"]}]},
        CLASS_NAMES,
    )  # fmt: skip
    detector = detector or CountingDetector()

    def registered(camera_id: str) -> tuple[str | None, float | None]:
        camera = components.registry.find_camera(camera_id)
        return camera.stream_url, camera.sample_interval_s

    cameras = CameraSupervisor(
        [spec], detector, open_store(tmp_path / "evidence"), lambda e, _: None,  # type: ignore[arg-type]
        tmp_path / "work", components.frames, registered, caption_tz=SHANGHAI,
        restart_backoff=Backoff(first_s=0.2, factor=2.0, max_s=1.0),
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


def push_until_taken(client: TestClient, components: Components, content: bytes, second: int) -> Any:
    """Push one frame, again while the camera's pipeline is being restarted (409 no_pipeline for that moment)."""
    stamp = (components.clock.now() + dt.timedelta(seconds=second)).isoformat()
    response = push_frame(client, components, content, stamp)
    deadline = time.monotonic() + 10
    while response.status_code == 409 and time.monotonic() < deadline:
        time.sleep(0.05)
        response = push_frame(client, components, content, stamp)
    return response


def test_a_pipeline_whose_stage_raises_is_restarted_with_backoff_counted_and_takes_frames_again(
    client: TestClient, components: Components, world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cameras, detector = supervisor(components, tmp_path, "push", CountingDetector(fails_on_width=99))
    try:
        with caplog.at_level(logging.WARNING):
            assert push_until_taken(client, components, jpeg(96, 54), 0).status_code == 202
            assert until(lambda: len(detector.sizes) == 1)
            first = cameras.runner.pipelines["cam-1"]
            assert push_until_taken(client, components, jpeg(99, 54), 1).status_code == 202  # breaks the stage
            assert until(lambda: cameras.runner.pipelines["cam-1"] is not first)  # a fresh pipeline in its place

            for second in (2, 3):
                assert push_until_taken(client, components, jpeg(96, 54), second).status_code == 202
            assert until(lambda: len(detector.sizes) == 3)
        figures = cameras.metrics()["cam-1"]
        assert (figures.failures, figures.restarts, figures.failed) == (1, 1, None)
        assert figures.frames_analysed == 3  # counted across the restart
        metrics = client.get("/metrics").text
        assert 'offsite_camera_failures_total{camera="cam-1"} 1.0' in metrics
        assert 'offsite_camera_restarts_total{camera="cam-1"} 1.0' in metrics
        assert "cannot take a picture 99 pixels wide" in caplog.text
        assert "camera cam-1 stopped on an error" in caplog.text
    finally:
        assert cameras.stop(10)


def test_a_camera_that_keeps_failing_is_restarted_each_time_after_a_longer_wait(
    client: TestClient, components: Components, world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cameras, detector = supervisor(components, tmp_path, "push", CountingDetector(fails_on_width=99))
    try:
        with caplog.at_level(logging.WARNING, logger="offsite.cameras"):
            for second in range(3):
                before = cameras.runner.pipelines["cam-1"]
                assert push_until_taken(client, components, jpeg(99, 54), second).status_code == 202
                assert until(lambda before=before: cameras.runner.pipelines["cam-1"] is not before)
        waits = [
            r.getMessage().rpartition("restarting in ")[2] for r in caplog.records if "restarting in" in r.getMessage()
        ]
        assert waits == ["0.2 s", "0.4 s", "0.8 s"]
        assert (cameras.metrics()["cam-1"].failures, cameras.metrics()["cam-1"].restarts) == (3, 3)
        assert push_until_taken(client, components, jpeg(96, 54), 3).status_code == 202
        assert until(lambda: detector.sizes == [(96, 54)])
    finally:
        assert cameras.stop(10)


@pytest.fixture(autouse=True)
def _no_numpy_warnings() -> Any:
    with np.errstate(all="raise"):
        yield


def test_a_camera_given_up_stops_and_is_forgotten_while_the_others_run_on(
    components: Components, world: World, tmp_path: Path
) -> None:
    """A worker of a cluster gives a camera up when its lease goes to another worker."""
    cameras, _detector = supervisor(components, tmp_path, "push")
    try:
        pipeline = cameras.runner.pipelines["cam-1"]
        assert cameras.remove("cam-1", timeout_s=10)
        assert "cam-1" not in cameras.specs
        assert "cam-1" not in cameras.runner.pipelines
        assert not cameras.runner.running("cam-1")
        assert pipeline.metrics.failed is None  # stopped, not failed: the watcher does not bring it back
        assert cameras.remove("cam-1")  # gone already: nothing to do
    finally:
        assert cameras.stop(10)
