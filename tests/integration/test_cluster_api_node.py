"""Issue 16 with real processes: `offsite serve --cluster`, an API node that runs no camera and writes no evidence
log, beside `offsite worker` and `offsite sealer` on a real nats-server.

- A gateway's frames pushed to the API node reach the worker holding the camera's lease, whose pipeline analyses
  them; with no worker holding the camera the gateway is told so (409 no_pipeline). A new version of the camera's
  configuration saved on the API node (as the console's camera page saves it) reaches that worker without a restart;
  the camera wall on the API node shows the camera online with the frames it analysed, as the worker tells it.
- A notice issued on the API node is sealed by the sealer, the log's single writer; with no sealer the step is
  refused (503 document_not_issued) and the case is as it was.

On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from cases.model.staff import Role
from cases.services.base import Actor
from offsite import camera_configs
from offsite.bootstrap import Components
from offsite.evidence import open_evidence
from offsite.settings import PROJECT_ROOT, Settings
from tests.integration.cluster import Roles
from tests.integration.test_gateway_api import signed_headers
from tests.integration.test_serve_cameras import until
from tests.integration.world import World
from tests.support.nats_server import free_port
from tests.support.session_demos import OFFSITE
from vision.synthetic import CLASS_NAMES

ADMIN = Actor("admin1", Role.ADMIN)
PUSHED = {
    "camera_id": "cam-1",
    "source": {"url": "push", "interval_s": 0.5},
    "zones": [{"id": "Z-ROAD", "kind": "no_vending", "polygon": [[0.1, 0.5], [0.9, 0.5], [0.9, 0.9], [0.1, 0.9]],
               "subject": {"kind": "unknown"}}],
    "rules": [{"id": "stall-road", "kind": "stall", "zones": ["Z-ROAD"], "min_dwell_s": 300}],
}  # fmt: skip


@pytest.fixture
def api_node(roles: Roles, tmp_path: Path) -> Iterator[str]:
    """`offsite serve --cluster` on a free port, started as the API unit starts it."""
    port = free_port()
    log = (tmp_path / "api.log").open("ab")
    process = subprocess.Popen([OFFSITE, "serve", "--cluster", "--port", str(port)], env=roles.env, cwd=PROJECT_ROOT,
                               stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    try:
        assert until(ready, 60), (tmp_path / "api.log").read_text(errors="replace")[-3000:]
        yield base
    finally:
        process.terminate()
        process.wait(30)


def picture() -> bytes:
    frame = np.full((360, 640, 3), 90, np.uint8)
    cv2.rectangle(frame, (100, 200), (300, 330), (40, 120, 200), -1)
    return cv2.imencode(".jpg", frame)[1].tobytes()


@dataclass(frozen=True)
class Answer:
    status_code: int
    body: dict[str, Any]


def push(components: Components, base: str, jpeg: bytes) -> Answer:
    """A signed push, stamped by the real clock as a gateway's would be (the server checks it against its own)."""
    path = "/api/v1/gateway/cameras/cam-1/frames"
    headers = signed_headers(components, jpeg, path=path, timestamp=int(time.time()))
    headers["Content-Type"] = "image/jpeg"
    headers["X-Frame-Timestamp"] = f"{time.time():.3f}"
    return answer_to(urllib.request.Request(base + path, data=jpeg, headers=headers, method="POST"))


def answer_to(request: urllib.request.Request) -> Answer:
    """The API node's answer, a refusal included (its problem's body)."""
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return Answer(response.status, json.loads(response.read()))
    except urllib.error.HTTPError as refused:
        return Answer(refused.code, json.loads(refused.read()))


def test_frames_pushed_to_an_api_node_reach_the_worker_holding_the_camera_and_a_new_version_reaches_it_too(
    world: World,
    settings: Settings,
    roles: Roles,
    api_node: str,
    tmp_path: Path,
) -> None:
    components = world.components
    camera_configs.save_one(components, PUSHED, CLASS_NAMES, ADMIN, "网关推送画面")
    jpeg = picture()
    nobody = push(components, api_node, jpeg)
    assert nobody.status_code == 409, nobody.body  # no worker holds the camera yet
    assert nobody.body["code"] == "no_pipeline"
    roles.start("worker", "w1")
    assert until(lambda: "camera cam-1 taken under epoch" in roles.log("w1"), 90), roles.log("w1")[-3000:]
    accepted = []
    for _ in range(6):
        response = push(components, api_node, jpeg)
        if response.status_code == 409:  # the lease is taken; its pipeline opens its frames a moment later
            time.sleep(0.5)
            continue
        assert response.status_code == 202, response.body
        accepted.append(response.body["seq"])
        time.sleep(0.6)
    assert accepted == list(range(len(accepted)))
    assert len(accepted) >= 3
    recent = tmp_path / "recent"  # the worker keeps the frames its pipeline analysed, for "missed violation"
    assert until(lambda: any(recent.rglob("*.jpg")), 30), roles.log("w1")[-3000:]

    # the camera wall on the API node shows what the worker's pipeline does, as the worker tells it
    admin = components.accounts.create_user("admin9", "管理员", Role.ADMIN, "password-1234")
    token, _ = components.accounts.issue_token(admin, dt.timedelta(days=365))  # the processes' clock is real

    def tile() -> dict[str, Any]:
        wall = call(api_node, "GET", "/api/v1/wall", token, None)
        assert wall.status_code == 200, wall.body
        return next(t for t in wall.body if t["device_id"] == "cam-1")

    assert until(lambda: tile()["state"] == "online" and tile()["analysed"] >= 1, 30), tile()

    # the administrator moves the zone on the API node (as the console's camera page saves it): the worker running
    # the camera takes the new version up without a restart
    assert "camera cam-1 runs version 1" in roles.log("w1")
    moved = PUSHED | {"zones": [PUSHED["zones"][0] | {"polygon": [[0.2, 0.4], [0.8, 0.4], [0.8, 0.9], [0.2, 0.9]]}]}
    saved = call(api_node, "PUT", "/api/v1/cameras/cam-1/configuration", token,
                 {"document": moved, "reason": "路口改造，区域下移"})  # fmt: skip
    assert saved.status_code == 200, saved.body
    assert saved.body["version"] == 2
    assert until(lambda: "camera cam-1 runs version 2" in roles.log("w1"), 30), roles.log("w1")[-3000:]
    assert roles.stop("w1") == 0


def call(base: str, method: str, path: str, token: str, body: dict[str, Any] | None) -> Answer:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept-Language": "zh-CN"}
    return answer_to(urllib.request.Request(base + path, data=data, method=method, headers=headers))


def test_a_notice_issued_on_an_api_node_is_sealed_by_the_sealer_and_refused_while_none_seals(
    world: World,
    settings: Settings,
    roles: Roles,
    api_node: str,
) -> None:
    components = world.components
    officer = components.accounts.create_user("officer9", "王警官", Role.OFFICER, "password-1234")
    token, _ = components.accounts.issue_token(officer, dt.timedelta(days=365))  # the processes' clock is real
    sealed, refused = world.draft("cross_door"), world.draft("dust")
    if components._evidence is not None:  # the world's detections were sealed by this test's own store: let go
        components._evidence.close()
        components._evidence = None
    roles.start("sealer", "s1")
    assert until(lambda: "sealing (role taken" in roles.log("s1"), 60), roles.log("s1")[-3000:]
    versions = {}
    for case in (sealed, refused):
        filed = call(api_node, "POST", f"/api/v1/cases/{case.id}/file", token, {"version": case.version})
        assert filed.status_code == 200, filed.body
        versions[case.id] = filed.body["version"]
    notice = call(api_node, "POST", f"/api/v1/cases/{sealed.id}/rectification-notice", token,
                  {"version": versions[sealed.id], "method": "direct"})  # fmt: skip
    assert notice.status_code == 200, notice.body
    [document] = components.documents.of_case(sealed.id or 0)
    store = open_evidence(settings, read_only=True)
    assert store.verify(document.package_id).ok
    assert store.log_report().ok
    assert f"package {document.package_id[:12]} sealed for api" in roles.log("s1")

    assert roles.stop("s1") == 0  # no sealer now: no document can be sealed, so no notice is served
    before = components.cases.get(refused.id or 0)
    unsealed = call(api_node, "POST", f"/api/v1/cases/{refused.id}/rectification-notice", token,
                    {"version": before.version, "method": "direct"})  # fmt: skip
    assert unsealed.status_code == 503, unsealed.body
    assert unsealed.body["code"] == "document_not_issued"
    assert components.cases.get(refused.id or 0).version == before.version
    assert components.documents.of_case(refused.id or 0) == []
