"""The local evidence directory as a backend: write-once objects, read-only files, no partial object ever visible."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence_store.backends import BackendError, BackendUnavailable, LocalBackend, ObjectExists, ObjectMissing
from evidence_store.spool import SpooledBackend


def test_an_object_is_stored_once_and_read_back(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    backend.put("items/abc", b"evidence")
    backend.put("items/abc", b"evidence")  # the same bytes again: nothing happens
    assert backend.get("items/abc") == b"evidence"
    assert backend.exists("items/abc")
    assert not backend.exists("items/def")
    assert list(backend.keys("items/")) == ["items/abc"]


def test_an_object_is_never_overwritten(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    backend.put("packages/p.json", b"{}")
    with pytest.raises(ObjectExists, match="already holds other bytes"):
        backend.put("packages/p.json", b'{"edited": true}')
    assert backend.get("packages/p.json") == b"{}"


def test_stored_files_are_read_only(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path)
    backend.put("items/abc", b"evidence")
    assert not os.stat(tmp_path / "items" / "abc").st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs/key", "items", "items/../x", "Items/a b"])
def test_an_unsafe_key_is_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(BackendError, match="is not a relative path of safe names"):
        LocalBackend(tmp_path).put(key, b"x")


def test_a_missing_object_is_named(tmp_path: Path) -> None:
    with pytest.raises(ObjectMissing, match="no object items/nothing"):
        LocalBackend(tmp_path).get("items/nothing")


def test_a_writer_killed_mid_object_leaves_nothing_under_its_key(tmp_path: Path) -> None:
    """A child process starts writing a large object and is killed before its rename."""
    script = (
        "import os, sys, time\n"
        "from pathlib import Path\n"
        "import evidence_store.backends as backends\n"
        "import evidence_store.durable as durable\n"
        "real = durable.os.fsync\n"
        "def slow(fd):\n"
        "    print('writing', flush=True); time.sleep(30); real(fd)\n"
        "durable.os.fsync = slow\n"
        f"backends.LocalBackend(Path({str(tmp_path)!r})).put('items/big', os.urandom(1 << 20) * 32)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing"
    child.kill()
    child.wait(10)
    backend = LocalBackend(tmp_path)
    assert not backend.exists("items/big")
    assert list(backend.keys("items/")) == []
    backend.put("items/big", b"complete")  # the next writer succeeds
    assert backend.get("items/big") == b"complete"


class Unreachable:
    """A remote store that is down (the remote itself is not what these tests are about)."""

    def put(self, key: str, data: bytes, media_type: str = "application/octet-stream") -> None:
        raise BackendUnavailable("the remote store is down")

    def get(self, key: str) -> bytes:
        raise BackendUnavailable("the remote store is down")

    def exists(self, key: str) -> bool:
        raise BackendUnavailable("the remote store is down")

    def keys(self, prefix: str) -> Iterator[str]:
        raise BackendUnavailable("the remote store is down")


HOLD_LOCK = """
import fcntl, sys, time
with open(sys.argv[1], "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    print("holding", flush=True)
    time.sleep(60)
"""


def test_the_spool_lists_reads_and_opens_without_waiting_for_a_writer_that_holds_its_lock(tmp_path: Path) -> None:
    SpooledBackend(tmp_path / "spool", Unreachable()).put("items/b", b"waits")
    lock = str(tmp_path / "spool" / ".lock")
    writer = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, lock], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "holding"  # a writer, stuck uploading, holds the lock
        started = time.monotonic()

        reader = SpooledBackend(tmp_path / "spool", Unreachable())
        assert reader.backlog() == ["items/b"]
        assert reader.get("items/b") == b"waits"
        assert reader.exists("items/b")

        assert time.monotonic() - started < 1
    finally:
        writer.kill()
        writer.wait(10)
