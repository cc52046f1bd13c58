"""The S3 evidence backend and its spool against a real S3 server that enforces Object Lock (Ceph RGW).

Where a test shows what the server refuses, it uses the plain minio client: the point is that the lock holds
against any client, not only against the evidence store's own code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from minio import Minio
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.error import S3Error
from minio.retention import Retention

from evidence_store.backends import BackendError, ObjectExists, ObjectMissing
from evidence_store.s3 import BackendUnavailable, S3Backend, S3Config, parse_retain_until
from evidence_store.spool import SpooledBackend

# The S3 server and its fixtures (s3_server, s3_client, s3_config, bucket_name).
pytest_plugins = ["tests.integration.s3_server"]

UNREACHABLE = S3Config(
    endpoint="127.0.0.1:1", access_key="nobody", secret_key="nothing", bucket="offsite-evidence", secure=False
)


@pytest.fixture
def backend(s3_config: S3Config) -> S3Backend:
    created = S3Backend(s3_config)
    created.ensure_bucket()
    return created


@pytest.fixture
def backend_without_default_retention(s3_config: S3Config, s3_client: Minio) -> S3Backend:
    """A bucket with Object Lock but no default retention (as buckets were made before `offsite evidence init`
    set one): an object another client writes there without retention stays without."""
    s3_client.make_bucket(s3_config.bucket, object_lock=True)
    return S3Backend(s3_config)


def version_of(client: Minio, bucket: str, key: str) -> str:
    version = client.stat_object(bucket, key).version_id
    assert version
    return version


def versions_of(client: Minio, bucket: str, key: str) -> list[str]:
    return [str(o.version_id) for o in client.list_objects(bucket, prefix=key, include_version=True)]


class RecordingBackend:
    """The real backend, noting the order in which keys reach it."""

    def __init__(self, inner: S3Backend) -> None:
        self.inner = inner
        self.received: list[str] = []

    def put(self, key: str, data: bytes, media_type: str = "application/octet-stream") -> None:
        self.inner.put(key, data, media_type)
        self.received.append(key)

    def get(self, key: str) -> bytes:
        return self.inner.get(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def keys(self, prefix: str) -> Iterator[str]:
        return self.inner.keys(prefix)


# -- the EvidenceBackend protocol on S3 ------------------------------------------------------------------------


def test_objects_round_trip_and_list_in_order(backend: S3Backend) -> None:
    backend.put("packages/p1.json", b'{"p": 1}', "application/json")
    backend.put("items/bbb", b"second")
    backend.put("items/aaa", b"first", "image/jpeg")

    assert backend.get("items/aaa") == b"first"
    assert backend.exists("items/bbb")
    assert not backend.exists("items/ccc")
    assert list(backend.keys("items/")) == ["items/aaa", "items/bbb"]
    assert list(backend.keys("")) == ["items/aaa", "items/bbb", "packages/p1.json"]
    with pytest.raises(ObjectMissing):
        backend.get("items/ccc")


def test_the_same_bytes_again_are_a_no_op_and_other_bytes_are_refused(
    backend: S3Backend, s3_client: Minio, s3_config: S3Config
) -> None:
    backend.put("items/a", b"evidence")
    backend.put("items/a", b"evidence")
    with pytest.raises(ObjectExists):
        backend.put("items/a", b"something else")

    assert backend.get("items/a") == b"evidence"
    assert len(versions_of(s3_client, s3_config.bucket, "items/a")) == 1


def test_each_object_is_kept_under_compliance_retention_for_the_configured_days(
    backend: S3Backend, s3_config: S3Config
) -> None:
    before = dt.datetime.now(dt.UTC)
    backend.put("items/a", b"evidence")

    retention = backend.retention("items/a")
    assert retention is not None
    assert retention.mode == "COMPLIANCE"
    expected = before + dt.timedelta(days=s3_config.retention_days)
    assert expected - dt.timedelta(seconds=5) <= retention.until <= expected + dt.timedelta(seconds=60)


def test_a_large_object_uploaded_in_parts_keeps_its_retention_and_checksum(backend: S3Backend) -> None:
    clip = bytes(range(256)) * (12 * 1024 * 1024 // 256)  # 12 MiB: minio sends it as a multipart upload

    backend.put("items/clip", clip, "video/mp4")
    backend.put("items/clip", clip, "video/mp4")

    assert backend.get("items/clip") == clip
    retention = backend.retention("items/clip")
    assert retention is not None
    assert retention.mode == "COMPLIANCE"


def test_putting_the_same_bytes_locks_a_version_that_was_stored_without_retention(
    backend_without_default_retention: S3Backend, s3_client: Minio, s3_config: S3Config
) -> None:
    # What RGW 16.2 does to a multipart upload: the object and its metadata are stored, its retention is dropped.
    backend = backend_without_default_retention
    data = b"evidence"
    digest = hashlib.sha256(data).hexdigest()
    s3_client.put_object(s3_config.bucket, "items/a", io.BytesIO(data), len(data), metadata={"sha256": digest})
    assert backend.retention("items/a") is None

    backend.put("items/a", data)

    retention = backend.retention("items/a")
    assert retention is not None
    assert retention.mode == "COMPLIANCE"


# -- what the server itself refuses (shown with the plain client) ------------------------------------------------


def test_the_server_refuses_to_delete_the_locked_version(
    backend: S3Backend, s3_client: Minio, s3_config: S3Config
) -> None:
    backend.put("items/a", b"evidence")
    version = version_of(s3_client, s3_config.bucket, "items/a")

    with pytest.raises(S3Error) as refused:
        s3_client.remove_object(s3_config.bucket, "items/a", version_id=version)

    assert refused.value.code == "AccessDenied"
    assert s3_client.get_object(s3_config.bucket, "items/a", version_id=version).read() == b"evidence"


@pytest.mark.parametrize(
    ("mode", "shift"),
    [(COMPLIANCE, dt.timedelta(hours=-1)), (GOVERNANCE, dt.timedelta(0))],
    ids=["shorter compliance", "compliance weakened to governance"],
)
def test_the_server_refuses_to_shorten_or_weaken_the_retention(
    backend: S3Backend, s3_client: Minio, s3_config: S3Config, mode: str, shift: dt.timedelta
) -> None:
    backend.put("items/a", b"evidence")
    version = version_of(s3_client, s3_config.bucket, "items/a")
    locked = backend.retention("items/a")
    assert locked is not None

    with pytest.raises(S3Error) as refused:
        s3_client.set_object_retention(
            s3_config.bucket, "items/a", Retention(mode, locked.until + shift), version_id=version
        )

    assert refused.value.code == "AccessDenied"
    assert backend.retention("items/a") == locked


def test_an_overwrite_adds_a_version_the_locked_original_stays_and_reading_reports_it(
    backend: S3Backend, s3_client: Minio, s3_config: S3Config
) -> None:
    backend.put("items/a", b"evidence")
    original = version_of(s3_client, s3_config.bucket, "items/a")

    written = s3_client.put_object(s3_config.bucket, "items/a", io.BytesIO(b"forged"), 6)

    assert written.version_id not in (None, original)
    assert sorted(versions_of(s3_client, s3_config.bucket, "items/a")) == sorted([original, str(written.version_id)])
    assert s3_client.get_object(s3_config.bucket, "items/a", version_id=original).read() == b"evidence"
    with pytest.raises(BackendError, match="overwritten outside the evidence store"):
        backend.get("items/a")


def test_a_legal_hold_is_placed_and_lifted(backend: S3Backend) -> None:
    backend.put("items/a", b"evidence")
    assert not backend.legal_hold("items/a")  # RGW answers the legal-hold query itself with an error here

    backend.set_legal_hold("items/a", True)
    assert backend.legal_hold("items/a")

    backend.set_legal_hold("items/a", False)
    assert not backend.legal_hold("items/a")
    with pytest.raises(ObjectMissing):
        backend.legal_hold("items/none")


def test_an_object_under_legal_hold_only_has_no_retention(
    backend_without_default_retention: S3Backend, s3_client: Minio, s3_config: S3Config
) -> None:
    backend = backend_without_default_retention
    s3_client.put_object(s3_config.bucket, "items/held", io.BytesIO(b"x"), 1, legal_hold=True)
    try:
        assert backend.legal_hold("items/held")
        assert backend.retention("items/held") is None  # RGW: ObjectLockConfigurationNotFoundError
    finally:
        backend.set_legal_hold("items/held", False)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2036-11-28T07:11:15.526000000Z", dt.datetime(2036, 11, 28, 7, 11, 15, 526000, tzinfo=dt.UTC)),
        ("2036-11-28T07:11:15.123456789Z", dt.datetime(2036, 11, 28, 7, 11, 15, 123456, tzinfo=dt.UTC)),
        ("2036-11-28T07:11:15.5Z", dt.datetime(2036, 11, 28, 7, 11, 15, 500000, tzinfo=dt.UTC)),
        ("2036-11-28T07:11:15Z", dt.datetime(2036, 11, 28, 7, 11, 15, tzinfo=dt.UTC)),
    ],
)
def test_retain_until_dates_are_read_with_any_number_of_fractional_digits(written: str, expected: dt.datetime) -> None:
    assert parse_retain_until(written) == expected


# -- the bucket ------------------------------------------------------------------------------------------------


def test_ensure_bucket_creates_a_versioned_bucket_with_object_lock_once(s3_config: S3Config, s3_client: Minio) -> None:
    backend = S3Backend(s3_config)
    backend.ensure_bucket()
    backend.ensure_bucket()

    assert s3_client.get_bucket_versioning(s3_config.bucket).status == "Enabled"
    s3_client.get_object_lock_config(s3_config.bucket)  # raises for a bucket without Object Lock


def test_ensure_bucket_refuses_a_bucket_without_object_lock(s3_config: S3Config, s3_client: Minio) -> None:
    s3_client.make_bucket(s3_config.bucket)

    with pytest.raises(BackendError, match="exists without Object Lock"):
        S3Backend(s3_config).ensure_bucket()


@pytest.mark.parametrize(
    "call",
    [
        lambda b: b.put("items/a", b"x"),
        lambda b: b.get("items/a"),
        lambda b: b.exists("items/a"),
        lambda b: list(b.keys("items/")),
        lambda b: b.ensure_bucket(),
    ],
    ids=["put", "get", "exists", "keys", "ensure_bucket"],
)
def test_an_unreachable_endpoint_is_reported_unavailable_within_seconds(call: Callable[[S3Backend], object]) -> None:
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match=r"127\.0\.0\.1:1"):
        call(S3Backend(UNREACHABLE))
    assert time.monotonic() - started < 5


# -- the spool in front of it ----------------------------------------------------------------------------------

PENDING = [("items/c", b"third-arrived-first"), ("items/a", b"second"), ("packages/p1.json", b'{"p": 1}')]


def spool_while_unreachable(spool_dir: Path) -> SpooledBackend:
    spooled = SpooledBackend(spool_dir, S3Backend(UNREACHABLE))
    for key, data in PENDING:
        spooled.put(key, data)
    return spooled


def test_while_the_remote_is_unreachable_puts_wait_in_the_spool_in_arrival_order(tmp_path: Path) -> None:
    spooled = spool_while_unreachable(tmp_path / "spool")

    assert spooled.backlog() == [key for key, _ in PENDING]
    assert spooled.get("items/a") == b"second"
    assert spooled.exists("packages/p1.json")
    spooled.put("items/a", b"second")  # the same bytes: nothing new
    with pytest.raises(ObjectExists):
        spooled.put("items/a", b"other")
    assert spooled.flush() == 0
    assert spooled.backlog() == [key for key, _ in PENDING]


def test_a_restarted_spool_finds_its_pending_objects_in_order(tmp_path: Path) -> None:
    spool_while_unreachable(tmp_path / "spool")

    reopened = SpooledBackend(tmp_path / "spool", S3Backend(UNREACHABLE))

    assert reopened.backlog() == [key for key, _ in PENDING]
    assert reopened.get("items/c") == b"third-arrived-first"


def test_flush_uploads_the_backlog_in_order_to_the_server_and_empties_the_spool(
    tmp_path: Path, backend: S3Backend
) -> None:
    spool_while_unreachable(tmp_path / "spool")
    remote = RecordingBackend(backend)
    reopened = SpooledBackend(tmp_path / "spool", remote)  # the same folder, now pointing at the real server

    assert reopened.flush() == len(PENDING)

    assert remote.received == [key for key, _ in PENDING]
    assert reopened.backlog() == []
    assert not list((tmp_path / "spool").glob("*.spool"))
    for key, data in PENDING:
        assert backend.get(key) == data
        retention = backend.retention(key)
        assert retention is not None
        assert retention.mode == "COMPLIANCE"
    assert reopened.get("items/a") == b"second"  # now read from the server


def test_with_the_server_reachable_a_put_is_uploaded_at_once(tmp_path: Path, backend: S3Backend) -> None:
    spooled = SpooledBackend(tmp_path / "spool", backend)

    spooled.put("items/a", b"evidence")

    assert spooled.backlog() == []
    assert backend.get("items/a") == b"evidence"


def test_a_key_the_server_holds_with_other_bytes_is_refused_and_set_aside(tmp_path: Path, backend: S3Backend) -> None:
    backend.put("items/a", b"on the server")
    spooled = SpooledBackend(tmp_path / "spool", backend)

    with pytest.raises(ObjectExists):
        spooled.put("items/a", b"other bytes")
    spooled.put("items/b", b"next in line")

    assert spooled.conflicts() == ["items/a"]
    assert spooled.backlog() == []
    assert backend.get("items/a") == b"on the server"
    assert backend.get("items/b") == b"next in line"
