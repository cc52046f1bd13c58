"""What every console page shares: the signed-in staff member (a cookie holding an API token), the form check
against cross-site posts, the templates with their Chinese labels, and how a refused step is shown.

A page that needs a permission the role lacks answers 403 with a page that says which; a visitor who is not signed
in is sent to the sign-in page and back. A step the law or the stage refuses comes back to the page it was taken
from with the domain's message, and changes nothing.

What a page says happened (a step done, a step refused) comes from the server only: a POST that redirects leaves a
one-time flash in the signed session cookie (``back``), and the next page drawn shows it once. No page ever shows
text from its address: ``?message=`` or ``?error=`` in a link someone was sent would otherwise be an official-looking
banner of the attacker's choosing.

Such a notice is a catalogue entry, never a text written here: the console's own (``notice(key, **params)``: the
catalogue's ``notice.<key>``) or a refusal's (the problem itself). The flash keeps its key and parameters, not its
text, and the page that shows it tells it in that page's language: a reader who switches language between the post
and the page still reads it in the language chosen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context
from starlette.middleware.sessions import SessionMiddleware

from api.errors import LANGUAGE_COOKIE, Forbidden
from api.roles import Permission, allows
from api.schemas import CODE_MAX, MOBILE_MAX, NAME_MAX, PASSWORD_MAX, chars
from api.services import ApiServices, services_of
from cases import messages
from cases.errors import InvalidInput
from cases.law.config import CandidateKind, Violation
from cases.messages import wording
from cases.model.case import CaseStatus, DeliveryMethod, NoPenaltyGround, PartyKind, RecheckOutcome
from cases.model.detection import DetectionStatus
from cases.model.staff import Role
from cases.persistence import tables
from cases.persistence.limits import REASON_MAX_CHARS, STATEMENT_MAX_CHARS
from cases.services.accounts import StaffUser
from cases.services.base import Actor
from evidence_store.store import Finding

SESSION_COOKIE = "offsite_console"
FLASH_COOKIE = "offsite_flash"  # Starlette's signed session cookie, holding only the one-time flash
FLASH_MAX_AGE_S = 600  # a flash not shown within ten minutes is stale
# a cookie holds about 4 KB: a flash's parameters are cut to fit (a name, a number; never a whole text)
FLASH_PARAM_CHARS = (200, 40)  # the most characters of each parameter, and again when they do not fit
FLASH_MAX_BYTES = 2400  # its JSON, each Chinese character escaped as six bytes, before base64 and the signature
TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
# the most characters each form field takes: the server's own limits (cases/persistence/limits.py), for maxlength
LIMITS = {
    "reason": REASON_MAX_CHARS,
    "statement": STATEMENT_MAX_CHARS,
    "username": CODE_MAX,
    "password": PASSWORD_MAX,
    "case_number": CODE_MAX,
    "name": NAME_MAX,
    "address": chars(tables.cases.c.party_address),
    "id_number": chars(tables.cases.c.party_id_number),
    "mobile": MOBILE_MAX,
    "amount": 12,  # yuan with two decimals: at most 9 digits, a point and 2 decimals (fen_of)
    "days": 3,  # an extension of at most 365 days
    "year": 4,
}
TEMPLATES.env.globals["limits"] = LIMITS
TEMPLATES.env.globals["language_names"] = messages.LANGUAGE_NAMES


@pass_context
def _page_gettext(context: Context, text: str) -> str:
    return messages.page_text(text, context.get("language", messages.DEFAULT_LANGUAGE))


@pass_context
def _page_ngettext(context: Context, singular: str, plural: str, count: int) -> str:
    return _page_gettext(context, singular if count == 1 else plural)


@pass_context
def _page_pgettext(context: Context, sense: str, text: str) -> str:
    return messages.page_text(text, context.get("language", messages.DEFAULT_LANGUAGE), sense)


@pass_context
def _page_npgettext(context: Context, sense: str, singular: str, plural: str, count: int) -> str:
    return _page_pgettext(context, sense, singular if count == 1 else plural)


# A page's own wording is written in Chinese where the page uses it, ``{{ _("案件") }}`` (Jinja's i18n extension,
# new style: ``_("共 %(n)s 件", n=count)`` fills and escapes its values), and told in the page's language from the
# catalogue's ``page`` context (``messages.page_text``). Babel extracts these message ids from the templates.
# ``pgettext("column", "立案")`` names the sense of a Chinese that English says in two ways (context ``page:column``).
TEMPLATES.env.add_extension("jinja2.ext.i18n")
TEMPLATES.env.install_gettext_callables(  # type: ignore[attr-defined]
    _page_gettext, _page_ngettext, newstyle=True, pgettext=_page_pgettext, npgettext=_page_npgettext
)


STAGE_LABELS = {
    CaseStatus.DRAFT: wording("草稿（待立案）"),
    CaseStatus.FILED: wording("已立案"),
    CaseStatus.NOTICE_ISSUED: wording("已责令改正"),
    CaseStatus.CORRECTED: wording("复查已改正"),
    CaseStatus.PERSISTING: wording("复查未改正"),
    CaseStatus.PENALTY_NOTICE_ISSUED: wording("已事先告知"),
    CaseStatus.STATEMENT_FILED: wording("已陈述申辩"),
    CaseStatus.STATEMENT_ANSWERED: wording("申辩已复核"),
    CaseStatus.UNDER_LEGAL_REVIEW: wording("法制审核中"),
    CaseStatus.REVIEW_APPROVED: wording("法制审核通过"),
    CaseStatus.REVIEW_RETURNED: wording("法制审核退回"),
    CaseStatus.DECIDED: wording("已作出决定"),
    CaseStatus.DELIVERED: wording("已送达"),
    CaseStatus.ENFORCEMENT_REQUESTED: wording("已申请强制执行"),
    CaseStatus.PAID: wording("已缴纳罚款"),
    CaseStatus.CLOSED: wording("已结案"),
}
DETECTION_LABELS = {
    DetectionStatus.PENDING_REVIEW: wording("待审核"),
    DetectionStatus.CONFIRMED: wording("已确认"),
    DetectionStatus.REJECTED: wording("已驳回"),
}
ROLE_LABELS = {
    Role.OPERATOR: wording("指挥中心值班员"),
    Role.OFFICER: wording("办案人员"),
    Role.LEGAL_REVIEWER: wording("法制审核人员"),
    Role.SUPERVISOR: wording("科室负责人"),
    Role.ADMIN: wording("系统管理员"),
    Role.MODEL_STEWARD: wording("模型管理员"),
    Role.SYSTEM: wording("系统"),
    Role.PARTY: wording("当事人"),
}
DELIVERY_LABELS = {
    DeliveryMethod.DIRECT: wording("直接送达"),
    DeliveryMethod.POSTAL: wording("邮寄送达"),
    DeliveryMethod.ELECTRONIC: wording("电子送达"),
    DeliveryMethod.PUBLIC_NOTICE: wording("公告送达"),
}
GROUND_LABELS = {
    NoPenaltyGround.FIRST_OFFENCE: wording("初次违法且危害后果轻微并及时改正"),
    NoPenaltyGround.MINOR_CORRECTED: wording("违法行为轻微并及时改正，没有造成危害后果"),
    NoPenaltyGround.NOT_ESTABLISHED: wording("违法事实不能成立"),
}
RECHECK_LABELS = {RecheckOutcome.CORRECTED: wording("已改正"), RecheckOutcome.PERSISTING: wording("逾期未改正")}
PARTY_KIND_LABELS = {
    PartyKind.INDIVIDUAL: wording("个人（身份证号）"),
    PartyKind.ORGANISATION: wording("单位（统一社会信用代码）"),
    PartyKind.MERCHANT: wording("登记商户"),
    PartyKind.SITE: wording("登记工地施工单位"),
}
DEADLINE_LABELS = {
    "decision": wording("作出决定（九十日）"),
    "rectification": wording("改正期限"),
    "statement": wording("陈述申辩期限"),
    "delivery": wording("送达期限"),
    "payment": wording("缴款期限"),
    "publication": wording("公示期限"),
}


class LoginRequired(Exception):
    """No signed-in staff member: the page sends the visitor to sign in."""


class PageForbidden(Forbidden):
    """A page the role may not open, or a form without this session's token: answered with a page (403)."""


def page_language(request: Request) -> str:
    """The language a page tells messages in: Chinese unless the reader chose English on the console (the
    ``offsite_lang`` cookie). A browser's Accept-Language says how its computer was set up, not what a bureau's
    staff or a party read, so pages do not follow it; the API does."""
    return messages.language_of(None, request.cookies.get(LANGUAGE_COOKIE))


def told(request: Request, exc: messages.ToldProblem) -> str:
    """A problem as a page tells it: from the catalogue, in the page's language."""
    return exc.told(page_language(request))


Notice = messages.Term | messages.ToldProblem  # what a page says happened: its own notice, or a refusal


def notice(key: str, **params: object) -> messages.Term:
    """What the console or the party page says happened (a step done, a form to be filled in again): the
    catalogue's ``notice.<key>`` with its parameters, told in the language of the page that shows it."""
    return messages.Term(f"notice.{key}", params)


def _term(shown: Notice) -> messages.Term:
    return shown if isinstance(shown, messages.Term) else shown.term


def finding_teller(request: Request) -> Callable[[Finding], str]:
    """How a page tells an evidence check: the catalogue's ``verify.<key>`` in the reader's language, by the key
    the evidence store gave it (never by reading its English)."""
    language = page_language(request)

    def tell(finding: Finding) -> str:
        text = messages.entry(f"verify.{finding.key}", language)
        if text is None or not messages.placeholders(text) <= finding.params.keys():
            return finding.text
        return text.format_map(finding.params)

    return tell


def term_teller(request: Request) -> Callable[[messages.Term | list[messages.Term]], str]:
    """How a page tells a catalogue entry it was handed (a camera's certification problems), or a list of them."""
    language = page_language(request)

    def tell(terms: messages.Term | list[messages.Term]) -> str:
        return str(messages.tell(terms, language))

    return tell


def class_teller(language: str) -> Callable[[str], str]:
    """How a page names one of the detector's classes (stall: 摊位): the catalogue's word, or the class's own name
    for a class it has none for (a model trained with classes of its own)."""

    def label(name: str) -> str:
        named = messages.detector_class(name)
        return named if isinstance(named, str) else named.told(language)

    return label


def signed_in(request: Request) -> StaffUser:
    token = request.cookies.get(SESSION_COOKIE)
    user = services_of(request).accounts.user_for_token(token) if token else None
    if user is None:
        raise LoginRequired()
    return user


def permitted(request: Request, permission: Permission) -> tuple[StaffUser, Actor]:
    user = signed_in(request)
    if not allows(user.role, permission):
        raise PageForbidden(
            variant="page", role=messages.Term(f"term.role.{user.role.value}"), permission=permission.value
        )
    return user, Actor(user.username, user.role)


def csrf_token(request: Request) -> str:
    """A per-session value every form carries back: a page of another site cannot know it."""
    token = request.cookies.get(SESSION_COOKIE, "")
    secret = services_of(request).settings.session_secret.get_secret_value().encode()
    return hmac.new(secret, b"console-form:" + token.encode(), hashlib.sha256).hexdigest()[:32]


async def form_of(request: Request) -> dict[str, Any]:
    """The posted form, refused unless it carries this session's form token."""
    form = await request.form()
    values: dict[str, Any] = {key: form.getlist(key) if len(form.getlist(key)) > 1 else form[key] for key in form}
    if not hmac.compare_digest(str(values.get("csrf", "")).encode(), csrf_token(request).encode()):
        raise PageForbidden(variant="form_token")
    return values


class TooLong(InvalidInput):
    """A form field longer than its limit (a post the page's maxlength did not stop): the form is shown again."""


def check_length(value: str, limit: int, label: str | messages.Term) -> None:
    if len(value) > limit:
        raise TooLong(variant="form_too_long", label=label, limit=limit, length=len(value))


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    services = services_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    user = services.accounts.user_for_token(token) if token else None
    language = page_language(request)
    kinds = {kind.code: kind for kind in services.law.config.catalogue.kinds}  # review candidates too
    # a notice or a refusal handed to the page (``error=``, ``message=``) is told in the page's language
    shown = {
        name: value.told(language) for name in ("message", "error") if isinstance(value := context.get(name), Notice)
    }
    base = {
        "request": request,
        "user": user,
        "csrf": csrf_token(request) if user else "",
        "roles": ROLE_LABELS,
        "stages": STAGE_LABELS,
        "detection_labels": DETECTION_LABELS,
        "violations": kinds,
        "violation_name": _violation_namer(kinds, language),
        **_take_flash(request, language),
        "today": services.clock.today(),
        "menu": _menu(user),
        "tell_finding": finding_teller(request),
        "tell": term_teller(request),
        "class_label": class_teller(language),
        "language": language,
    }
    return TEMPLATES.TemplateResponse(request, template, base | context | shown, status_code=status_code)


def _violation_namer(kinds: dict[str, Violation | CandidateKind], language: str) -> Callable[[str], str]:
    """How a page names a violation or a review candidate by its code: its name in the page's language (the law's
    Chinese name where the catalogue gives no English), or the code itself for a kind the law no longer lists."""

    def name(code: str) -> str:
        return kinds[code].named(language) if code in kinds else code

    return name


def _menu(user: StaffUser | None) -> list[tuple[str, str]]:
    if user is None:
        return []
    entries = [
        (Permission.REVIEW_DETECTIONS, "/console/review", wording("审核队列")),
        (Permission.REVIEW_DETECTIONS, "/console/recent", wording("漏报标注")),
        (Permission.READ_DETECTIONS, "/console/detections", wording("检测记录")),
        (Permission.READ_CASES, "/console/cases", wording("案件")),
        (Permission.LEGAL_REVIEW, "/console/legal", wording("法制审核")),
        (Permission.READ_REGISTRY, "/console/registry/cameras", wording("登记库")),
        (Permission.WATCH_CAMERAS, "/console/wall", wording("视频墙")),
        (Permission.WATCH_CAMERAS, "/console/dashboard", wording("今日概况")),
        (Permission.CONFIGURE_CAMERAS, "/console/cameras", wording("摄像头配置")),
        (Permission.READ_CASES, "/console/statistics", wording("统计")),
        (Permission.MANAGE_ACCOUNTS, "/console/users", wording("账号")),
        (Permission.MANAGE_MODELS, "/console/models", wording("模型")),
    ]
    return [(href, label) for permission, href, label in entries if allows(user.role, permission)]


def install_flash(app: Any, secret: str, https_only: bool) -> None:
    """The signed cookie session that carries flashes from a POST to the page it redirects to."""
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=FLASH_COOKIE, max_age=FLASH_MAX_AGE_S,
                       same_site="lax", https_only=https_only)  # fmt: skip


def back(
    request: Request, path: str, *, message: messages.Term | None = None, error: Notice | None = None
) -> RedirectResponse:
    """Return to a page (after a POST) with what happened, as a flash the next page shows once, in its language."""
    flash = {name: _fitted(_term(shown)) for name, shown in (("message", message), ("error", error)) if shown}
    if flash:
        request.session["flash"] = flash
    return RedirectResponse(path, status_code=303)


def _fitted(term: messages.Term) -> dict[str, Any]:
    """The entry's key and its parameters as the cookie keeps them, cut to fit."""
    for limit in FLASH_PARAM_CHARS:
        stored = _stored(term, limit)
        if len(json.dumps(stored)) <= FLASH_MAX_BYTES:
            break
    return stored


def _stored(term: messages.Term, limit: int) -> dict[str, Any]:
    """A term as JSON: a parameter that is a term (or a list of them) stays one, any other is its text."""

    def value(given: object) -> object:
        if isinstance(given, messages.Term):
            return _stored(given, limit)
        if isinstance(given, list | tuple) and given and all(isinstance(item, messages.Term) for item in given):
            return [_stored(item, limit) for item in given]
        return str(given)[:limit]

    stored = {"key": term.key, "params": {name: value(given) for name, given in term.params.items()}}
    return stored | {"wording": True} if isinstance(term, messages.Wording) else stored


def _take_flash(request: Request, language: str) -> dict[str, str | None]:
    """The flash a redirect left for this page, removed as it is shown and told in the page's language; never
    anything from the address."""
    flash = request.session.pop("flash", None) if "session" in request.scope else None
    if not isinstance(flash, dict):
        return {"message": None, "error": None}
    terms = {name: _term_of(flash.get(name), language) for name in ("message", "error")}
    return {name: term.told(language) if term else None for name, term in terms.items()}


def _term_of(stored: object, language: str) -> messages.Term | None:
    """A stored term back, only when the catalogue has its entry and the parameters the entry names (a flash left
    by another version of the service may not): else nothing is shown."""
    if not isinstance(stored, dict) or not isinstance(key := stored.get("key"), str):
        return None
    given = stored.get("params")
    if stored.get("wording") is True and given == {}:
        return messages.Wording(key)
    text = messages.entry(key, language)
    if text is None or not isinstance(given, dict) or not messages.placeholders(text) <= given.keys():
        return None
    params: dict[str, object] = {}
    for name, value in given.items():
        terms = [_term_of(item, language) for item in (value if isinstance(value, list) else [value])]
        if isinstance(value, str):
            params[name] = value
        elif isinstance(value, dict) and terms[0] is not None:
            params[name] = terms[0]
        elif isinstance(value, list) and value and all(terms):
            params[name] = [term for term in terms if term]
        else:
            return None
    return messages.Term(key, params)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/console/login?next={quote(target)}", status_code=303)


def local(services: ApiServices, moment: dt.datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(services.clock.tz).strftime("%Y-%m-%d %H:%M:%S")


def yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen / 100:.2f}"


def fen_of(value: Any, what: str | messages.Term) -> int:
    """Yuan as typed into a form ("150" or "150.00") in fen; a clear error for anything else."""
    from decimal import Decimal, InvalidOperation

    from cases.errors import InvalidInput

    text = str(value or "").strip()
    if not re.fullmatch(r"\d{1,9}(\.\d{1,2})?", text):
        raise InvalidInput(variant="not_yuan", what=what, text=repr(text[:40]))
    try:
        return int(Decimal(text) * 100)
    except InvalidOperation as exc:
        raise InvalidInput(variant="not_yuan", what=what, text=repr(text[:40])) from exc


def date_of(value: Any, what: str | messages.Term, default: dt.date | None = None) -> dt.date:
    from cases.errors import InvalidInput

    text = str(value or "").strip()
    if not text:
        if default is None:
            raise InvalidInput(variant="missing_date", what=what)
        return default
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInput(variant="not_date", what=what, text=repr(text[:40])) from exc
