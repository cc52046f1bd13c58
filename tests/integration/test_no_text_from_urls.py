"""No page shows text from its address: what a page says happened comes from the server, on both databases.

A link such as ``/party?error=您的罚款已逾期，请立即转账至…`` or ``/verify/{id}?message=证据已被篡改`` used to put the
attacker's words on an official page as its banner. Now a POST that redirects leaves a one-time flash in the signed
session cookie, and the next page drawn shows it once; query text is never shown. Every HTML page of the console
and the public pages is tried with such a link, and the flows that rightly show a message still show it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner

from api.console import ROUTERS
from api.console.web import FLASH_COOKIE
from cases.clock import ManualClock
from cases.model.detection import DetectionStatus
from cases.model.staff import Role
from offsite.bootstrap import Components
from offsite.issued import party_access_code
from tests.integration.test_console import csrf, pending, sealed_package, sign_in, version
from tests.integration.test_party_page import penalty_notice_case
from tests.integration.world import World
from vision.frames import Frame
from vision.recent_frames import RecentFrames

BAIT = "您的罚款已逾期，请立即转账至 6222 0000 1111 2222"
BAIT_MARK = "6222 0000 1111"
BAIT_QUERY = urlencode({"message": BAIT, "error": BAIT, "notice": BAIT, "flash": BAIT})

# Every HTML page, with who opens it ("party": the party with their case opened; None: anyone).
PAGES: dict[str, Role | str | None] = {
    "/console/login": None,
    "/party": None,
    "/verify/{package_id}": None,
    "/party/case": "party",
    "/console/review": Role.OPERATOR,
    "/console/detections": Role.OPERATOR,
    "/console/detections/{detection_id}": Role.OPERATOR,
    "/console/cases": Role.OFFICER,
    "/console/cases/{case_id}": Role.OFFICER,
    "/console/legal": Role.LEGAL_REVIEWER,
    "/console/evidence/{package_id}": Role.OFFICER,
    "/console/statistics": Role.OFFICER,
    "/console/registry/cameras": Role.ADMIN,
    "/console/registry/merchants": Role.ADMIN,
    "/console/registry/sites": Role.ADMIN,
    "/console/users": Role.ADMIN,
    "/console/models": Role.ADMIN,
    "/console/recent": Role.OPERATOR,
    "/console/recent/{camera_id}": Role.OPERATOR,
    "/console/recent/{camera_id}/{name}": Role.OPERATOR,
    "/console/cameras": Role.ADMIN,
    "/console/wall": Role.OPERATOR,
    "/console/dashboard": Role.SUPERVISOR,
    "/console/cameras/{device_id}": Role.ADMIN,
}
NOT_PAGES = (".pdf", ".csv", ".xlsx", ".jpg", ".json", "/items/{name}", "/stream")  # not pages with a banner


def test_every_html_page_of_the_console_and_the_public_is_tried() -> None:
    served = {prefix + route.path for router, prefix in ROUTERS for route in router.routes
              if "GET" in getattr(route, "methods", ()) and not route.path.endswith(NOT_PAGES)}  # fmt: skip
    assert served - {"/console/"} == set(PAGES)  # /console/ only redirects to the role's home page


@pytest.fixture
def places(world: World, components: Components, clock: ManualClock, tmp_path: Path) -> dict[str, str]:
    package = sealed_package(components, tmp_path)
    detection_id = pending(world, package)
    (tmp_path / "party").mkdir()
    case = penalty_notice_case(world, sealed_package(components, tmp_path / "party"), clock)
    recent = RecentFrames(
        components.settings.recent_frames_dir, "cam-1", dt.timedelta(seconds=10), dt.timedelta(days=1)
    )
    kept = recent.offer(Frame("cam-1", 0, clock.now(), np.zeros((90, 160, 3), np.uint8)), lambda: [])
    assert kept is not None
    return {"package_id": package, "detection_id": str(detection_id), "case_id": str(case.id), "camera_id": "cam-1",
            "device_id": "cam-1", "name": kept.stem}  # fmt: skip


def open_party_case(client: TestClient, components: Components, case_id: int) -> None:
    number = components.cases.get(case_id).number
    assert number is not None
    form = {"case_number": number, "code": party_access_code(components, number)}
    assert client.post("/party", data=form, follow_redirects=False).status_code == 303


def assert_no_bait(html: str) -> None:
    assert BAIT not in html
    assert BAIT_MARK not in html
    assert 'class="flash' not in html  # no banner at all: nothing happened that the server would report


@pytest.mark.parametrize("template", list(PAGES))
def test_a_page_never_shows_message_or_error_text_from_its_address(
    client: TestClient, components: Components, places: dict[str, str], template: str
) -> None:
    who = PAGES[template]
    if who == "party":
        open_party_case(client, components, int(places["case_id"]))
    elif isinstance(who, Role):
        sign_in(client, components, who)
    response = client.get(f"{template.format(**places)}?{BAIT_QUERY}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert_no_bait(response.text)


@pytest.mark.parametrize(
    ("path", "role", "status"),
    [
        ("/console/cases/999999", Role.OFFICER, 404),  # a domain error drawn as a page
        ("/console/legal", Role.OPERATOR, 403),  # a refusal page
        ("/verify/" + "0" * 64, None, 404),  # an unknown evidence package
    ],
    ids=["not-found", "forbidden", "unknown-package"],
)
def test_refusal_pages_never_show_text_from_the_address_either(
    client: TestClient, components: Components, path: str, role: Role | None, status: int
) -> None:
    if role is not None:
        sign_in(client, components, role)
    response = client.get(f"{path}?{BAIT_QUERY}")
    assert response.status_code == status
    assert BAIT_MARK not in response.text


def test_a_forged_flash_cookie_shows_nothing(client: TestClient, components: Components) -> None:
    """The flash travels in a signed cookie: one signed with another key (or not at all) is ignored."""
    payload = base64.b64encode(json.dumps({"flash": {"error": BAIT}}).encode())
    for forged in (payload.decode(), TimestampSigner("not-the-session-secret").sign(payload).decode()):
        client.cookies.set(FLASH_COOKIE, forged)
        assert_no_bait(client.get("/party").text)


# ---- what rightly shows a message still does ----------------------------------------------------------------
def test_a_failed_sign_in_still_says_so(client: TestClient, components: Components) -> None:
    response = client.post("/console/login", data={"username": "nobody", "password": "wrong-password"})
    assert response.status_code == 401
    assert "用户名或密码错误，或账号已停用" in response.text


def test_a_wrong_party_code_still_says_so(client: TestClient, components: Components, places: dict[str, str]) -> None:
    number = components.cases.get(int(places["case_id"])).number
    response = client.post("/party", data={"case_number": number, "code": "00000000"})
    assert response.status_code == 422
    assert "案件编号或查询码不正确" in response.text


def test_a_step_done_is_reported_once_on_the_page_the_post_redirects_to(
    client: TestClient, components: Components, places: dict[str, str]
) -> None:
    detection_id = places["detection_id"]
    sign_in(client, components, Role.OPERATOR)
    detail = client.get(f"/console/detections/{detection_id}")
    form = {"csrf": csrf(detail.text), "version": version(detail.text), "decision": "confirm",
            "authentic": "on", "clear": "on", "complete": "on", "accurate": "on"}  # fmt: skip
    posted = client.post(f"/console/detections/{detection_id}/review", data=form, follow_redirects=False)
    assert posted.status_code == 303
    assert "?" not in posted.headers["location"]  # the message is not in the address
    shown = client.get(posted.headers["location"])
    assert f"检测 {detection_id} 已确认" in shown.text
    assert components.detections.get(int(detection_id)).status is DetectionStatus.CONFIRMED
    assert f"检测 {detection_id} 已确认" not in client.get(posted.headers["location"]).text  # once, not again


def test_a_refused_step_comes_back_with_its_reason_once(
    client: TestClient, components: Components, places: dict[str, str]
) -> None:
    detection_id = places["detection_id"]
    sign_in(client, components, Role.OPERATOR)
    detail = client.get(f"/console/detections/{detection_id}")
    form = {"csrf": csrf(detail.text), "version": version(detail.text)}  # no decision chosen
    shown = client.post(f"/console/detections/{detection_id}/review", data=form)
    assert '<p class="flash error" role="alert">请选择确认或驳回</p>' in shown.text
    assert "请选择确认或驳回" not in client.get(f"/console/detections/{detection_id}").text


def test_the_party_page_reports_its_steps_from_the_server(
    client: TestClient, components: Components, places: dict[str, str]
) -> None:
    case_id = int(places["case_id"])
    open_party_case(client, components, case_id)
    page = client.get("/party/case").text
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found
    refused = client.post("/party/consent", data={"csrf": found.group(1)})
    assert "请先确认送达方式和地址" in refused.text
    done = client.post("/party/consent", data={"csrf": found.group(1), "confirm": "on"})
    assert '<p class="flash ok" role="status">已确认同意电子送达</p>' in done.text
    assert components.cases.get(case_id).party_e_delivery_consent
