"""The same integration suite runs against SQLite and PostgreSQL.

PostgreSQL is found at OFFSITE_TEST_POSTGRES_URL (default: the local server, user postgres). Without it, the
PostgreSQL half is skipped with the reason shown, unless OFFSITE_REQUIRE_SERVICES=1 (as in CI), where a
missing server fails the run.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cases.clock import ManualClock
from cases.law.config import LawConfig
from cases.model.staff import Role
from cases.persistence import migrate
from cases.persistence.database import create_database_engine
from cases.persistence.tables import metadata
from cases.services import accounts as accounts_module
from cases.services.base import Actor
from offsite import bootstrap
from offsite.bootstrap import Components, build, web_app
from offsite.config_files import load_law
from offsite.settings import PROJECT_ROOT, Settings
from tests.conftest import SHANGHAI
from tests.integration.cluster import roles  # noqa: F401  (a fixture)
from tests.integration.world import world  # noqa: F401  (a fixture)
from tests.support.nats_server import NatsServer

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REQUIRE_SERVICES = os.environ.get("OFFSITE_REQUIRE_SERVICES") == "1"
# A Monday, with the 2026 calendar in force: 10:00 in Shanghai.
START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)


def _postgres_or_skip() -> str:
    admin_url = os.environ.get("OFFSITE_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    try:
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        reason = f"PostgreSQL not reachable at {make_url(admin_url).render_as_string()}: {exc.__class__.__name__}"
        if REQUIRE_SERVICES:
            pytest.fail(f"{reason} (OFFSITE_REQUIRE_SERVICES=1: integration services are required)")
        pytest.skip(reason)
    return admin_url


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A freshly migrated database of each kind, for the whole session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'offsite-test.db'}"
        engine = create_database_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    admin_url = _postgres_or_skip()
    name = f"offsite_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    engine = create_database_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# scrypt is slow on purpose (40 ms a run here). The tests hash a handful of passwords thousands of times and sign in
# with them as often: each result is kept for the whole session, once per worker.
hash_password_once = functools.lru_cache(accounts_module.hash_password)
verify_password_once = functools.lru_cache(accounts_module.verify_password)


def memoise_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The accounts service hashes and checks passwords through the session's memos."""
    monkeypatch.setattr(accounts_module, "hash_password", hash_password_once)
    monkeypatch.setattr(accounts_module, "verify_password", verify_password_once)


PROJECT_CONFIGS = PROJECT_ROOT / "configs"
_project_law = functools.cache(lambda: load_law(PROJECT_CONFIGS))


def law_read_once(config_dir: Path) -> LawConfig:
    """The project's own law files (which no test changes) read once a session; a test's own folder every time."""
    return _project_law() if config_dir == PROJECT_CONFIGS else load_law(config_dir)


def _empty_all_tables(components: Components) -> None:
    """Every table emptied, children first, and (PostgreSQL) every sequence set back to 1. Rows are deleted rather
    than the tables truncated: TRUNCATE gives each table and index a new file that its commit must flush, 0.4 s a
    test on two busy cores, for tables that hold a few rows."""
    names = [table.name for table in reversed(metadata.sorted_tables)]
    with components.engine.begin() as connection:
        for name in names:
            connection.execute(text(f"DELETE FROM {name}"))
        if connection.dialect.name == "postgresql":
            connection.execute(text(
                "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
            ))  # fmt: skip


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(SHANGHAI, START.astimezone(dt.UTC))


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        environment="development",
        database_url=database_url,
        evidence_dir=tmp_path / "evidence",
        model_store=tmp_path / "models",
        golden_store=tmp_path / "golden",
        dataset_store=tmp_path / "datasets",
        training_store=tmp_path / "training",
        recent_frames_dir=tmp_path / "recent-frames",
        training_frames_dir=tmp_path / "training-frames",
    )


@pytest.fixture
def components(settings: Settings, clock: ManualClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Components]:
    """Wired components on an emptied database. Password hashing and checking are memoised for the session."""
    memoise_password_hashing(monkeypatch)
    monkeypatch.setattr(bootstrap, "load_law", law_read_once)
    built = build(settings, clock=clock)
    _empty_all_tables(built)
    yield built
    built.close()


@pytest.fixture
def client(settings: Settings, components: Components) -> Iterator[TestClient]:
    """The app as a client that asks the API for English (``Accept-Language: en``): the tests written before the
    message catalogue assert the English of problems. Pages are Chinese whatever the header. The catalogue's own
    tests (test_message_catalogue) drop the header and read the API's default, Chinese."""
    with TestClient(web_app(components), headers={"Accept-Language": "en"}) as test_client:
        yield test_client


@dataclass
class Staff:
    """One signed-in account per role: ``staff.headers(Role.OFFICER)``, or a second officer by name."""

    components: Components

    def headers(self, role: Role, username: str | None = None) -> dict[str, str]:
        username = username or f"{role.value}1"
        user = self.components.accounts.find_user(username) or self.components.accounts.create_user(
            username, f"{role.value} {username}", role, "password-1234"
        )
        token, _ = self.components.accounts.issue_token(user, dt.timedelta(days=365))  # tests move the clock by days
        return {"Authorization": f"Bearer {token}"}

    @staticmethod
    def actor(role: Role, username: str | None = None) -> Actor:
        return Actor(username or f"{role.value}1", role)


@pytest.fixture
def staff(components: Components) -> Staff:
    return Staff(components)


def problem_of(response: Any) -> dict[str, Any]:
    """The problem document of an error response, checked to be RFC 9457 problem+json."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body), body
    assert body["status"] == response.status_code
    return body


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A real NATS server with JetStream of the test's own (issue 16's cluster tests)."""
    running = NatsServer(tmp_path / "nats").start()
    yield running
    running.stop()
