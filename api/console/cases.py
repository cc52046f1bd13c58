"""Case officers' and legal reviewers' pages: the case list with its deadlines, a case with its timeline, evidence,
documents and the form of each step its stage allows; the legal-review queue.

Each step form posts to ``/console/cases/{id}/steps/{action}``, which calls the same service as the API; a step
the law refuses comes back with the domain's message and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import (
    DEADLINE_LABELS,
    DELIVERY_LABELS,
    GROUND_LABELS,
    LIMITS,
    PARTY_KIND_LABELS,
    RECHECK_LABELS,
    Notice,
    back,
    check_length,
    date_of,
    fen_of,
    finding_teller,
    form_of,
    local,
    notice,
    page,
    page_language,
    permitted,
    yuan,
)
from api.roles import Permission
from api.services import ApiServices, services_of
from cases import commands, messages
from cases.commands import CaseCommand, CaseStep
from cases.documents import DocumentKind
from cases.documents import available as documents_available
from cases.errors import ConcurrentModification, DocumentNotIssued, InvalidInput, NotFound, OffsiteError
from cases.messages import Term, wording
from cases.model.case import (
    ALLOWED_FROM,
    Case,
    CaseStatus,
    DeliveryMethod,
    NoPenaltyGround,
    Party,
    PartyKind,
    RecheckOutcome,
)
from cases.model.staff import Role
from cases.services.base import Actor
from cases.services.cases import masked_events
from evidence_store.store import EvidenceError, Finding
from offsite.issued import KIND_OF_STEP

router = APIRouter()


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text, textarea, date, money, select, checkbox
    options: dict[str, str] | None = None
    required: bool = True
    max_length: int | None = None  # the most characters it takes; None: its kind's (LIMITS, the server's limits)

    @property
    def limit(self) -> int | None:
        """The server's limit for what is typed here; a select, date or checkbox is bounded by its own format."""
        by_kind = {"textarea": LIMITS["reason"], "money": LIMITS["amount"]}
        return self.max_length or by_kind.get(self.kind)


@dataclass(frozen=True)
class Step:
    """A step as the case page offers it: its label, its form, and how the typed form becomes the step's command
    (``cases.commands``; the same command the JSON API hands to the same handler)."""

    label: str
    kind: type[CaseStep]  # the command it makes
    fields: tuple[Field, ...]
    command: Callable[[int, int, dict[str, Any], dt.date], CaseCommand]  # case id, version, form, today

    @property
    def role(self) -> Role:
        """Who takes it: the command's role (the form is only offered to that role)."""
        return self.kind.role


def _text(form: dict[str, Any], name: str) -> str:
    return str(form.get(name, "")).strip()


def _delivery(form: dict[str, Any]) -> DeliveryMethod:
    return DeliveryMethod(_text(form, "method"))


def _party(form: dict[str, Any]) -> Party:
    return Party(
        kind=PartyKind(_text(form, "kind")),
        name=_text(form, "name"),
        id_number=_text(form, "id_number"),
        contact=_text(form, "contact") or None,
        address=_text(form, "address") or None,
    )


def _optional_date(form: dict[str, Any], name: str, what: messages.Term) -> Any:
    return date_of(form.get(name), what) if _text(form, name) else None


METHOD = Field("method", wording("送达方式"), "select", {m.value: label for m, label in DELIVERY_LABELS.items()})
SERVED = Field("served_on", wording("送达日期（默认今天）"), "date", required=False)
S = CaseStatus
STEPS: dict[str, Step] = {
    "file": Step(wording("立案"), commands.FileCase, (), lambda i, v, f, today: commands.FileCase(i, v)),
    "confirm_party": Step(
        wording("确认当事人身份"),
        commands.ConfirmParty,
        (
            Field("kind", wording("当事人类型"), "select", {k.value: v for k, v in PARTY_KIND_LABELS.items()}),
            Field("name", wording("姓名或名称"), max_length=LIMITS["name"]),
            Field("id_number", wording("身份证号或统一社会信用代码"), max_length=LIMITS["id_number"]),
            Field("contact", wording("手机号"), required=False, max_length=LIMITS["mobile"]),
            Field("address", wording("地址"), required=False, max_length=LIMITS["address"]),
            Field("reason", wording("确认依据"), "textarea"),
        ),
        lambda i, v, f, today: commands.ConfirmParty(i, v, _party(f), _text(f, "reason")),
    ),
    "withdraw": Step(
        wording("不予立案"),
        commands.Withdraw,
        (Field("reason", wording("理由"), "textarea"),),
        lambda i, v, f, today: commands.Withdraw(i, v, _text(f, "reason")),
    ),
    "issue_rectification_notice": Step(
        wording("发出责令改正通知书"),
        commands.IssueRectificationNotice,
        (METHOD, SERVED),
        lambda i, v, f, today: commands.IssueRectificationNotice(
            i, v, _delivery(f), _optional_date(f, "served_on", messages.Wording("送达日期"))
        ),
    ),
    "record_recheck": Step(
        wording("记录复查结果"),
        commands.RecordRecheck,
        (
            Field("outcome", wording("复查结果"), "select", {o.value: label for o, label in RECHECK_LABELS.items()}),
            Field("observed_on", wording("复查日期（默认今天）"), "date", required=False),
            Field("note", wording("复查记录"), "textarea"),
        ),
        lambda i, v, f, today: commands.RecordRecheck(
            i,
            v,
            RecheckOutcome(_text(f, "outcome")),
            date_of(f.get("observed_on"), messages.Wording("复查日期"), today),
            None,
            _text(f, "note"),
        ),
    ),
    "decide_no_penalty": Step(
        wording("作出不予行政处罚决定"),
        commands.DecideNoPenalty,
        (
            Field("ground", wording("不予处罚理由"), "select", {g.value: label for g, label in GROUND_LABELS.items()}),
            Field("reason", wording("说明"), "textarea"),
        ),
        lambda i, v, f, today: commands.DecideNoPenalty(i, v, NoPenaltyGround(_text(f, "ground")), _text(f, "reason")),
    ),
    "issue_penalty_notice": Step(
        wording("发出行政处罚事先告知书"),
        commands.IssuePenaltyNotice,
        (Field("fine", wording("拟罚款（元）"), "money"), METHOD, SERVED),
        lambda i, v, f, today: commands.IssuePenaltyNotice(
            i,
            v,
            fen_of(f.get("fine"), messages.Wording("拟罚款")),
            _delivery(f),
            _optional_date(f, "served_on", messages.Wording("送达日期")),
        ),
    ),
    "record_statement": Step(
        wording("登记陈述申辩"),
        commands.RecordStatement,
        (
            Field("text", wording("陈述申辩内容"), "textarea", max_length=LIMITS["statement"]),
            Field(
                "channel",
                wording("方式"),
                "select",
                {"in_person": wording("当面"), "post": wording("邮寄"), "phone": wording("电话记录")},
            ),
            Field("received_on", wording("收到日期（默认今天）"), "date", required=False),
        ),
        lambda i, v, f, today: commands.RecordStatement(
            i,
            v,
            _text(f, "text"),
            _text(f, "channel"),
            _optional_date(f, "received_on", messages.Wording("收到日期")),
        ),
    ),
    "answer_statement": Step(
        wording("复核陈述申辩"),
        commands.AnswerStatement,
        (
            Field("adopted", wording("采纳"), "checkbox", required=False),
            Field("reply", wording("复核意见"), "textarea"),
            Field("fine", wording("调整后罚款（元，可空）"), "money", required=False),
        ),
        lambda i, v, f, today: commands.AnswerStatement(
            i,
            v,
            f.get("adopted") == "on",
            _text(f, "reply"),
            fen_of(f.get("fine"), messages.Wording("调整后罚款")) if _text(f, "fine") else None,
        ),
    ),
    "request_legal_review": Step(
        wording("提交法制审核"),
        commands.RequestLegalReview,
        (Field("fine", wording("拟决定罚款（元）"), "money"),),
        lambda i, v, f, today: commands.RequestLegalReview(i, v, fen_of(f.get("fine"), messages.Wording("罚款"))),
    ),
    "approve_legal_review": Step(
        wording("审核通过"),
        commands.ApproveLegalReview,
        (Field("opinion", wording("审核意见"), "textarea"),),
        lambda i, v, f, today: commands.ApproveLegalReview(i, v, _text(f, "opinion")),
    ),
    "return_legal_review": Step(
        wording("退回"),
        commands.ReturnLegalReview,
        (Field("reason", wording("退回理由"), "textarea"),),
        lambda i, v, f, today: commands.ReturnLegalReview(i, v, _text(f, "reason")),
    ),
    "decide_penalty": Step(
        wording("作出行政处罚决定"),
        commands.DecidePenalty,
        (Field("fine", wording("罚款（元）"), "money"),),
        lambda i, v, f, today: commands.DecidePenalty(i, v, fen_of(f.get("fine"), messages.Wording("罚款"))),
    ),
    "record_delivery": Step(
        wording("登记送达"),
        commands.RecordDelivery,
        (METHOD, Field("delivered_on", wording("送达日期（默认今天）"), "date", required=False)),
        lambda i, v, f, today: commands.RecordDelivery(
            i, v, _delivery(f), date_of(f.get("delivered_on"), messages.Wording("送达日期"), today)
        ),
    ),
    "refer_for_enforcement": Step(
        wording("申请人民法院强制执行"),
        commands.ReferForEnforcement,
        (Field("reason", wording("理由"), "textarea"),),
        lambda i, v, f, today: commands.ReferForEnforcement(i, v, _text(f, "reason")),
    ),
    "record_payment": Step(
        wording("登记缴款"),
        commands.RecordPayment,
        (
            Field("amount", wording("缴纳金额（元）"), "money"),
            Field("paid_on", wording("缴款日期（默认今天）"), "date", required=False),
        ),
        lambda i, v, f, today: commands.RecordPayment(
            i,
            v,
            fen_of(f.get("amount"), messages.Wording("缴纳金额")),
            date_of(f.get("paid_on"), messages.Wording("缴款日期"), today),
        ),
    ),
    "close": Step(
        wording("结案"),
        commands.CloseCase,
        (Field("reason", wording("结案理由"), "textarea", required=False),),
        lambda i, v, f, today: commands.CloseCase(i, v, _text(f, "reason") or None),
    ),
    "publish": Step(wording("公示决定"), commands.Publish, (), lambda i, v, f, today: commands.Publish(i, v)),
    "extend_decision_period": Step(
        wording("批准延长办案期限"),
        commands.ExtendDecisionPeriod,
        (
            Field("days", wording("延长天数（日历日）"), max_length=LIMITS["days"]),
            Field("reason", wording("延长理由"), "textarea"),
        ),
        lambda i, v, f, today: commands.ExtendDecisionPeriod(i, v, _days(f), _text(f, "reason")),
    ),
}
# which permission each step's role takes it with
STEP_PERMISSIONS = {Role.LEGAL_REVIEWER: Permission.LEGAL_REVIEW, Role.SUPERVISOR: Permission.APPROVE_EXTENSION}


def _days(form: dict[str, Any]) -> int:
    text = _text(form, "days")
    if not text.isdigit():
        raise InvalidInput(variant="extension_days_text", text=repr(text[:20]))
    return int(text)


ACTION_LABELS = {name: step.label for name, step in STEPS.items()} | {
    "open_draft": wording("生成案件草稿"),
    "automatic_recheck": wording("系统自动复查"),
    "issue_rectification_notice": wording("责令改正"),
    "e_delivery_consent": wording("当事人同意电子送达"),
    "extend_decision_period": wording("负责人批准延长办案期限"),
}


# the documents' titles as the case page lists them (the documents themselves are in Chinese)
DOCUMENT_TITLES = {
    DocumentKind.RECTIFICATION_NOTICE: wording("责令改正通知书"),
    DocumentKind.PENALTY_NOTICE: wording("行政处罚事先告知书"),
    DocumentKind.PENALTY_DECISION: wording("行政处罚决定书"),
    DocumentKind.NO_PENALTY_DECISION: wording("不予行政处罚决定书"),
}


def steps_for(case: Case, role: Role) -> list[tuple[str, Step]]:
    """The steps the case's stage allows that this role takes, in the order of the law."""
    return [(name, step) for name, step in STEPS.items() if case.status in ALLOWED_FROM[name] and step.role is role]


def _deadlines(services: ApiServices, case: Case) -> list[dict[str, Any]]:
    today = services.clock.today()
    return [
        {"name": DEADLINE_LABELS.get(name, name), "due": due, "overdue": due < today, "days": (due - today).days}
        for name, due in sorted(case.open_deadlines().items(), key=lambda item: item[1])
    ]


def _local_iso(services: ApiServices, moment: str | None) -> str:
    return local(services, dt.datetime.fromisoformat(moment)) if moment else ""


def _verified(services: ApiServices, package_id: str, tell: Callable[[Finding], str], language: str) -> dict[str, Any]:
    """The package verified now, what did not pass told in the reader's language; a store that cannot be read is
    a verification not made, named, not a crash."""
    try:
        report = services.evidence_reader().verify(package_id)
    except EvidenceError:
        return {
            "ok": False,
            "outcome": "unavailable",
            "problems": [messages.page_text("证据存储当前无法读取", language)],
        }
    notes = [tell(finding) for finding in report.findings if finding.outcome != "passed"]
    return {"ok": report.ok, "outcome": report.outcome, "problems": notes}


def statement_attachments(services: ApiServices, case: Case, language: str) -> list[dict[str, Any]]:
    """The party's statement attachments, sealed as evidence: each with the name the party gave it and the item
    the evidence viewer serves (to staff who may read cases); an unreadable package is named, not hidden."""
    attachments: list[dict[str, Any]] = []
    for event in case.events:
        package_id = event.payload.get("attachments_package_id") if event.action == "record_statement" else None
        if not package_id:
            continue
        try:
            manifest = services.evidence_reader().manifest(package_id)
        except EvidenceError:
            missing = NotFound(variant="evidence_package", package=f"{package_id[:12]}…")
            attachments.append({"package_id": package_id, "name": None, "problem": missing.told(language)})
            continue
        given = manifest.get("context", {}).get("names", [])
        for number, item in enumerate(manifest["items"]):
            name = given[number] if number < len(given) else item["name"]
            attachments.append({"package_id": package_id, "item": item["name"], "name": name, "problem": None})
    return attachments


def _form_defaults(case: Case) -> dict[str, dict[str, str]]:
    """What a step's form starts with: the re-check's outcome as the automatic re-check found it."""
    noted = case.automatic_recheck
    if noted is None or noted.get("present") is None:
        return {}
    outcome = RecheckOutcome.PERSISTING if noted["present"] else RecheckOutcome.CORRECTED
    return {"record_recheck": {"outcome": outcome.value}}


def _decision_period(services: ApiServices, case: Case) -> dict[str, Any] | None:
    """The decision period (第六十条) when it has ended or ends within the configured warning: for the banner."""
    left = case.decision_period_days_left(services.clock.today())
    rule = services.law.config.deadlines.decision_extension
    if left is None or left > rule.warning_days:
        return None
    extended = [e for e in case.events if e.action == "extend_decision_period"]
    return {"due": case.decision_due, "left": left, "extended_days": sum(e.payload["days"] for e in extended)}


def _case_rows(services: ApiServices, cases: list[Case]) -> list[dict[str, Any]]:
    names = _display_names(services)
    return [
        {"case": case, "deadlines": _deadlines(services, case), "officer": names.get(case.officer, case.officer)}
        for case in cases
    ]


def _display_name(services: ApiServices, username: str) -> str:
    user = services.accounts.find_user(username)
    return user.display_name if user is not None else username


def _display_names(services: ApiServices) -> dict[str, str]:
    """Staff as people read them (办案人员 李强), by the username the case records."""
    return {user.username: user.display_name for user in services.accounts.list_users()}


OVERDUE_HORIZON_DAYS = 3  # how far ahead the case list looks for running deadlines


@router.get("/cases", response_class=HTMLResponse)
def case_list(request: Request) -> Response:
    permitted(request, Permission.READ_CASES)
    services = services_of(request)
    status_text = request.query_params.get("status") or ""
    status = CaseStatus(status_text) if status_text in CaseStatus._value2member_map_ else None
    # one look at the running deadlines: the overdue ones (in every horizon) and the decision periods ending soon
    warning_days = services.law.config.deadlines.decision_extension.warning_days
    items = services.cases.deadlines(within_days=max(OVERDUE_HORIZON_DAYS, warning_days))
    ending_by = services.clock.today() + dt.timedelta(days=warning_days)
    ending = [item for item in items if item.deadline == "decision" and item.due <= ending_by]
    overdue = [item for item in items if item.overdue]
    near = request.query_params.get("near") == "decision"
    if near:  # the cases whose decision period ends soon or has ended, soonest first
        found, total = [services.cases.get(item.case_id) for item in ending], len(ending)
    else:
        found, total = services.cases.find(status=status, limit=200)
    rows = _case_rows(services, found)
    return page(request, "cases.html", rows=rows, total=total, status_value=status_text, overdue=overdue,
                deadline_labels=DEADLINE_LABELS,
                counts=services.cases.count_by_status(), decision_ending=ending, near=near,
                warning_days=warning_days)  # fmt: skip


@router.get("/legal", response_class=HTMLResponse)
def legal_queue(request: Request) -> Response:
    permitted(request, Permission.LEGAL_REVIEW)
    services = services_of(request)
    found, _total = services.cases.find(status=CaseStatus.UNDER_LEGAL_REVIEW, limit=200)
    return page(request, "legal.html", rows=_case_rows(services, found), review_fine=True, yuan=yuan)


@router.post("/cases", response_model=None)
async def open_case(request: Request) -> Response:
    _user, actor = await run_in_threadpool(permitted, request, Permission.HANDLE_CASES)
    form = await form_of(request)
    services = services_of(request)
    try:
        detection_id = int(str(form.get("detection_id", "")))
    except ValueError:
        return back(request, "/console/cases", error=notice("choose_detection"))
    try:
        case = await run_in_threadpool(services.cases.open_draft, [detection_id], actor)
    except OffsiteError as exc:
        return back(request, f"/console/detections/{detection_id}", error=exc)
    return back(request, f"/console/cases/{case.id}", message=notice("case_drafted"))


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: int) -> Response:
    return case_view(request, case_id)


def case_view(
    request: Request, case_id: int, status_code: int = 200, typed: dict[str, Any] | None = None, **shown: Any
) -> Response:
    """The case page; after a refused step, with the refusal (``error``) and the refused form as it was typed."""
    user, _actor = permitted(request, Permission.READ_CASES)
    services = services_of(request)
    language = page_language(request)
    case = services.cases.get(case_id)
    detections = services.cases.detections_of(case_id)
    evidence = [
        {"d": d, "first_seen": local(services, d.first_seen)}
        | _verified(services, d.evidence_package_id, finding_teller(request), language)
        for d in detections
    ]
    camera = services.registry.get_camera(case.camera_id)
    zone = services.registry.get_zone(case.zone_id)
    amount_due = None
    if case.payment_due is not None and case.fine_fen is not None and case.paid_on is None:
        fine, surcharge = case.amount_due_fen(services.law, services.clock.today())
        amount_due = {"fine": yuan(fine), "surcharge": yuan(surcharge), "total": yuan(fine + surcharge)}
    return page(
        request,
        "case.html",
        case=case,
        camera=camera,
        zone=zone,
        evidence=evidence,
        deadlines=_deadlines(services, case),
        steps=steps_for(case, user.role),
        documents=[(kind, DOCUMENT_TITLES[kind]) for kind in documents_available(case)] if case.number else [],
        list_separator=messages.LIST_SEPARATOR[language],
        events=[(event, local(services, event.at)) for event in masked_events(case.events)],
        automatic_recheck=case.automatic_recheck,
        automatic_recheck_at=_local_iso(services, (case.automatic_recheck or {}).get("at")),
        amount_due=amount_due,
        yuan=yuan,
        action_labels=ACTION_LABELS,
        decision_period=_decision_period(services, case),
        form_defaults=_form_defaults(case),
        attachments=statement_attachments(services, case, language),
        officer_name=_display_name(services, case.officer),
        fine_limits=_fine_limits(services, case, language),
        waits=_steps_waiting(services, case, language),
        typed=typed or {},
        status_code=status_code,
        **shown,
    )


# The steps that decide (or send the decision to legal review): the law lets them wait for the party's rights periods.
AFTER_RIGHTS_PERIODS = ("request_legal_review", "decide_penalty")


def _steps_waiting(services: ApiServices, case: Case, language: str) -> dict[str, str]:
    """Each step the case's stage offers but the law makes wait today, with the reason and the day it may be taken
    (the statement or hearing-request period running): said beside it, its button off, before anything is typed."""
    running = case.rights_periods_running(services.clock.today())
    if running is None:
        return {}
    return {name: running.told(language) for name in AFTER_RIGHTS_PERIODS}


def _fine_limits(services: ApiServices, case: Case, language: str) -> dict[str, str]:
    """What each fine field allows, shown beside it before submitting: the discretion band (裁量基准) for the
    penalty notice, the notified fine (the ceiling after a statement, 第四十五条) for the later steps."""
    if case.status not in ALLOWED_FROM["issue_penalty_notice"] and case.fine_ceiling_fen is None:
        return {}
    violation = services.law.violation(case.violation_code)
    legal = messages.page_text("法定幅度 {low}–{high} 元（{basis}）", language).format(
        low=yuan(violation.fine_min_fen), high=yuan(violation.fine_max_fen), basis=violation.penalty_basis
    )
    limits: dict[str, str] = {}
    if case.status in ALLOWED_FROM["issue_penalty_notice"]:
        band, priors = services.cases.fine_band(case.id or 0)
        limits["issue_penalty_notice"] = messages.page_text(
            "裁量基准“{tier}”档：{low}–{high} 元（当事人此前同类违法 {priors} 次）；{legal}", language
        ).format(tier=band.tier, low=yuan(band.min_fen), high=yuan(band.max_fen), priors=priors, legal=legal)
    if case.fine_ceiling_fen is not None:
        ceiling = messages.page_text("不得高于事先告知的 {fine} 元（行政处罚法第四十五条）；{legal}", language).format(
            fine=yuan(case.fine_ceiling_fen), legal=legal
        )
        for step in ("answer_statement", "request_legal_review", "decide_penalty"):
            limits[step] = ceiling
    if case.review_fine_fen is not None:
        limits["decide_penalty"] = messages.page_text("须为法制审核通过的 {fine} 元", language).format(
            fine=yuan(case.review_fine_fen)
        )
    return limits


@router.post("/cases/{case_id}/steps/{action}", response_model=None)
async def take_step(request: Request, case_id: int, action: str) -> Response:
    here = f"/console/cases/{case_id}"
    step = STEPS.get(action)
    permission = STEP_PERMISSIONS.get(step.role, Permission.HANDLE_CASES) if step else Permission.HANDLE_CASES
    _user, actor = await run_in_threadpool(permitted, request, permission)
    form = await form_of(request)
    if step is None:
        return back(request, here, error=notice("unknown_step", action=repr(action[:40])))
    services = services_of(request)
    try:
        case = await run_in_threadpool(_take, services, step, case_id, actor, form, page_language(request))
    except DocumentNotIssued as exc:  # the step was rolled back with its document
        error = notice("step_not_issued", step=Term(f"term.action.{action}"), reason=exc.term)
        return await run_in_threadpool(_refused, request, case_id, action, form, error, 503)
    except OffsiteError as exc:
        return await run_in_threadpool(_refused, request, case_id, action, form, exc, 422)
    except ValueError:  # a choice not among the form's options (a hand-made post)
        return await run_in_threadpool(_refused, request, case_id, action, form, notice("invalid_option"), 422)
    return back(request, here, message=_done(action, KIND_OF_STEP.get(case.events[-1].action)))


def _done(action: str, issued: DocumentKind | None) -> Term:
    """What a step done says: the step, and the document issued and sealed inside it, if any."""
    step = Term(f"term.action.{action}")
    if issued is None:
        return notice("step_done", step=step)
    return notice("step_done_issued", step=step, document=Term(f"term.document.{issued.value}"))


def _refused(request: Request, case_id: int, action: str, form: dict[str, Any], error: Notice, status: int) -> Response:
    """A refused step changes nothing: the case page again, with the reason and the form as it was typed (not a
    redirect, so nothing typed has to travel in a cookie)."""
    typed = {name: str(value) for name, value in form.items() if name not in ("csrf", "version")}
    return case_view(request, case_id, status_code=status, typed={"step": action, "values": typed}, error=error)


def _take(services: ApiServices, step: Step, case_id: int, actor: Actor, form: dict[str, Any], language: str) -> Case:
    case = services.cases.get(case_id)
    if str(form.get("version", "")) != str(case.version):
        raise ConcurrentModification(variant="case_page")
    for f in step.fields:  # before anything: a refusal changes nothing
        if f.limit is not None:
            check_length(_text(form, f.name), f.limit, messages.Wording(f.label))
    missing = [f.label for f in step.fields if f.required and f.kind != "checkbox" and not _text(form, f.name)]
    if missing:  # the labels as the page that refuses shows them, named like things are (、 / ,)
        fields = messages.SERIES_SEPARATOR[language].join(messages.page_text(label, language) for label in missing)
        raise InvalidInput(variant="form_missing", fields=fields)
    command = step.command(case_id, case.version, form, services.clock.today())
    return services.cases.handle(command, actor)
