"""The violation catalogue, as configured."""

from __future__ import annotations

from fastapi import APIRouter

from api import schemas
from api.deps import ComponentsDep, CurrentUser

router = APIRouter(tags=["catalogue"])


@router.get("/catalogue", response_model=list[schemas.ViolationOut])
def catalogue(components: ComponentsDep, _user: CurrentUser) -> list[schemas.ViolationOut]:
    return [schemas.ViolationOut.model_validate(v) for v in components.law.config.catalogue.violations]


@router.get("/catalogue/{code}", response_model=schemas.ViolationOut)
def violation(components: ComponentsDep, _user: CurrentUser, code: schemas.CodePath) -> schemas.ViolationOut:
    return schemas.ViolationOut.model_validate(components.law.violation(code))
