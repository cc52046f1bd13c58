"""Evidence packages for the console: the manifest, its signature, the inclusion proof and a fresh verification."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ComponentsDep, DetectionReader
from cases.errors import InvalidInput, NotFound
from evidence_store.store import EvidenceError, check_package_id

router = APIRouter(tags=["evidence"])


class VerificationOut(BaseModel):
    ok: bool
    checks: list[str]
    problems: list[str]


class PackageOut(BaseModel):
    package_id: str
    manifest: dict[str, Any]
    signature: dict[str, str]
    inclusion_proof: dict[str, Any] | None
    tree_head: dict[str, Any] | None
    verification: VerificationOut


@router.get("/evidence/{package_id}", response_model=PackageOut)
def evidence_package(components: ComponentsDep, _reader: DetectionReader, package_id: str) -> PackageOut:
    """Recomputed now, on every request: item hashes, signature, inclusion in the latest tree head, consistency."""
    try:
        check_package_id(package_id)
    except EvidenceError as exc:
        raise InvalidInput(str(exc)) from exc
    try:
        store = components.evidence_reader()
        manifest = json.loads(store.manifest_bytes(package_id))
    except EvidenceError as exc:
        raise NotFound(str(exc)) from exc
    report = store.verify(package_id)
    try:
        key_id, signature = store.signature(package_id)
        signed = {"algorithm": "Ed25519", "key_id": key_id, "signature": signature.hex()}
    except Exception:  # a missing or unreadable signature is what the verification reports
        signed = {}
    try:
        head = store.latest_head()
        proof: dict[str, Any] | None = store.proof(package_id, head)
        tree_head: dict[str, Any] | None = head.as_json()
    except EvidenceError:
        proof, tree_head = None, None
    return PackageOut(
        package_id=package_id,
        manifest=manifest,
        signature=signed,
        inclusion_proof=proof,
        tree_head=tree_head,
        verification=VerificationOut(ok=report.ok, checks=report.checks, problems=report.problems),
    )
