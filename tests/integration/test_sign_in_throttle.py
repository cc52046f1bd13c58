"""Staff sign-in locks out after wrong passwords, for an account and for a client address, on both databases.

The rule (defaults, each a setting): 5 wrong passwords for one username within 15 minutes lock that username for
15 minutes; 20 from one client address lock the address. While locked, every attempt, the right password
included, is refused with 429 and ``Retry-After``; the lock-out ends by itself (the clock is moved, not waited
for) or when an admin unlocks the account. A username that does not exist is answered, timed and locked exactly
like one that does. A success wipes the account's failures. The failures live in the database, so every process
serving the API counts the same ones.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cases.clock import ManualClock
from cases.errors import SignInLocked
from cases.model.staff import Role
from cases.services import accounts as accounts_module
from offsite.bootstrap import Components, build, web_app
from offsite.settings import Settings
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_cli import run
from tests.integration.test_console import csrf

PASSWORD = "correct-horse-1"
WRONG = "wrong-password"
LOCKOUT = dt.timedelta(minutes=15)


@pytest.fixture
def accounts(components: Components) -> Components:
    components.accounts.create_user("li", "办案人员 李强", Role.OFFICER, PASSWORD)
    components.accounts.create_user("zhao", "办案人员 赵敏", Role.OFFICER, PASSWORD)
    return components


def sign_in(client: TestClient, username: str = "li", password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def fail(client: TestClient, times: int, username: str = "li") -> None:
    for _ in range(times):
        assert sign_in(client, username, WRONG).status_code == 401


def locked(response: Any) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    problem = problem_of(response)
    assert problem["code"] == "sign_in_locked"
    return problem


# ---- the account's lock-out -----------------------------------------------------------------------------------
def test_five_wrong_passwords_lock_the_account_and_then_even_the_right_one_gets_429(
    client: TestClient, accounts: Components
) -> None:
    fail(client, 5)
    response = sign_in(client)
    locked(response)
    assert int(response.headers["Retry-After"]) == LOCKOUT.total_seconds()
    assert sign_in(client, "zhao").status_code == 200  # another account from the same address is not locked


def test_four_wrong_passwords_lock_nothing(client: TestClient, accounts: Components) -> None:
    fail(client, 4)
    assert sign_in(client).status_code == 200


def test_the_lock_out_ends_fifteen_minutes_after_the_fifth_wrong_password(
    client: TestClient, accounts: Components, clock: ManualClock
) -> None:
    fail(client, 5)
    clock.advance(LOCKOUT - dt.timedelta(seconds=30))
    response = sign_in(client)
    assert locked(response)["detail"] == "too many failed sign-ins: try again in 30 seconds"
    assert response.headers["Retry-After"] == "30"
    clock.advance(dt.timedelta(seconds=30))
    assert sign_in(client).status_code == 200


def test_attempts_refused_during_the_lock_out_do_not_prolong_it(
    client: TestClient, accounts: Components, clock: ManualClock
) -> None:
    fail(client, 5)
    for _ in range(10):
        clock.advance(dt.timedelta(minutes=1))
        locked(sign_in(client, password=WRONG))
    clock.advance(LOCKOUT - dt.timedelta(minutes=10))
    assert sign_in(client).status_code == 200


def test_wrong_passwords_spread_wider_than_the_window_lock_nothing(
    client: TestClient, accounts: Components, clock: ManualClock
) -> None:
    for _ in range(8):
        fail(client, 1)
        clock.advance(dt.timedelta(minutes=4))  # never five within fifteen minutes
    assert sign_in(client).status_code == 200


def test_a_success_wipes_the_accounts_failures(client: TestClient, accounts: Components) -> None:
    fail(client, 4)
    assert sign_in(client).status_code == 200
    fail(client, 4)
    assert sign_in(client).status_code == 200


def test_the_console_sign_in_page_locks_out_too_and_says_in_chinese_how_many_minutes_to_wait(
    client: TestClient, accounts: Components, clock: ManualClock
) -> None:
    for _ in range(5):
        page = client.post("/console/login", data={"username": "li", "password": WRONG})
        assert page.status_code == 401
        assert "用户名或密码错误" in page.text
    clock.advance(dt.timedelta(minutes=3))
    page = client.post("/console/login", data={"username": "li", "password": PASSWORD}, follow_redirects=False)
    assert page.status_code == 429
    assert page.headers["Retry-After"] == str(12 * 60)
    assert "登录失败次数过多" in page.text
    assert "请 12 分钟后再试" in page.text
    assert "offsite_console" not in page.headers.get("set-cookie", "")  # no session was opened


def test_the_console_form_and_the_api_count_the_same_failures(client: TestClient, accounts: Components) -> None:
    fail(client, 3)
    for _ in range(2):
        assert client.post("/console/login", data={"username": "li", "password": WRONG}).status_code == 401
    locked(sign_in(client))


# ---- the client address's lock-out ----------------------------------------------------------------------------
def test_twenty_wrong_passwords_from_one_address_lock_that_address_for_every_account(
    settings: Settings, accounts: Components, clock: ManualClock
) -> None:
    app = web_app(accounts)
    with (
        TestClient(app, client=("198.51.100.7", 40000)) as guesser,
        TestClient(app, client=("10.0.0.8", 40000)) as colleague,
    ):
        for username in ("a1", "a2", "a3", "a4", "a5"):  # four each: no account reaches five
            fail(guesser, 4, username)
        locked(sign_in(guesser, "zhao"))  # the right password of an account never guessed at
        assert sign_in(colleague, "zhao").status_code == 200  # the same account from another address
        assert sign_in(guesser, "zhao").status_code == 429  # the colleague's success did not clear the address
        clock.advance(LOCKOUT)
        assert sign_in(guesser, "zhao").status_code == 200


def test_a_success_does_not_clear_the_address_count(settings: Settings, accounts: Components) -> None:
    """A guesser holding an account of their own cannot reset their address's count by signing in to it."""
    with TestClient(web_app(accounts), client=("198.51.100.7", 40000)) as guesser:
        for username in ("a1", "a2", "a3", "a4", "a5"):
            fail(guesser, 4, username)
            if username != "a5":
                assert sign_in(guesser, "zhao").status_code == 200
        locked(sign_in(guesser, "zhao"))


# ---- known and unknown accounts alike ------------------------------------------------------------------------
@pytest.fixture
def scrypt_runs(accounts: Components, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    runs: list[str] = []
    real_verify = accounts_module.verify_password

    def counting_verify(password: str, stored: str) -> bool:
        runs.append(stored)
        return real_verify(password, stored)

    monkeypatch.setattr(accounts_module, "verify_password", counting_verify)
    return runs


def _answers(client: TestClient, username: str, runs: list[str]) -> list[tuple[int, str, str | None, int]]:
    """Status, problem code and detail, Retry-After and scrypt runs of 5 wrong passwords and then the right one."""
    seen = []
    for password in [WRONG] * 5 + [PASSWORD] * 2:
        before = len(runs)
        response = sign_in(client, username, password)
        problem = problem_of(response)
        seen.append((response.status_code, f"{problem['code']}: {problem['detail']}",
                     response.headers.get("Retry-After"), len(runs) - before))  # fmt: skip
    return seen


def test_an_unknown_account_is_answered_timed_and_locked_exactly_like_a_known_one(
    client: TestClient, accounts: Components, scrypt_runs: list[str]
) -> None:
    known = _answers(client, "li", scrypt_runs)
    unknown = _answers(client, "nobody", scrypt_runs)
    assert known == unknown
    assert [status for status, *_ in known] == [401] * 5 + [429] * 2
    assert [runs for *_, runs in known] == [1] * 5 + [0] * 2  # a scrypt run per checked password, none while locked
    assert len(set(scrypt_runs[:5])) == 1  # the account's own hash, and the dummy hash: one each
    assert len(set(scrypt_runs[5:])) == 1
    assert scrypt_runs[0].split("$")[:4] == scrypt_runs[5].split("$")[:4] == ["scrypt", "16384", "8", "1"]
    assert set(accounts.accounts.locked_accounts()) == {"li"}  # both locked; only the account is listed to admins


# ---- shared by processes, safe under concurrency -------------------------------------------------------------
def test_another_server_process_on_the_same_database_sees_the_lock_out(
    settings: Settings, accounts: Components, clock: ManualClock
) -> None:
    """Two API servers (each its own engine and pool) on one database: failures made at one lock the other."""
    other = build(settings, clock=clock)
    try:
        with TestClient(web_app(accounts)) as first, TestClient(web_app(other)) as second:
            fail(first, 3)
            fail(second, 2)
            locked(sign_in(first))
            locked(sign_in(second))
    finally:
        other.close()


def test_concurrent_wrong_passwords_cannot_slip_past_the_lock_out_together(accounts: Components) -> None:
    """Twelve guesses at once, with the clock standing still: five are checked, seven refused."""
    outcomes: list[str] = []
    start = threading.Barrier(12)

    def guess() -> None:
        start.wait()
        try:
            user = accounts.accounts.sign_in("li", WRONG, "203.0.113.9")
            outcomes.append("signed in" if user else "wrong")
        except SignInLocked:
            outcomes.append("locked")

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["locked"] * 7 + ["wrong"] * 5


def test_the_numbers_are_settings(database_url: str, tmp_path: Any, clock: ManualClock) -> None:
    strict = Settings(environment="development", database_url=database_url, evidence_dir=tmp_path / "evidence",
                      sign_in_max_failures=2, sign_in_window_minutes=1, sign_in_lockout_minutes=60)  # fmt: skip
    components = build(strict, clock=clock)
    try:
        components.accounts.create_user("qian", "办案人员 钱多", Role.OFFICER, PASSWORD)
        assert components.accounts.sign_in("qian", WRONG, "c1") is None
        clock.advance(dt.timedelta(minutes=2))  # outside the one-minute window: the first failure stops counting
        assert components.accounts.sign_in("qian", WRONG, "c1") is None
        assert components.accounts.sign_in("qian", WRONG, "c1") is None
        with pytest.raises(SignInLocked) as refused:
            components.accounts.sign_in("qian", PASSWORD, "c1")
        assert refused.value.retry_after_s == 60 * 60
    finally:
        components.close()


# ---- logged; shown to admins; unlocked ----------------------------------------------------------------------
def test_each_lock_out_is_logged_once_with_the_account_and_the_address(
    client: TestClient, accounts: Components, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="offsite.accounts"):
        fail(client, 5)
        for _ in range(3):
            locked(sign_in(client))
    lines = [r.getMessage() for r in caplog.records if "locked out" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "account 'li'" in lines[0]
    assert "testclient" in lines[0]


def test_an_admin_sees_the_locked_account_and_unlocks_it(
    client: TestClient, accounts: Components, staff: Staff, clock: ManualClock
) -> None:
    admin = staff.headers(Role.ADMIN)
    fail(client, 5)
    users = {u["username"]: u for u in client.get("/api/v1/users", headers=admin).json()}
    until = dt.datetime.fromisoformat(users["li"]["sign_in_locked_until"])
    assert until == clock.now() + LOCKOUT
    assert users["zhao"]["sign_in_locked_until"] is None

    refused = client.post("/api/v1/users/li/unlock", headers=staff.headers(Role.OFFICER))
    assert problem_of(refused)["code"] == "forbidden"
    locked(sign_in(client))

    unlocked = client.post("/api/v1/users/li/unlock", headers=admin)
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json()["sign_in_locked_until"] is None
    assert sign_in(client).status_code == 200
    assert all(u["sign_in_locked_until"] is None for u in client.get("/api/v1/users", headers=admin).json())


def test_unlocking_an_account_that_does_not_exist_is_404(client: TestClient, staff: Staff) -> None:
    response = client.post("/api/v1/users/nobody/unlock", headers=staff.headers(Role.ADMIN))
    assert response.status_code == 404
    assert problem_of(response)["code"] == "not_found"


@pytest.fixture
def admin_console(client: TestClient, components: Components) -> TestClient:
    components.accounts.create_user("root", "系统管理员 张", Role.ADMIN, PASSWORD)
    response = client.post("/console/login", data={"username": "root", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client


def test_the_console_users_page_shows_the_lock_out_and_unlocks_it(
    admin_console: TestClient, accounts: Components, settings: Settings
) -> None:
    with TestClient(web_app(accounts), client=("192.0.2.1", 1)) as guesser:
        fail(guesser, 5)
    page = admin_console.get("/console/users")
    assert page.status_code == 200
    assert "1 个账号因密码错误次数过多被锁定" in page.text
    row = page.text.split('id="user-li"', 1)[1].split("</tr>", 1)[0]
    assert "锁定至 2026-03-02 10:15:00" in row  # local time: the clock stands at 10:00 in Shanghai
    assert "解除锁定" in row

    done = admin_console.post("/console/users/li/unlock", data={"csrf": csrf(page.text)})
    assert done.status_code == 200
    assert "已解除账号 li（办案人员 李强）的登录锁定" in done.text
    assert "没有被锁定的账号" in done.text
    assert accounts.accounts.locked_accounts() == {}


def test_only_admins_reach_the_console_users_page(client: TestClient, accounts: Components) -> None:
    assert client.post("/console/login", data={"username": "li", "password": PASSWORD}).status_code == 200
    assert client.get("/console/users").status_code == 403


def test_offsite_users_unlock_lifts_the_lock_out(accounts: Components, settings: Settings) -> None:
    for _ in range(5):
        accounts.accounts.sign_in("li", WRONG, "192.0.2.1")
    assert set(accounts.accounts.locked_accounts()) == {"li"}
    env = {"OFFSITE_DATABASE_URL": settings.database_url, "OFFSITE_EVIDENCE_DIR": str(settings.evidence_dir)}
    result = run("users", "unlock", "li", env=env)
    assert result.returncode == 0, result.stderr
    assert "unlocked li" in result.stdout
    assert accounts.accounts.locked_accounts() == {}
    missing = run("users", "unlock", "nobody", env=env)
    assert missing.returncode == 1
    assert "not_found" in missing.stderr
