"""The automatic re-check: once a notice's rectification deadline has passed, the service runs the real detector
over the same camera and zone and notes what it saw on the case, once, for the officer. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from cases.clock import ManualClock
from cases.model.case import Case, CaseStatus, DeliveryMethod, Party, PartyKind
from cases.model.staff import Role
from offsite.bootstrap import Components
from offsite.demo import FOOTAGE_CACHE
from offsite.footage import Footage
from offsite.rechecks import run_due_rechecks
from offsite.settings import SHIPPED_MODEL
from tests.integration.test_console import csrf, sign_in, version
from tests.integration.world import OFFICER, World, id_card
from vision.config import MINUTE_VIDEO_TIMES, CameraSpec, camera_from_sidecar, camera_spec
from vision.detector import DetectorConfig, OnnxDetector


@pytest.fixture(scope="module")
def detector() -> OnnxDetector:
    return OnnxDetector(DetectorConfig(SHIPPED_MODEL, threads=1))


def road_camera(detector: OnnxDetector) -> CameraSpec:
    """cam-1 watching a generated street where a stall stands in the no-vending zone (named as the world names it)."""
    footage = Footage("cam-1", "stall", 5002, watches=("no_vending",))
    entry: dict[str, Any] = camera_from_sidecar(
        footage.sidecar(FOOTAGE_CACHE), "cam-1", footage.video(FOOTAGE_CACHE), MINUTE_VIDEO_TIMES, 1.0
    )
    for zone in entry["zones"]:
        zone["id"] = "Z-ROAD"
    for rule in entry["rules"]:
        rule["zones"] = ["Z-ROAD"]
    return camera_spec(entry, detector.class_names)


def noticed_stall(world: World) -> Case:
    c = world.components
    detection = world.detection("stall")
    case = c.cases.open_draft([detection.id or 0], OFFICER)
    vendor = Party(PartyKind.INDIVIDUAL, "刘某某", id_card(3), "13700137000")
    case = c.cases.confirm_party(case.id or 0, OFFICER, case.version, vendor, "现场核实")
    case = c.cases.file(case.id or 0, OFFICER, case.version)
    return c.cases.issue_rectification_notice(case.id or 0, OFFICER, case.version, DeliveryMethod.DIRECT)


def test_after_the_deadline_the_service_looks_again_once_and_notes_it_for_the_officer(
    world: World, components: Components, clock: ManualClock, detector: OnnxDetector
) -> None:
    case = noticed_stall(world)
    cameras = {"cam-1": road_camera(detector)}
    assert run_due_rechecks(components, detector, cameras.get) == []  # the deadline has not passed
    clock.advance(dt.timedelta(days=1))
    (looked,) = run_due_rechecks(components, detector, cameras.get)
    assert (looked.case_id, looked.camera_id, looked.zone_id, looked.present) == (case.id, "cam-1", "Z-ROAD", True)
    stored = components.cases.get(case.id or 0)
    assert stored.status is CaseStatus.NOTICE_ISSUED  # the officer confirms; the machine does not decide
    noted = stored.automatic_recheck
    assert noted is not None
    assert noted["present"] is True
    assert noted["seen_s"] >= 30
    assert noted["model_sha256"] == detector.manifest.sha256
    assert stored.events[-1].role == "system"
    assert run_due_rechecks(components, detector, cameras.get) == []  # once per notice


def test_a_camera_the_service_does_not_run_is_reported_and_nothing_is_noted(
    world: World, components: Components, clock: ManualClock, detector: OnnxDetector
) -> None:
    case = noticed_stall(world)
    clock.advance(dt.timedelta(days=1))
    (looked,) = run_due_rechecks(components, detector, lambda _camera: None)
    assert looked.present is None
    assert looked.problem == "the service does not pull this camera's footage"
    assert components.cases.get(case.id or 0).automatic_recheck is None


def test_the_case_page_shows_the_automatic_recheck_s_frames_and_starts_the_form_from_its_finding(
    world: World, components: Components, clock: ManualClock, detector: OnnxDetector, client: TestClient
) -> None:
    case = noticed_stall(world)
    cameras = {"cam-1": road_camera(detector)}
    clock.advance(dt.timedelta(days=1))
    (looked,) = run_due_rechecks(components, detector, cameras.get)
    assert looked.present is True
    noted = components.cases.get(case.id or 0).automatic_recheck
    assert noted is not None
    package = noted["frames_package_id"]
    assert noted["frames"] == ["recheck-1.jpg", "recheck-2.jpg", "recheck-3.jpg"]
    assert components.evidence().verify(package).ok
    sign_in(client, components, Role.OFFICER)
    page = client.get(f"/console/cases/{case.id}").text
    shown = re.search(r'id="automatic-recheck-frames">(.*?)</div>', page)
    assert shown
    sources = re.findall(r'src="([^"]+)"', shown.group(1))
    assert sources == [f"/console/evidence/{package}/items/recheck-{n}.jpg" for n in (1, 2, 3)]
    frame = client.get(sources[1])
    assert (frame.status_code, frame.headers["content-type"]) == (200, "image/jpeg")
    assert cv2.imdecode(np.frombuffer(frame.content, np.uint8), cv2.IMREAD_COLOR) is not None
    assert '<option value="persisting" selected>逾期未改正</option>' in page  # not 已改正 first
    assert "系统自动复查发现违法行为仍存在" in page
    step = {"csrf": csrf(page), "version": version(page), "outcome": "persisting", "note": "现场复查：摊位仍在"}
    client.post(f"/console/cases/{case.id}/steps/record_recheck", data=step)
    timeline = client.get(f"/console/cases/{case.id}").text.split("办案记录")[1]
    assert "记录复查结果" in timeline
    assert "现场复查：摊位仍在" in timeline
