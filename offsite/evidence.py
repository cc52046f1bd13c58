"""The evidence store the settings ask for: local directory (embedded default) or S3 with Object Lock."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from evidence_store.backends import BackendUnavailable, EvidenceBackend, LocalBackend
from evidence_store.keys import KeyRing
from evidence_store.store import EvidenceError, EvidenceStore
from offsite.settings import Settings

if TYPE_CHECKING:
    from evidence_store.s3 import S3Backend

log = logging.getLogger("offsite.evidence")


def s3_backend(settings: Settings) -> S3Backend:
    """The S3 store itself (no spool), for ``offsite evidence init`` and the checks at start."""
    from evidence_store.s3 import S3Backend, S3Config

    endpoint, bucket, access, secret = (
        settings.s3_endpoint, settings.s3_bucket, settings.s3_access_key, settings.s3_secret_key
    )  # fmt: skip
    if endpoint is None or bucket is None or access is None or secret is None:  # Settings refuses this already
        raise ValueError("evidence_backend=s3 needs its endpoint, bucket and keys")
    return S3Backend(
        S3Config(
            endpoint=endpoint,
            access_key=access.get_secret_value(),
            secret_key=secret.get_secret_value(),
            bucket=bucket,
            secure=settings.s3_secure,
            retention_days=settings.s3_retention_days,
            connect_timeout_s=settings.s3_connect_timeout_s,
            read_timeout_s=settings.s3_read_timeout_s,
            retries=settings.s3_retries,
            breaker_failures=settings.s3_breaker_failures,
            breaker_reset_s=settings.s3_breaker_reset_s,
        )
    )


def evidence_backend(settings: Settings) -> EvidenceBackend:
    if settings.evidence_backend == "local":
        return LocalBackend(settings.evidence_dir / "objects")
    from evidence_store.spool import SpooledBackend

    return SpooledBackend(settings.evidence_dir / "spool", s3_backend(settings))


def refuse_unlocked_bucket(backend: EvidenceBackend) -> None:
    """Before sealing into S3: the bucket must exist with Object Lock, or nothing sealed would ever be kept
    there. An endpoint that cannot be reached now does not stop sealing: objects wait in the spool."""
    from evidence_store.s3 import BucketMissing, BucketUnlocked, S3Backend
    from evidence_store.spool import SpooledBackend

    if not isinstance(backend, SpooledBackend) or not isinstance(backend.remote, S3Backend):
        return
    try:
        backend.remote.check_bucket()
    except (BucketMissing, BucketUnlocked) as exc:
        raise EvidenceError(f"refusing to seal into S3: {exc}") from exc
    except BackendUnavailable as exc:
        log.warning("cannot check the evidence bucket now (%s); sealed objects wait in the local spool", exc)


def open_evidence(settings: Settings, read_only: bool = False) -> EvidenceStore:
    """The store: objects on the backend; the Merkle log, tree heads and keys in the evidence directory.

    One process seals (it holds the state folder's lock, and on S3 it first checks the bucket has Object Lock);
    verifiers and exporters open it ``read_only``."""
    keys = KeyRing(settings.evidence_dir / "keys")
    backend = evidence_backend(settings)
    if not read_only:
        refuse_unlocked_bucket(backend)
    return EvidenceStore(backend, settings.evidence_dir / "state", keys, read_only=read_only)
