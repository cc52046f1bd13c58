"""A real S3 server with Object Lock for the integration tests: Ceph's RADOS Gateway.

The server is found at S3_ENDPOINT (host:port) with S3_ACCESS_KEY and S3_SECRET_KEY (S3_SECURE=1 for TLS) when
they are set. Otherwise one is started for the session with ``tests/support/ceph_rgw_up.sh`` into a temporary
folder, on free ports, and stopped at the end. Without Ceph installed the tests that need it are skipped with the
reason shown, unless OFFSITE_REQUIRE_SERVICES=1 (as in CI), where that fails the run.

A test module takes the fixtures with ``pytest_plugins = ["tests.integration.s3_server"]``. Each test gets a
bucket of its own; objects are written with a one-day retention, so a test run against a long-lived server leaves
nothing locked for years.

``frozen_s3`` hangs the server for real: radosgw is stopped with SIGSTOP, so the kernel still accepts
connections on its port but nothing ever answers (what a hung S3 endpoint does), and SIGCONT resumes it on the
way out. That needs radosgw's process id: known when the fixture started the server, or given as S3_RGW_PID with
S3_ENDPOINT; otherwise the tests that freeze it are skipped.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from minio import Minio

from evidence_store.s3 import S3Config

SUPPORT = Path(__file__).resolve().parent.parent / "support"
REQUIRE_SERVICES = os.environ.get("OFFSITE_REQUIRE_SERVICES") == "1"
CEPH_TOOLS = ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph", "uuidgen", "curl")
START_TIMEOUT_S = 180


@dataclass(frozen=True)
class S3Server:
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    secure: bool = False
    rgw_pid: int | None = None  # radosgw's process, when these tests may freeze it

    def client(self) -> Minio:
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=self.secure,
            region="us-east-1",
        )

    def config(self, bucket: str, retention_days: int = 1) -> S3Config:
        return S3Config(
            endpoint=self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            bucket=bucket,
            secure=self.secure,
            retention_days=retention_days,
        )


def _unavailable(reason: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (OFFSITE_REQUIRE_SERVICES=1: integration services are required)")
    pytest.skip(reason)


def _free_ports(count: int) -> list[int]:
    """Ports free on loopback now, all different (the probes stay bound until every port is chosen)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return dict(pairs)


def _stop(folder: Path) -> None:
    subprocess.run(
        ["bash", str(SUPPORT / "ceph_rgw_down.sh"), str(folder)], capture_output=True, timeout=60, check=False
    )


def _rgw_pid(folder: Path) -> int | None:
    daemons = (line.split() for line in (folder / "pids").read_text().splitlines())
    return next((int(pid) for name, pid in daemons if name == "rgw" and pid.isdigit()), None)


@contextmanager
def _frozen(pid: int) -> Iterator[None]:
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.fixture
def frozen_s3(s3_server: S3Server) -> Callable[[], AbstractContextManager[None]]:
    """``with frozen_s3():`` the S3 server is hung for the block: it accepts connections and never answers
    (SIGSTOP), and goes on afterwards (SIGCONT)."""
    pid = s3_server.rgw_pid
    if pid is None:
        pytest.skip("radosgw's process id is unknown (S3_ENDPOINT without S3_RGW_PID): it cannot be frozen")
    return lambda: _frozen(pid)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    if endpoint := os.environ.get("S3_ENDPOINT"):
        pid = os.environ.get("S3_RGW_PID", "")
        yield S3Server(
            endpoint,
            os.environ.get("S3_ACCESS_KEY", ""),
            os.environ.get("S3_SECRET_KEY", ""),
            secure=os.environ.get("S3_SECURE", "0").lower() in ("1", "true", "yes"),
            rgw_pid=int(pid) if pid.isdigit() else None,
        )
        return
    if missing := [tool for tool in CEPH_TOOLS if shutil.which(tool) is None]:
        _unavailable(
            f"no S3 server: S3_ENDPOINT is not set and Ceph is not installed (missing {', '.join(missing)}; "
            "apt-get install ceph-mon ceph-osd radosgw ceph-common ceph-base uuid-runtime curl)"
        )
    folder = Path(tempfile.mkdtemp(prefix="offsite-rgw-"))  # short: Ceph's admin sockets live under it
    rgw_port, mon_port = _free_ports(2)
    try:
        started = subprocess.run(
            ["bash", str(SUPPORT / "ceph_rgw_up.sh"), str(folder), str(rgw_port), str(mon_port)],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )
        if started.returncode != 0:
            _unavailable(f"Ceph RGW did not start: {(started.stderr or started.stdout).strip()[-600:]}")
        env = _read_env(folder / "env")
        yield S3Server(env["S3_ENDPOINT"], env["S3_ACCESS_KEY"], env["S3_SECRET_KEY"], rgw_pid=_rgw_pid(folder))
    except subprocess.TimeoutExpired:
        _unavailable(f"Ceph RGW did not start within {START_TIMEOUT_S} s")
    finally:
        _stop(folder)


@pytest.fixture
def s3_client(s3_server: S3Server) -> Minio:
    """The plain minio client, to do to the bucket what the evidence store never would."""
    return s3_server.client()


@pytest.fixture
def bucket_name() -> str:
    return f"offsite-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3_config(s3_server: S3Server, bucket_name: str) -> S3Config:
    return s3_server.config(bucket_name)
