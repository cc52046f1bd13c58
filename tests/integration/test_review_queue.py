"""The review queue: newest first, filtered, and paged by cursor without losing or repeating a detection."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from fastapi.testclient import TestClient

from cases.model.staff import Role
from tests.integration.conftest import Staff, problem_of
from tests.integration.world import ALL_PASS, OPERATOR, World


def test_cursor_pages_cover_the_queue_once_newest_first_even_when_times_tie(
    client: TestClient, world: World, staff: Staff
) -> None:
    operator = staff.headers(Role.OPERATOR)
    for hours_ago in (5, 4, 4, 4, 3, 2, 2, 1):  # ties on first_seen are broken by id
        world.components.detections.intake(world.event("stall", hours_ago=hours_ago), world.components.registry)
    seen, cursor = [], None
    while True:
        page = client.get(
            "/api/v1/detections", params={"limit": 3, **({"cursor": cursor} if cursor else {})}, headers=operator
        ).json()
        seen += [(d["first_seen"], d["id"]) for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 8
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 8


def test_the_queue_filters_by_camera_violation_and_status(client: TestClient, world: World, staff: Staff) -> None:
    operator = staff.headers(Role.OPERATOR)
    stall = world.detection("stall", confirmed=False)
    dust = world.detection("dust", confirmed=False)
    rejected = world.detection("cross_door", confirmed=False)
    blurred = dataclasses.replace(ALL_PASS, clear=False)
    world.components.detections.review(rejected.id or 0, OPERATOR, rejected.version, False, blurred, "画面模糊")

    def ids(**params: object) -> list[int]:
        return [d["id"] for d in client.get("/api/v1/detections", params=params, headers=operator).json()["items"]]

    assert ids() == [dust.id, stall.id]  # pending review, the default
    assert ids(violation_code="street_stall") == [stall.id]
    assert ids(camera_id=world.cameras["main"].id, violation_code="construction_dust") == [dust.id]
    assert ids(status="rejected") == [rejected.id]  # rejected detections stay searchable
    assert ids(camera_id=world.cameras["uncertified"].id) == []


@pytest.mark.parametrize(
    "raw",
    [b"not-a-cursor", b"2026-12-08T01:46:22+00:00|9223372036854775808", b"2026-12-08T01:46:22+00:00|0"],
    ids=["not-a-cursor", "an-id-beyond-2-to-the-63", "id-0"],
)
def test_a_cursor_that_was_not_issued_here_is_refused(
    client: TestClient, world: World, staff: Staff, raw: bytes
) -> None:
    cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    response = client.get("/api/v1/detections", params={"cursor": cursor}, headers=staff.headers(Role.OPERATOR))
    assert (response.status_code, problem_of(response)["code"]) == (422, "cursor_invalid")
