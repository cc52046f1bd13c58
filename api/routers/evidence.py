"""Evidence packages for the console: the manifest, its signature, the inclusion proof and a fresh verification."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api import schemas
from api.console.evidence import PackageMissing, package_view
from api.deps import ComponentsDep, DetectionReader
from cases.errors import InvalidInput, NotFound
from evidence_store.store import EvidenceError, Outcome, check_package_id

router = APIRouter(tags=["evidence"])


class VerificationOut(BaseModel):
    ok: bool = Field(description="every check made and passed")
    outcome: Outcome = Field(
        description="verified; tampered (a check failed); interrupted (a seal killed half-way, completed by the next "
        "writer: not tampering); unavailable (the store cannot be reached now: checks not made)"
    )
    checks: list[str]
    problems: list[str] = Field(description="checks that failed: the package was altered or damaged")
    interrupted: list[str] = Field(description="an interrupted seal, repaired by the next writer")
    unavailable: list[str] = Field(description="checks not made because the store cannot be reached now")


class PackageOut(BaseModel):
    package_id: str
    manifest: dict[str, Any]
    signature: dict[str, str]
    inclusion_proof: dict[str, Any] | None
    tree_head: dict[str, Any] | None
    verification: VerificationOut


@router.get("/evidence/{package_id}", response_model=PackageOut)
def evidence_package(components: ComponentsDep, _reader: DetectionReader, package_id: schemas.CodePath) -> PackageOut:
    """Recomputed now, on every request: item hashes, signature, inclusion in the latest tree head, consistency."""
    try:
        check_package_id(package_id)
    except EvidenceError as exc:
        raise InvalidInput(str(exc)) from exc
    try:
        store = components.evidence_reader()
        view = package_view(store, package_id)
    except PackageMissing as exc:
        raise NotFound(exc.message) from exc
    except EvidenceError as exc:  # no store yet: nothing has been sealed
        raise NotFound(str(exc)) from exc
    report = store.verify(package_id)
    return PackageOut(
        package_id=package_id,
        manifest=view["manifest"],
        signature=view["signature"],
        inclusion_proof=view["proof"],
        tree_head=view["tree_head"],
        verification=VerificationOut(
            ok=report.ok,
            outcome=report.outcome,
            checks=report.checks,
            problems=report.problems,
            interrupted=report.interrupted,
            unavailable=report.unavailable,
        ),
    )
