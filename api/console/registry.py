"""Registry pages: cameras with their certification, merchants and sites (personal fields masked), and the CSV
import with its report of rejected rows."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.console.web import csrf_token, page, page_language, permitted, told
from api.roles import Permission, allows
from api.services import services_of
from cases import messages
from cases.errors import InvalidInput, OffsiteError
from cases.messages import wording
from cases.model.registry import mask_identifier, mask_mobile, mask_stream_url
from cases.services.csv_import import KINDS

router = APIRouter()


@router.get("/registry/cameras", response_class=HTMLResponse)
def cameras(request: Request) -> Response:
    permitted(request, Permission.READ_REGISTRY)
    services = services_of(request)
    today = services.clock.today()
    rows = []
    for camera in services.registry.list_cameras(limit=500).items:
        rows.append({"c": camera, "problems": camera.certification_problems(today),
                     "stream": mask_stream_url(camera.stream_url),
                     "zones": services.registry.list_zones(camera.id or 0)})  # fmt: skip
    return page(request, "registry_cameras.html", rows=rows, kinds=KINDS, may_import=_may_import(request))


@router.get("/registry/merchants", response_class=HTMLResponse)
def merchants(request: Request) -> Response:
    permitted(request, Permission.READ_REGISTRY)
    query = request.query_params.get("q") or None
    found = services_of(request).registry.search_merchants(query, limit=500).items
    rows = [{"m": m, "uscc": mask_identifier(m.uscc), "mobile": mask_mobile(m.mobile)} for m in found]
    return page(request, "registry_merchants.html", rows=rows, q=query or "", kinds=KINDS,
                may_import=_may_import(request))  # fmt: skip


@router.get("/registry/sites", response_class=HTMLResponse)
def sites(request: Request) -> Response:
    permitted(request, Permission.READ_REGISTRY)
    found = services_of(request).registry.list_sites(limit=500).items
    rows = [{"s": s, "uscc": mask_identifier(s.contractor_uscc), "phone": mask_mobile(s.contact_phone)} for s in found]
    return page(request, "registry_sites.html", rows=rows, kinds=KINDS, may_import=_may_import(request))


def _may_import(request: Request) -> bool:
    user, _actor = permitted(request, Permission.READ_REGISTRY)
    return allows(user.role, Permission.MANAGE_REGISTRY)


@router.post("/registry/import", response_class=HTMLResponse)
async def import_csv(request: Request) -> Response:
    await run_in_threadpool(permitted, request, Permission.MANAGE_REGISTRY)
    form = await request.form()
    upload = form.get("file")
    content = None if upload is None or isinstance(upload, str) else await upload.read()
    return await run_in_threadpool(_import, request, form, content)


def _import(request: Request, form: FormData, content: bytes | None) -> Response:
    """The import and its report, in a worker thread: both need the database."""
    if not hmac.compare_digest(str(form.get("csrf", "")).encode(), csrf_token(request).encode()):
        expired = told(request, InvalidInput(variant="form_expired"))
        return page(request, "message.html", status_code=403, heading=wording("无权操作"), detail=expired)
    kind = str(form.get("kind", ""))
    if kind not in KINDS or content is None:
        kinds = messages.SERIES_SEPARATOR[page_language(request)].join(KINDS)
        choose = InvalidInput(variant="import_choose", kinds=kinds)
        return page(request, "import_report.html", status_code=422, report=None, kind=kind, error=choose)
    try:
        report = services_of(request).imports.import_csv(kind, content, form.get("allow_partial") == "on")
    except OffsiteError as exc:
        return page(request, "import_report.html", status_code=422, report=None, kind=kind, error=exc)
    rejected = [{"line": row.line, "key": row.key, "why": told(request, row.problem)} for row in report.rejected]
    return page(request, "import_report.html", status_code=200 if report.written else 422, report=report,
                rejected=rejected, kind=kind)  # fmt: skip
