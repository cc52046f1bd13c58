"""Evidence packages for the console: the manifest, its signature, the inclusion proof and a fresh verification."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from api.console.evidence import PackageMissing, of_a_case, package_view
from api.deps import DetectionReader, ServicesDep
from api.errors import Forbidden
from api.roles import Permission, allows
from cases.errors import NotFound
from cases.messages import Term
from evidence_store.store import EvidenceError, Outcome

router = APIRouter(tags=["evidence"])
PACKAGE_ID = r"^[0-9a-f]{64}$"  # the manifest's SHA-256, as the store names it (check_package_id)


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
def evidence_package(
    services: ServicesDep, reader: DetectionReader, package_id: Annotated[str, Path(pattern=PACKAGE_ID)]
) -> PackageOut:
    """Recomputed now, on every request: item hashes, signature, inclusion in the latest tree head, consistency. A
    package of a case's own (a document, a party's attachments: sealed for no camera) only for those who read
    cases."""
    try:
        store = services.evidence_reader()
        view = package_view(store, package_id)
    except (PackageMissing, EvidenceError) as exc:  # an id it does not hold; or no store yet: nothing sealed
        raise NotFound(variant="evidence_package", package=package_id) from exc
    if of_a_case(view["manifest"]) and not allows(reader.role, Permission.READ_CASES):
        permission = Permission.READ_CASES.value
        raise Forbidden(variant="role", role=Term(f"term.role.{reader.role.value}"), permission=permission)
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
