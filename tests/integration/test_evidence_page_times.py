"""The evidence pages show a package's moments in the bureau's local time, to the second (Asia/Shanghai in
these tests), while its manifest keeps them in UTC to the microsecond."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cases.model.staff import Role
from evidence_store.store import ItemIn
from offsite.bootstrap import Components
from tests.conftest import SHANGHAI
from tests.integration.test_console import sign_in

FIRST_SEEN = "2026-03-02T01:55:05.123456+00:00"
CONFIRMED_AT = "2026-03-02T02:00:05.654321+00:00"


@pytest.fixture
def package(components: Components, tmp_path: Path) -> str:
    (tmp_path / "frame.jpg").write_bytes(b"\xff\xd8 a frame")
    context = {"camera_id": "cam-1", "zone_id": "Z-ROAD", "first_seen": FIRST_SEEN, "confirmed_at": CONFIRMED_AT}
    items = [ItemIn("frame-first.jpg", "image/jpeg", tmp_path / "frame.jpg")]
    return components.evidence().seal(items, context).package_id


def _tree_head_local(components: Components) -> str:
    stamp = components.evidence().latest_head().timestamp
    return dt.datetime.fromisoformat(stamp).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _assert_local_to_the_second(html: str) -> None:
    assert "+00:00" not in html, "a UTC time is shown"
    assert re.search(r"\d\d:\d\d:\d\d\.\d", html) is None, "a time is shown with a fraction of a second"


def test_the_staff_evidence_page_shows_local_times_to_the_second(
    client: TestClient, components: Components, package: str
) -> None:
    sign_in(client, components, Role.OFFICER)
    html = client.get(f"/console/evidence/{package}").text
    assert "首次发现</dt><dd>2026-03-02 09:55:05</dd>" in html
    assert "确认违法</dt><dd>2026-03-02 10:00:05</dd>" in html
    assert _tree_head_local(components) in html
    _assert_local_to_the_second(html)


def test_the_public_verify_page_shows_local_times_to_the_second(
    client: TestClient, components: Components, package: str
) -> None:
    html = client.get(f"/verify/{package}?now=1").text
    assert "校验通过" in html
    assert "首次发现</dt><dd>2026-03-02 09:55:05</dd>" in html
    assert _tree_head_local(components) in html
    _assert_local_to_the_second(html)


def test_the_manifest_keeps_utc_to_the_microsecond(components: Components, package: str) -> None:
    context = components.evidence().manifest(package)["context"]
    assert context["first_seen"] == FIRST_SEEN
    assert context["confirmed_at"] == CONFIRMED_AT
