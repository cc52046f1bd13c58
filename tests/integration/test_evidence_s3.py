"""The evidence store on a real S3 server with Object Lock (Ceph RGW): packages sealed there verify, every object
is under COMPLIANCE retention the server enforces, and while the server is unreachable packages wait in the local
spool and go up in order when it is back — nothing lost."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio import Minio
from minio.error import S3Error

from evidence_store.backends import EvidenceBackend
from evidence_store.keys import KeyRing
from evidence_store.s3 import BackendUnavailable, S3Backend, S3Config
from evidence_store.spool import SpooledBackend
from evidence_store.store import EvidenceStore
from tests.unit.evidence.test_store import CONTEXT, make_items

pytest_plugins = ["tests.integration.s3_server"]


@pytest.fixture
def s3(s3_config: S3Config) -> S3Backend:
    backend = S3Backend(s3_config)
    backend.ensure_bucket()
    return backend


def store_on(backend: EvidenceBackend, root: Path) -> EvidenceStore:
    return EvidenceStore(backend, root / "state", KeyRing(root / "keys"))


def test_a_package_sealed_on_s3_verifies_and_every_object_is_locked(
    s3: S3Backend, s3_client: Minio, s3_config: S3Config, tmp_path: Path
) -> None:
    store = store_on(s3, tmp_path)
    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    report = store.verify(sealed.package_id)
    assert report.ok, report.problems
    keys = list(s3.keys(""))
    assert f"packages/{sealed.package_id}.json" in keys
    assert any(key.startswith("heads/") for key in keys)
    for key in keys:
        retention = s3.retention(key)
        assert retention is not None
        assert retention.mode == "COMPLIANCE"
        assert retention.until > dt.datetime.now(dt.UTC)
    version = s3_client.stat_object(s3_config.bucket, f"packages/{sealed.package_id}.json").version_id
    with pytest.raises(S3Error) as refused:
        s3_client.remove_object(s3_config.bucket, f"packages/{sealed.package_id}.json", version_id=version)
    assert refused.value.code == "AccessDenied"
    assert store.verify(sealed.package_id).ok


def test_a_package_under_litigation_is_held(s3: S3Backend, tmp_path: Path) -> None:
    store = store_on(s3, tmp_path)
    sealed = store.seal(make_items(tmp_path / "in"), CONTEXT)
    keys = store.set_legal_hold(sealed.package_id, True)
    assert len(keys) == 4  # manifest, signature, two items
    assert all(s3.legal_hold(key) for key in keys)
    store.set_legal_hold(sealed.package_id, False)
    assert not any(s3.legal_hold(key) for key in keys)


class Outage:
    """The real S3 backend behind a switch: while ``down``, it answers as an unreachable server would."""

    def __init__(self, inner: S3Backend) -> None:
        self.inner, self.down = inner, True

    def _check(self) -> None:
        if self.down:
            raise BackendUnavailable("S3 endpoint is unreachable (simulated outage)")

    def put(self, key: str, data: bytes, media_type: str = "application/octet-stream") -> None:
        self._check()
        self.inner.put(key, data, media_type)

    def get(self, key: str) -> bytes:
        self._check()
        return self.inner.get(key)

    def exists(self, key: str) -> bool:
        self._check()
        return self.inner.exists(key)

    def keys(self, prefix: str) -> Iterator[str]:
        self._check()
        return self.inner.keys(prefix)


def test_during_an_outage_packages_wait_in_the_spool_and_go_up_in_order_afterwards(
    s3: S3Backend, tmp_path: Path
) -> None:
    remote = Outage(s3)
    spooled = SpooledBackend(tmp_path / "spool", remote)
    store = store_on(spooled, tmp_path)
    ids = [store.seal(make_items(tmp_path / f"in{i}", str(i)), CONTEXT).package_id for i in range(2)]
    waiting = spooled.backlog()
    assert f"packages/{ids[0]}.json" in waiting
    assert waiting.index(f"packages/{ids[0]}.json") < waiting.index(f"packages/{ids[1]}.json")
    assert all(store.verify(pid).ok for pid in ids)  # readable from the spool meanwhile
    assert list(s3.keys("packages/")) == []

    remote.down = False
    uploaded = spooled.flush()
    assert uploaded == len(waiting)
    assert spooled.backlog() == []
    assert sorted(s3.keys("packages/")) == sorted(f"packages/{pid}.json" for pid in ids)
    fresh = EvidenceStore(s3, tmp_path / "state", KeyRing(tmp_path / "keys"), read_only=True)  # straight from S3
    assert all(fresh.verify(pid).ok for pid in ids)
    assert not os.listdir(tmp_path / "state" / "pending")
