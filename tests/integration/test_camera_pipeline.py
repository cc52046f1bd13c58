"""Cameras to detections: a generated street video through the pipeline, its evidence sealed in the local store,
each violation recorded once as a detection pending review for the camera's registered zone."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from bench.pipeline import SHORT_TIMES
from cases.model.registry import Zone, ZoneSubject
from cases.model.staff import Role
from cases.services.detections import QueueFilter
from evidence_store.store import EvidenceStore
from offsite.bootstrap import Components
from offsite.cameras import build_runner, camera_intake, intake_sink, registry_certification, rules_hash
from offsite.reconcile import SealedEvents
from tests.conftest import SHANGHAI
from tests.integration.conftest import Staff
from tests.integration.test_console import sign_in
from tests.integration.world import World, key_frame_items
from tests.unit.evidence.test_store import open_store
from tests.unit.vision.test_pipeline import Clocked, OracleDetector
from vision.config import CameraSpec, camera_from_sidecar, camera_spec
from vision.pipeline import occurrence_event_id
from vision.synthetic import CLASS_NAMES, VideoSpec, render_video

REGISTERED = {"A": "Z-ROAD"}  # the video's zone A is the registered camera's no-vending zone


@pytest.fixture(scope="module")
def stall_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    video = tmp_path_factory.mktemp("stall") / "stall.mp4"
    render_video(VideoSpec(out=video, scenario="stall", seconds=40, width=480, height=270, seed=31))
    return video


def registered_stall_camera(
    sidecar: dict[str, Any], video: Path, start: dt.datetime, zone: str = REGISTERED["A"]
) -> CameraSpec:
    """cam-1 watching the video, its zone A configured as ``zone`` (the registry's Z-ROAD unless told), with only
    the stall rule."""
    entry = camera_from_sidecar(sidecar, "cam-1", video, SHORT_TIMES, 1.0, start)
    entry["zones"] = [z | {"id": zone} for z in entry["zones"] if z["id"] in REGISTERED]
    entry["rules"] = [r | {"id": "stall-road", "zones": [zone]} for r in entry["rules"] if r["kind"] == "stall"]
    return camera_spec(entry, CLASS_NAMES)


class SealedOracle(OracleDetector):
    """The oracle with the manifest the sealer records."""

    class manifest:  # noqa: N801 (stands in for a ModelManifest)
        name = "oracle"
        sha256 = "0" * 64


def test_a_stall_on_camera_becomes_one_detection_with_sealed_evidence(
    components: Components, world: World, stall_video: Path, tmp_path: Path
) -> None:
    sidecar = json.loads(stall_video.with_suffix(".json").read_text())
    start = components.clock.now() - dt.timedelta(hours=1)
    spec = registered_stall_camera(sidecar, stall_video, start)
    oracle = SealedOracle(stall_video, origin=start)
    store = open_store(tmp_path / "evidence")
    intake = intake_sink(lambda event: components.detections.intake(event, components.registry))
    certification = registry_certification(components.registry.find_camera)
    runner = build_runner(
        [spec], oracle, store, intake, tmp_path / "work", certification=certification, caption_tz=SHANGHAI
    )  # type: ignore[arg-type]
    pipeline = runner.pipelines["cam-1"]
    pipeline.source = Clocked(pipeline.source, oracle)
    runner.start()
    assert runner.wait(120)
    assert pipeline.metrics.failed is None
    assert pipeline.metrics.events == 1

    (detection,) = components.detections.queue(QueueFilter()).items
    truth = next(v for v in sidecar["violations"] if v["kind"] == "stall")
    assert detection.violation_code == "street_stall"
    assert detection.rule_id == "stall-road"
    assert abs((detection.first_seen - start).total_seconds() - truth["start_s"]) <= 2.5
    assert detection.certification_problems == []
    assert store.verify(detection.evidence_package_id).ok
    manifest = store.manifest(detection.evidence_package_id)
    context = manifest["context"]
    assert context["camera_id"] == "cam-1"
    assert context["zone_id"] == "Z-ROAD"
    assert context["rules_sha256"] == rules_hash(spec)
    assert context["model"] == {"name": "oracle", "sha256": "0" * 64}
    cert = context["camera_certification"]
    assert cert["registered"] is True
    assert cert["published"] is True
    assert cert["legal_review_ref"] == "法审 1"
    assert cert["technical_review_date"] is not None
    names = {item["name"] for item in manifest["items"]}
    assert {"frame-first.jpg", "annotated-confirming.jpg", "clip.mp4", "quality.json"} <= names


def test_the_same_video_run_again_records_nothing_new(
    components: Components, world: World, stall_video: Path, tmp_path: Path
) -> None:
    sidecar = json.loads(stall_video.with_suffix(".json").read_text())
    start = components.clock.now() - dt.timedelta(hours=1)
    spec = registered_stall_camera(sidecar, stall_video, start)
    store = open_store(tmp_path / "evidence")
    intake = intake_sink(lambda event: components.detections.intake(event, components.registry))
    for _ in range(2):
        oracle = SealedOracle(stall_video, origin=start)
        runner = build_runner([spec], oracle, store, intake, tmp_path / "work", caption_tz=SHANGHAI)  # type: ignore[arg-type]
        runner.pipelines["cam-1"].source = Clocked(runner.pipelines["cam-1"].source, oracle)
        runner.start()
        assert runner.wait(120)
    assert len(components.detections.queue(QueueFilter()).items) == 1
    assert len(list(store.package_ids())) == 1
    assert store.log.size == 1


# ---- a zone the registry does not hold ---------------------------------------------------------------------------
def test_an_event_in_a_zone_missing_from_the_registry_reaches_review_flagged_and_waits_for_the_zone(
    client: TestClient, components: Components, world: World, staff: Staff, stall_video: Path, tmp_path: Path
) -> None:
    sidecar = json.loads(stall_video.with_suffix(".json").read_text())
    start = components.clock.now() - dt.timedelta(hours=1)
    spec = registered_stall_camera(sidecar, stall_video, start, zone="Z-NEW")  # configured, never imported
    oracle = SealedOracle(stall_video, origin=start)
    store = open_store(tmp_path / "evidence")
    record = intake_sink(camera_intake(components.detections, components.registry))
    runner = build_runner([spec], oracle, store, record, tmp_path / "work", caption_tz=SHANGHAI)  # type: ignore[arg-type]
    runner.pipelines["cam-1"].source = Clocked(runner.pipelines["cam-1"].source, oracle)
    runner.start()
    assert runner.wait(120)
    assert runner.pipelines["cam-1"].metrics.events == 1

    (detection,) = components.detections.queue(QueueFilter()).items  # not dropped: pending review, flagged
    assert (detection.zone_id, detection.unregistered_zone) == (None, "Z-NEW")
    assert store.verify(detection.evidence_package_id).ok
    operator = staff.headers(Role.OPERATOR)
    (listed,) = client.get("/api/v1/detections", headers=operator).json()["items"]
    assert (listed["zone_id"], listed["unregistered_zone"]) == (None, "Z-NEW")

    review = {"version": detection.version, "decision": "confirm", "reason": None,
              "checklist": {"authentic": True, "clear": True, "complete": True, "accurate": True}}  # fmt: skip
    url = f"/api/v1/detections/{detection.id}/review"
    refused = client.post(url, json=review, headers=operator)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "zone_not_registered"
    assert "Z-NEW" in refused.json()["detail"]

    sign_in(client, components, Role.OPERATOR)
    queue_page = client.get("/console/review").text
    assert "区域未登记" in queue_page
    assert "Z-NEW" in queue_page
    assert "区域未登记" in client.get(f"/console/detections/{detection.id}").text

    main = world.cameras["main"].id
    assert main is not None
    zone = components.registry.create_zone(Zone(main, "Z-NEW", "新设摊区", ZoneSubject.PUBLIC_SPACE))  # imported now
    confirmed = client.post(url, json=review, headers=operator)
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["zone_id"]) == ("confirmed", zone.id)


# ---- a kill between sealing and recording ------------------------------------------------------------------------
KILLED_AFTER_SEALING = textwrap.dedent(
    """
    import datetime as dt, json, os, signal, sys
    from pathlib import Path
    from offsite.cameras import build_runner
    from tests.integration.test_camera_pipeline import SealedOracle, registered_stall_camera
    from tests.unit.evidence.test_store import open_store
    from tests.unit.vision.test_pipeline import Clocked

    video, evidence, work, start = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]
    start = dt.datetime.fromisoformat(start)
    spec = registered_stall_camera(json.loads(video.with_suffix(".json").read_text()), video, start)
    oracle = SealedOracle(video, origin=start)

    def killed_before_recording(event, captured):  # the seal has returned; the detection is never recorded
        print(event.event_id, event.evidence_package_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    runner = build_runner([spec], oracle, open_store(evidence), killed_before_recording, work, caption_tz=dt.UTC)
    runner.pipelines["cam-1"].source = Clocked(runner.pipelines["cam-1"].source, oracle)
    runner.start()
    runner.wait(120)
    sys.exit(3)  # no event at all: the test's premise failed
    """
)


def seal_and_kill(video: Path, evidence: Path, work: Path, start: dt.datetime) -> tuple[str, str]:
    """Run cam-1 on the video in a process that is killed (SIGKILL) the instant its first seal completes; the
    event id and package id it had when it died."""
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_SEALING, str(video), str(evidence), str(work), start.isoformat()],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stderr[-2000:])
    event, package = done.stdout.split()
    return event, package


def test_a_package_sealed_by_a_process_killed_before_recording_becomes_exactly_one_detection(
    components: Components, world: World, stall_video: Path, tmp_path: Path
) -> None:
    start = components.clock.now() - dt.timedelta(hours=1)
    event, package = seal_and_kill(stall_video, tmp_path / "evidence", tmp_path / "work", start)
    store = open_store(tmp_path / "evidence")  # the next process opens the store (finishing any half-done seal)
    assert store.verify(package).ok
    items = key_frame_items(tmp_path, np.full((90, 160, 3), 90, np.uint8))  # and seals a document beside it
    document = store.seal(items, {"kind": "document", "case_number": "沪城管非现〔2026〕000001号"}).package_id
    assert components.detections.queue(QueueFilter()).items == []  # the orphan: sealed, verifying, unseen

    reconcile = SealedEvents(lambda: store, components.detections, components.registry)
    assert reconcile.run().taken_in == [package]
    (detection,) = components.detections.queue(QueueFilter()).items
    assert (detection.event_id, detection.evidence_package_id) == (event, package)
    assert (detection.violation_code, detection.rule_id) == ("street_stall", "stall-road")
    assert detection.zone_id == world.zones["road"].id
    manifest = store.manifest(package)["context"]
    assert detection.first_seen == dt.datetime.fromisoformat(manifest["first_seen"])
    assert detection.last_seen == dt.datetime.fromisoformat(manifest["confirmed_at"])

    assert reconcile.run().taken_in == []  # again: nothing new
    assert SealedEvents(lambda: store, components.detections, components.registry).run().taken_in == []  # a restart
    assert len(components.detections.queue(QueueFilter()).items) == 1
    assert document not in components.detections.evidence_package_ids()


def seal_orphan(store: EvidenceStore, folder: Path, first_seen: dt.datetime) -> str:
    """A stall package of cam-1's Z-ROAD as a pipeline seals one (its context as older packages hold it, without an
    event id), whose detection was never recorded."""
    context = {
        "camera_id": "cam-1", "zone_id": "Z-ROAD", "rule_id": "stall-road", "violation_code": "street_stall",
        "subject": {"kind": "unknown", "ref": None}, "first_seen": first_seen.isoformat(),
        "confirmed_at": (first_seen + dt.timedelta(minutes=5)).isoformat(), "median_score": "0.8123",
    }  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    return store.seal(key_frame_items(folder, np.full((90, 160, 3), 90, np.uint8)), context).package_id


def until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_the_reconciliation_runs_at_start_and_then_every_round(
    components: Components, world: World, tmp_path: Path
) -> None:
    store = open_store(tmp_path / "evidence")
    now = components.clock.now()
    first = seal_orphan(store, tmp_path / "a", now - dt.timedelta(hours=2))
    stop = threading.Event()
    reconcile = SealedEvents(lambda: store, components.detections, components.registry)
    loop = threading.Thread(target=reconcile.run_forever, args=(stop, 0.2), daemon=True)
    loop.start()
    try:
        assert until(lambda: components.detections.evidence_package_ids() == {first})  # at start
        second = seal_orphan(store, tmp_path / "b", now - dt.timedelta(hours=1))  # orphaned while it runs
        assert until(lambda: components.detections.evidence_package_ids() == {first, second})  # a later round
    finally:
        stop.set()
        loop.join(5)
    assert not loop.is_alive()
    (older, newer) = sorted(components.detections.queue(QueueFilter()).items, key=lambda d: d.first_seen)
    assert older.event_id == occurrence_event_id("cam-1", "stall-road", "Z-ROAD", older.first_seen.isoformat())
    assert (older.confidence, newer.evidence_package_id) == (0.8123, second)
