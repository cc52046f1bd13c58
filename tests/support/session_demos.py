"""The demos a test session shares. A demo takes a minute of both cores, and with its learning loop (a short CPU
training) three to four beside the suite's other workers: each kind runs once a session, by whichever pytest-xdist
worker asks first, under a file lock, in a folder the workers share; the others wait for it and read what it left.

- ``learned_demo``: `offsite demo --once --json` as a user runs it (a subprocess of the installed command, with its
  learning loop). The command line's test checks what it printed; the browser's learning-loop test serves the folder
  it left (the one test that changes it).
- ``session_demo_folder``: the demo without its learning loop, in-process; the browser modules each serve a copy.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cases.clock import ManualClock
from offsite.bootstrap import Components, build
from offsite.demo import demo_settings
from offsite.settings import PROJECT_ROOT

OFFSITE = str(Path(sys.executable).parent / "offsite")
DEMO_LIMIT_S = 900  # the limit only catches a hang


def offsite(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The installed `offsite` command in a subprocess, without the test session's OFFSITE_ settings."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OFFSITE_")} | (env or {})
    return subprocess.run(
        [OFFSITE, *args], capture_output=True, text=True, env=environment, timeout=timeout, cwd=cwd or PROJECT_ROOT
    )


@dataclass(frozen=True)
class LearnedDemo:
    """What `offsite demo --once --json` printed, and the folder it left (its database, evidence and models)."""

    folder: Path
    returncode: int
    stdout: str
    stderr: str

    def summary(self) -> dict[str, Any]:
        """The summary, the JSON object on the command's last line."""
        assert self.returncode == 0, self.stderr
        summary: dict[str, Any] = json.loads(self.stdout.strip().splitlines()[-1])
        return summary


def learned_demo(tmp_path_factory: pytest.TempPathFactory) -> LearnedDemo:
    folder = _shared_folder(tmp_path_factory) / "learned-demo"

    def run() -> dict[str, Any]:
        result = offsite("demo", "--once", "--json", "--dir", str(folder), timeout=DEMO_LIMIT_S)
        return {"returncode": result.returncode, "stdout": result.stdout, "stderr": result.stderr}

    return LearnedDemo(folder, **_once(tmp_path_factory, "learned-demo", run))


def session_demo_folder(
    tmp_path_factory: pytest.TempPathFactory, run: Callable[[Path], dict[str, Any]]
) -> tuple[Path, dict[str, Any]]:
    """The session's demo without learning, made by ``run`` in the folder given to it once a session, and the
    facts ``run`` returned (JSON)."""
    folder = _shared_folder(tmp_path_factory) / "session-demo"
    return folder, _once(tmp_path_factory, "session-demo", lambda: run(folder))


def open_demo(folder: Path) -> Components:
    """A demo's folder opened as `offsite serve` would open it: its own components on a running clock."""
    settings = demo_settings(folder)
    clock = ManualClock(settings.tz, dt.datetime.now(dt.UTC))
    components = build(settings, clock=clock)
    clock.run()
    return components


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's own temporary folder: under pytest-xdist, the one the workers' folders sit side by side in."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``make``'s facts, made by the first worker to ask and recorded; the others wait for the record."""
    shared = _shared_folder(tmp_path_factory)
    record = shared / f"{name}.json"
    with _locked(shared / f"{name}.lock"):
        if not record.exists():
            record.write_text(json.dumps(make()), encoding="utf-8")
    facts: dict[str, Any] = json.loads(record.read_text(encoding="utf-8"))
    return facts


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
