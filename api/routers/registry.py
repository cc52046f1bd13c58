"""Cameras and zones, merchants, sites, and CSV imports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile, status
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api import schemas
from api.deps import (
    ClockDep,
    PersonalDataReader,
    ReaderLanguage,
    Registry,
    RegistryManager,
    RegistryReader,
    ServicesDep,
)
from api.errors import PayloadTooLarge, problem, reader_language, told
from api.views import camera_out, import_report_out
from cases.model.registry import Camera, Merchant, Site, Zone

router = APIRouter(tags=["registries"])
Offset = Annotated[int, Query(ge=0, le=schemas.MAX_PAGE_OFFSET)]
Limit = Annotated[int, Query(ge=1, le=500)]


def _changes(body: Any) -> tuple[int, dict[str, Any]]:
    changes = body.model_dump(exclude_unset=True)
    return changes.pop("version"), changes


# ---- cameras and zones ------------------------------------------------------------------------------------
@router.get("/cameras", response_model=schemas.PageOut)
def list_cameras(
    clock: ClockDep,
    registry: Registry,
    _reader: RegistryReader,
    language: ReaderLanguage,
    offset: Offset = 0,
    limit: Limit = 50,
) -> schemas.PageOut:
    page = registry.list_cameras(offset, limit)
    today = clock.today()
    return schemas.PageOut(
        items=[camera_out(c, today, language) for c in page.items], total=page.total, offset=offset, limit=limit
    )


@router.post("/cameras", response_model=schemas.CameraOut, status_code=status.HTTP_201_CREATED)
def create_camera(
    clock: ClockDep, registry: Registry, _admin: RegistryManager, language: ReaderLanguage, body: schemas.CameraIn
) -> schemas.CameraOut:
    camera = registry.create_camera(Camera(**body.model_dump()))
    return camera_out(camera, clock.today(), language)


@router.get("/cameras/{camera_id}", response_model=schemas.CameraOut)
def get_camera(
    clock: ClockDep, registry: Registry, _reader: RegistryReader, language: ReaderLanguage, camera_id: schemas.IdInPath
) -> schemas.CameraOut:
    return camera_out(registry.get_camera(camera_id), clock.today(), language)


@router.patch("/cameras/{camera_id}", response_model=schemas.CameraOut)
def update_camera(
    clock: ClockDep,
    registry: Registry,
    _admin: RegistryManager,
    language: ReaderLanguage,
    camera_id: schemas.IdInPath,
    body: schemas.CameraPatch,
) -> schemas.CameraOut:
    version, changes = _changes(body)
    camera = registry.update_camera(camera_id, version, changes)
    return camera_out(camera, clock.today(), language)


@router.get("/cameras/{camera_id}/zones", response_model=list[schemas.ZoneOut])
def list_zones(registry: Registry, _reader: RegistryReader, camera_id: schemas.IdInPath) -> list[schemas.ZoneOut]:
    return [schemas.ZoneOut.model_validate(z) for z in registry.list_zones(camera_id)]


@router.post("/cameras/{camera_id}/zones", response_model=schemas.ZoneOut, status_code=status.HTTP_201_CREATED)
def create_zone(
    registry: Registry, _admin: RegistryManager, camera_id: schemas.IdInPath, body: schemas.ZoneIn
) -> schemas.ZoneOut:
    zone = registry.create_zone(Zone(camera_id=camera_id, **body.model_dump()))
    return schemas.ZoneOut.model_validate(zone)


# ---- merchants --------------------------------------------------------------------------------------------
@router.get("/merchants", response_model=schemas.PageOut)
def search_merchants(
    registry: Registry,
    _reader: RegistryReader,
    q: Annotated[str | None, Query(max_length=100)] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> schemas.PageOut:
    """Search by name, code or address. Mobile and credit code are masked here; the detail view shows them."""
    page = registry.search_merchants(q, offset, limit)
    items = [schemas.MerchantOut.model_validate(m).masked() for m in page.items]
    return schemas.PageOut(items=items, total=page.total, offset=offset, limit=limit)


@router.post("/merchants", response_model=schemas.MerchantOut, status_code=status.HTTP_201_CREATED)
def create_merchant(registry: Registry, _admin: RegistryManager, body: schemas.MerchantIn) -> schemas.MerchantOut:
    return schemas.MerchantOut.model_validate(registry.create_merchant(Merchant(**body.model_dump())))


@router.get("/merchants/{merchant_id}", response_model=schemas.MerchantOut)
def read_merchant(registry: Registry, reader: PersonalDataReader, merchant_id: schemas.IdInPath) -> schemas.MerchantOut:
    """The full record. The read is logged with who and why (规定第十六条)."""
    merchant = registry.read_merchant(merchant_id, reader, f"GET /merchants/{merchant_id}")
    return schemas.MerchantOut.model_validate(merchant)


@router.patch("/merchants/{merchant_id}", response_model=schemas.MerchantOut)
def update_merchant(
    registry: Registry, _admin: RegistryManager, merchant_id: schemas.IdInPath, body: schemas.MerchantPatch
) -> schemas.MerchantOut:
    version, changes = _changes(body)
    merchant = registry.update_merchant(merchant_id, version, changes)
    return schemas.MerchantOut.model_validate(merchant).masked()


# ---- sites ------------------------------------------------------------------------------------------------
@router.get("/sites", response_model=schemas.PageOut)
def list_sites(registry: Registry, _reader: RegistryReader, offset: Offset = 0, limit: Limit = 50) -> schemas.PageOut:
    page = registry.list_sites(offset, limit)
    items = [schemas.SiteOut.model_validate(s).masked() for s in page.items]
    return schemas.PageOut(items=items, total=page.total, offset=offset, limit=limit)


@router.post("/sites", response_model=schemas.SiteOut, status_code=status.HTTP_201_CREATED)
def create_site(registry: Registry, _admin: RegistryManager, body: schemas.SiteIn) -> schemas.SiteOut:
    return schemas.SiteOut.model_validate(registry.create_site(Site(**body.model_dump())))


@router.get("/sites/{site_id}", response_model=schemas.SiteOut)
def read_site(registry: Registry, reader: PersonalDataReader, site_id: schemas.IdInPath) -> schemas.SiteOut:
    return schemas.SiteOut.model_validate(registry.read_site(site_id, reader, f"GET /sites/{site_id}"))


@router.patch("/sites/{site_id}", response_model=schemas.SiteOut)
def update_site(
    registry: Registry, _admin: RegistryManager, site_id: schemas.IdInPath, body: schemas.SitePatch
) -> schemas.SiteOut:
    version, changes = _changes(body)
    return schemas.SiteOut.model_validate(registry.update_site(site_id, version, changes)).masked()


# ---- CSV import -------------------------------------------------------------------------------------------
@router.post(
    "/imports/{kind}",
    response_model=schemas.ImportReportOut,
    responses={422: {"description": "rows rejected: nothing written; the problem lists them in `report`"}},
)
async def import_csv(
    request: Request,
    services: ServicesDep,
    _admin: RegistryManager,
    kind: Literal["merchants", "sites", "cameras", "zones"],
    file: Annotated[UploadFile, File(description="UTF-8 CSV with a header row")],
    allow_partial: bool = False,
) -> schemas.ImportReportOut | JSONResponse:
    """Import merchants, sites, cameras or zones (shop-to-zone links by natural keys). All-or-nothing unless ``allow_partial``; the report lists every
    rejected row with its line number and reason."""
    limit = services.settings.max_upload_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise PayloadTooLarge(variant="upload", max_bytes=limit)
    imported = await run_in_threadpool(services.imports.import_csv, kind, content, allow_partial)
    language = reader_language(request)
    report = import_report_out(imported, language)
    if not report.written:
        detail = told(request, "csv_rows_rejected.count", {"rejected": len(report.rejected)})
        rejected = report.model_dump(mode="json")
        return problem(422, "csv_rows_rejected", detail, request.url.path, language=language, report=rejected)
    return report
