"""A PostgreSQL server that stops or stalls: requests are answered 503 with Retry-After, fast, and the service
recovers by itself when the server is back. The faults are real: a private cluster of the test's own is stopped
with pg_ctl, or frozen with SIGSTOP (postmaster and backends), while the app serves under a real uvicorn server
(the TestClient runs one request at a time, so it could not show the event loop blocking)."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from api.errors import database_unavailable
from cases.model.registry import Camera
from cases.model.staff import Role
from cases.persistence.database import REPLY_GRACE_S
from offsite.bootstrap import Components, build, prepare_database, web_app
from offsite.settings import Settings
from tests.integration.conftest import memoise_password_hashing
from tests.integration.test_gateway_api import signed_headers
from tests.support import private_postgres
from tests.support.private_postgres import PrivateCluster, private_cluster
from tests.support.serving import serving

pytestmark = pytest.mark.postgres

CONNECT_S, STATEMENT_S, POOL_S = 2, 2.0, 2.0
# The longest a request that starts during a stall may wait: a pooled connection's check gets no answer (connect
# timeout), then a new connection is tried (connect timeout); 1.5 s more for the request itself. (A statement
# already waiting when the server stalls gives up after the statement timeout and REPLY_GRACE_S.)
STALL_BOUND_S = 2 * CONNECT_S + 1.5
STALL_S = 15.0
HEALTHZ_BOUND_S = 1.0
STREAM_PATH = "/api/v1/gateway/cameras/cam-1/stream"


@dataclass
class Outage:
    cluster: PrivateCluster
    components: Components
    token: str  # an officer's API token, also the console's session cookie

    def requests(self) -> dict[str, Callable[[httpx.Client], httpx.Response]]:
        """One request of each kind that needs the database: a signed gateway request (its nonce is recorded),
        an API request with a bearer token, and a console page."""
        bearer = {"Authorization": f"Bearer {self.token}"}
        cookie = {"Cookie": f"offsite_console={self.token}"}

        def gateway(http: httpx.Client) -> httpx.Response:
            headers = signed_headers(self.components, b"", method="GET", path=STREAM_PATH)
            return http.get(STREAM_PATH, headers=headers)

        return {
            "gateway": gateway,
            "api": lambda http: http.get("/api/v1/cases", headers=bearer),
            "console": lambda http: http.get("/console/cases", headers=cookie),
        }

    def async_routes(self) -> dict[str, Callable[[httpx.Client], httpx.Response]]:
        """Console forms served by ``async def`` routes, which read the form on the event loop: each checks the
        signed-in user in the database, which must happen in a worker thread."""
        cookie = {"Cookie": f"offsite_console={self.token}"}
        return {
            "console review form": lambda http: http.post("/console/detections/1/review", headers=cookie),
            "console step form": lambda http: http.post("/console/cases/1/steps/file", headers=cookie),
        }


@pytest.fixture
def outage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Outage]:
    reason = private_postgres.available()
    if reason is not None:
        if os.environ.get("OFFSITE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"no private PostgreSQL cluster: {reason}")
        pytest.skip(f"no private PostgreSQL cluster: {reason}")
    memoise_password_hashing(monkeypatch)
    with private_cluster() as cluster:
        settings = Settings(
            environment="development",
            database_url=cluster.url,
            evidence_dir=tmp_path / "evidence",
            database_connect_timeout_s=CONNECT_S,
            database_statement_timeout_s=STATEMENT_S,
            database_pool_timeout_s=POOL_S,
        )
        components = build(settings)
        try:
            prepare_database(components)
            components.accounts.register_gateway("gw-1", "路口网关")
            components.registry.create_camera(Camera("cam-1", "张杨路口", "浦东新区张杨路 1 号", gateway_id="gw-1"))
            officer = components.accounts.create_user("officer1", "办案员", Role.OFFICER, "password-1234")
            token, _expires = components.accounts.issue_token(officer, dt.timedelta(hours=1))
            yield Outage(cluster, components, token)
        finally:
            components.close()


def assert_database_unavailable(name: str, response: httpx.Response) -> None:
    assert response.status_code == 503, (name, response.status_code, response.text[:300])
    assert response.headers["Retry-After"].isdigit(), name
    if name.startswith("console"):
        assert response.headers["content-type"].startswith("text/html"), response.text[:300]
        assert "数据库暂时无法访问" in response.text
    else:
        assert response.headers["content-type"].startswith("application/problem+json"), response.text[:300]
        assert response.json()["code"] == "database_unavailable"


def assert_served(outage: Outage, http: httpx.Client) -> None:
    for name, send in outage.requests().items():
        response = send(http)
        assert response.status_code == 200, (name, response.status_code, response.text[:300])


# ---- stopped, then started ------------------------------------------------------------------------------------
def test_a_stopped_database_gets_503_with_retry_after_and_requests_succeed_again_once_it_is_started(
    outage: Outage,
) -> None:
    app = web_app(outage.components)
    with TestClient(app) as client:
        assert_served(outage, client)
        outage.cluster.stop()
        try:
            for name, send in outage.requests().items():
                assert_database_unavailable(name, send(client))
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 503
        finally:
            outage.cluster.start()
        assert_served(outage, client)  # the same app, not restarted
        assert client.get("/readyz").status_code == 200


# ---- stalled ------------------------------------------------------------------------------------------------
@dataclass
class Timed:
    response: httpx.Response
    seconds: float


def timed(base: str, send: Callable[[httpx.Client], httpx.Response]) -> Timed:
    with httpx.Client(base_url=base, timeout=STALL_S + 30) as http:
        started = time.monotonic()
        response = send(http)
        return Timed(response, time.monotonic() - started)


def healthz_while(base: str, pending: list[Future[Timed]], until: float) -> list[float]:
    """/healthz latencies, asked every 0.2 s while requests wait on the database, and on until ``until``."""
    latencies = []
    with httpx.Client(base_url=base, timeout=STALL_S + 30) as http:
        while time.monotonic() < until or not all(f.done() for f in pending):
            started = time.monotonic()
            assert http.get("/healthz").status_code == 200
            latencies.append(time.monotonic() - started)
            time.sleep(0.2)
    return latencies


def test_a_stalled_database_fails_requests_fast_with_503_while_healthz_answers_at_once_and_the_server_recovers(
    outage: Outage,
) -> None:
    app = web_app(outage.components)
    kinds = outage.requests()
    with serving(app) as base, ThreadPoolExecutor(max_workers=8) as pool:
        # several pooled connections, idle when the server stalls: their check before use gets no reply
        warm = [pool.submit(timed, base, send) for send in kinds.values() for _twice in range(2)]
        assert all(f.result().response.status_code == 200 for f in warm)

        frozen_at = time.monotonic()
        with outage.cluster.frozen():
            for _round in ("pooled connections", "new connections"):
                sent = kinds | outage.async_routes()
                stalled = {name: pool.submit(timed, base, send) for name, send in sent.items()}
                latencies = healthz_while(base, list(stalled.values()), until=0)
                assert len(latencies) >= 5, "the requests ended before /healthz could be asked while they waited"
                assert max(latencies) < HEALTHZ_BOUND_S, f"/healthz took {max(latencies):.2f} s during the stall"
                for name, future in stalled.items():
                    result = future.result()
                    assert_database_unavailable(name, result.response)
                    assert result.seconds < STALL_BOUND_S, f"{name} took {result.seconds:.1f} s ({_round})"
            latencies = healthz_while(base, [], until=frozen_at + STALL_S)
            assert max(latencies) < HEALTHZ_BOUND_S

        recovered = [pool.submit(timed, base, send) for send in kinds.values()]
        assert [f.result().response.status_code for f in recovered] == [200] * len(kinds)


def test_a_statement_waiting_when_the_server_stalls_gives_up_after_the_statement_timeout_and_its_grace(
    outage: Outage,
) -> None:
    """The server cannot enforce statement_timeout while it is frozen: the wait for its reply is bounded here."""
    reply_bound_s = STATEMENT_S + REPLY_GRACE_S
    with outage.components.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        with ThreadPoolExecutor(max_workers=1) as pool, outage.cluster.frozen():
            started = time.monotonic()
            waiting = pool.submit(connection.execute, text("SELECT 1"))
            with pytest.raises(OperationalError) as raised:
                waiting.result(timeout=reply_bound_s + 5)
            took = time.monotonic() - started
    assert reply_bound_s - 0.5 <= took < reply_bound_s + 1.5, f"gave up after {took:.1f} s"
    assert "no reply" in str(raised.value)
    assert raised.value.connection_invalidated
    assert database_unavailable(raised.value)
