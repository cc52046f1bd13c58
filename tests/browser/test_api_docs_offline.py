"""The API's documentation renders in Chromium with every request off this machine blocked, as on a bureau
intranet with no way out: Swagger UI at /docs lists the operations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from cases.persistence import migrate
from cases.persistence.database import create_database_engine
from offsite.bootstrap import build, web_app
from offsite.settings import Settings
from tests.browser.conftest import require_chromium
from tests.support.serving import serving

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


@pytest.fixture(scope="module")
def docs_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free loopback port over a fresh, empty database (the documentation needs no data)."""
    require_chromium()
    folder = tmp_path_factory.mktemp("docs")
    url = f"sqlite:///{folder / 'offsite.db'}"
    engine = create_database_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    settings = Settings(environment="development", database_url=url, evidence_dir=folder / "evidence")
    with serving(web_app(build(settings))) as base:
        yield base


def _offline_page(browser: Any, blocked: list[str]) -> Any:
    """A page whose every request to a host other than this machine is aborted, and noted in ``blocked``."""
    page = browser.new_context().new_page()

    def only_loopback(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in {"http", "https", "ws", "wss"} and urlsplit(url).hostname not in LOOPBACK:
            blocked.append(url)
            route.abort()
        else:
            route.continue_()

    page.route("**/*", only_loopback)
    return page


def test_swagger_ui_renders_the_operations_with_no_request_off_this_machine(browser: Any, docs_base: str) -> None:
    blocked: list[str] = []
    page = _offline_page(browser, blocked)
    page.goto(f"{docs_base}/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    paths = page.locator(".opblock .opblock-summary-path").all_inner_texts()
    assert any("/api/v1/auth/token" in path for path in paths), paths
    assert len(paths) > 20, paths
    assert blocked == []
    page.context.close()
