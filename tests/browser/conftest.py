"""Browser tests: Playwright driving Debian's Chromium (headless, no browser download) against the app served by
uvicorn on a free port, on a fresh demo database. Without Chromium they are skipped with the reason, unless
OFFSITE_REQUIRE_SERVICES=1 (CI), where that fails the run."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from api.app import create_app
from offsite.bootstrap import Components
from offsite.demo import run_demo
from offsite.settings import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTEFACTS = PROJECT_ROOT / "test-artifacts" / "browser"


@dataclass
class Served:
    base: str
    components: Components


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("OFFSITE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"Chromium is not installed at {CHROMIUM}: apt-get install chromium")
        pytest.skip(f"Chromium is not installed at {CHROMIUM}")
    components, _summary = run_demo(tmp_path_factory.mktemp("demo"))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(components.settings, components), host="127.0.0.1",
                                           port=port, log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the app did not start serving within 30 s")
        time.sleep(0.05)
    yield Served(f"http://127.0.0.1:{port}", components)
    server.should_exit = True
    thread.join(timeout=10)
    components.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTEFACTS.glob("*.png"):
        old.unlink()
    return ARTEFACTS
