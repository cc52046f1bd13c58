"""Issue 16 in Chromium: an administrator opens a demo camera's page, sees its picture with its zones, moves a corner
of a zone, draws a new zone with clicks, adds a stall rule watching it, and saves; the camera running in this
process (pushed frames, the real detector, following the saved configurations as ``offsite serve
--cameras-from-db`` does) takes the drawing up before its next frame, without a restart. The duty operator's camera
wall, filtered by street, follows the camera as it analyses another frame, without a reload; the dashboard draws
today's figures."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cases.model.staff import Role
from cases.services.base import Actor
from offsite import camera_configs, missed
from offsite.cameras import CameraSupervisor
from offsite.demo import ROAD
from offsite.settings import SHIPPED_MODEL
from tests.browser.conftest import Served, sign_in
from tests.integration.test_serve_cameras import until
from vision.detector import DetectorConfig, OnnxDetector
from vision.manifest import ModelManifest, manifest_path_for

NEW_ZONE = [(0.62, 0.12), (0.9, 0.12), (0.9, 0.4), (0.62, 0.4)]


def test_zones_drawn_on_the_camera_page_reach_the_running_camera(browser: Any, served: Served, artefacts: Path) -> None:
    components = served.components
    admin_actor = Actor("admin", Role.ADMIN)
    pushed = components.camera_configs.history(ROAD)[-1].document | {"source": {"url": "push", "interval_s": 1.0}}
    camera_configs.save_one(components, pushed, label_classes(), admin_actor, "网关改为推送画面")
    detector = OnnxDetector(DetectorConfig(SHIPPED_MODEL, threads=1))
    cameras = CameraSupervisor(
        camera_configs.current_specs(components, detector.class_names), detector, components.evidence(),
        lambda _event, _evidence: None, components.settings.evidence_dir.parent / "zones-work", components.frames,
        lambda _camera: (None, None), caption_tz=components.settings.tz, recent=missed.keeper(components.settings),
    )  # fmt: skip
    components.cameras = cameras
    stop = threading.Event()
    cameras.start()
    follower = threading.Thread(target=camera_configs.follow_configs,
                                args=(components, cameras, detector.class_names, stop, 0.2), daemon=True)  # fmt: skip
    follower.start()
    try:
        pipeline = cameras.runner.pipelines[ROAD]
        street = street_picture()
        components.frames.push(ROAD, street, components.clock.now())
        assert until(lambda: pipeline.metrics.frames_analysed == 1, 30)

        admin = sign_in(browser, served.base, "admin", password=components.settings.admin_password.get_secret_value())
        admin.goto(f"{served.base}/console/cameras")
        row = admin.locator(f"#camera-{ROAD}")
        assert "第 2 版" in row.inner_text()
        assert "在线" in row.inner_text()
        with admin.expect_response(lambda r: r.url.endswith("/snapshot.jpg")) as picture, admin.expect_navigation():
            row.locator("a.button").click()
        assert picture.value.status == 200  # the frame the camera kept a moment ago
        canvas = admin.locator("form.zone-editor canvas")
        admin.wait_for_function("c => c.width > 0 && c.height > 0", arg=canvas.element_handle())

        def at(x: float, y: float) -> tuple[float, float]:
            """A point of the picture in the window's coordinates, where the mouse acts (after any scrolling)."""
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
            return box["x"] + x * box["width"], box["y"] + y * box["height"]

        # move the first corner of the first zone
        first_zone = components.camera_configs.history(ROAD)[-1].document["zones"][0]
        corner = first_zone["polygon"][0]
        target = (min(corner[0] + 0.03, 0.99), min(corner[1] + 0.03, 0.99))
        admin.locator(".zone-row input[name=selected_zone]").first.check()
        admin.mouse.move(*at(*corner))
        admin.mouse.down()
        admin.mouse.move(*at(*target), steps=5)
        admin.mouse.up()

        # a new zone, one click per corner, closed by a click on the first
        admin.click("button[data-action=add-zone]")
        for x, y in [*NEW_ZONE, NEW_ZONE[0]]:
            admin.mouse.click(*at(x, y))
        new_row = admin.locator(".zone-row").last
        new_row.locator("[data-role=zone-id]").fill("Z-KIOSK")
        assert "4 个顶点" in new_row.locator("[data-role=geometry]").inner_text()

        # a stall rule watching it, its dwell set, the other times left to the defaults shown
        admin.click("button[data-action=add-rule]")
        rule = admin.locator(".rule-row").last
        rule.locator("input[name$=-id]").fill("stall-kiosk")
        rule.locator("[data-role=rule-zones]").select_option("Z-KIOSK")
        assert rule.locator("[data-time=inertia_s]").get_attribute("placeholder") == "60"
        rule.locator("[data-time=min_dwell_s]").fill("120")
        admin.fill("input[name=reason]", "新增报刊亭前禁止摆摊区域")
        admin.screenshot(path=str(artefacts / "camera-zones-drawn.png"), full_page=True)
        with admin.expect_navigation():
            admin.click("form.zone-editor button[type=submit]")
        assert "已保存为第 3 版配置" in admin.locator(".flash.ok").inner_text()

        saved = components.camera_configs.history(ROAD)[-1]
        assert (saved.version, saved.saved_by) == (3, "admin")
        zones = {z["id"]: z for z in saved.document["zones"]}
        assert close(zones["Z-KIOSK"]["polygon"], NEW_ZONE)
        assert close([zones[first_zone["id"]]["polygon"][0]], [target])
        assert close(zones[first_zone["id"]]["polygon"][1:], first_zone["polygon"][1:], 1e-9)  # the rest untouched
        (kiosk_rule,) = [r for r in saved.document["rules"] if r["id"] == "stall-kiosk"]
        assert (kiosk_rule["kind"], kiosk_rule["zones"], kiosk_rule["min_dwell_s"]) == ("stall", ["Z-KIOSK"], 120)

        # the running camera takes it up before its next frame, on the same pipeline
        assert until(lambda: any(z.zone_id == "Z-KIOSK" for z in cameras.specs[ROAD].zones), 10)  # followed
        components.frames.push(ROAD, street, components.clock.now())
        assert until(lambda: pipeline.metrics.frames_analysed == 2, 30)
        assert cameras.runner.pipelines[ROAD] is pipeline
        assert close(pipeline.rules.zones["Z-KIOSK"].polygon.points, NEW_ZONE)
        assert pipeline.rules.rules[-1].min_dwell_s == 120
        admin.reload()
        assert "运行第 3 版" in admin.locator("main").inner_text()
        admin.screenshot(path=str(artefacts / "camera-zones-running.png"), full_page=True)

        # the duty operator's wall follows the camera without a reload (server-sent events)
        operator = sign_in(browser, served.base, "operator1")
        operator.goto(f"{served.base}/console/wall?district=浦东新区&street=潍坊新村街道")
        tiles = operator.locator("figure.tile")
        assert tiles.count() == 2  # the road and the shops; the site and the unreviewed camera lie elsewhere
        tile = operator.locator(f"#tile-{ROAD}")
        operator.wait_for_function("() => document.getElementById('wall').dataset.updated")
        assert "在线" in tile.inner_text()
        assert operator.locator(f"#tile-{ROAD} img").evaluate("img => img.naturalWidth") > 0
        components.frames.push(ROAD, street, components.clock.now())
        operator.wait_for_function(
            "id => document.getElementById(id).textContent.includes('已分析 3 帧')", arg=f"tile-{ROAD}", timeout=15_000
        )
        operator.screenshot(path=str(artefacts / "camera-wall.png"), full_page=True)
        operator.goto(f"{served.base}/console/dashboard")
        local_now = components.clock.now().astimezone(components.clock.tz)
        midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
        if any(seen.first_seen >= midnight for seen in components.detections.seen_between(midnight)):
            assert operator.locator("#by-hour svg").count() == 1
            assert int(operator.locator("#found").inner_text()) >= 1  # today's demo detections
        else:  # the demo ran in the first minutes of the bureau's day (or before its midnight): none today
            assert "今日暂无检出" in operator.locator("#by-hour").inner_text()
        operator.screenshot(path=str(artefacts / "dashboard.png"), full_page=True)
    finally:
        stop.set()
        components.cameras = None
        assert cameras.stop(10)


def close(points: Any, expected: Any, tolerance: float = 0.01) -> bool:
    """Drawn with a mouse on a canvas of a few hundred pixels: within a pixel or two of where it was aimed."""
    return len(points) == len(expected) and all(
        abs(p[0] - e[0]) <= tolerance and abs(p[1] - e[1]) <= tolerance for p, e in zip(points, expected, strict=True)
    )


def label_classes() -> tuple[str, ...]:
    """The shipped model's classes, which the console offers when no camera runs in its process."""
    return tuple(ModelManifest.read(manifest_path_for(SHIPPED_MODEL)).classes)


def street_picture() -> bytes:
    picture = np.full((360, 640, 3), 128, np.uint8)
    cv2.rectangle(picture, (0, 240), (640, 360), (90, 90, 90), -1)
    encoded, data = cv2.imencode(".jpg", picture)
    assert encoded
    return data.tobytes()
