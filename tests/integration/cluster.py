"""The cluster's processes for the tests of issue 16: ``offsite worker``, ``offsite sealer`` and the others started as an
operator starts them, with the test's settings, on the test's nats-server (the ``roles`` fixture, registered in
conftest); the demo's road camera configured in the database, and the detections its stall became."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from cases.model.registry import Camera
from cases.model.staff import Role
from cases.persistence import tables
from cases.services.base import Actor
from offsite import camera_configs
from offsite.bootstrap import Components
from offsite.demo import FOOTAGE_CACHE, ROAD, TODAY
from offsite.settings import PROJECT_ROOT, Settings
from tests.support.nats_server import NatsServer
from tests.support.session_demos import OFFSITE
from vision.synthetic import CLASS_NAMES

ADMIN = Actor("admin1", Role.ADMIN)
STALL = next(f for f in TODAY if f.camera_id == ROAD)  # the demo's road: the shipped model finds its stall


def configure_road(components: Components) -> int:
    """The demo's road camera registered and configured in the database; the true violations of its video."""
    components.registry.create_camera(Camera(ROAD, "张杨路东方路口", "浦东新区张杨路东方路口"))
    start = components.clock.now() - dt.timedelta(hours=1)
    spec = STALL.camera(FOOTAGE_CACHE, start, CLASS_NAMES)
    components.camera_configs.save_all({ROAD: camera_configs.document_of(spec)}, ADMIN, "cluster test",
                                       components.registry)  # fmt: skip
    return len(STALL.true_violations(FOOTAGE_CACHE))


class Roles:
    """The cluster's processes, started as `offsite worker` and `offsite sealer` with the test's settings."""

    def __init__(self, settings: Settings, nats_server: NatsServer, folder: Path, lease_s: float = 2) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OFFSITE_")} | {
            "OFFSITE_DATABASE_URL": settings.database_url, "OFFSITE_EVIDENCE_DIR": str(settings.evidence_dir),
            "OFFSITE_MODEL_STORE": str(settings.model_store), "OFFSITE_RECENT_FRAMES_DIR": str(folder / "recent"),
            "OFFSITE_NATS_URL": nats_server.url, "OFFSITE_NATS_PREFIX": "t", "OFFSITE_LEASE_S": str(lease_s),
        }  # fmt: skip
        self.folder = folder
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, role: str, name: str, *options: str) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("ab")
        process = subprocess.Popen([OFFSITE, role, "--id", name, *options], env=self.env, cwd=PROJECT_ROOT, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        self.running[name] = process
        return process

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop(self, name: str, sig: int = signal.SIGTERM) -> int:
        process = self.running.pop(name)
        if process.poll() is None:
            process.send_signal(sig)
        return process.wait(60)

    def stop_all(self) -> None:
        for name in list(self.running):
            self.stop(name)


@pytest.fixture
def roles(settings: Settings, nats_server: NatsServer, tmp_path: Path) -> Iterator[Roles]:
    started = Roles(settings, nats_server, tmp_path)
    yield started
    started.stop_all()


def detections(components: Components) -> list[Any]:
    query = select(tables.detections.c.event_id, tables.detections.c.evidence_package_id)
    with components.engine.connect() as connection:
        return list(connection.execute(query))
