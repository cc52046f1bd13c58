"""Issue 16: the systemd units of docs/deployment.md, started exactly as written. Each unit's ExecStart (its %H and
%i expanded as systemd does) runs with the unit's Environment= overridden by an EnvironmentFile, as systemd applies
them; the test's file plays /etc/offsite/offsite.env (its PATH leads to this checkout's venv, as the install
root's would), and WorkingDirectory's install root is this checkout. A worker and a sealer so started turn the
road's stall into one sealed detection while a scheduler so started holds its role, and each stops cleanly on its
KillSignal within its TimeoutStopSec. On SQLite and PostgreSQL."""

from __future__ import annotations

import configparser
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from offsite.bootstrap import Components
from offsite.settings import PROJECT_ROOT, Settings
from tests.integration.cluster import configure_road, detections
from tests.integration.test_serve_cameras import until
from tests.support.nats_server import NatsServer

UNITS = PROJECT_ROOT / "deploy" / "systemd"


@pytest.fixture
def road(components: Components) -> int:
    return configure_road(components)


def unit(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys are case-sensitive
    parser.read_string((UNITS / name).read_text(encoding="utf-8"))
    return parser["Service"]


def environment_file(settings: Settings, nats_server: NatsServer, folder: Path) -> Path:
    """What the operator writes to /etc/offsite/offsite.env, for this test's database, broker and folders."""
    lines = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "OFFSITE_DATABASE_URL": settings.database_url, "OFFSITE_EVIDENCE_DIR": str(settings.evidence_dir),
        "OFFSITE_MODEL_STORE": str(settings.model_store), "OFFSITE_RECENT_FRAMES_DIR": str(folder / "recent"),
        "OFFSITE_NATS_URL": nats_server.url, "OFFSITE_NATS_PREFIX": "u", "OFFSITE_LEASE_S": "2",
    }  # fmt: skip
    path = folder / "offsite.env"
    path.write_text("".join(f"{key}={value}\n" for key, value in lines.items()), encoding="utf-8")
    return path


def started(
    name: str, instance: str, env_file: Path, log: Path
) -> tuple[subprocess.Popen[bytes], configparser.SectionProxy]:
    service = unit(name)
    assert service["Type"] == "exec"
    assert service["EnvironmentFile"] == "/etc/offsite/offsite.env"
    assert service["WorkingDirectory"] == "/opt/offsite"
    key, value = service["Environment"].split("=", 1)
    env = {key: value}  # then the EnvironmentFile's settings, which override Environment='s
    env |= dict(line.split("=", 1) for line in env_file.read_text().splitlines() if line and not line.startswith("#"))
    command = service["ExecStart"].replace("%H", socket.gethostname()).replace("%i", instance)
    process = subprocess.Popen(shlex.split(command), env=env, cwd=PROJECT_ROOT, stdout=log.open("ab"),
                               stderr=subprocess.STDOUT)  # fmt: skip
    return process, service


def stopped(process: subprocess.Popen[bytes], service: configparser.SectionProxy) -> int:
    process.send_signal(getattr(signal, service["KillSignal"]))
    return process.wait(float(service["TimeoutStopSec"]))


def test_a_worker_and_a_sealer_started_from_their_units_seal_the_road_s_stall(
    components: Components, settings: Settings, road: int, nats_server: NatsServer, tmp_path: Path
) -> None:
    env_file = environment_file(settings, nats_server, tmp_path)
    sealer, sealer_unit = started("offsite-sealer.service", "", env_file, tmp_path / "sealer.log")
    worker, worker_unit = started("offsite-worker@.service", "1", env_file, tmp_path / "worker.log")
    scheduler, scheduler_unit = started("offsite-scheduler.service", "", env_file, tmp_path / "scheduler.log")
    try:
        logs = lambda: (tmp_path / "worker.log").read_text() + (tmp_path / "sealer.log").read_text()  # noqa: E731
        assert until(lambda: len(detections(components)) == road, 180), logs()[-4000:]
        assert f"worker {socket.gethostname()}-1: camera" in (tmp_path / "worker.log").read_text()  # %H-%i
        scheduling = f"scheduler {socket.gethostname()}: scheduling"  # %H
        assert until(lambda: scheduling in (tmp_path / "scheduler.log").read_text(), 30), (
            tmp_path / "scheduler.log"
        ).read_text()[-3000:]
    finally:
        assert stopped(worker, worker_unit) == 0
        assert stopped(scheduler, scheduler_unit) == 0
        assert stopped(sealer, sealer_unit) == 0
    assert len(detections(components)) == road


def test_every_unit_names_its_command_and_the_environment_file_the_example_shows() -> None:
    example = (UNITS / "offsite.env.example").read_text(encoding="utf-8")
    for name in ("offsite-api.service", "offsite-worker@.service", "offsite-sealer.service",
                 "offsite-scheduler.service"):  # fmt: skip
        service = unit(name)
        assert shlex.split(service["ExecStart"])[0] == "offsite"
        assert service["Environment"].startswith("PATH=/opt/offsite/.venv/bin:")
        assert service["Restart"] == "always"
    keys = {line.split("=", 1)[0] for line in example.splitlines() if line and not line.startswith("#")}
    assert {"OFFSITE_DATABASE_URL", "OFFSITE_NATS_URL", "OFFSITE_LEASE_S", "OFFSITE_EVIDENCE_BACKEND"} <= keys
    assert set(Settings.model_fields) >= {key.removeprefix("OFFSITE_").lower() for key in keys}
