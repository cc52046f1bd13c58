"""Browser tests: Playwright driving Debian's Chromium (headless, no browser download) against the app served by
uvicorn on a free port, on a fresh demo database. Without Chromium they are skipped with the reason, unless
OFFSITE_REQUIRE_SERVICES=1 (CI), where that fails the run."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from offsite.bootstrap import Components, web_app
from offsite.demo import DEMO_PASSWORD, DemoSummary, run_demo
from offsite.settings import PROJECT_ROOT
from tests.support.serving import serving
from tests.support.session_demos import learned_demo, open_demo, session_demo_folder

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTEFACTS = PROJECT_ROOT / "test-artifacts" / "browser"


@dataclass
class Served:
    base: str
    components: Components
    summary: DemoSummary
    clock_behind_s: float  # how far the demo's clock was behind the wall clock when run_demo returned


def require_chromium() -> None:
    """Skip without Chromium, with the reason; in CI (OFFSITE_REQUIRE_SERVICES=1) fail instead."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("OFFSITE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install chromium")
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The demo served, without its learning loop (test_learning_loop walks it): a copy of its own for each module,
    of the one demo the session runs (each module changes what it serves, and none may see another's changes)."""
    require_chromium()
    components, summary, behind = copy_of_the_session_demo(tmp_path_factory)
    yield from serve(components, summary, behind)


def serve_learned_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The session's demo with its learning loop (`offsite demo --once --json`, whose output test_cli checks),
    served from the folder it left. Its summary is the command's, without the learning loop's part."""
    require_chromium()
    demo = learned_demo(tmp_path_factory)
    printed = demo.summary()
    printed.pop("learning")
    components = open_demo(demo.folder)
    yield from serve(components, DemoSummary(**printed), clock_behind_s(components))


def serve(components: Components, summary: DemoSummary, behind: float) -> Iterator[Served]:
    try:
        with serving(web_app(components)) as base:
            yield Served(base, components, summary, behind)
    finally:
        components.close()


def clock_behind_s(components: Components) -> float:
    return (dt.datetime.now(dt.UTC) - components.clock.now()).total_seconds()


def copy_of_the_session_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Components, DemoSummary, float]:
    """The demo without learning runs once a session; each module gets a copy of its folder (the database and the
    evidence: nothing in them names the folder) with its own components on a running clock, as `offsite serve`
    would open it."""

    def run(folder: Path) -> dict[str, Any]:
        components, summary = run_demo(folder, learning=False)
        facts = {"summary": dataclasses.asdict(summary), "clock_behind_s": clock_behind_s(components)}
        components.close()
        return facts

    built, facts = session_demo_folder(tmp_path_factory, run)
    mine = tmp_path_factory.mktemp("demo")
    shutil.copytree(built, mine, dirs_exist_ok=True)
    return open_demo(mine), DemoSummary(**facts["summary"]), facts["clock_behind_s"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def artefacts(request: pytest.FixtureRequest) -> Path:
    """The module's own screenshot folder, emptied of its last run's (the browser tests run beside one another:
    none may remove or count another's shots)."""
    folder = ARTEFACTS / request.module.__name__.rsplit(".", 1)[-1]
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


def sign_in(browser: Any, base: str, username: str, password: str = DEMO_PASSWORD, **context: Any) -> Any:
    """A fresh browser context signed in to the console as a demo account (Chinese locale unless told)."""
    page = browser.new_context(**({"locale": "zh-CN"} | context)).new_page()
    page.goto(f"{base}/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/console/login" not in page.url, page.content()
    return page
