"""Issue 15, "missed violation": a camera's pipeline keeps a frame now and then for a set time; an operator looks
through them in the console (the look logged), boxes what the detector missed, and the frame becomes a training
frame with its own retention, in the next export; a frame whose time is up goes, with its row. On SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cases.model.staff import Role
from cases.persistence import tables
from cases.services.base import Actor
from offsite import learning, missed
from offsite.bootstrap import Components
from offsite.cameras import build_runner, intake_sink
from tests.conftest import SHANGHAI
from tests.integration.test_camera_pipeline import SealedOracle, registered_stall_camera
from tests.integration.test_console import csrf, sign_in
from tests.integration.world import World
from tests.unit.evidence.test_store import open_store
from tests.unit.vision.test_pipeline import Clocked
from vision import recent_frames
from vision.synthetic import CLASS_NAMES, VideoSpec, render_video

ADMIN = Actor("admin1", Role.ADMIN)


@pytest.fixture(scope="module")
def stall_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    video = tmp_path_factory.mktemp("missed") / "stall.mp4"
    render_video(VideoSpec(out=video, scenario="stall", seconds=30, width=480, height=270, seed=31))
    return video


@pytest.fixture
def watched(components: Components, world: World, stall_video: Path, tmp_path: Path) -> list[recent_frames.RecentFrame]:
    """cam-1 has watched the video with recent frames kept (one every 10 s of video)."""
    sidecar = json.loads(stall_video.with_suffix(".json").read_text())
    start = components.clock.now() - dt.timedelta(hours=1)
    oracle = SealedOracle(stall_video, origin=start)
    emit = intake_sink(lambda event: components.detections.intake(event, components.registry))
    runner = build_runner([registered_stall_camera(sidecar, stall_video, start)], oracle, open_store(tmp_path / "ev"),
                          emit, tmp_path / "work", caption_tz=SHANGHAI, recent=missed.keeper(components.settings))  # type: ignore[arg-type]  # fmt: skip
    pipeline = runner.pipelines["cam-1"]
    pipeline.source = Clocked(pipeline.source, oracle)
    runner.start()
    assert runner.wait(120)
    assert pipeline.metrics.failed is None
    return recent_frames.listed(components.settings.recent_frames_dir, "cam-1")


def reads(components: Components, record_type: str) -> list[str]:
    query = select(tables.personal_data_reads).where(tables.personal_data_reads.c.record_type == record_type)
    with components.engine.connect() as connection:
        return [f"{r.actor}: {r.record_id}" for r in connection.execute(query)]


def test_a_pipeline_keeps_a_frame_every_interval_with_what_the_detector_saw_on_it(
    components: Components, watched: list[recent_frames.RecentFrame]
) -> None:
    assert 3 <= len(watched) <= 4  # 30 s of video, one frame every 10 s
    assert [f.taken_at for f in watched] == sorted((f.taken_at for f in watched), reverse=True)
    gaps = [(a.taken_at - b.taken_at).total_seconds() for a, b in itertools.pairwise(watched)]
    assert all(gap >= 10 for gap in gaps)
    assert all(f.model_sha256 == "0" * 64 and (f.width, f.height) == (480, 270) for f in watched)
    assert any(box.class_name == "stall" for f in watched for box in f.boxes)  # the oracle's boxes, kept beside


def test_an_operator_boxes_a_missed_violation_and_it_is_in_the_next_export_with_its_provenance(
    client: TestClient, components: Components, watched: list[recent_frames.RecentFrame], tmp_path: Path
) -> None:
    sign_in(client, components, Role.OPERATOR)
    assert "cam-1" in client.get("/console/recent").text
    listing = client.get("/console/recent/cam-1").text
    assert all(f'id="frame-{f.name}"' in listing for f in watched)
    assert reads(components, "recent_frames") == [f"operator1: cam-1: {len(watched)} frames"]
    frame = watched[-1]  # the oldest: the stall is not up yet, nothing reported
    assert client.get(f"/console/recent/cam-1/{frame.name}.jpg").content[:2] == b"\xff\xd8"
    page = client.get(f"/console/recent/cam-1/{frame.name}").text
    boxes = [{"class": "goods", "xyxy": [10, 20, 60, 80]}]

    saved = client.post(f"/console/recent/cam-1/{frame.name}/missed",
                        data={"csrf": csrf(page), "boxes": json.dumps(boxes)}, follow_redirects=True)  # fmt: skip
    assert "已保存为漏报训练帧（1 个框）" in saved.text
    [kept] = components.missed.of_camera("cam-1").values()
    assert (kept.labelled_by, kept.boxes, kept.model_sha256) == ("operator1", boxes, "0" * 64)
    picture = components.settings.training_frames_dir / kept.image
    assert picture.read_bytes() == frame.image.read_bytes()
    assert kept.keep_until == kept.labelled_at + dt.timedelta(days=components.settings.training_frames_keep_days)

    summary, found = learning.export(components, ADMIN, tmp_path / "export", CLASS_NAMES, 0.2)
    provenance = [json.loads(line) for line in (summary.root / "provenance.jsonl").read_text().splitlines()]
    [missed_line] = [p for p in provenance if p["role"] == "missed"]
    assert (missed_line["labelled_by"], missed_line["camera"], missed_line["frame"]) == (
        "operator1",
        "cam-1",
        frame.name,
    )
    label = next(summary.root.glob(f"labels/*/cam-1-{frame.name}-missed.txt")).read_text().split()
    assert int(label[0]) == CLASS_NAMES.index("goods")
    assert found.detections == 0  # no detection was reviewed: the missed frame is in the export all the same
    assert reads(components, "training_frames")[-1] == "admin1: 1 missed-violation frames"


def test_a_bad_label_on_a_recent_frame_is_refused_and_changes_nothing(
    client: TestClient, components: Components, watched: list[recent_frames.RecentFrame]
) -> None:
    sign_in(client, components, Role.OPERATOR)
    name = watched[0].name
    token = csrf(client.get(f"/console/recent/cam-1/{name}").text)
    for boxes, said in (
        ([], "至少要框出一个目标"),
        ([{"class": "goods", "xyxy": [10, 20, 600, 80]}], "第 1 个框"),
        ([{"class": "unicorn", "xyxy": [10, 20, 60, 80]}], "unicorn"),
        ("not json", "框须为列表"),
    ):
        answer = client.post(f"/console/recent/cam-1/{name}/missed",
                             data={"csrf": token, "boxes": boxes if isinstance(boxes, str) else json.dumps(boxes)},
                             follow_redirects=True)  # fmt: skip
        assert said in answer.text, answer.text[-400:]
    assert components.missed.of_camera("cam-1") == {}
    assert not components.settings.training_frames_dir.exists()
    for wrong in ("..%2F..%2Fetc", "20260101T000000.000Z", "x" * 40):
        assert client.get(f"/console/recent/cam-1/{wrong}").status_code == 404
    sign_in(client, components, Role.OFFICER)  # labelling is the operators'
    assert client.get("/console/recent/cam-1").status_code == 403


def test_recent_and_training_frames_go_when_their_time_is_up(
    client: TestClient, components: Components, watched: list[recent_frames.RecentFrame]
) -> None:
    operator = Actor("operator1", Role.OPERATOR)
    kept = missed.label(components, "cam-1", watched[0].name, [{"class": "stall", "xyxy": [1, 1, 50, 50]}],
                        CLASS_NAMES, operator)  # fmt: skip
    picture = components.settings.training_frames_dir / kept.image
    clock = components.clock
    clock.advance(dt.timedelta(hours=components.settings.recent_frames_keep_h + 2))  # type: ignore[attr-defined]
    assert missed.sweep(components) == (len(watched), 0)  # the recent frames go; the training frame stays
    assert recent_frames.listed(components.settings.recent_frames_dir, "cam-1") == []
    assert picture.exists()
    clock.advance(dt.timedelta(days=components.settings.training_frames_keep_days))  # type: ignore[attr-defined]
    assert missed.sweep(components) == (0, 1)
    assert not picture.exists()
    assert components.missed.of_camera("cam-1") == {}


def test_recent_frame_names_are_checked_before_any_path_is_made(tmp_path: Path) -> None:
    for camera, name in (("cam-1", "../../x"), ("../cam", "20260101T000000.000Z"), ("cam-1", "20260101T000000Z")):
        with pytest.raises(recent_frames.RecentFrameError):
            recent_frames.read(tmp_path, camera, name)
    assert re.fullmatch(recent_frames.NAME, recent_frames.name_of(dt.datetime(2026, 12, 5, 1, 2, 3, 450000, dt.UTC)))
