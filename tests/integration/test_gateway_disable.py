"""An admin disables a camera gateway (PATCH /api/v1/gateways/{device_id}): its correctly signed requests are
refused from then on, until it is enabled again, with the same key."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cases.model.staff import Role
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_gateway_api import assert_rejected, detection_count, event_body, push
from tests.integration.world import World


def test_a_disabled_gateways_signed_requests_are_rejected_until_it_is_enabled_again(
    client: TestClient, world: World, staff: Staff
) -> None:
    admin = staff.headers(Role.ADMIN)
    assert push(client, world.components, event_body(world)).status_code == 201

    disabled = client.patch("/api/v1/gateways/gw-1", json={"active": False}, headers=admin)
    assert disabled.status_code == 200, disabled.text
    assert disabled.json() == {"device_id": "gw-1", "name": "gateway one", "key_version": 1, "active": False}
    assert world.components.accounts.get_gateway("gw-1").active is False

    refused = push(client, world.components, event_body(world))  # signed correctly, fresh nonce
    assert "disabled" in assert_rejected(refused)["detail"]
    assert detection_count(world.components) == 1

    enabled = client.patch("/api/v1/gateways/gw-1", json={"active": True}, headers=admin)
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["active"] is True
    assert push(client, world.components, event_body(world)).status_code == 201  # the same key works again
    assert detection_count(world.components) == 2


def test_disabling_one_gateway_leaves_the_others_working(client: TestClient, world: World, staff: Staff) -> None:
    assert client.patch("/api/v1/gateways/gw-2", json={"active": False}, headers=staff.headers(Role.ADMIN)).is_success
    assert push(client, world.components, event_body(world)).status_code == 201
    assert world.components.accounts.get_gateway("gw-1").active is True


def test_only_an_admin_disables_a_gateway(client: TestClient, world: World, staff: Staff) -> None:
    for role in (Role.OPERATOR, Role.OFFICER, Role.SUPERVISOR):
        response = client.patch("/api/v1/gateways/gw-1", json={"active": False}, headers=staff.headers(role))
        assert_rejected(response, 403, "forbidden")
    assert world.components.accounts.get_gateway("gw-1").active is True
    assert push(client, world.components, event_body(world)).status_code == 201


def test_disabling_an_unknown_gateway_is_404(client: TestClient, world: World, staff: Staff) -> None:
    response = client.patch("/api/v1/gateways/gw-404", json={"active": False}, headers=staff.headers(Role.ADMIN))
    assert_rejected(response, 404, "not_found")


def test_a_gateway_patch_with_another_field_is_refused(client: TestClient, world: World, staff: Staff) -> None:
    body = {"active": True, "key_version": 9}
    response = client.patch("/api/v1/gateways/gw-1", json=body, headers=staff.headers(Role.ADMIN))
    assert response.status_code == 422, response.text
    assert problem_of(response)["code"] == "invalid_request"
    assert world.components.accounts.get_gateway("gw-1").key_version == 1


def test_rotating_the_key_of_a_disabled_gateway_reports_it_disabled(
    client: TestClient, world: World, staff: Staff
) -> None:
    admin = staff.headers(Role.ADMIN)
    assert client.patch("/api/v1/gateways/gw-1", json={"active": False}, headers=admin).is_success
    rotated = client.post("/api/v1/gateways/gw-1/rotate-key", headers=admin)
    assert rotated.status_code == 200, rotated.text
    assert (rotated.json()["key_version"], rotated.json()["active"]) == (2, False)
    assert_rejected(push(client, world.components, event_body(world), secret=rotated.json()["secret"]))
