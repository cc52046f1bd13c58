"""Cases: open from confirmed detections, read, and drive through each lawful step.

Each step is one typed command (``cases.commands``) handed to the one handler the console uses too
(``CaseService.handle``). Every step takes the ``version`` the caller read; if the case changed meanwhile the step is refused with 409.
Steps answer with the party's identity number and mobile masked; ``GET /cases/{id}`` shows them in full to
roles that may read personal data, and logs the read (规定第十六条). A step that issues a document (a notice or
a decision) renders and seals it in its own transaction (offsite/issued.py): when that fails the step is not
recorded and the answer is 503 ``document_not_issued``.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated

from fastapi import APIRouter, Query, status

from api import schemas
from api.deps import (
    CaseOfficer,
    CaseReader,
    Cases,
    ClockDep,
    ExtensionApprover,
    LegalReviewer,
    ReaderLanguage,
    Registry,
)
from api.roles import Permission, allows
from api.views import case_out, detection_out
from cases import commands
from cases.model.case import CaseStatus, Party

log = logging.getLogger("offsite.api")
router = APIRouter(prefix="/cases", tags=["cases"])
CaseOut = schemas.CaseOut
# the agency's head (负责人): approves a longer decision period


@router.post("", response_model=CaseOut, status_code=status.HTTP_201_CREATED)
def open_case(cases: Cases, officer: CaseOfficer, body: schemas.OpenCaseIn) -> CaseOut:
    """A draft from confirmed detections of one subject at one place; the party comes from the registry link."""
    return case_out(cases.open_draft(body.detection_ids, officer), unmasked=False)


@router.get("", response_model=schemas.CasePageOut)
def list_cases(
    cases: Cases,
    _reader: CaseReader,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    officer: schemas.CodeQuery = None,
    offset: Annotated[int, Query(ge=0, le=schemas.MAX_PAGE_OFFSET)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> schemas.CasePageOut:
    """Newest first; party identity numbers and contacts are masked in lists."""
    found, total = cases.find(status_, officer, offset, limit)
    return schemas.CasePageOut(
        items=[case_out(c, unmasked=False) for c in found], total=total, offset=offset, limit=limit
    )


@router.get("/deadlines", response_model=list[schemas.DeadlineOut])
def deadlines(
    cases: Cases, _reader: CaseReader, within_days: Annotated[int, Query(ge=0, le=365)] = 3
) -> list[schemas.DeadlineOut]:
    """两超期: running deadlines already past or due within ``within_days`` days, soonest first."""
    return [schemas.DeadlineOut.model_validate(item) for item in cases.deadlines(within_days)]


@router.get("/decision-period", response_model=list[schemas.DeadlineOut])
def decision_period_ending(
    cases: Cases, _reader: CaseReader, within_days: Annotated[int | None, Query(ge=0, le=365)] = None
) -> list[schemas.DeadlineOut]:
    """Cases whose decision period (第六十条, as extended) has ended or ends within ``within_days`` days (default:
    ``decision_extension.warning_days`` of configs/deadlines.yaml), soonest first: past it, a decision needs an
    extension approved by the agency's head."""
    items = cases.decision_period_ending(within_days)
    return [schemas.DeadlineOut.model_validate(item) for item in items]


@router.get("/{case_id}", response_model=CaseOut)
def get_case(cases: Cases, reader: CaseReader, case_id: schemas.IdInPath) -> CaseOut:
    """The whole case. The party's identity number and contact are shown to roles that may read personal
    data, and each such read is logged (规定第十六条)."""
    if allows(reader.role, Permission.READ_PERSONAL_DATA):
        return case_out(cases.read_with_party(case_id, reader, f"GET /cases/{case_id}"), unmasked=True)
    return case_out(cases.get(case_id), unmasked=False)


@router.get("/{case_id}/timeline", response_model=list[schemas.CaseEventOut])
def timeline(cases: Cases, _reader: CaseReader, case_id: schemas.IdInPath) -> list[schemas.CaseEventOut]:
    return [schemas.CaseEventOut.model_validate(e) for e in cases.timeline(case_id)]


@router.get("/{case_id}/detections", response_model=list[schemas.DetectionOut])
def evidence(
    cases: Cases, _reader: CaseReader, language: ReaderLanguage, case_id: schemas.IdInPath
) -> list[schemas.DetectionOut]:
    return [detection_out(d, language) for d in cases.detections_of(case_id)]


@router.get("/{case_id}/amount-due", response_model=schemas.AmountDueOut)
def amount_due(
    cases: Cases, clock: ClockDep, _reader: CaseReader, case_id: schemas.IdInPath, paid_on: dt.date | None = None
) -> schemas.AmountDueOut:
    """The fine and the late surcharge if paid on ``paid_on`` (default: today)."""
    day = paid_on or clock.today()
    fine, surcharge = cases.amount_due(case_id, day)
    return schemas.AmountDueOut(paid_on=day, fine_fen=fine, surcharge_fen=surcharge, total_fen=fine + surcharge)


# ---- the steps ---------------------------------------------------------------------------------------------
@router.post("/{case_id}/file", response_model=CaseOut)
def file_case(cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.StepIn) -> CaseOut:
    """立案: gives the case its number and starts the 90-day decision period."""
    return case_out(cases.handle(commands.FileCase(case_id, body.version), officer), unmasked=False)


@router.post("/{case_id}/party", response_model=CaseOut)
def confirm_party(
    cases: Cases, registry: Registry, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.PartyIn
) -> CaseOut:
    """身份确认: record who the party is. A merchant or site it names must be registered (404 naming it)."""
    registry.require_records(body.merchant_id, body.site_id)
    party = Party(**body.model_dump(exclude={"version", "reason"}))
    return case_out(
        cases.handle(commands.ConfirmParty(case_id, body.version, party, body.reason), officer), unmasked=False
    )


@router.post("/{case_id}/withdraw", response_model=CaseOut)
def withdraw(cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.ReasonIn) -> CaseOut:
    """不予立案: close a draft that will not become a case, with the reason."""
    return case_out(cases.handle(commands.Withdraw(case_id, body.version, body.reason), officer), unmasked=False)


@router.post("/{case_id}/rectification-notice", response_model=CaseOut)
def rectification_notice(
    cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.NoticeIn
) -> CaseOut:
    """责令改正, recorded as served (method and day): the rectification period runs from service. The party is
    also notified through the outbox when a mobile is known."""
    case = cases.handle(commands.IssueRectificationNotice(case_id, body.version, body.method, body.served_on), officer)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/recheck", response_model=CaseOut)
def recheck(cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.RecheckIn) -> CaseOut:
    """复查: from a later confirmed detection of the same camera and zone, or an inspection note."""
    case = cases.handle(
        commands.RecordRecheck(
            case_id, body.version, body.outcome, body.observed_on, body.detection_id, body.inspection_note
        ),
        officer,
    )
    return case_out(case, unmasked=False)


@router.post("/{case_id}/no-penalty-decision", response_model=CaseOut)
def no_penalty(cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.NoPenaltyIn) -> CaseOut:
    """不予行政处罚决定."""
    case = cases.handle(commands.DecideNoPenalty(case_id, body.version, body.ground, body.reason), officer)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/penalty-notice", response_model=CaseOut)
def penalty_notice(
    cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.PenaltyNoticeIn
) -> CaseOut:
    """行政处罚事先告知: the proposed fine must lie in the discretion band for the party's prior violations."""
    case = cases.handle(
        commands.IssuePenaltyNotice(case_id, body.version, body.proposed_fine_fen, body.method, body.served_on),
        officer,
    )
    return case_out(case, unmasked=False)


@router.post("/{case_id}/statement", response_model=CaseOut)
def statement(cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.StatementIn) -> CaseOut:
    """陈述申辩 received, before the statement deadline."""
    case = cases.handle(
        commands.RecordStatement(case_id, body.version, body.text, body.channel, body.received_on), officer
    )
    return case_out(case, unmasked=False)


@router.post("/{case_id}/statement-answer", response_model=CaseOut)
def statement_answer(
    cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.StatementAnswerIn
) -> CaseOut:
    """The answer to the statement; a revised fine may be lower, never higher."""
    case = cases.handle(
        commands.AnswerStatement(case_id, body.version, body.adopted, body.reply, body.revised_fine_fen), officer
    )
    return case_out(case, unmasked=False)


@router.post("/{case_id}/legal-review", response_model=CaseOut)
def request_legal_review(
    cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.FineIn
) -> CaseOut:
    """Send the proposed decision to 法制审核."""
    case = cases.handle(commands.RequestLegalReview(case_id, body.version, body.fine_fen), officer)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/legal-review/approve", response_model=CaseOut)
def approve_legal_review(
    cases: Cases, reviewer: LegalReviewer, case_id: schemas.IdInPath, body: schemas.OpinionIn
) -> CaseOut:
    case = cases.handle(commands.ApproveLegalReview(case_id, body.version, body.opinion), reviewer)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/legal-review/return", response_model=CaseOut)
def return_legal_review(
    cases: Cases, reviewer: LegalReviewer, case_id: schemas.IdInPath, body: schemas.ReasonIn
) -> CaseOut:
    case = cases.handle(commands.ReturnLegalReview(case_id, body.version, body.reason), reviewer)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/decision-extension", response_model=CaseOut)
def decision_extension(
    cases: Cases, head: ExtensionApprover, case_id: schemas.IdInPath, body: schemas.DecisionExtensionIn
) -> CaseOut:
    """延长办案期限: the agency's head (负责人, role supervisor) approves a longer decision period, with its reason
    and length in days; recorded as a case event naming who approved. Past the period a decision is refused
    (``decision_period_expired``) until such an extension is recorded."""
    case = cases.handle(commands.ExtendDecisionPeriod(case_id, body.version, body.days, body.reason), head)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/penalty-decision", response_model=CaseOut)
def penalty_decision(cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.FineIn) -> CaseOut:
    """行政处罚决定."""
    case = cases.handle(commands.DecidePenalty(case_id, body.version, body.fine_fen), officer)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/delivery", response_model=CaseOut)
def delivery(cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.DeliveryIn) -> CaseOut:
    """送达 of the decision; electronic delivery only with the party's consent."""
    case = cases.handle(commands.RecordDelivery(case_id, body.version, body.method, body.delivered_on), officer)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/payment", response_model=CaseOut)
def payment(cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.PaymentIn) -> CaseOut:
    """The amount must equal the fine plus any late surcharge on the day paid."""
    case = cases.handle(commands.RecordPayment(case_id, body.version, body.amount_fen, body.paid_on), officer)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/enforcement", response_model=CaseOut)
def enforcement(cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.ReasonIn) -> CaseOut:
    """Unpaid after the payment deadline: apply to the people's court for enforcement (第七十二条)."""
    return case_out(
        cases.handle(commands.ReferForEnforcement(case_id, body.version, body.reason), officer), unmasked=False
    )


@router.post("/{case_id}/close", response_model=CaseOut)
def close(cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.CloseIn) -> CaseOut:
    """结案."""
    return case_out(cases.handle(commands.CloseCase(case_id, body.version, body.reason), officer), unmasked=False)


@router.post("/{case_id}/publication", response_model=CaseOut)
def publication(cases: Cases, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.StepIn) -> CaseOut:
    """公示 of a penalty decision (due 7 working days after it)."""
    return case_out(cases.handle(commands.Publish(case_id, body.version), officer), unmasked=False)
