"""A real NATS server with JetStream for the cluster tests (Debian's nats-server), started on a free port with its
own storage folder, as the other tests start PostgreSQL and Ceph RGW. It can be stopped, frozen (SIGSTOP) and
started again on the same port and storage, for fault tests. Without the binary the tests are skipped with the
reason, unless OFFSITE_REQUIRE_SERVICES=1 (CI), where that fails the run."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

BINARY = shutil.which("nats-server") or "/usr/sbin/nats-server"


def require_nats_server() -> None:
    if not Path(BINARY).exists():
        if os.environ.get("OFFSITE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"nats-server is not installed at {BINARY}: apt-get install nats-server")
        pytest.skip(f"nats-server is not installed at {BINARY}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class NatsServer:
    def __init__(self, folder: Path) -> None:
        require_nats_server()
        self.folder = folder
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> NatsServer:
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "server.log").open("ab")
        self.process = subprocess.Popen(
            [BINARY, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.folder / "store")],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError as exc:
                if self.process.poll() is not None:
                    log_text = (self.folder / "server.log").read_text()[-2000:]
                    raise RuntimeError(f"nats-server exited: {log_text}") from exc
                time.sleep(0.05)
        raise RuntimeError("nats-server did not open its port within 15 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a frozen server must run to stop
            self.process.terminate()
            self.process.wait(15)
        self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
