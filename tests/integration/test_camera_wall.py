"""Issue 16: the command centre's camera wall and today's dashboard. The wall shows every camera by district and
street with its pipeline's state, its newest frame and its last detection, and follows them as server-sent events;
the dashboard counts today's detections, their review and the cases opened, with charts drawn on the server. The
duty operators', the head's and the administrator's; each opening of the wall is logged. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.console import wall
from cases.model.registry import Camera
from cases.model.staff import Role
from cases.persistence import tables
from offsite import camera_wall
from offsite.bootstrap import Components
from tests.integration.conftest import Staff
from tests.integration.test_console import sign_in
from tests.integration.test_gateway_frames import jpeg
from tests.integration.test_serve_cameras import supervisor, until
from tests.integration.world import World
from vision.frames import Frame
from vision.recent_frames import RecentFrames


@pytest.fixture
def placed(components: Components, world: World) -> None:
    """Two more cameras with their district and street recorded: one in 潍坊新村街道, one in 三林镇."""
    components.registry.create_camera(
        Camera("cam-w1", "潍坊路口", "潍坊路 1 号", district="浦东新区", street="潍坊新村街道")
    )
    components.registry.create_camera(Camera("cam-s1", "三林路口", "三林路 1 号", district="浦东新区", street="三林镇"))


def tiles_in(html: str) -> list[str]:
    return re.findall(r'<figure class="tile[^"]*" id="tile-([^"]+)"', html)


def keep_frame(components: Components, camera_id: str, at: dt.datetime) -> None:
    keeper = RecentFrames(components.settings.recent_frames_dir, camera_id, dt.timedelta(seconds=10),
                          dt.timedelta(hours=24))  # fmt: skip
    assert keeper.offer(Frame(camera_id, 0, at, np.full((54, 96, 3), 90, np.uint8)), lambda: []) is not None


def stream_events(client: TestClient, query: str = "") -> list[Any]:
    """The wall's stream read to its end (its life set to one look in these tests): the tiles it sent."""
    with client.stream("GET", f"/console/wall/stream{query}") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    assert body.startswith("retry: ")
    return [json.loads(block.split("data: ", 1)[1]) for block in body.split("\n\n") if block.startswith("event: tiles")]


def test_the_wall_shows_every_camera_by_district_and_street_and_logs_each_opening(
    client: TestClient, components: Components, world: World, placed: None
) -> None:
    sign_in(client, components, Role.OPERATOR)
    everything = client.get("/console/wall")
    assert everything.status_code == 200
    assert tiles_in(everything.text) == ["cam-s1", "cam-w1", "cam-1", "cam-9"]  # by district, street, device id
    assert "未在本服务运行" in everything.text  # no pipeline runs in this process
    street = client.get("/console/wall", params={"district": "浦东新区", "street": "三林镇"})
    assert tiles_in(street.text) == ["cam-s1"]
    query = select(tables.personal_data_reads).where(tables.personal_data_reads.c.record_type == "camera_wall")
    with components.engine.connect() as connection:
        logged = [(r.actor, r.record_id) for r in connection.execute(query)]
    assert logged == [("operator1", "全部: 4 cameras"), ("operator1", "浦东新区 · 三林镇: 1 cameras")]


def test_the_stream_follows_a_running_camera_its_newest_frame_and_its_last_detection(
    client: TestClient, components: Components, world: World, placed: None, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(wall, "STREAM_S", 0.0)  # one look, then the stream ends
    cameras, _detector = supervisor(components, tmp_path / "pipelines", "push")  # its own evidence store
    try:
        for second in range(3):
            components.frames.push("cam-1", jpeg(96, 54), components.clock.now() + dt.timedelta(seconds=second))
        pipeline = cameras.runner.pipelines["cam-1"]
        assert until(lambda: pipeline.metrics.frames_analysed == 3)
        keep_frame(components, "cam-1", components.clock.now())
        detection = world.detection("stall", confirmed=False, hours_ago=0.5)
        sign_in(client, components, Role.SUPERVISOR)

        (tiles,) = stream_events(client, "?street=")
        by_id = {t["device_id"]: t for t in tiles}
        one = by_id["cam-1"]
        assert (one["state"], one["analysed"], one["dropped"]) == ("online", 3, 0)
        assert one["frame"] is not None
        assert one["event"] == {"code": "street_stall", "name": "无序设摊", "at": "03-02 09:30:00",
                                "status": "pending_review", "id": detection.id}  # fmt: skip
        assert by_id["cam-9"]["state"] == "elsewhere"
        assert by_id["cam-9"]["event"] is None
        picture = client.get(f"/console/wall/cam-1/frame.jpg?frame={one['frame']}")
        assert picture.status_code == 200
        assert picture.headers["content-type"] == "image/jpeg"
        assert client.get("/console/wall/cam-9/frame.jpg").status_code == 404

        (only,) = stream_events(client, "?district=浦东新区&street=潍坊新村街道")
        assert [t["device_id"] for t in only] == ["cam-w1"]
    finally:
        assert cameras.stop(10)


def test_frames_a_second_come_from_the_counter_between_two_looks() -> None:
    rates = camera_wall.Looks()
    assert rates.fps("cam-1", 10, now=100.0) is None  # the first look has nothing to compare with
    assert rates.fps("cam-1", 30, now=110.0) == 2.0
    assert rates.fps("cam-1", 5, now=111.0) is None  # the counter started again (a restarted pipeline)
    assert rates.fps("cam-1", 5, now=111.0) is None  # no time passed


def test_the_dashboard_counts_today_and_draws_its_charts_on_the_server(
    client: TestClient, components: Components, world: World
) -> None:
    world.detection("stall", confirmed=True, hours_ago=0.5)
    world.detection("stall", confirmed=False, hours_ago=1.5)
    world.detection("cross_door", confirmed=False, hours_ago=2)
    world.detection("stall", confirmed=False, hours_ago=30)  # yesterday: not today's
    world.draft()  # a case opened today from a fourth detection of today (cross-door, confirmed)
    sign_in(client, components, Role.SUPERVISOR)
    page = client.get("/console/dashboard")
    assert page.status_code == 200
    figure = dict(re.findall(r'<strong id="([a-z-]+)">([^<]+)</strong>', page.text))
    assert figure == {"found": "4", "pending": "2", "confirmed": "2", "rejected": "0", "cases-opened": "1",
                      "online": "0 / 2"}  # fmt: skip
    charts = re.findall(r"<svg[^>]*>", page.text)
    assert len(charts) == 2  # by hour, and by review outcome
    assert "<text" not in page.text.split('id="by-hour"', 1)[1]  # letters drawn as paths: no font needed
    assert "cdn" not in page.text.lower()


def test_the_wall_and_the_dashboard_are_the_watchers_only(
    client: TestClient, components: Components, world: World
) -> None:
    for role in (Role.OFFICER, Role.LEGAL_REVIEWER, Role.MODEL_STEWARD):
        sign_in(client, components, role)
        assert client.get("/console/wall").status_code == 403
        assert client.get("/console/wall/stream").status_code == 403
        assert client.get("/console/dashboard").status_code == 403
    for role in (Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN):
        sign_in(client, components, role)
        assert client.get("/console/dashboard").status_code == 200


def test_the_api_gives_the_wall_s_tiles_and_today_s_figures(
    client: TestClient, components: Components, world: World, placed: None, staff: Staff
) -> None:
    world.detection("stall", confirmed=False, hours_ago=0.5)
    watcher = staff.headers(Role.SUPERVISOR)
    tiles = client.get("/api/v1/wall", params={"district": "浦东新区", "street": "三林镇"}, headers=watcher).json()
    assert [(t["device_id"], t["state"], t["event"]) for t in tiles] == [("cam-s1", "elsewhere", None)]
    (main,) = [t for t in client.get("/api/v1/wall", headers=watcher).json() if t["device_id"] == "cam-1"]
    assert main["event"]["code"] == "street_stall"
    for language, name in (("zh-CN", "无序设摊"), ("en", "Street stall")):
        told = client.get("/api/v1/wall", headers=watcher | {"Accept-Language": language}).json()
        assert [t["event"]["name"] for t in told if t["device_id"] == "cam-1"] == [name]
    today = client.get("/api/v1/dashboard/today", headers=watcher).json()
    assert today["found"] == {"street_stall": 1}
    assert today["outcomes"] == {"pending_review": 1}
    assert sum(today["by_hour"]["street_stall"]) == 1
    assert client.get("/api/v1/wall", headers=staff.headers(Role.OFFICER)).status_code == 403


def test_an_open_wall_asks_only_for_new_detections_and_keeps_each_camera_s_latest(
    components: Components, world: World
) -> None:
    looks = camera_wall.Looks()
    assert looks.detections(components) == {}
    first = world.detection("stall", confirmed=False, hours_ago=2)
    assert looks.detections(components)["cam-1"].detection_id == first.id
    later = world.detection("cross_door", confirmed=False, hours_ago=1)
    other = world.detection("stall", confirmed=False, hours_ago=1, zone="uncertified")  # cam-9
    seen = looks.detections(components)
    assert (seen["cam-1"].detection_id, seen["cam-1"].violation_code) == (later.id, "cross_door")
    assert seen["cam-9"].detection_id == other.id
    assert components.command_centre.last_detections(after_id=max(later.id or 0, other.id or 0)) == {}


def test_a_watcher_who_chooses_english_reads_the_wall_and_the_dashboard_in_english(
    client: TestClient, components: Components, world: World, placed: None
) -> None:
    world.detection("stall", confirmed=False, hours_ago=0.5)
    sign_in(client, components, Role.OPERATOR)
    client.get("/console/language/en")
    shown = client.get("/console/wall").text
    for english in ("Video wall", "District", "Street (town)", "Filter", "Not run by this service"):
        assert english in shown, english
    assert "三林路口" in shown  # the camera's registered name
    for chinese in ("街道（镇）", "筛选", "未在本服务运行", "今日尚无检出"):
        assert chinese not in shown, chinese
    words = re.search(r'<script type="application/json" id="wall-words">(.*?)</script>', shown, re.S)
    assert words is not None
    told = json.loads(words.group(1))
    assert told["states"]["online"] == "Online"
    assert told["online"] == "{online} / {total} online"  # the script fills in the counts

    today = client.get("/console/dashboard").text
    for english in ("Detected today", "Pending review", "Cases filed today", "Cameras online", "Detections by hour",
                    "Review outcomes"):  # fmt: skip
        assert english in today, english
    for chinese in ("今日检出", "待审核", "今日立案", "摄像头在线", "各时段检出", "审核情况"):
        assert chinese not in today, chinese
