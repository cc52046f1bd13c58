"""Evidence objects in an S3 bucket under Object Lock: every object is kept, unchangeable, for years.

The bucket is created with Object Lock (which turns versioning on). Each object is written once, in a single PUT,
with a COMPLIANCE retention until ``now + retention_days`` and its SHA-256 in its metadata
(``x-amz-meta-sha256``); ``put`` returns only once the server reports the written version locked. Under COMPLIANCE
the server itself refuses to delete the locked version or to shorten its retention, whoever asks; an overwrite
through another client only adds a newer version and the locked one stays. A legal hold can be placed on an
object and lifted, besides its retention.

Write-once on top of S3: ``put`` looks at the key first (HEAD) and writes only when it is absent. S3 has no
"create only if absent" in the API this code speaks, so two writers that put the same key at the same moment can
both find it absent and both write: the bucket then keeps two locked versions, and the newer is the one read.
Evidence keys are content addresses (``items/<sha256>``, ``packages/<package_id>.json`` with the package id the
manifest's hash), so two writers of one key write the same bytes and the race costs a duplicate version, never a
loss. ``get`` checks the bytes it reads against the SHA-256 written with them, so a version that some other client
put on top (without that metadata, or with other bytes) is reported, not served. (``put`` of bytes equal to such a
version's is still a no-op: the key holds those bytes.)

Errors::

    BackendError                  (evidence_store.backends)
    ├── ObjectExists              the key holds other bytes
    ├── ObjectMissing             no object under the key
    ├── BucketMissing             the bucket does not exist: run `offsite evidence init`
    ├── BucketUnlocked            the bucket exists without Object Lock: evidence needs another bucket
    └── BackendUnavailable        the endpoint cannot be reached, hangs, or answers 5xx (or the breaker is open
                                  after that): try again later

An endpoint that is down or hung must cost seconds, not minutes: connect and read timeouts are bounded (a server
that accepts connections and never answers fails after one read timeout; a read that timed out is not retried),
and a circuit breaker (``pybreaker``, decision 0011) opens after ``breaker_failures`` unavailable answers in a row:
while it is open every call fails at once with ``BackendUnavailable``, so a caller such as the spool
(``evidence_store.spool``) keeps the object and carries on without waiting. After ``breaker_reset_s`` the next call
is let through as a probe (half-open): an answer closes the breaker, another failure opens it again. Any answer
from the server, even a refusal, counts as healthy.

The bucket is made by ``ensure_bucket`` (``offsite evidence init``): Object Lock, hence versioning, and a default
COMPLIANCE retention of ``retention_days``. ``check_bucket`` is what a sealing process asks before it starts: a
missing bucket (``BucketMissing``) or one without Object Lock (``BucketUnlocked``) is refused, with the command
that fixes it.

Ceph RGW quirks handled here, seen with minio-py 7.2.20 against RGW 16.2:

- RGW writes ``RetainUntilDate`` with nine fractional digits, which minio's ``get_object_retention`` cannot
  parse (ValueError); and it answers the retention and legal-hold queries of an object that has none with
  ``ObjectLockConfigurationNotFoundError``, where minio expects ``NoSuchObjectLockConfiguration``. Both are
  avoided by reading the lock state from the object's HEAD headers.
- RGW ignores the object-lock headers of a multipart upload, which minio starts for objects over 5 MiB: such an
  object would be stored without retention. Hence the single PUT, and the check after it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import NamedTuple

import pybreaker
import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.datatypes import Object
from minio.error import MinioException, S3Error, ServerError
from minio.objectlockconfig import DAYS, ObjectLockConfig
from minio.retention import Retention
from urllib3.exceptions import HTTPError as TransportError

from evidence_store.backends import BackendError, BackendUnavailable, ObjectExists, ObjectMissing, check_key

__all__ = ["BackendUnavailable", "BucketMissing", "BucketReport", "BucketUnlocked", "S3Backend", "S3Config"]

log = logging.getLogger("evidence_store.s3")

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_ENDPOINT = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
# 2036-11-28T07:11:15.526000000Z as RGW writes it; Python's %f takes at most six fractional digits.
_ISO_UTC = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z")
_NO_LOCK_CODES = frozenset({"ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"})
_MISSING_CODES = frozenset({"NoSuchKey", "NoSuchVersion"})
SHA256_METADATA = "sha256"  # stored as x-amz-meta-sha256
# S3's largest single PUT. Objects always go in one request: RGW 16.2 ignores the object-lock headers of a multipart
# upload (which minio-py starts above 5 MiB), and the object would be stored without retention.
SINGLE_PUT_LIMIT = 5 * 1024**3


INIT_COMMAND = "offsite evidence init"


class BucketMissing(BackendError):
    """The evidence bucket does not exist on the endpoint."""


class BucketUnlocked(BackendError):
    """The evidence bucket exists without Object Lock: its objects could be deleted or overwritten."""


@dataclass(frozen=True)
class S3Config:
    endpoint: str  # host:port, no scheme: "127.0.0.1:7480", "s3.bureau.example:443"
    access_key: str
    secret_key: str = field(repr=False)
    bucket: str
    secure: bool = True  # TLS; certificates are checked against the system's trust store (or SSL_CERT_FILE)
    region: str = "us-east-1"  # what RGW's default zone group answers to; a fixed region spares a location lookup
    retention_days: int = 3650  # COMPLIANCE retention of each object from the moment it is written
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 10.0  # per socket read, not per object: a hung server fails after this long
    retries: int = 1  # further attempts after a refused connection or a 5xx answer (never after a read timeout)
    breaker_failures: int = 1  # unavailable answers in a row that open the breaker
    breaker_reset_s: float = 30.0  # how long an open breaker fails calls at once before one call probes

    def __post_init__(self) -> None:
        if not _ENDPOINT.fullmatch(self.endpoint):
            raise ValueError(f"S3 endpoint {self.endpoint!r} must be host:port, without scheme or path")
        if not _BUCKET.fullmatch(self.bucket) or ".." in self.bucket:
            raise ValueError(f"bucket name {self.bucket!r} must be 3-63 lowercase letters, digits, dots or hyphens")
        if not self.access_key or not self.secret_key:
            raise ValueError("S3 access key and secret key must not be empty")
        if not 1 <= self.retention_days <= 36500:
            raise ValueError("retention_days must lie between 1 and 36500 (100 years)")
        if self.connect_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise ValueError("timeouts must be positive")
        if not 0 <= self.retries <= 10:
            raise ValueError("retries must lie between 0 and 10")
        if not 1 <= self.breaker_failures <= 100:
            raise ValueError("breaker_failures must lie between 1 and 100")
        if not 0 < self.breaker_reset_s <= 3600:
            raise ValueError("breaker_reset_s must lie between 0 and 3600 seconds")


@dataclass(frozen=True)
class BucketReport:
    """What the evidence bucket is, as the server reports it."""

    bucket: str
    created: bool  # by this call (ensure_bucket)
    versioning: str  # "Enabled", "Suspended" or "Off"
    default_mode: str | None  # the default retention's mode, None when the bucket sets none
    default_days: int | None

    def describe(self) -> str:
        default = (
            f"default retention {self.default_mode} {self.default_days} days"
            if self.default_mode
            else "no default retention (every object is still locked one by one when written)"
        )
        made = "created" if self.created else "exists"
        return f"bucket {self.bucket} {made}: Object Lock enabled, versioning {self.versioning}, {default}"


class ObjectRetention(NamedTuple):
    mode: str  # "COMPLIANCE" or "GOVERNANCE"
    until: dt.datetime  # UTC


def parse_retain_until(value: str) -> dt.datetime:
    """An S3 timestamp with any number of fractional digits (RGW writes nine) as an aware UTC datetime."""
    match = _ISO_UTC.fullmatch(value.strip())
    if not match:
        raise BackendError(f"retain-until date {value!r} is not an ISO 8601 UTC timestamp")
    whole, fraction = match.groups()
    microseconds = int((fraction or "0")[:6].ljust(6, "0"))
    return dt.datetime.fromisoformat(whole).replace(microsecond=microseconds, tzinfo=dt.UTC)


def _http_client(config: S3Config) -> urllib3.PoolManager:
    # minio's own client waits five minutes to connect and retries five times; evidence must fail fast instead.
    # A read that timed out is not retried: a server that took the request and went silent is hung, and asking
    # again only doubles the wait; the breaker takes over from there.
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=config.connect_timeout_s, read=config.read_timeout_s),
        maxsize=10,
        cert_reqs="CERT_REQUIRED",
        retries=urllib3.Retry(
            total=config.retries,
            connect=config.retries,
            read=0,
            status=config.retries,
            backoff_factor=0.2,
            status_forcelist=[500, 502, 503, 504],
            raise_on_status=False,
        ),
    )


class _BreakerLog(pybreaker.CircuitBreakerListener):
    """Say when the store is found unhealthy and when it answers again: an operator reads these lines."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint

    def state_change(
        self, cb: pybreaker.CircuitBreaker, old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:  # fmt: skip
        if new_state.name == pybreaker.STATE_OPEN:
            log.warning(
                "S3 endpoint %s is unavailable: evidence goes to the local spool at once for %.0f s, then one call "
                "probes it", self.endpoint, cb.reset_timeout,
            )  # fmt: skip
        elif new_state.name == pybreaker.STATE_CLOSED and old_state is not None:
            log.warning("S3 endpoint %s answers again", self.endpoint)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class S3Backend:
    """An ``EvidenceBackend`` on an S3 bucket with Object Lock (tested against Ceph RGW)."""

    def __init__(
        self, config: S3Config, *, client: Minio | None = None, now: Callable[[], dt.datetime] = _utc_now
    ) -> None:
        self.config = config
        self.client = client or Minio(
            config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=config.secure,
            region=config.region,
            http_client=_http_client(config),
        )
        self._now = now
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=config.breaker_failures,
            reset_timeout=config.breaker_reset_s,
            exclude=[lambda exc: not isinstance(exc, BackendUnavailable)],  # a refusal is an answer: healthy
            listeners=[_BreakerLog(config.endpoint)],
            throw_new_error_on_trip=False,  # the caller sees why the call failed, not only that it tripped
            name=f"s3 {config.endpoint}",
        )

    def __repr__(self) -> str:
        return f"S3Backend({self._where})"

    @property
    def _where(self) -> str:
        scheme = "https" if self.config.secure else "http"
        return f"{scheme}://{self.config.endpoint}/{self.config.bucket}"

    @contextmanager
    def _answers(self, doing: str) -> Iterator[None]:
        """Turn the client's exceptions into the backend's: unreachable, hung or failing endpoints into
        BackendUnavailable (counted by the breaker, and raised at once while it is open), any other refusal into
        BackendError; S3Error a caller inspects passes through."""
        try:
            with self._breaker.calling():  # pybreaker holds no lock while the call runs
                try:
                    yield
                except (TransportError, ServerError) as exc:
                    raise BackendUnavailable(
                        f"S3 endpoint {self.config.endpoint} is unavailable ({doing}): {_reason(exc)}"
                    ) from exc
                except S3Error:
                    raise
                except MinioException as exc:
                    raise BackendError(f"{self._where}: {doing} failed: {exc}") from exc
        except pybreaker.CircuitBreakerError as exc:
            raise BackendUnavailable(
                f"S3 endpoint {self.config.endpoint} is unavailable ({doing}): it failed moments ago and is not "
                f"asked again for up to {self.config.breaker_reset_s:.0f} s"
            ) from exc

    def _refused(self, doing: str, exc: S3Error) -> BackendError:
        if exc.code == "NoSuchBucket":
            return self._missing_bucket()
        return BackendError(f"{self._where}: {doing} refused: {exc.code} {exc.message or ''}".rstrip())

    # -- the bucket ------------------------------------------------------------------------------------------

    def ensure_bucket(self) -> BucketReport:
        """Create the bucket with Object Lock (hence versioning) and a default COMPLIANCE retention of
        ``retention_days`` if it is missing; check an existing one. Idempotent: an existing bucket with Object
        Lock is left as it is, except that a default retention is set where it has none. Refuses a bucket
        without Object Lock (``BucketUnlocked``): Object Lock can only be chosen when a bucket is created."""
        bucket = self.config.bucket
        created = False
        with self._answers("creating the bucket"):
            try:
                if not self.client.bucket_exists(bucket):
                    self.client.make_bucket(bucket, self.config.region, object_lock=True)
                    created = True
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise self._refused("creating the bucket", exc) from exc
        lock = self._lock_config()
        if lock.mode is None:
            with self._answers("setting the bucket's default retention"):
                try:
                    self.client.set_object_lock_config(
                        bucket, ObjectLockConfig(COMPLIANCE, self.config.retention_days, DAYS)
                    )
                except S3Error as exc:
                    raise self._refused("setting the bucket's default retention", exc) from exc
        return self._report(created)

    def check_bucket(self) -> BucketReport:
        """What a sealing process asks before it starts: the bucket exists and has Object Lock; changes nothing.
        Raises BucketMissing or BucketUnlocked (both name the fix), or BackendUnavailable."""
        with self._answers("looking up the bucket"):
            if not self.client.bucket_exists(self.config.bucket):
                raise self._missing_bucket()
        return self._report(created=False)  # reading its Object Lock configuration refuses one without

    def _lock_config(self) -> ObjectLockConfig:
        bucket = self.config.bucket
        with self._answers("reading the bucket's Object Lock configuration"):
            try:
                return self.client.get_object_lock_config(bucket)
            except S3Error as exc:
                if exc.code in _NO_LOCK_CODES:
                    raise BucketUnlocked(
                        f"bucket {bucket} on {self.config.endpoint} exists without Object Lock, so its objects could "
                        "be deleted or overwritten; Object Lock can only be chosen when a bucket is created: use a "
                        f"new bucket for evidence (OFFSITE_S3_BUCKET) and run `{INIT_COMMAND}`"
                    ) from exc
                raise self._refused("reading the bucket's Object Lock configuration", exc) from exc

    def _report(self, created: bool) -> BucketReport:
        lock = self._lock_config()
        with self._answers("reading the bucket's versioning"):
            try:
                versioning = self.client.get_bucket_versioning(self.config.bucket).status
            except S3Error as exc:
                raise self._refused("reading the bucket's versioning", exc) from exc
        days = lock.duration
        if days is not None and lock.duration_unit != DAYS:
            days *= 365  # a default retention given in years
        return BucketReport(self.config.bucket, created, versioning or "Off", lock.mode, days)

    def _missing_bucket(self) -> BucketMissing:
        return BucketMissing(
            f"bucket {self.config.bucket} does not exist on {self.config.endpoint}: evidence cannot be stored there "
            f"until it is created with Object Lock; run `{INIT_COMMAND}`"
        )

    # -- the EvidenceBackend protocol ------------------------------------------------------------------------

    def put(self, key: str, data: bytes, media_type: str = "application/octet-stream") -> None:
        check_key(key)
        digest = hashlib.sha256(data).hexdigest()
        existing = self._stat(key)
        if existing is not None:
            if self._stored_digest(key, existing) != digest:
                raise ObjectExists(f"{key} already holds other bytes: evidence is never overwritten")
            self._ensure_locked(key, existing)
            return
        if len(data) > SINGLE_PUT_LIMIT:
            raise BackendError(f"{key}: {len(data)} bytes is more than one S3 PUT takes ({SINGLE_PUT_LIMIT})")
        with self._answers(f"writing {key}"):
            try:
                written = self.client.put_object(
                    self.config.bucket,
                    key,
                    io.BytesIO(data),
                    len(data),
                    content_type=media_type,
                    metadata={SHA256_METADATA: digest},
                    retention=Retention(COMPLIANCE, self._retain_until()),
                    part_size=SINGLE_PUT_LIMIT,
                )
                stored = self.client.stat_object(self.config.bucket, key, version_id=written.version_id)
            except S3Error as exc:
                raise self._refused(f"writing {key}", exc) from exc
        self._ensure_locked(key, stored)

    def get(self, key: str) -> bytes:
        check_key(key)
        with self._answers(f"reading {key}"):
            try:
                response = self.client.get_object(self.config.bucket, key)
            except S3Error as exc:
                if exc.code in _MISSING_CODES:
                    raise ObjectMissing(f"no object {key}") from exc
                raise self._refused(f"reading {key}", exc) from exc
            try:
                data = response.read()
                recorded = response.headers.get(f"x-amz-meta-{SHA256_METADATA}")
            finally:
                response.close()
                response.release_conn()
        if recorded != hashlib.sha256(data).hexdigest():
            raise BackendError(
                f"{key}: the current version's bytes do not match the SHA-256 written with the evidence "
                f"({'none recorded' if recorded is None else recorded}); it was overwritten outside the evidence "
                "store, and the locked versions are still in the bucket"
            )
        return data

    def exists(self, key: str) -> bool:
        return self._stat(check_key(key)) is not None

    def keys(self, prefix: str) -> Iterator[str]:
        with self._answers(f"listing {prefix!r}"):
            try:
                found = sorted(
                    str(item.object_name)
                    for item in self.client.list_objects(self.config.bucket, prefix=prefix, recursive=True)
                    if not item.is_dir
                )
            except S3Error as exc:
                raise self._refused(f"listing {prefix!r}", exc) from exc
        yield from found

    # -- retention and legal hold ----------------------------------------------------------------------------

    def retention(self, key: str) -> ObjectRetention | None:
        """The current version's retention (mode and until when), or None for an object without one."""
        return _retention_of(self._stat_or_missing(key))

    def legal_hold(self, key: str) -> bool:
        return _header(self._stat_or_missing(key), "x-amz-object-lock-legal-hold") == "ON"

    def set_legal_hold(self, key: str, on: bool) -> None:
        check_key(key)
        doing = f"{'placing' if on else 'lifting'} the legal hold on {key}"
        with self._answers(doing):
            try:
                if on:
                    self.client.enable_object_legal_hold(self.config.bucket, key)
                else:
                    self.client.disable_object_legal_hold(self.config.bucket, key)
            except S3Error as exc:
                if exc.code in _MISSING_CODES:
                    raise ObjectMissing(f"no object {key}") from exc
                raise self._refused(doing, exc) from exc

    # -- helpers ---------------------------------------------------------------------------------------------

    def _retain_until(self) -> dt.datetime:
        return self._now().astimezone(dt.UTC) + dt.timedelta(days=self.config.retention_days)

    def _ensure_locked(self, key: str, stat: Object) -> None:
        """Make sure the version ``stat`` describes is under COMPLIANCE retention; lock it now if a server (or an
        earlier writer) left it without. ``put`` returns only once the server reports the lock."""
        current = _retention_of(stat)
        if current is not None and current.mode == COMPLIANCE:
            return
        log.warning(
            "%s: %s holds version %s without COMPLIANCE retention (%s); locking it", self, key, stat.version_id, current
        )
        doing = f"locking {key}"
        with self._answers(doing):
            try:
                self.client.set_object_retention(
                    self.config.bucket, key, Retention(COMPLIANCE, self._retain_until()), version_id=stat.version_id
                )
                stat = self.client.stat_object(self.config.bucket, key, version_id=stat.version_id)
            except S3Error as exc:
                raise self._refused(doing, exc) from exc
        retention = _retention_of(stat)
        if retention is None or retention.mode != COMPLIANCE:
            raise BackendError(f"{self._where}: {key} is stored but the server did not lock it under COMPLIANCE")

    def _stat(self, key: str) -> Object | None:
        with self._answers(f"looking up {key}"):
            try:
                return self.client.stat_object(self.config.bucket, key)
            except S3Error as exc:
                if exc.code in _MISSING_CODES:
                    return None
                raise self._refused(f"looking up {key}", exc) from exc

    def _stat_or_missing(self, key: str) -> Object:
        stat = self._stat(check_key(key))
        if stat is None:
            raise ObjectMissing(f"no object {key}")
        return stat

    def _stored_digest(self, key: str, stat: Object) -> str:
        """The SHA-256 of what the key holds: from its metadata, or by reading it when another writer left none."""
        recorded = _header(stat, f"x-amz-meta-{SHA256_METADATA}")
        if recorded is not None:
            return recorded
        with self._answers(f"reading {key}"):
            try:
                response = self.client.get_object(self.config.bucket, key)
            except S3Error as exc:
                raise self._refused(f"reading {key}", exc) from exc
            try:
                return hashlib.sha256(response.read()).hexdigest()
            finally:
                response.close()
                response.release_conn()


def _retention_of(stat: Object) -> ObjectRetention | None:
    mode = _header(stat, "x-amz-object-lock-mode")
    until = _header(stat, "x-amz-object-lock-retain-until-date")
    if mode is None or until is None:
        return None
    return ObjectRetention(mode, parse_retain_until(until))


def _header(stat: Object, name: str) -> str | None:
    headers = stat.metadata or {}
    wanted = name.lower()
    return next((str(value) for header, value in headers.items() if header.lower() == wanted), None)


def _reason(exc: Exception) -> str:
    """The root cause in a few words: "NewConnectionError: ... Connection refused", not urllib3's whole chain."""
    reason = getattr(exc, "reason", None)
    cause = reason if isinstance(reason, Exception) else exc
    return f"{cause.__class__.__name__}: {cause}"
