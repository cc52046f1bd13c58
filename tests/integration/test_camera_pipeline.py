"""Cameras to detections: a generated street video through the pipeline, its evidence sealed in the local store,
each violation recorded once as a detection pending review for the camera's registered zone."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bench.pipeline import SHORT_TIMES
from cases.services.detections import QueueFilter
from offsite.bootstrap import Components
from offsite.cameras import build_runner, intake_sink, registry_certification, rules_hash
from tests.conftest import SHANGHAI
from tests.integration.world import World
from tests.unit.evidence.test_store import open_store
from tests.unit.vision.test_pipeline import Clocked, OracleDetector
from vision.config import CameraSpec, camera_from_sidecar, camera_spec
from vision.synthetic import CLASS_NAMES, VideoSpec, render_video

REGISTERED = {"A": "Z-ROAD"}  # the video's zone A is the registered camera's no-vending zone


@pytest.fixture(scope="module")
def stall_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    video = tmp_path_factory.mktemp("stall") / "stall.mp4"
    render_video(VideoSpec(out=video, scenario="stall", seconds=40, width=480, height=270, seed=31))
    return video


def registered_stall_camera(sidecar: dict[str, Any], video: Path, start: dt.datetime) -> CameraSpec:
    """cam-1 watching the video, its zone A being the registry's Z-ROAD, with only the stall rule."""
    entry = camera_from_sidecar(sidecar, "cam-1", video, SHORT_TIMES, 1.0, start)
    entry["zones"] = [z | {"id": REGISTERED[z["id"]]} for z in entry["zones"] if z["id"] in REGISTERED]
    entry["rules"] = [r | {"id": "stall-road", "zones": ["Z-ROAD"]} for r in entry["rules"] if r["kind"] == "stall"]
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
