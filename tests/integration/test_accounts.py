"""Staff accounts: an admin disables one, and it is signed out everywhere at once."""

from __future__ import annotations

from fastapi.testclient import TestClient

from cases.model.staff import Role
from tests.integration.conftest import Staff, problem_of


def test_a_disabled_account_loses_its_tokens_and_cannot_sign_in(client: TestClient, staff: Staff) -> None:
    officer = staff.headers(Role.OFFICER)
    assert client.get("/api/v1/auth/me", headers=officer).status_code == 200
    disabled = client.patch("/api/v1/users/officer1", json={"active": False}, headers=staff.headers(Role.ADMIN))
    assert disabled.status_code == 200
    assert disabled.json()["active"] is False
    assert problem_of(client.get("/api/v1/auth/me", headers=officer))["code"] == "not_authenticated"
    sign_in = client.post("/api/v1/auth/token", data={"username": "officer1", "password": "password-1234"})
    assert sign_in.status_code == 401
    client.patch("/api/v1/users/officer1", json={"active": True}, headers=staff.headers(Role.ADMIN))
    assert (
        client.post("/api/v1/auth/token", data={"username": "officer1", "password": "password-1234"}).status_code == 200
    )


def test_an_admin_cannot_lock_themselves_out(client: TestClient, staff: Staff) -> None:
    response = client.patch("/api/v1/users/admin1", json={"active": False}, headers=staff.headers(Role.ADMIN))
    assert problem_of(response)["code"] == "invalid_input"


def test_disabling_an_unknown_account_is_404(client: TestClient, staff: Staff) -> None:
    response = client.patch("/api/v1/users/nobody", json={"active": False}, headers=staff.headers(Role.ADMIN))
    assert problem_of(response)["code"] == "not_found"
