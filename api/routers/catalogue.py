"""The violation catalogue, as configured."""

from __future__ import annotations

from fastapi import APIRouter

from api import schemas
from api.deps import CurrentUser, LawDep
from cases.law import CandidateKind, Violation

router = APIRouter(tags=["catalogue"])


KindOut = schemas.ViolationOut | schemas.CandidateKindOut


@router.get("/catalogue", response_model=list[KindOut])
def catalogue(law: LawDep, _user: CurrentUser) -> list[KindOut]:
    """The violations, then the review candidates (``classify_on_review``: classified as a violation on review)."""
    return [kind_out(kind) for kind in law.config.catalogue.kinds]


@router.get("/catalogue/{code}", response_model=KindOut)
def violation(law: LawDep, _user: CurrentUser, code: schemas.CodePath) -> KindOut:
    return kind_out(law.kind(code))


def kind_out(kind: Violation | CandidateKind) -> KindOut:
    if isinstance(kind, CandidateKind):
        return schemas.CandidateKindOut.model_validate(kind)
    return schemas.ViolationOut.model_validate(kind)
