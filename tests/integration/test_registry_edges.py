"""Registry edits that the database would refuse are refused first, with the right error and nothing changed."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cases.model.staff import Role
from tests.integration.conftest import Staff, problem_of
from tests.integration.world import World


def test_a_camera_cannot_be_assigned_to_a_gateway_that_is_not_registered(
    client: TestClient, world: World, staff: Staff
) -> None:
    admin = staff.headers(Role.ADMIN)
    body = {"device_id": "cam-new", "name": "新点位", "address": "某路 1 号", "gateway_id": "gw-nobody"}
    created = client.post("/api/v1/cameras", json=body, headers=admin)
    assert (created.status_code, problem_of(created)["code"]) == (404, "not_found")
    assert "gw-nobody" in problem_of(created)["detail"]
    camera = world.cameras["main"]
    patched = client.patch(
        f"/api/v1/cameras/{camera.id}", json={"version": camera.version, "gateway_id": "gw-nobody"}, headers=admin
    )
    assert patched.status_code == 404
    assert world.components.registry.get_camera(camera.id or 0).gateway_id == "gw-1"


def test_a_required_field_cannot_be_emptied_by_a_patch(client: TestClient, world: World, staff: Staff) -> None:
    merchant = world.merchant
    assert merchant is not None
    response = client.patch(
        f"/api/v1/merchants/{merchant.id}",
        json={"version": merchant.version, "name": None},
        headers=staff.headers(Role.ADMIN),
    )
    assert (response.status_code, problem_of(response)["code"]) == (422, "invalid_input")
    assert "name cannot be emptied" in problem_of(response)["detail"]
    assert (
        world.components.registry.read_merchant(merchant.id or 0, staff.actor(Role.OFFICER), "test").name
        == "浦东小面馆"
    )


def test_an_optional_field_can_be_emptied_by_a_patch(client: TestClient, world: World, staff: Staff) -> None:
    merchant = world.merchant
    assert merchant is not None
    response = client.patch(
        f"/api/v1/merchants/{merchant.id}",
        json={"version": merchant.version, "mobile": None},
        headers=staff.headers(Role.ADMIN),
    )
    assert response.status_code == 200, response.text
    assert response.json()["mobile"] is None
    assert response.json()["version"] == merchant.version + 1
