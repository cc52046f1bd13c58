"""A case's documents as PDFs, as issued: the sealed bytes (offsite/issued.py)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.console.web import page, page_language, permitted, told
from api.roles import Permission
from api.services import services_of
from cases import messages
from cases.documents import DocumentKind
from cases.errors import DocumentNotIssued, OffsiteError
from cases.messages import wording
from offsite.issued import document as issued_document

router = APIRouter()
log = logging.getLogger("offsite.api")
UNRENDERED = wording("无法生成文书")  # the heading of a document that cannot be shown


@router.get("/cases/{case_id}/documents/{kind}.pdf", response_model=None)
def document(request: Request, case_id: int, kind: str) -> Response:
    permitted(request, Permission.READ_CASES)
    if kind not in DocumentKind._value2member_map_:
        language = page_language(request)
        what = messages.page_text("文书 {kind}", language).format(kind=kind)
        return page(
            request, "not_found.html", status_code=404, what=what, detail=messages.page_text("没有这种文书", language)
        )
    try:
        issued = issued_document(services_of(request), case_id, DocumentKind(kind))
    except OffsiteError as exc:
        return page(request, "message.html", status_code=422, heading=UNRENDERED, detail=told(request, exc))
    except RuntimeError as exc:  # the CJK font is missing: the message says which package to install
        log.error("case %s: %s not rendered: %s", case_id, kind, exc)
        missing = told(request, DocumentNotIssued(variant="font"))
        return page(request, "message.html", status_code=503, heading=UNRENDERED, detail=missing)
    headers = {
        "X-Evidence-Package": issued.package_id,
        "Content-Disposition": f'inline; filename="{kind}-{case_id}.pdf"',
    }
    return Response(issued.pdf, media_type="application/pdf", headers=headers)
