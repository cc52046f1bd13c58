"""Every pooled database connection busy: a request waits at most the pool timeout, then gets 503 with
Retry-After, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import Connection, text
from sqlalchemy import exc as sa

from cases.clock import ManualClock
from cases.model.staff import Role
from offsite.bootstrap import build, web_app
from offsite.settings import Settings
from tests.integration.conftest import Staff, problem_of

POOL_S = 0.5


def test_with_every_pooled_connection_busy_a_request_gets_503_with_retry_after_within_the_pool_timeout(
    settings: Settings, clock: ManualClock, staff: Staff
) -> None:
    headers = staff.headers(Role.OFFICER)
    busy = build(settings.model_copy(update={"database_pool_timeout_s": POOL_S}), clock=clock)
    held: list[Connection] = []
    try:
        with TestClient(web_app(busy)) as client:
            try:
                while len(held) < 200:  # every connection the pool will give, held by someone else
                    held.append(busy.engine.connect())
            except sa.TimeoutError:
                pass
            started = time.monotonic()
            response = client.get("/api/v1/cases", headers=headers)
            took = time.monotonic() - started
            for connection in held:
                connection.close()
            served = client.get("/api/v1/cases", headers=headers)
    finally:
        for connection in held:
            connection.close()
        busy.close()
    assert 0 < len(held) < 200
    assert (response.status_code, problem_of(response)["code"]) == (503, "database_unavailable")
    assert response.headers["Retry-After"].isdigit()
    assert took < POOL_S + 2
    assert served.status_code == 200  # connections free again: served again, nothing restarted


def test_a_pooled_connection_is_handed_over_idle_so_autocommit_can_be_set_on_it(settings: Settings) -> None:
    """The pool's check that the server answers leaves no transaction open on the connection it hands over (a
    connection left INTRANS refuses AUTOCOMMIT, which CREATE DATABASE and the benchmarks need)."""
    components = build(settings)
    try:
        for _ in range(3):  # a fresh connection, then pooled ones, each checked on checkout
            with components.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        components.close()
