"""The evidence store the settings ask for: local directory (embedded default) or S3 with Object Lock."""

from __future__ import annotations

from evidence_store.backends import EvidenceBackend, LocalBackend
from evidence_store.keys import KeyRing
from evidence_store.store import EvidenceStore
from offsite.settings import Settings


def evidence_backend(settings: Settings) -> EvidenceBackend:
    if settings.evidence_backend == "local":
        return LocalBackend(settings.evidence_dir / "objects")
    from evidence_store.s3 import S3Backend, S3Config
    from evidence_store.spool import SpooledBackend

    endpoint, bucket, access, secret = (
        settings.s3_endpoint, settings.s3_bucket, settings.s3_access_key, settings.s3_secret_key
    )  # fmt: skip
    if endpoint is None or bucket is None or access is None or secret is None:  # Settings refuses this already
        raise ValueError("evidence_backend=s3 needs its endpoint, bucket and keys")
    remote = S3Backend(
        S3Config(
            endpoint=endpoint,
            access_key=access.get_secret_value(),
            secret_key=secret.get_secret_value(),
            bucket=bucket,
            secure=settings.s3_secure,
            retention_days=settings.s3_retention_days,
        )
    )
    return SpooledBackend(settings.evidence_dir / "spool", remote)


def open_evidence(settings: Settings, read_only: bool = False) -> EvidenceStore:
    """The store: objects on the backend; the Merkle log, tree heads and keys in the evidence directory.

    One process seals (it holds the state folder's lock); verifiers and exporters open it ``read_only``."""
    keys = KeyRing(settings.evidence_dir / "keys")
    return EvidenceStore(evidence_backend(settings), settings.evidence_dir / "state", keys, read_only=read_only)
