"""The role matrix of api/roles.py, checked cell by cell against the running API, and the bearer tokens that
carry a role: sign-in, sign-out, expiry, and the 401 every route gives to a caller without one."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import API_PREFIX
from api.roles import ROLE_MATRIX, Permission
from cases.clock import ManualClock
from cases.model.staff import NOT_STAFF, Role
from cases.persistence import tables
from offsite.bootstrap import Components
from tests.integration.conftest import Staff, problem_of
from tests.integration.world import World, uscc

Headers = dict[str, str]


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    json: dict[str, Any] | None = None


def _new_merchant(world: World) -> Call:
    body = {"code": "SHOP-2", "name": "新开小店", "address": "商城路 700 号", "uscc": uscc(3), "mobile": "13700137000"}
    return Call("POST", "/api/v1/merchants", body)


def _read_merchant_in_full(world: World) -> Call:
    assert world.merchant is not None
    return Call("GET", f"/api/v1/merchants/{world.merchant.id}")


def _review_pending_detection(world: World) -> Call:
    pending = world.detection("stall", confirmed=False)
    review = {
        "version": pending.version,
        "decision": "confirm",
        "checklist": {"authentic": True, "clear": True, "complete": True, "accurate": True},
    }
    return Call("POST", f"/api/v1/detections/{pending.id}/review", review)


def _open_case(world: World) -> Call:
    return Call("POST", "/api/v1/cases", {"detection_ids": [world.detection("cross_door").id]})


def _approve_legal_review_of_a_draft(world: World) -> Call:
    draft = world.draft("cross_door")
    return Call("POST", f"/api/v1/cases/{draft.id}/legal-review/approve", {"version": draft.version, "opinion": "同意"})


def _extend_the_decision_period_of_a_draft(world: World) -> Call:
    draft = world.draft("cross_door")
    body = {"version": draft.version, "days": 30, "reason": "案情复杂"}
    return Call("POST", f"/api/v1/cases/{draft.id}/decision-extension", body)


@dataclass(frozen=True)
class Probe:
    """One representative route of a permission (``prepare`` sets up what it acts on), and what a holder of
    the permission gets from it."""

    prepare: Callable[[World], Call]
    granted_status: int


PROBES: dict[Permission, Probe] = {
    Permission.READ_REGISTRY: Probe(lambda w: Call("GET", "/api/v1/cameras"), 200),
    Permission.MANAGE_REGISTRY: Probe(_new_merchant, 201),
    Permission.READ_PERSONAL_DATA: Probe(_read_merchant_in_full, 200),
    Permission.READ_DETECTIONS: Probe(lambda w: Call("GET", "/api/v1/detections"), 200),
    Permission.REVIEW_DETECTIONS: Probe(_review_pending_detection, 200),
    Permission.READ_CASES: Probe(lambda w: Call("GET", "/api/v1/cases"), 200),
    Permission.HANDLE_CASES: Probe(_open_case, 201),
    # A draft is not under legal review: the reviewer passes the role check and meets the state machine.
    Permission.LEGAL_REVIEW: Probe(_approve_legal_review_of_a_draft, 409),
    Permission.MANAGE_ACCOUNTS: Probe(lambda w: Call("GET", "/api/v1/users"), 200),
    Permission.MANAGE_MODELS: Probe(lambda w: Call("GET", "/api/v1/models"), 200),
    Permission.CONFIGURE_CAMERAS: Probe(lambda w: Call("GET", "/api/v1/cameras/cam-1/configurations"), 200),
    Permission.WATCH_CAMERAS: Probe(lambda w: Call("GET", "/api/v1/wall"), 200),
    # A draft has no decision period running: the head passes the role check and meets the state machine.
    Permission.APPROVE_EXTENSION: Probe(_extend_the_decision_period_of_a_draft, 409),
}

CELLS = [
    pytest.param(permission, role, role in ROLE_MATRIX[permission], id=f"{permission.value}-{role.value}")
    for permission in Permission
    for role in Role
    if role not in NOT_STAFF  # no account may hold them
]


def _send(client: TestClient, call: Call, headers: Headers) -> Any:
    return client.request(call.method, call.path, json=call.json, headers=headers)


def _state(components: Components) -> dict[str, Any]:
    """Everything a refused request could have touched."""
    with components.engine.connect() as connection:
        return {
            name: sorted(tuple(row) for row in connection.execute(select(table)))
            for name, table in {
                "merchants": tables.merchants,
                "detections": tables.detections,
                "cases": tables.cases,
                "users": tables.users,
                "personal_data_reads": tables.personal_data_reads,
            }.items()
        }


def test_every_permission_has_a_probe_and_a_row_in_the_matrix() -> None:
    assert set(PROBES) == set(Permission)
    assert set(ROLE_MATRIX) == set(Permission)


@pytest.mark.parametrize(("permission", "role", "granted"), CELLS)
def test_the_role_matrix_cell_holds_in_the_api(
    client: TestClient, world: World, staff: Staff, permission: Permission, role: Role, granted: bool
) -> None:
    probe = PROBES[permission]
    headers = staff.headers(role)
    call = probe.prepare(world)
    before = _state(world.components)
    response = _send(client, call, headers)
    if granted:
        assert response.status_code not in (401, 403), response.text
        assert response.status_code == probe.granted_status, response.text
        return
    assert response.status_code == 403, response.text
    body = problem_of(response)
    assert body["code"] == "forbidden"
    assert role.value in body["detail"]
    assert _state(world.components) == before, "a refused request changed something"


@pytest.mark.parametrize("permission", list(Permission), ids=[p.value for p in Permission])
def test_a_request_without_a_token_is_not_authenticated(
    client: TestClient, world: World, permission: Permission
) -> None:
    response = _send(client, PROBES[permission].prepare(world), {})
    assert response.status_code == 401, response.text
    assert problem_of(response)["code"] == "not_authenticated"
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_token_that_is_not_one_we_issued_is_not_authenticated(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not-a-token-we-issued"})
    assert response.status_code == 401
    assert problem_of(response)["code"] == "not_authenticated"
    assert response.headers["www-authenticate"] == "Bearer"


HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
PUBLIC_ROUTES = {f"{API_PREFIX}/auth/token", f"{API_PREFIX}/gateway/events"}  # password form; HMAC signature


def _route_samples(openapi: dict[str, Any]) -> list[tuple[str, str]]:
    """Every (method, path) the app serves under the API prefix, path parameters filled with 1."""
    samples: list[tuple[str, str]] = []
    for path, operations in openapi["paths"].items():
        if not path.startswith(API_PREFIX) or path in PUBLIC_ROUTES:
            continue
        concrete = re.sub(r"\{[^}]+\}", "1", path)
        samples.extend((method.upper(), concrete) for method in sorted(operations) if method in HTTP_METHODS)
    return samples


def test_every_api_route_but_sign_in_and_gateway_intake_refuses_an_anonymous_caller(client: TestClient) -> None:
    samples = _route_samples(client.app.openapi())  # type: ignore[attr-defined]
    assert len(samples) >= 30, samples  # the app's routes were found, not an empty list
    answered = {f"{method} {path}": client.request(method, path).status_code for method, path in samples}
    assert {route: status for route, status in answered.items() if status != 401} == {}


def test_sign_in_with_the_right_password_gives_a_bearer_token_for_that_account(
    client: TestClient, components: Components, clock: ManualClock
) -> None:
    components.accounts.create_user("li", "办案人员 李强", Role.OFFICER, "correct-horse-1")
    response = client.post("/api/v1/auth/token", data={"username": "li", "password": "correct-horse-1"})
    assert response.status_code == 200, response.text
    token = response.json()
    assert (token["token_type"], token["username"], token["role"]) == ("bearer", "li", "officer")
    expected_expiry = clock.now() + dt.timedelta(minutes=components.settings.token_ttl_minutes)
    assert dt.datetime.fromisoformat(token["expires_at"]) == expected_expiry

    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.status_code == 200, me.text
    assert (me.json()["username"], me.json()["role"], me.json()["active"]) == ("li", "officer", True)


def test_tokens_are_stored_only_as_their_digest(client: TestClient, components: Components) -> None:
    components.accounts.create_user("li", "办案人员 李强", Role.OFFICER, "correct-horse-1")
    token = client.post("/api/v1/auth/token", data={"username": "li", "password": "correct-horse-1"}).json()
    with components.engine.connect() as connection:
        stored = [row.token_hash for row in connection.execute(select(tables.api_tokens))]
    assert len(stored) == 1
    assert token["access_token"] not in stored[0]


@pytest.mark.parametrize(
    ("username", "password", "status", "code"),
    [
        ("li", "wrong-password", 401, "not_authenticated"),
        ("nobody", "correct-horse-1", 401, "not_authenticated"),
        ("li", "", 422, "invalid_request"),  # an empty form field is a missing one
    ],
    ids=["wrong-password", "unknown-user", "empty-password"],
)
def test_sign_in_with_bad_credentials_is_refused_without_a_token(
    client: TestClient, components: Components, username: str, password: str, status: int, code: str
) -> None:
    components.accounts.create_user("li", "办案人员 李强", Role.OFFICER, "correct-horse-1")
    response = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert response.status_code == status, response.text
    body = problem_of(response)
    assert body["code"] == code
    assert "access_token" not in body
    with components.engine.connect() as connection:
        assert connection.execute(select(tables.api_tokens)).all() == []


def test_a_signed_out_token_no_longer_authenticates(client: TestClient, staff: Staff) -> None:
    headers = staff.headers(Role.SUPERVISOR)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204

    for method, path in [("GET", "/api/v1/auth/me"), ("GET", "/api/v1/cases"), ("POST", "/api/v1/auth/logout")]:
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert problem_of(response)["code"] == "not_authenticated"
        assert response.headers["www-authenticate"] == "Bearer"


def test_signing_out_revokes_only_the_token_it_was_sent_with(client: TestClient, staff: Staff) -> None:
    first, second = staff.headers(Role.OFFICER), staff.headers(Role.OFFICER)
    assert client.post("/api/v1/auth/logout", headers=first).status_code == 204
    assert client.get("/api/v1/auth/me", headers=first).status_code == 401
    assert client.get("/api/v1/auth/me", headers=second).status_code == 200


def test_a_token_authenticates_until_its_expiry_and_not_from_then_on(
    client: TestClient, components: Components, clock: ManualClock
) -> None:
    user = components.accounts.create_user("short", "临时账号", Role.OFFICER, "password-1234")
    token, expires = components.accounts.issue_token(user, dt.timedelta(minutes=5))
    headers = {"Authorization": f"Bearer {token}"}
    assert expires == clock.now() + dt.timedelta(minutes=5)

    clock.advance(dt.timedelta(minutes=4, seconds=59))
    assert client.get("/api/v1/cases", headers=headers).status_code == 200

    clock.advance(dt.timedelta(seconds=1))  # exactly at expiry
    expired = client.get("/api/v1/cases", headers=headers)
    assert expired.status_code == 401
    assert problem_of(expired)["code"] == "not_authenticated"
    assert expired.headers["www-authenticate"] == "Bearer"

    clock.advance(dt.timedelta(days=1))
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
