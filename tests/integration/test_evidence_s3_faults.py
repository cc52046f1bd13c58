"""The evidence store when its S3 server fails for real (Ceph RGW): hung by SIGSTOP, a port where nothing listens,
a bucket that was never made or was made without Object Lock.

A hung server accepts connections and never answers. Sealing must not wait for it longer than one read timeout:
the breaker then sends every write to the local spool at once, listing the backlog waits for no writer,
verification reports what it could not check as unavailable (exit 3, not 1), and once the server answers again a
probe closes the breaker and the spool goes up.
"""

from __future__ import annotations

import fcntl
import io
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from minio import Minio

from evidence_store.s3 import S3Backend, S3Config
from evidence_store.spool import SpooledBackend
from evidence_store.store import EvidenceStore
from offsite.evidence import evidence_backend, open_evidence
from offsite.settings import Settings
from tests.unit.evidence.test_store import CONTEXT, make_items

if TYPE_CHECKING:
    from tests.integration.s3_server import S3Server

pytest_plugins = ["tests.integration.s3_server"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READ_TIMEOUT_S = 2
BREAKER_RESET_S = 5
NOTHING_LISTENS = "127.0.0.1:1"


def s3_env(server: S3Server, bucket: str, root: Path, **extra: str) -> dict[str, str]:
    """The OFFSITE_* settings of an instance sealing into ``bucket``, with short timeouts."""
    return {
        "OFFSITE_EVIDENCE_BACKEND": "s3",
        "OFFSITE_EVIDENCE_DIR": str(root / "evidence"),
        "OFFSITE_S3_ENDPOINT": server.endpoint,
        "OFFSITE_S3_BUCKET": bucket,
        "OFFSITE_S3_ACCESS_KEY": server.access_key,
        "OFFSITE_S3_SECRET_KEY": server.secret_key,
        "OFFSITE_S3_SECURE": "1" if server.secure else "0",
        "OFFSITE_S3_RETENTION_DAYS": "1",
        "OFFSITE_S3_READ_TIMEOUT_S": str(READ_TIMEOUT_S),
        "OFFSITE_S3_BREAKER_RESET_S": str(BREAKER_RESET_S),
    } | extra


def patient(env: dict[str, str]) -> dict[str, str]:
    """The same settings with a long read timeout, for calls whose duration is not what a test is about (a cold
    RGW takes seconds to make its first bucket's pools)."""
    return env | {"OFFSITE_S3_READ_TIMEOUT_S": "60"}


def settings_of(env: dict[str, str]) -> Settings:
    return Settings(**{name.removeprefix("OFFSITE_").lower(): value for name, value in env.items()})


def only(env: dict[str, str]) -> dict[str, str]:
    """This process's environment with no offsite or S3 setting but these."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("OFFSITE_", "S3_"))} | env


def offsite(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The real command line, in a process of its own, with only these settings."""
    environment = only(env)
    return subprocess.run(
        [sys.executable, "-m", "offsite.cli", *args],
        capture_output=True, text=True, env=environment, timeout=timeout, cwd=PROJECT_ROOT, check=False,
    )  # fmt: skip


def offsite_started(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    environment = only(env)
    return subprocess.Popen(
        [sys.executable, "-m", "offsite.cli", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment, cwd=PROJECT_ROOT,
    )  # fmt: skip


@pytest.fixture(scope="module")
def warm_s3(s3_server: S3Server) -> None:
    """RGW makes its data pools on the first object it is given, which takes seconds: done here, once, so that
    a short read timeout measures a hung server, not a cold one."""
    client, bucket = s3_server.client(), f"offsite-warm-up-{uuid.uuid4().hex[:8]}"
    client.make_bucket(bucket)
    client.put_object(bucket, "warm-up", io.BytesIO(b"x"), 1)
    client.remove_object(bucket, "warm-up")
    client.remove_bucket(bucket)


@pytest.fixture
def env(s3_server: S3Server, warm_s3: None, bucket_name: str, tmp_path: Path) -> dict[str, str]:
    return s3_env(s3_server, bucket_name, tmp_path)


@pytest.fixture
def sealing(env: dict[str, str]) -> Iterator[EvidenceStore]:
    """The sealing process's store, on a bucket made by `offsite evidence init`."""
    made = offsite(patient(env), "evidence", "init")
    assert made.returncode == 0, made.stderr
    store = open_evidence(settings_of(env))
    yield store
    store.close()


def uploaded(spool: SpooledBackend, within_s: float) -> bool:
    """Whether the spool empties within ``within_s``, flushing now and then (the breaker may pause a while)."""
    deadline = time.monotonic() + within_s
    while spool.backlog() and time.monotonic() < deadline:
        time.sleep(1)
        spool.flush()
    return spool.backlog() == []


def spool_of(store: EvidenceStore) -> SpooledBackend:
    assert isinstance(store.backend, SpooledBackend)
    return store.backend


def timed_seal(store: EvidenceStore, folder: Path, tag: str) -> tuple[str, float]:
    started = time.monotonic()
    sealed = store.seal(make_items(folder, tag), CONTEXT)
    return sealed.package_id, time.monotonic() - started


def wait_until_locked(lock_file: Path, within_s: float) -> None:
    """Until another process holds the spool's lock (a writer uploading)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with lock_file.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            fcntl.flock(handle, fcntl.LOCK_UN)
        time.sleep(0.1)
    pytest.fail(f"no process took {lock_file} within {within_s} s")


# -- a hung server (item 15, 17) ---------------------------------------------------------------------------------


def test_a_hung_s3_store_costs_a_seal_one_read_timeout_then_nothing_and_the_spool_goes_up_when_it_answers(
    frozen_s3: Callable[[], AbstractContextManager[None]], env: dict[str, str], sealing: EvidenceStore, tmp_path: Path
) -> None:
    spool = spool_of(sealing)
    before, _ = timed_seal(sealing, tmp_path / "in0", "0")
    assert uploaded(spool, within_s=30)  # the server answers: uploaded

    with frozen_s3():
        first, first_s = timed_seal(sealing, tmp_path / "in1", "1")
        second, second_s = timed_seal(sealing, tmp_path / "in2", "2")
        waiting = spool.backlog()

        assert first_s < READ_TIMEOUT_S + 4  # one read timeout, then the breaker is open
        assert second_s < 1.5  # straight into the spool
        assert f"packages/{first}.json" in waiting
        assert f"packages/{second}.json" in waiting

        # A writer stuck on the hung server holds the spool's lock; listing the backlog does not wait for it.
        flusher = offsite_started(env | {"OFFSITE_S3_READ_TIMEOUT_S": "60"}, "evidence", "backlog", "--flush")
        try:
            wait_until_locked(spool.spool_dir / ".lock", within_s=30)
            started = time.monotonic()
            listed = evidence_backend(settings_of(env))
            assert isinstance(listed, SpooledBackend)
            assert listed.backlog() == waiting
            assert time.monotonic() - started < 1
            started = time.monotonic()
            shown = offsite(env, "evidence", "backlog")
            assert shown.returncode == 0, shown.stderr
            assert f"{len(waiting)} objects waiting" in shown.stdout
            assert time.monotonic() - started < 20  # the flusher holds the lock for up to 60 s

            started = time.monotonic()
            verified = offsite(env, "evidence", "verify", "--all", timeout=120)
            verify_s = time.monotonic() - started
        finally:
            flusher.kill()
            flusher.wait(timeout=10)

    assert verified.returncode == 3, verified.stdout + verified.stderr
    assert "UNAVAILABLE" in verified.stdout
    assert "FAIL" not in verified.stdout
    assert "Traceback" not in verified.stderr
    assert verify_s < 30

    # The server answers again: after the breaker's pause one call probes it, and the backlog goes up in order.
    time.sleep(BREAKER_RESET_S)
    third, _ = timed_seal(sealing, tmp_path / "in3", "3")
    assert uploaded(spool, within_s=30)
    remote = spool.remote
    assert isinstance(remote, S3Backend)
    stored = set(remote.keys("packages/"))
    assert {f"packages/{pid}.json" for pid in (before, first, second, third)} <= stored
    after = offsite(patient(env), "evidence", "verify", "--all", timeout=120)
    assert after.returncode == 0, after.stdout + after.stderr


def test_verify_reports_packages_it_cannot_reach_as_unavailable_with_exit_3_not_as_tampering(
    env: dict[str, str], sealing: EvidenceStore, tmp_path: Path
) -> None:
    sealed, _ = timed_seal(sealing, tmp_path / "in", "x")
    sealing.close()
    stopped = env | {"OFFSITE_S3_ENDPOINT": NOTHING_LISTENS}  # the server stopped: connections are refused

    started = time.monotonic()
    result = offsite(stopped, "evidence", "verify", "--all")

    assert result.returncode == 3, result.stdout + result.stderr
    assert f"UNAVAILABLE {sealed}" in result.stdout
    assert "the store cannot be reached" in result.stdout
    assert "FAIL" not in result.stdout
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 30
    one = offsite(stopped, "evidence", "verify", sealed)
    assert one.returncode == 3, one.stdout + one.stderr
    assert offsite(patient(env), "evidence", "verify", sealed).returncode == 0


# -- the bucket (item 16) ----------------------------------------------------------------------------------------


def test_evidence_init_creates_the_bucket_with_versioning_object_lock_and_default_retention_once(
    env: dict[str, str], s3_client: Minio, bucket_name: str
) -> None:
    created = offsite(patient(env), "evidence", "init")
    again = offsite(patient(env), "evidence", "init")

    assert created.returncode == 0, created.stderr
    assert f"bucket {bucket_name} created: Object Lock enabled" in created.stdout
    assert again.returncode == 0, again.stderr
    assert f"bucket {bucket_name} exists: Object Lock enabled" in again.stdout
    assert "default retention COMPLIANCE 1 days" in again.stdout
    assert s3_client.get_bucket_versioning(bucket_name).status == "Enabled"
    lock = s3_client.get_object_lock_config(bucket_name)
    assert (lock.mode, lock.duration) == ("COMPLIANCE", 1)


def test_sealing_into_a_missing_bucket_is_refused_with_the_command_that_makes_it(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "note.txt").write_text("a document")

    refused = offsite(patient(env), "evidence", "seal", str(tmp_path / "note.txt"))

    assert refused.returncode == 2
    assert "does not exist" in refused.stderr
    assert "offsite evidence init" in refused.stderr
    assert not (tmp_path / "evidence" / "spool").exists() or not list((tmp_path / "evidence" / "spool").glob("*.spool"))


def test_sealing_into_a_bucket_without_object_lock_is_refused_and_init_says_why(
    env: dict[str, str], s3_client: Minio, bucket_name: str, tmp_path: Path
) -> None:
    s3_client.make_bucket(bucket_name)  # without Object Lock: its objects could be deleted
    (tmp_path / "note.txt").write_text("a document")

    refused = offsite(patient(env), "evidence", "seal", str(tmp_path / "note.txt"))
    checked = offsite(patient(env), "evidence", "init")

    assert refused.returncode == 2
    assert "without Object Lock" in refused.stderr
    assert checked.returncode == 1
    assert "without Object Lock" in checked.stderr
    assert "Traceback" not in refused.stderr + checked.stderr


def test_flushing_the_backlog_into_a_missing_bucket_says_so_without_a_traceback(
    env: dict[str, str], tmp_path: Path
) -> None:
    unreachable = S3Config(
        endpoint=NOTHING_LISTENS, access_key="nobody", secret_key="nothing", bucket="offsite-evidence", secure=False
    )
    SpooledBackend(tmp_path / "evidence" / "spool", S3Backend(unreachable)).put("items/a", b"sealed in an outage")

    flushed = offsite(patient(env), "evidence", "backlog", "--flush")

    assert flushed.returncode == 1
    assert "does not exist" in flushed.stderr
    assert "offsite evidence init" in flushed.stderr
    assert "Traceback" not in flushed.stderr
    assert SpooledBackend(tmp_path / "evidence" / "spool", S3Backend(unreachable)).backlog() == ["items/a"]
