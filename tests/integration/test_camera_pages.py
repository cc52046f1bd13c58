"""Issue 16: the cameras' pages. An administrator sees every camera with its configuration's version and its
pipeline's state, draws a camera's zones on its picture and saves them as its next version; a refusal is told in
Chinese, naming the field or the zone, saves nothing and shows the page again as drawn; a running camera takes the
saved version up before its next frame. Other roles are refused; each look at the picture is logged. On SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select

from cases.model.staff import Role
from cases.persistence import tables
from offsite import camera_configs
from offsite.bootstrap import Components
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_camera_configs import ADMIN, camera, cameras_file
from tests.integration.test_console import csrf, sign_in
from tests.integration.test_gateway_frames import jpeg
from tests.integration.test_serve_cameras import ZONE, supervisor, until
from tests.integration.world import World
from vision.frames import Frame
from vision.recent_frames import RecentFrames
from vision.synthetic import CLASS_NAMES, VideoSpec, render_video

PAGE = "/console/cameras/cam-1"
SQUARE = [[0.1, 0.5], [0.4, 0.5], [0.4, 0.9], [0.1, 0.9]]


def form(token: str, **more: Any) -> dict[str, Any]:
    """The page's form as the browser posts it: one no-vending zone watched by one stall rule."""
    return {
        "csrf": token, "source_url": "push", "source_interval_s": "1", "source_decode": "auto",
        "zone-0-id": "Z-ROAD", "zone-0-kind": "no_vending", "zone-0-subject_kind": "unknown",
        "zone-0-subject_ref": "", "zone-0-polygon": json.dumps(SQUARE), "zone-0-front_line": "",
        "rule-0-id": "stall-road", "rule-0-kind": "stall", "rule-0-zones": "Z-ROAD", "rule-0-min_dwell_s": "45",
        "rule-0-inertia_s": "", "rule-0-min_median_score": "", "rule-0-cooldown_s": "",
        "reason": "按现场核实调整路口区域",
    } | more  # fmt: skip


def opened(client: TestClient, components: Components) -> str:
    sign_in(client, components, Role.ADMIN)
    page = client.get(PAGE)
    assert page.status_code == 200, page.text
    return page.text


def picture(jpeg_bytes: bytes) -> Any:
    decoded = cv2.imdecode(np.frombuffer(jpeg_bytes, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None
    return decoded


def flash(html: str, kind: str) -> str:
    found = re.search(rf'class="flash {kind}"[^>]*>(.*?)<', html, re.S)
    assert found, f"no {kind} flash"
    return unescape(found.group(1)).strip()


def test_an_administrator_saves_a_drawn_zone_and_a_shop_front_line_as_the_next_version(
    client: TestClient, components: Components, world: World, tmp_path: Path
) -> None:
    camera_configs.import_file(components, cameras_file(tmp_path, camera()), CLASS_NAMES, ADMIN, "from the file")
    token = csrf(opened(client, components))
    shop = [[0.5, 0.5], [0.8, 0.5], [0.8, 0.8], [0.5, 0.8]]
    line = {"start": [0.5, 0.52], "end": [0.8, 0.52], "street_side": [0.65, 0.7]}
    posted = form(token, **{
        "zone-3-id": "Z-SHOP", "zone-3-kind": "shop_strip", "zone-3-subject_kind": "merchant",
        "zone-3-subject_ref": "SHOP-1", "zone-3-polygon": json.dumps(shop), "zone-3-front_line": json.dumps(line),
        "rule-7-id": "door-shop", "rule-7-kind": "cross_door", "rule-7-zones": "Z-SHOP",
    })  # fmt: skip
    saved = client.post(f"{PAGE}/configuration", data=posted, follow_redirects=True)

    assert saved.status_code == 200
    assert "已保存为第 2 版配置" in flash(saved.text, "ok")
    latest = components.camera_configs.history("cam-1")[-1]
    assert (latest.version, latest.saved_by, latest.reason) == (2, "admin1", "按现场核实调整路口区域")
    zones = {z["id"]: z for z in latest.document["zones"]}
    assert zones["Z-ROAD"]["polygon"] == SQUARE
    assert zones["Z-SHOP"]["front_line"] == line
    assert zones["Z-SHOP"]["subject"] == {"kind": "merchant", "ref": "SHOP-1"}
    assert [(r["id"], r["zones"], r["min_dwell_s"]) for r in latest.document["rules"]] == [
        ("stall-road", ["Z-ROAD"], 45.0), ("door-shop", ["Z-SHOP"], None)]  # fmt: skip
    again = client.post(f"{PAGE}/configuration", data=posted, follow_redirects=True)
    assert "与第 2 版相同" in flash(again.text, "ok")
    assert len(components.camera_configs.history("cam-1")) == 2


def test_a_bad_drawing_is_refused_in_chinese_naming_what_is_wrong_and_the_page_keeps_it(
    client: TestClient, components: Components, world: World, tmp_path: Path
) -> None:
    camera_configs.import_file(components, cameras_file(tmp_path, camera()), CLASS_NAMES, ADMIN, "from the file")
    token = csrf(opened(client, components))
    crossing = [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]
    refusals = {
        "区域 Z-ROAD 的第 1 条边与第 3 条边相交": {"zone-0-polygon": json.dumps(crossing)},
        "第 1 个区域的多边形：至少须有 3 项": {"zone-0-polygon": json.dumps([[0.1, 0.1], [0.2, 0.2]])},
        "规则 stall-road 只能用于禁止摆摊区域，区域 Z-ROAD 不是": {"zone-0-kind": "site"},
        "跟踪保留（秒）：须不小于 0": {"lost_s": "-3"},
        "第 1 条规则的最短停留（秒）：须为数字": {"rule-0-min_dwell_s": "five minutes"},
        "第 1 个区域的编号：只能含字母、数字": {"zone-0-id": "路口 1"},
        "区域或店门线的坐标无法读取": {"zone-0-polygon": "[[0.1, 0.1"},
        "请填写修改原因": {"reason": "  "},
        "须为绝对路径": {"source_url": "videos/road.mp4"},
        "店铺门前区域须画店门线": {"zone-0-kind": "shop_strip", "rule-0-kind": "cross_door"},
    }
    for said, changed in refusals.items():
        refused = client.post(f"{PAGE}/configuration", data=form(token, **changed))
        assert refused.status_code == 422, said
        told = flash(refused.text, "error")
        assert said in told, (said, told)
        words = told
        for given in ("stall-road", "Z-ROAD", "gateway", *changed.values()):  # names and values, not prose
            words = words.replace(given, "")
        assert not re.search(r"[A-Za-z]{6,}", words), told
    assert [c.version for c in components.camera_configs.history("cam-1")] == [1]  # nothing saved
    # the page is shown again as drawn, so nothing drawn is lost
    kept = client.post(f"{PAGE}/configuration", data=form(token, **{"zone-0-polygon": json.dumps(crossing)}))
    assert json.dumps(crossing).replace('"', "&#34;") in kept.text
    assert 'value="按现场核实调整路口区域"' in kept.text


def test_only_an_administrator_reaches_the_cameras_pages(
    client: TestClient, components: Components, world: World, tmp_path: Path
) -> None:
    for role in (Role.OPERATOR, Role.OFFICER, Role.MODEL_STEWARD):
        sign_in(client, components, role)
        assert client.get("/console/cameras").status_code == 403
        assert client.get(PAGE).status_code == 403
        assert client.get(f"{PAGE}/snapshot.jpg").status_code == 403
    token = csrf(opened(client, components))
    sign_in(client, components, Role.OPERATOR)
    assert client.post(f"{PAGE}/configuration", data=form(token)).status_code == 403
    assert components.camera_configs.history("cam-1") == []
    sign_in(client, components, Role.ADMIN)
    assert client.get("/console/cameras/cam-unregistered").status_code == 404


def test_the_picture_is_the_newest_recent_frame_else_a_file_sources_first_and_each_look_is_logged(
    client: TestClient, components: Components, world: World, tmp_path: Path
) -> None:
    opened(client, components)
    assert client.get(f"{PAGE}/snapshot.jpg").status_code == 404  # no configuration, no frame: nothing to show
    video = tmp_path / "road.mp4"
    render_video(VideoSpec(out=video, scenario="stall", seconds=2, width=320, height=180, seed=3))
    camera_configs.import_file(components, cameras_file(tmp_path, camera(url=str(video))), CLASS_NAMES, ADMIN, "x")
    first = client.get(f"{PAGE}/snapshot.jpg")
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/jpeg"
    assert picture(first.content).shape == (180, 320, 3)

    folder = components.settings.recent_frames_dir / "cam-1"
    keeper = RecentFrames(components.settings.recent_frames_dir, "cam-1", dt.timedelta(seconds=10),
                          dt.timedelta(hours=24))  # fmt: skip
    keeper.offer(Frame("cam-1", 0, components.clock.now(), np.full((54, 96, 3), 30, np.uint8)), lambda: ())
    assert any(folder.glob("*.jpg"))
    recent = client.get(f"{PAGE}/snapshot.jpg")
    assert picture(recent.content).shape == (54, 96, 3)
    query = select(tables.personal_data_reads).where(tables.personal_data_reads.c.record_type == "camera_snapshot")
    with components.engine.connect() as connection:
        assert [(r.actor, r.record_id) for r in connection.execute(query)] == [("admin1", "cam-1")] * 2


def test_a_running_camera_shows_its_state_and_takes_up_what_was_drawn_before_its_next_frame(
    client: TestClient, components: Components, world: World, tmp_path: Path
) -> None:
    camera_configs.import_file(components, cameras_file(tmp_path, camera()), CLASS_NAMES, ADMIN, "from the file")
    cameras, _detector = supervisor(components, tmp_path, "push")
    try:
        running = {"cam-1": ""}
        camera_configs.take_up_changes(components, cameras, CLASS_NAMES, running)
        pipeline = cameras.runner.pipelines["cam-1"]
        components.frames.push("cam-1", jpeg(96, 54), components.clock.now())
        assert until(lambda: pipeline.metrics.frames_analysed == 1)
        sign_in(client, components, Role.ADMIN)
        found = re.search(r'<tr id="camera-cam-1">.*?</tr>', client.get("/console/cameras").text, re.S)
        assert found is not None
        row = found.group(0)
        assert "在线" in row
        assert "已分析 1 帧" in row
        assert "运行第 1 版" in row

        token = csrf(client.get(PAGE).text)
        client.post(f"{PAGE}/configuration", data=form(token), follow_redirects=False)
        assert "新版本待采用" in client.get(PAGE).text  # saved, not yet taken up
        assert camera_configs.take_up_changes(components, cameras, CLASS_NAMES, running) == ["cam-1"]
        components.frames.push("cam-1", jpeg(96, 54), components.clock.now() + dt.timedelta(seconds=1))
        assert until(lambda: pipeline.metrics.frames_analysed == 2)
        assert cameras.runner.pipelines["cam-1"] is pipeline  # no restart
        assert pipeline.rules.zones["Z-ROAD"].polygon.points == tuple(map(tuple, SQUARE))
        assert pipeline.rules.rules[0].min_dwell_s == 45
        assert "运行第 2 版" in client.get(PAGE).text
    finally:
        assert cameras.stop(10)


def test_the_api_saves_a_configuration_as_the_console_does_and_refuses_a_bad_one_naming_it(
    client: TestClient, components: Components, world: World, staff: Staff
) -> None:
    admin = staff.headers(Role.ADMIN)
    document = camera(url="push")
    url = "/api/v1/cameras/cam-1/configuration"
    assert client.get(url, headers=admin).status_code == 404  # none yet
    first = client.put(url, json={"document": document, "reason": "first drawing"}, headers=admin)
    assert first.status_code == 200, first.text
    assert first.json() == {"device_id": "cam-1", "version": 1, "changed": True}
    same = client.put(url, json={"document": document | {"camera_id": "cam-1"}, "reason": "again"}, headers=admin)
    assert same.json() == {"device_id": "cam-1", "version": 1, "changed": False}
    current = client.get(url, headers=admin).json()
    assert (current["version"], current["saved_by"], current["reason"]) == (1, "admin1", "first drawing")
    assert current["document"]["zones"][0]["polygon"] == ZONE["polygon"]

    crossing = document | {"zones": [ZONE | {"polygon": [[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]}]}
    refused = client.put(url, json={"document": crossing, "reason": "x"}, headers=admin)
    assert refused.status_code == 422
    assert problem_of(refused)["detail"] == (
        "camera cam-1: configuration not saved: zone Z-ROAD: edges 1 and 3 cross: the polygon must not cross itself"
    )
    chinese = client.put(url, json={"document": crossing, "reason": "x"}, headers=admin | {"Accept-Language": "zh-CN"})
    assert (
        problem_of(chinese)["detail"]
        == "摄像头 cam-1 的配置未保存：区域 Z-ROAD 的第 1 条边与第 3 条边相交：多边形不能自相交"
    )
    other = client.put(url, json={"document": document | {"camera_id": "cam-9"}, "reason": "x"}, headers=admin)
    assert other.status_code == 422
    assert client.put("/api/v1/cameras/cam-404/configuration", json={"document": document, "reason": "x"},
                      headers=admin).status_code == 404  # fmt: skip
    history = client.get("/api/v1/cameras/cam-1/configurations", headers=admin).json()
    assert [c["version"] for c in history] == [1]
    assert client.get(url, headers=staff.headers(Role.OPERATOR)).status_code == 403


def test_an_administrator_who_chooses_english_reads_the_cameras_pages_in_english(
    client: TestClient, components: Components, world: World, tmp_path: Path
) -> None:
    """The list, the editor and the words its drawing script shows come in English; the cameras' names and
    addresses stay as they were registered."""
    camera_configs.import_file(components, cameras_file(tmp_path, camera()), CLASS_NAMES, ADMIN, "from the file")
    sign_in(client, components, Role.ADMIN)
    client.get("/console/language/en")
    listed = client.get("/console/cameras").text
    for english in ("Device ID", "Configuration version", "Version 1", "Not configured", "Not running", "Edit"):
        assert english in listed, english
    assert "张杨路口" in listed  # the camera's registered name
    for chinese in ("设备编号", "配置版本", "第 1 版", "未配置", "未在运行"):
        assert chinese not in listed, chinese

    page = client.get(PAGE).text
    for english in ("Zones and shop-front lines", "New zone", "Save as a new version", "Configuration history",
                    "No-vending zone", "Street stall", "Minimum dwell (s)", "Reason for the change"):  # fmt: skip
        assert english in page, english
    for chinese in ("区域与店门线", "新建区域", "保存为新版本", "配置历史", "禁止摆摊区域", "占道摆摊", "最短停留"):
        assert chinese not in page, chinese
    words = re.search(r'<script type="application/json" id="zone-words">(.*?)</script>', page, re.S)
    assert words is not None
    told = json.loads(words.group(1))
    assert told["corners"] == "{n} corners"  # the script fills in the number
    assert told["chooseZone"] == "Choose a zone first"
