"""Sign-in costs the same whoever asks, and a signed-in user changes their own password.

Sign-in must not tell which accounts exist: every attempt runs scrypt exactly once, for an unknown username, a
disabled account, a wrong and a right password alike. Checked by counting the scrypt runs, not by timing them.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from cases.errors import InvalidInput
from cases.model.staff import Role
from cases.services import accounts as accounts_module
from offsite.bootstrap import Components
from tests.integration.conftest import problem_of

PASSWORD = "correct-horse-1"
NEW_PASSWORD = "battery-staple-2026"


@pytest.fixture
def scrypt_runs(accounts: Components, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts verify_password calls, once the accounts exist; hashing a password from here on fails the test."""
    runs: list[str] = []
    real_verify = accounts_module.verify_password

    def counting_verify(password: str, stored: str) -> bool:
        runs.append(stored)
        return real_verify(password, stored)

    def no_hashing(_password: str) -> str:
        raise AssertionError("sign-in hashed a password: an extra scrypt run")

    monkeypatch.setattr(accounts_module, "verify_password", counting_verify)
    monkeypatch.setattr(accounts_module, "hash_password", no_hashing)
    return runs


@pytest.fixture
def accounts(components: Components) -> Components:
    components.accounts.create_user("li", "办案人员 李强", Role.OFFICER, PASSWORD)
    components.accounts.create_user("wang", "办案人员 王芳", Role.OFFICER, PASSWORD)
    components.accounts.set_active("wang", False)
    return components


@pytest.mark.parametrize(
    ("username", "password", "signed_in"),
    [
        ("nobody", PASSWORD, False),
        ("wang", PASSWORD, False),
        ("wang", "wrong-password", False),
        ("li", "wrong-password", False),
        ("li", PASSWORD, True),
    ],
    ids=["unknown-user", "disabled-right-password", "disabled-wrong-password", "wrong-password", "right-password"],
)
def test_every_sign_in_attempt_runs_scrypt_exactly_once(
    accounts: Components, scrypt_runs: list[str], username: str, password: str, signed_in: bool
) -> None:
    user = accounts.accounts.authenticate(username, password)
    assert (user is not None) == signed_in
    assert len(scrypt_runs) == 1
    assert scrypt_runs[0].startswith("scrypt$16384$8$1$")  # the same parameters, so the same cost


def test_an_unknown_user_is_checked_against_a_hash_no_password_matches(
    accounts: Components, scrypt_runs: list[str]
) -> None:
    for password in ("", PASSWORD, "timing-equaliser"):
        assert accounts.accounts.authenticate("nobody", password) is None
    assert len(set(scrypt_runs)) == 1  # the one module-level dummy hash, computed once


def test_the_sign_in_route_runs_scrypt_once_for_an_unknown_user(
    client: TestClient, accounts: Components, scrypt_runs: list[str]
) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "nobody", "password": PASSWORD})
    assert problem_of(response)["code"] == "not_authenticated"
    assert len(scrypt_runs) == 1


# ---- password change ------------------------------------------------------------------------------------------
def sign_in(client: TestClient, password: str = PASSWORD, username: str = "li") -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def bearer(client: TestClient, password: str = PASSWORD) -> dict[str, str]:
    response = sign_in(client, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def change(client: TestClient, headers: dict[str, str], current: str, new: str) -> Any:
    body = {"current_password": current, "new_password": new}
    return client.post("/api/v1/auth/password", json=body, headers=headers)


def test_a_user_changes_their_password_and_their_other_sessions_end(client: TestClient, accounts: Components) -> None:
    here, elsewhere = bearer(client), bearer(client)
    response = change(client, here, PASSWORD, NEW_PASSWORD)
    assert response.status_code == 204, response.text

    assert client.get("/api/v1/auth/me", headers=here).status_code == 200  # the session that changed it stays
    assert problem_of(client.get("/api/v1/auth/me", headers=elsewhere))["code"] == "not_authenticated"
    assert problem_of(sign_in(client, PASSWORD))["code"] == "not_authenticated"
    assert sign_in(client, NEW_PASSWORD).status_code == 200
    assert sign_in(client, PASSWORD, username="wang").status_code == 401  # nobody else's account was touched


def test_a_wrong_current_password_is_invalid_input_and_changes_nothing(
    client: TestClient, accounts: Components
) -> None:
    here, elsewhere = bearer(client), bearer(client)
    response = change(client, here, "not-my-password", NEW_PASSWORD)
    assert response.status_code == 422, response.text
    problem = problem_of(response)
    assert problem["code"] == "invalid_input"
    assert "current password is wrong" in problem["detail"]
    assert client.get("/api/v1/auth/me", headers=elsewhere).status_code == 200
    assert sign_in(client, PASSWORD).status_code == 200
    assert sign_in(client, NEW_PASSWORD).status_code == 401


def test_guessing_the_current_password_counts_towards_the_accounts_lock_out(
    client: TestClient, accounts: Components
) -> None:
    """A stolen token is no way round the lock-out: each wrong current password is a guess at the account's password,
    counted with its wrong sign-ins, and once they lock the account, the right current password, changing it and
    signing in are all refused (429, Retry-After) until the lock-out ends or an admin lifts it."""
    here = bearer(client)
    limit = accounts.settings.sign_in_max_failures
    for n in range(limit):
        assert change(client, here, f"guess-number-{n}", NEW_PASSWORD).status_code == 422
    locked = change(client, here, PASSWORD, NEW_PASSWORD)
    assert locked.status_code == 429, locked.text
    assert problem_of(locked)["code"] == "sign_in_locked"
    assert int(locked.headers["Retry-After"]) > 0
    assert sign_in(client, PASSWORD).status_code == 429
    assert "li" in accounts.accounts.locked_accounts()
    accounts.accounts.unlock("li", "admin")
    assert change(client, here, PASSWORD, NEW_PASSWORD).status_code == 204
    assert sign_in(client, NEW_PASSWORD).status_code == 200


def test_a_right_current_password_clears_the_guesses_before_it(client: TestClient, accounts: Components) -> None:
    here = bearer(client)
    limit = accounts.settings.sign_in_max_failures
    for n in range(limit - 1):
        assert change(client, here, f"guess-number-{n}", NEW_PASSWORD).status_code == 422
    assert change(client, here, PASSWORD, NEW_PASSWORD).status_code == 204
    assert change(client, here, "one-more-wrong-guess", PASSWORD + "-again").status_code == 422  # one, not the limit
    assert sign_in(client, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("body", "code", "named"),
    [
        ({"current_password": PASSWORD, "new_password": "eleven-char"}, "invalid_request", "new_password"),
        ({"current_password": PASSWORD}, "invalid_request", "new_password"),
        (
            {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "username": "wang"},
            "invalid_request",
            "username",
        ),
        ({"current_password": PASSWORD, "new_password": PASSWORD}, "invalid_input", "differ"),
    ],
    ids=["new-too-short", "new-missing", "unknown-field", "same-as-current"],
)
def test_a_bad_new_password_is_refused(
    client: TestClient, accounts: Components, body: dict[str, str], code: str, named: str
) -> None:
    response = client.post("/api/v1/auth/password", json=body, headers=bearer(client))
    assert response.status_code == 422, response.text
    problem = problem_of(response)
    assert problem["code"] == code
    assert named in str(problem)
    assert sign_in(client, PASSWORD).status_code == 200


def test_changing_a_password_needs_a_signed_in_user(client: TestClient, accounts: Components) -> None:
    response = change(client, {}, PASSWORD, NEW_PASSWORD)
    assert problem_of(response)["code"] == "not_authenticated"
    assert sign_in(client, PASSWORD).status_code == 200


def test_the_service_refuses_a_short_new_password_whoever_calls_it(accounts: Components) -> None:
    user = accounts.accounts.find_user("li")
    assert user is not None
    with pytest.raises(InvalidInput, match="12 characters"):
        accounts.accounts.change_password(user.id, PASSWORD, "short-pass", None)
    assert accounts.accounts.authenticate("li", PASSWORD) is not None
