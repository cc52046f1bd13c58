"""Issue 16 with real processes, a worker's faults: the road camera as a live RTSP stream, a sealer and two
``offsite worker`` processes on a real nats-server. The worker holding the camera is killed (SIGKILL) before or after
its stall is confirmed, or cut off from the broker: the other takes the camera within the lease, and the stall is one
detection. Split from test_cluster_processes so that two pytest workers share these long tests. On SQLite and
PostgreSQL."""

from __future__ import annotations

import contextlib
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cases.model.registry import Camera
from offsite import camera_configs
from offsite.bootstrap import Components
from offsite.demo import FOOTAGE_CACHE, ROAD
from tests.integration.cluster import ADMIN, STALL, Roles, detections
from tests.integration.test_serve_cameras import until
from tests.integration.test_stream_sources import RtspServer, gstreamer  # noqa: F401 (a fixture)
from tests.support.nats_server import free_port
from vision.synthetic import CLASS_NAMES


@contextlib.contextmanager
def live_road(components: Components, roles: Roles, tmp_path: Path) -> Iterator[tuple[str, str, int]]:
    """The road camera as a live RTSP stream of the demo's road (paced in real time, from its start for each
    connection), saved in the database; a sealer and two workers running. Yields the worker holding the camera
    once both have announced themselves, the other, and the holder's epoch."""
    camera = RtspServer(STALL.video(FOOTAGE_CACHE), free_port(), tmp_path / "rtsp.log")
    camera.start()
    try:
        components.registry.create_camera(Camera(ROAD, "张杨路东方路口", "浦东新区张杨路东方路口"))
        spec = STALL.camera(FOOTAGE_CACHE, components.clock.now(), CLASS_NAMES)
        document = camera_configs.document_of(spec)
        document["source"] = {"url": camera.url, "interval_s": 1.0}
        components.camera_configs.save_all({ROAD: document}, ADMIN, "live road", components.registry)
        roles.start("sealer", "s1")
        roles.start("worker", "w1")
        roles.start("worker", "w2")
        assert until(lambda: all("taking cameras" in roles.log(w) for w in ("w1", "w2")), 60)
        assert until(lambda: any("taken under epoch" in roles.log(w) for w in ("w1", "w2")), 30)
        time.sleep(2)  # both workers announced: the camera is with its owner (handed over once, if need be)
        epoch, holder = max(
            (int(e), w) for w in ("w1", "w2") for e in re.findall(r"taken under epoch (\d+)", roles.log(w))
        )
        yield holder, ("w2" if holder == "w1" else "w1"), epoch
    finally:
        roles.stop_all()
        camera.stop()


def kill_and_take_over(roles: Roles, holder: str, other: str, epoch: int) -> float:
    """SIGKILL the holder; the seconds until the other worker took the camera (at most the lease time plus 5 s)."""
    roles.stop(holder, signal.SIGKILL)
    killed = time.monotonic()
    assert until(lambda: f"taken under epoch {epoch + 1}" in roles.log(other), 2 + 5), roles.log(other)[-3000:]
    return time.monotonic() - killed


@pytest.mark.usefixtures("gstreamer")
def test_a_worker_killed_before_its_camera_confirmed_hands_it_over_within_the_lease_and_one_detection_results(
    components: Components,
    roles: Roles,
    tmp_path: Path,
) -> None:
    """The worker holding the live road is killed before the stall it watches is confirmed: the other worker takes
    the camera within the lease time plus 5 s, watches the stall from its start, and it becomes one detection."""
    (truth,) = STALL.true_violations(FOOTAGE_CACHE)
    with live_road(components, roles, tmp_path) as (holder, other, epoch):
        time.sleep(truth["start_s"] + 4)  # the stall is in view, not yet there long enough
        assert detections(components) == []
        assert kill_and_take_over(roles, holder, other, epoch) <= 2 + 5
        assert until(lambda: len(detections(components)) == 1, 90), roles.log(other)[-3000:] + roles.log("s1")[-2000:]
        time.sleep(3)
        assert len(detections(components)) == 1  # once, by the worker that took over


@pytest.mark.usefixtures("gstreamer")
def test_a_worker_killed_after_its_camera_raised_a_stall_is_not_followed_by_the_same_stall_raised_again(
    components: Components,
    roles: Roles,
    tmp_path: Path,
) -> None:
    """The holder raised the stall, then is killed. The other worker carries on from its state: watching the stall
    again from the stream's start, it does not raise it a second time within the rule's cooldown."""
    (truth,) = STALL.true_violations(FOOTAGE_CACHE)
    with live_road(components, roles, tmp_path) as (holder, other, epoch):
        assert until(lambda: len(detections(components)) == 1, 90), roles.log(holder)[-3000:]
        kill_and_take_over(roles, holder, other, epoch)
        assert "carries on from" in roles.log(other)
        time.sleep(truth["start_s"] + 20 + 10)  # the new holder has watched the stall longer than its dwell
        assert "event" not in roles.log(other).split(f"taken under epoch {epoch + 1}", 1)[1]
        assert len(detections(components)) == 1


@pytest.mark.usefixtures("gstreamer")
def test_a_worker_cut_off_finds_its_camera_lost_and_stops_it_and_the_stall_is_one_detection(
    components: Components,
    roles: Roles,
    tmp_path: Path,
) -> None:
    """The holder is frozen (SIGSTOP: it renews nothing, as if cut off) while its camera's stall is in view. The other
    worker takes the camera and raises the stall. Thawed, the old holder finds its lease lost and stops the camera:
    one detection. (An event it managed to raise in between would be fenced off by the camera's epoch:
    test_cluster_events shows that on the stream itself; here the thawed worker usually stops first.)"""
    (truth,) = STALL.true_violations(FOOTAGE_CACHE)
    with live_road(components, roles, tmp_path) as (holder, other, epoch):
        time.sleep(truth["start_s"] + 4)
        frozen = roles.running[holder]
        frozen.send_signal(signal.SIGSTOP)
        try:
            assert until(lambda: f"taken under epoch {epoch + 1}" in roles.log(other), 2 + 5), roles.log(other)[-3000:]
            assert until(lambda: len(detections(components)) == 1, 90), roles.log(other)[-3000:]
        finally:
            frozen.send_signal(signal.SIGCONT)
        assert until(lambda: "lost" in roles.log(holder) or "lease ran out" in roles.log(holder), 30), roles.log(
            holder
        )[-3000:]
        time.sleep(5)  # what the thawed worker had in hand reaches the sealer, or does not
        assert len(detections(components)) == 1
