"""The party's page (public, no staff login): the case opened with its number and the verification code of the
notices; the facts and the evidence with bystanders' faces and number plates hidden; the statement or defence with
attachments before its deadline; consent to electronic delivery; the payment due with any surcharge.

A signed cookie holds the opened case for 30 minutes. Wrong codes lock the case number (and the client) out for a
while (cases/services/party.py); every view is logged with the client's address.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.console.cases import statement_attachments
from api.console.web import (
    LIMITS,
    Notice,
    back,
    check_length,
    local,
    notice,
    page,
    page_language,
    told,
    yuan,
)
from api.deps import client_address
from api.services import ApiServices, services_of
from cases import messages
from cases.documents import DocumentKind, available
from cases.errors import InvalidInput, OffsiteError, TooManyAttempts
from cases.messages import wording
from cases.model.case import Case, CaseStatus
from cases.model.registry import mask_mobile
from cases.persistence.limits import ATTACHMENT_NAME_MAX_CHARS, STATEMENT_MAX_CHARS
from evidence_store.store import EvidenceError, ItemIn
from offsite.issued import document as issued_document
from offsite.issued import party_access_code, served_to_party
from vision.redaction import redact_jpeg

router = APIRouter()
PARTY_COOKIE = "offsite_party"
SESSION = dt.timedelta(minutes=30)
MAX_ATTACHMENTS = 3  # of 5 MB: within the request body limit of 20 MB
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG", "application/pdf": b"%PDF"}
SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}
FRAME_ROLES = {"first": wording("首次发现"), "middle": wording("持续中"), "confirming": wording("确认")}
STATEMENT_LABEL = messages.Wording("陈述申辩内容")
# the brackets a party types around a case number's year instead of 〔〕 (full-width ones are made ASCII first)
CASE_NUMBER_BRACKETS = str.maketrans({"[": "〔", "]": "〕", "(": "〔", ")": "〕", "【": "〔", "】": "〕"})
FULL_WIDTH_FORMS = re.compile(r"[\uff01-\uff5e]")  # full-width digits, letters and signs (an IME's full-width mode)


def _secret(services: ApiServices) -> bytes:
    return services.settings.session_secret.get_secret_value().encode()


def _sign(services: ApiServices, text: str) -> str:
    return hmac.new(_secret(services), b"party-session:" + text.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class PartySession:
    """What the party cookie holds, signed: the case opened, until when, and the session's own random id (two
    sign-ins are two sessions, and signing out ends the one signed out of)."""

    case_id: int
    expires: int  # a Unix time
    session: str


def _session_value(services: ApiServices, case_id: int) -> str:
    expires = int((services.clock.now() + SESSION).timestamp())
    body = f"{case_id}.{expires}.{secrets.token_hex(16)}"
    return f"{body}.{_sign(services, body)}"


def _party_session(request: Request) -> PartySession | None:
    """The cookie's session when its signature holds and its time has not run out."""
    services = services_of(request)
    parts = request.cookies.get(PARTY_COOKIE, "").split(".")
    if len(parts) != 4 or not hmac.compare_digest(parts[3].encode(), _sign(services, ".".join(parts[:3])).encode()):
        return None
    if not parts[0].isdigit() or not parts[1].isdigit() or int(parts[1]) < services.clock.now().timestamp():
        return None
    return PartySession(int(parts[0]), int(parts[1]), parts[2])


def _opened_case(request: Request) -> Case | None:
    """The case the party opened, unless the session has expired or was signed out of."""
    services, session = services_of(request), _party_session(request)
    if session is None or services.party.signed_out(session.session):
        return None
    return services.cases.get(session.case_id)


def _form_token(request: Request) -> str:
    return _sign(services_of(request), "form:" + request.cookies.get(PARTY_COOKIE, ""))


@router.get("/party", response_class=HTMLResponse)
def lookup_page(request: Request) -> Response:
    return page(request, "party_lookup.html")


@router.post("/party", response_model=None)
async def open_case(request: Request) -> Response:
    services = services_of(request)
    form = await request.form()
    number, code = (_printable(str(form.get(name, ""))) for name in ("case_number", "code"))
    if len(number) > LIMITS["case_number"] or len(code) > LIMITS["case_number"]:  # no case has such a number
        error = notice("lookup_too_long", limit=LIMITS["case_number"])
        return page(request, "party_lookup.html", status_code=422, error=error, case_number=number)
    try:
        case = await run_in_threadpool(services.party.open_case, typed_case_number(number), typed_code(code),
                                       client_address(request), lambda n: party_access_code(services, n))  # fmt: skip
    except TooManyAttempts as exc:
        refused = page(request, "party_lookup.html", status_code=429, error=exc, case_number=number)
        refused.headers["Retry-After"] = str(exc.retry_after_s)
        return refused
    except InvalidInput as exc:
        return page(request, "party_lookup.html", status_code=422, error=exc, case_number=number)
    assert case.id is not None
    response = RedirectResponse("/party/case", status_code=303)
    response.set_cookie(PARTY_COOKIE, _session_value(services, case.id), max_age=int(SESSION.total_seconds()),
                        httponly=True, samesite="strict", path="/party",
                        secure=services.settings.secure_cookies)  # fmt: skip
    return response


def _half_width(text: str) -> str:
    """Full-width digits, letters and signs as their ASCII; every other character (the bureau's prefix) as it is."""
    return FULL_WIDTH_FORMS.sub(lambda found: unicodedata.normalize("NFKC", found.group()), text)


def _printable(text: str) -> str:
    """What a party typed, without control characters (a NUL, a stray escape): no case number or code holds one,
    and the page that shows the number again must not carry one back into the browser."""
    return "".join(c for c in text if unicodedata.category(c) != "Cc")


def typed_case_number(text: str) -> str:
    """A case number as the notices print it, however its brackets and digits were typed: 沪城管非现(２０２６)000123号
    is 沪城管非现〔2026〕000123号. The lock-out counts the number so told, so that retyping it differently gains
    nothing."""
    return "".join(_half_width(text).translate(CASE_NUMBER_BRACKETS).split())


def typed_code(text: str) -> str:
    """The verification code without the spaces a party types to group its digits, its digits made ASCII."""
    return "".join(_half_width(text).split())


def _frames(services: ApiServices, case: Case) -> list[dict[str, Any]]:
    assert case.id is not None
    shown = []
    for detection in services.cases.detections_of(case.id):
        shown.append({"d": detection, "first_seen": detection.first_seen.astimezone(services.clock.tz),
                      "last_seen": detection.last_seen.astimezone(services.clock.tz)})  # fmt: skip
    return shown


@router.get("/party/case", response_class=HTMLResponse)
def case_view(request: Request) -> Response:
    return _case_view(request)


def _case_view(request: Request, typed_statement: str = "", error: Notice | None = None) -> Response:
    """The party's case page; after a refused statement, with the refusal and the statement as typed (422)."""
    case = _opened_case(request)
    if case is None:
        return RedirectResponse("/party", status_code=303)
    services = services_of(request)
    assert case.id is not None
    services.party.log_view(case.id, client_address(request), "case")
    camera = services.registry.get_camera(case.camera_id)
    zone = services.registry.get_zone(case.zone_id)
    today = services.clock.today()
    payment: dict[str, Any] | None = None
    if case.fine_fen is not None and case.payment_due is not None:
        if case.paid_on is not None:
            payment = {"paid": True, "paid_on": case.paid_on, "amount": yuan(case.amount_paid_fen)}
        else:
            fine, surcharge = case.amount_due_fen(services.law, today)
            payment = {"paid": False, "due": case.payment_due, "fine": yuan(fine), "surcharge": yuan(surcharge),
                       "total": yuan(fine + surcharge), "late": today > case.payment_due}  # fmt: skip
    statement_open = case.status is CaseStatus.PENALTY_NOTICE_ISSUED and (
        case.statement_deadline is None or today <= case.statement_deadline
    )
    refused = {"error": error, "typed_statement": typed_statement} if error else {}
    return page(
        request,
        "party_case.html",
        422 if error else 200,
        **refused,
        case=case,
        camera=camera,
        zone=zone,
        frames=_frames(services, case),
        roles_of_frames=FRAME_ROLES,
        documents=[(kind, messages.Term(f"term.document.{kind.value}")) for kind in _served(case)],
        surcharge_percent=services.law.config.deadlines.late_surcharge.percent_per_day,
        contact=mask_mobile(case.party_contact),
        payment=payment,
        statement_open=statement_open,
        statement=_statement_receipt(services, case, page_language(request)),
        party_csrf=_form_token(request),
        yuan=yuan,
        max_attachments=MAX_ATTACHMENTS,
        max_attachment_bytes=MAX_ATTACHMENT_BYTES,
        attachment_accept=",".join([*ATTACHMENT_TYPES, ".jpg", ".jpeg", ".png", ".pdf"]),
        attachment_warnings=_attachment_warnings(page_language(request)),
    )


def _served(case: Case) -> list[DocumentKind]:
    """The documents the party may open on the page: those served on them."""
    return [kind for kind in available(case) if served_to_party(case, kind)]


def _statement_receipt(services: ApiServices, case: Case, language: str) -> dict[str, Any] | None:
    """What the party stated, as the case holds it: the text, when it was received, the attachments' names, and
    whether the officer has answered it (adopted or not). None before a statement."""
    filed = [event for event in case.events if event.action == "record_statement"]
    if case.statement_text is None or not filed:
        return None
    attachments = [a["name"] or a["problem"] for a in statement_attachments(services, case, language)]
    return {
        "text": case.statement_text,
        "received": local(services, filed[-1].at),
        "online": filed[-1].payload.get("channel") == "online",
        "attachments": attachments,
        "attachment_names": messages.SERIES_SEPARATOR[language].join(attachments),
        "adopted": case.statement_adopted,
    }


def _attachment_warnings(language: str) -> dict[str, str]:
    """The refusals of attachments, for the page's script to say before an upload (the server still decides):
    ``{name}`` stands for the file's name, filled in by the script."""
    refusals = {
        "count": InvalidInput(variant="attachments_count", max_count=MAX_ATTACHMENTS),
        "size": InvalidInput(
            variant="attachment_too_large", name="{name}", max_mb=MAX_ATTACHMENT_BYTES // 1024 // 1024
        ),
        "type": InvalidInput(variant="attachment_type", name="{name}"),
    }
    return {kind: refusal.told(language) for kind, refusal in refusals.items()}


def _plain(text: str, status_code: int) -> Response:
    """A short answer in plain text: a picture or a document the page cannot give."""
    return Response(text, status_code=status_code, media_type="text/plain; charset=utf-8")


@router.get("/party/evidence/{package_id}/{role}.jpg", response_model=None)
def evidence_frame(request: Request, package_id: str, role: str) -> Response:
    case = _opened_case(request)
    if case is None:
        return RedirectResponse("/party", status_code=303)
    services = services_of(request)
    assert case.id is not None
    packages = {d.evidence_package_id for d in services.cases.detections_of(case.id)}
    if package_id not in packages or role not in FRAME_ROLES:
        return _plain(messages.page_text("不是本案的证据", page_language(request)), 404)
    store = services.evidence_reader()
    try:
        _type, raw = store.item(package_id, f"frame-{role}.jpg")
        _type, marked = store.item(package_id, f"annotated-{role}.jpg")
    except EvidenceError:
        return _plain(messages.page_text("证据图像暂时无法读取", page_language(request)), 404)
    try:
        redacted = redact_jpeg(raw, services_of(request).redaction_detector(), marked)
    except ValueError:  # the package's frames do not pair up: show nothing rather than an unredacted frame
        return _plain(messages.page_text("证据图像无法打码，不予显示", page_language(request)), 422)
    services.party.log_view(case.id, client_address(request), f"evidence {package_id[:16]} {role}")
    return Response(redacted.jpeg, media_type="image/jpeg",
                    headers={"Cache-Control": "no-store", "X-Faces-Hidden": str(redacted.faces),
                             "X-Plates-Hidden": str(redacted.plates)})  # fmt: skip


@router.get("/party/documents/{kind}.pdf", response_model=None)
def document(request: Request, kind: str) -> Response:
    case = _opened_case(request)
    if case is None:
        return RedirectResponse("/party", status_code=303)
    if kind not in DocumentKind._value2member_map_ or not served_to_party(case, DocumentKind(kind)):
        return _plain(messages.page_text("没有这份文书", page_language(request)), 404)
    services = services_of(request)
    assert case.id is not None
    try:
        issued = issued_document(services, case.id, DocumentKind(kind))
    except OffsiteError as exc:
        return Response(told(request, exc), status_code=422, media_type="text/plain; charset=utf-8")
    except RuntimeError:
        return _plain(messages.page_text("文书暂时无法生成，请稍后再试", page_language(request)), 422)
    services.party.log_view(case.id, client_address(request), f"document {kind}")
    return Response(issued.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{kind}.pdf"'})  # fmt: skip


async def _party_form(request: Request) -> tuple[Case, Any] | None:
    case = await run_in_threadpool(_opened_case, request)
    if case is None:
        return None
    form = await request.form()
    _check_form_token(request, form)
    return case, form


def _check_form_token(request: Request, form: Any) -> None:
    if not hmac.compare_digest(str(form.get("csrf", "")).encode(), _form_token(request).encode()):
        raise InvalidInput(variant="form_expired")


@router.post("/party/statement", response_model=None)
async def statement(request: Request) -> Response:
    """The party's statement, filed with its attachments; a refusal of any kind shows the page again with the
    text as typed (a browser cannot keep the files chosen: the refusal asks for them again)."""
    case = await run_in_threadpool(_opened_case, request)
    if case is None:
        return RedirectResponse("/party", status_code=303)
    form = await request.form()
    text = str(form.get("text", ""))
    uploads = [f for f in form.getlist("attachments") if isinstance(f, UploadFile) and f.filename]
    try:
        _check_form_token(request, form)
        if services_of(request).party.already_filed(case, text):  # sent again (a double click, a reload): as filed
            return back(request, "/party/case", message=notice("statement_filed"))
        await _file_statement_with(request, case, text, uploads)
    except OffsiteError as exc:
        refusal: Notice = notice("attachments_choose_again", problem=exc.term) if uploads else exc
        return await run_in_threadpool(_case_view, request, text, refusal)
    return back(request, "/party/case", message=notice("statement_filed"))


async def _file_statement_with(request: Request, case: Case, text: str, uploads: list[UploadFile]) -> None:
    """Everything checked before anything is sealed, so that a refusal changes nothing; then sealed and filed."""
    services = services_of(request)
    check_length(text, STATEMENT_MAX_CHARS, STATEMENT_LABEL)
    if "\x00" in text:  # refused by the database at filing, after the attachments were sealed: said first
        raise InvalidInput(variant="form_nul", label=STATEMENT_LABEL)
    services.party.check_statement(case, text)
    if len(uploads) > MAX_ATTACHMENTS:
        raise InvalidInput(variant="attachments_count", max_count=MAX_ATTACHMENTS)
    attachments = [await _attachment(upload) for upload in uploads]
    await run_in_threadpool(_file_statement, services, case, text, attachments, client_address(request))


async def _attachment(upload: UploadFile) -> tuple[str, str, bytes]:
    """(name, media type, bytes) of an upload, its kind told by its content, its size bounded."""
    data = await upload.read(MAX_ATTACHMENT_BYTES + 1)
    name = (upload.filename or "").replace("\x00", "")
    check_length(name, ATTACHMENT_NAME_MAX_CHARS, messages.Wording("附件文件名"))
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(variant="attachment_too_large", name=name, max_mb=MAX_ATTACHMENT_BYTES // 1024 // 1024)
    media_type = next((t for t, magic in ATTACHMENT_TYPES.items() if data.startswith(magic)), None)
    if media_type is None:
        raise InvalidInput(variant="attachment_type", name=name)
    return name, media_type, data


def _file_statement(
    services: ApiServices, case: Case, text: str, attachments: list[tuple[str, str, bytes]], client: str
) -> None:
    """The case's statement claimed for this filing, so that a second at once is refused before it seals anything;
    then the attachments sealed and the statement recorded."""
    assert case.id is not None
    with services.party.filing_statement(case.id, text):
        package_id = _seal_attachments(services, case, attachments) if attachments else None
        services.party.file_statement(case.id, text, package_id)
    services.party.log_view(case.id, client, "statement filed")


def _seal_attachments(services: ApiServices, case: Case, attachments: list[tuple[str, str, bytes]]) -> str:
    """The party's attachments, sealed as evidence of the case; named by number, typed by content."""
    with tempfile.TemporaryDirectory() as scratch:
        items = []
        for number, (_name, media_type, data) in enumerate(attachments, 1):
            path = Path(scratch) / f"attachment-{number}{SUFFIX[media_type]}"
            path.write_bytes(data)
            items.append(ItemIn(path.name, media_type, path))
        context = {"kind": "party_statement_attachments", "case_id": case.id, "case_number": case.number,
                   "filed_by": case.party_name, "names": [name for name, _t, _d in attachments]}  # fmt: skip
        try:
            return services.seal(items, context)
        except EvidenceError as exc:
            raise InvalidInput(variant="attachments_not_sealed", detail=str(exc)) from exc


@router.post("/party/consent", response_model=None)
async def consent(request: Request) -> Response:
    try:
        opened = await _party_form(request)
        if opened is None:
            return RedirectResponse("/party", status_code=303)
        case, form = opened
        if form.get("confirm") != "on":
            raise InvalidInput(variant="consent_unconfirmed")
        services = services_of(request)
        assert case.id is not None
        await run_in_threadpool(services.party.consent_to_e_delivery, case.id, client_address(request))
        await run_in_threadpool(services.party.log_view, case.id, client_address(request), "e-delivery consent")
    except OffsiteError as exc:
        return back(request, "/party/case", error=exc)
    return back(request, "/party/case", message=notice("e_delivery_consented"))


@router.post("/party/logout", response_model=None)
def leave(request: Request) -> Response:
    """Signing out ends the session on the server too: a copy of the cookie (a shared terminal's) opens nothing."""
    session = _party_session(request)
    if session is not None:
        services_of(request).party.sign_out(session.session, dt.datetime.fromtimestamp(session.expires, dt.UTC))
    response = RedirectResponse("/party", status_code=303)
    response.delete_cookie(PARTY_COOKIE, path="/party")
    return response
