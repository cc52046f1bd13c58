"""A PostgreSQL cluster of a test's own, to stop, start and freeze without touching the shared server.

``initdb`` and ``pg_ctl`` from the PostgreSQL 15 binaries make a cluster in a temporary directory, listening on
127.0.0.1 at a free port (no Unix socket outside the directory). PostgreSQL refuses to run as root, so a test
running as root runs them as the ``postgres`` user. ``freeze`` stops the postmaster and every backend with
SIGSTOP, as a stalled server would be (it still accepts TCP connections: the kernel does); ``thaw`` resumes
them. ``destroy`` always thaws before it stops, and removes the directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from tests.support.serving import free_port

BIN = Path(os.environ.get("OFFSITE_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
COMMAND_TIMEOUT_S = 60


def available() -> str | None:
    """Why no private cluster can be made here, or None when one can."""
    missing = [name for name in ("initdb", "pg_ctl") if not (BIN / name).exists()]
    if missing:
        return f"{', '.join(missing)} not found in {BIN} (set OFFSITE_TEST_POSTGRES_BIN)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root needs runuser to start PostgreSQL as the postgres user"
    return None


@dataclass
class PrivateCluster:
    root: Path
    port: int

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*as_postgres, *args], capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
        if done.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        log = str(self.root / "server.log")
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", log, "-o", options, "-w", "-t", "30", "start")

    def stop(self) -> None:
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")

    def processes(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, walwriter...)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        children = [int(entry.name) for entry in Path("/proc").iterdir() if _parent_of(entry) == postmaster]
        return [postmaster, *children]

    def freeze(self) -> None:
        """SIGSTOP the postmaster first (it starts no process more), then the children it has then; a child that
        ended between the listing and the signal needs no freezing (a backend whose client had just left)."""
        postmaster = self.processes()[0]
        os.kill(postmaster, signal.SIGSTOP)
        for pid in self.processes()[1:]:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.processes():
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    @contextmanager
    def frozen(self) -> Iterator[None]:
        self.freeze()
        try:
            yield
        finally:
            self.thaw()

    def destroy(self) -> None:
        try:
            if (self.data / "postmaster.pid").exists():
                self.thaw()
                self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "30", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def _parent_of(entry: Path) -> int | None:
    if not entry.name.isdigit():
        return None
    try:
        stat = (entry / "stat").read_text()
    except OSError:  # the process ended while listed
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # the field after the state, past the command in parentheses


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A new, started cluster (user postgres, trust authentication); stopped and removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="offsite-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    cluster = PrivateCluster(root, free_port())
    try:
        cluster._run(str(BIN / "initdb"), "-D", str(cluster.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                     "--locale=C", "--no-sync")  # fmt: skip
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
