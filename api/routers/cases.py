"""Cases: open from confirmed detections, read, and drive through each lawful step.

Every step takes the ``version`` the caller read; if the case changed meanwhile the step is refused with 409.
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
from api.deps import CaseOfficer, CaseReader, ComponentsDep, ExtensionApprover, LegalReviewer, ReaderLanguage
from api.roles import Permission, allows
from api.views import case_out, detection_out
from cases.model.case import CaseStatus, Party

log = logging.getLogger("offsite.api")
router = APIRouter(prefix="/cases", tags=["cases"])
CaseOut = schemas.CaseOut
# the agency's head (负责人): approves a longer decision period


@router.post("", response_model=CaseOut, status_code=status.HTTP_201_CREATED)
def open_case(components: ComponentsDep, officer: CaseOfficer, body: schemas.OpenCaseIn) -> CaseOut:
    """A draft from confirmed detections of one subject at one place; the party comes from the registry link."""
    return case_out(components.cases.open_draft(body.detection_ids, officer), unmasked=False)


@router.get("", response_model=schemas.CasePageOut)
def list_cases(
    components: ComponentsDep,
    _reader: CaseReader,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    officer: schemas.CodeQuery = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> schemas.CasePageOut:
    """Newest first; party identity numbers and contacts are masked in lists."""
    cases, total = components.cases.find(status_, officer, offset, limit)
    return schemas.CasePageOut(
        items=[case_out(c, unmasked=False) for c in cases], total=total, offset=offset, limit=limit
    )


@router.get("/deadlines", response_model=list[schemas.DeadlineOut])
def deadlines(
    components: ComponentsDep, _reader: CaseReader, within_days: Annotated[int, Query(ge=0, le=365)] = 3
) -> list[schemas.DeadlineOut]:
    """两超期: running deadlines already past or due within ``within_days`` days, soonest first."""
    return [schemas.DeadlineOut.model_validate(item) for item in components.cases.deadlines(within_days)]


@router.get("/decision-period", response_model=list[schemas.DeadlineOut])
def decision_period_ending(
    components: ComponentsDep, _reader: CaseReader, within_days: Annotated[int | None, Query(ge=0, le=365)] = None
) -> list[schemas.DeadlineOut]:
    """Cases whose decision period (第六十条, as extended) has ended or ends within ``within_days`` days (default:
    ``decision_extension.warning_days`` of configs/deadlines.yaml), soonest first: past it, a decision needs an
    extension approved by the agency's head."""
    items = components.cases.decision_period_ending(within_days)
    return [schemas.DeadlineOut.model_validate(item) for item in items]


@router.get("/{case_id}", response_model=CaseOut)
def get_case(components: ComponentsDep, reader: CaseReader, case_id: schemas.IdInPath) -> CaseOut:
    """The whole case. The party's identity number and contact are shown to roles that may read personal
    data, and each such read is logged (规定第十六条)."""
    if allows(reader.role, Permission.READ_PERSONAL_DATA):
        return case_out(components.cases.read_with_party(case_id, reader, f"GET /cases/{case_id}"), unmasked=True)
    return case_out(components.cases.get(case_id), unmasked=False)


@router.get("/{case_id}/timeline", response_model=list[schemas.CaseEventOut])
def timeline(components: ComponentsDep, _reader: CaseReader, case_id: schemas.IdInPath) -> list[schemas.CaseEventOut]:
    return [schemas.CaseEventOut.model_validate(e) for e in components.cases.timeline(case_id)]


@router.get("/{case_id}/detections", response_model=list[schemas.DetectionOut])
def evidence(
    components: ComponentsDep, _reader: CaseReader, language: ReaderLanguage, case_id: schemas.IdInPath
) -> list[schemas.DetectionOut]:
    return [detection_out(d, language) for d in components.cases.detections_of(case_id)]


@router.get("/{case_id}/amount-due", response_model=schemas.AmountDueOut)
def amount_due(
    components: ComponentsDep, _reader: CaseReader, case_id: schemas.IdInPath, paid_on: dt.date | None = None
) -> schemas.AmountDueOut:
    """The fine and the late surcharge if paid on ``paid_on`` (default: today)."""
    day = paid_on or components.clock.today()
    fine, surcharge = components.cases.amount_due(case_id, day)
    return schemas.AmountDueOut(paid_on=day, fine_fen=fine, surcharge_fen=surcharge, total_fen=fine + surcharge)


# ---- the steps ---------------------------------------------------------------------------------------------
@router.post("/{case_id}/file", response_model=CaseOut)
def file_case(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.StepIn
) -> CaseOut:
    """立案: gives the case its number and starts the 90-day decision period."""
    return case_out(components.cases.file(case_id, officer, body.version), unmasked=False)


@router.post("/{case_id}/party", response_model=CaseOut)
def confirm_party(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.PartyIn
) -> CaseOut:
    """身份确认: record who the party is."""
    party = Party(**body.model_dump(exclude={"version", "reason"}))
    return case_out(components.cases.confirm_party(case_id, officer, body.version, party, body.reason), unmasked=False)


@router.post("/{case_id}/withdraw", response_model=CaseOut)
def withdraw(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.ReasonIn
) -> CaseOut:
    """不予立案: close a draft that will not become a case, with the reason."""
    return case_out(components.cases.withdraw(case_id, officer, body.version, body.reason), unmasked=False)


@router.post("/{case_id}/rectification-notice", response_model=CaseOut)
def rectification_notice(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.NoticeIn
) -> CaseOut:
    """责令改正, recorded as served (method and day): the rectification period runs from service. The party is
    also notified through the outbox when a mobile is known."""
    case = components.cases.issue_rectification_notice(case_id, officer, body.version, body.method, body.served_on)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/recheck", response_model=CaseOut)
def recheck(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.RecheckIn
) -> CaseOut:
    """复查: from a later confirmed detection of the same camera and zone, or an inspection note."""
    case = components.cases.record_recheck(
        case_id, officer, body.version, body.outcome, body.observed_on, body.detection_id, body.inspection_note
    )
    return case_out(case, unmasked=False)


@router.post("/{case_id}/no-penalty-decision", response_model=CaseOut)
def no_penalty(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.NoPenaltyIn
) -> CaseOut:
    """不予行政处罚决定."""
    case = components.cases.decide_no_penalty(case_id, officer, body.version, body.ground, body.reason)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/penalty-notice", response_model=CaseOut)
def penalty_notice(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.PenaltyNoticeIn
) -> CaseOut:
    """行政处罚事先告知: the proposed fine must lie in the discretion band for the party's prior violations."""
    case = components.cases.issue_penalty_notice(
        case_id, officer, body.version, body.proposed_fine_fen, body.method, body.served_on
    )
    return case_out(case, unmasked=False)


@router.post("/{case_id}/statement", response_model=CaseOut)
def statement(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.StatementIn
) -> CaseOut:
    """陈述申辩 received, before the statement deadline."""
    case = components.cases.record_statement(case_id, officer, body.version, body.text, body.channel, body.received_on)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/statement-answer", response_model=CaseOut)
def statement_answer(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.StatementAnswerIn
) -> CaseOut:
    """The answer to the statement; a revised fine may be lower, never higher."""
    case = components.cases.answer_statement(
        case_id, officer, body.version, body.adopted, body.reply, body.revised_fine_fen
    )
    return case_out(case, unmasked=False)


@router.post("/{case_id}/legal-review", response_model=CaseOut)
def request_legal_review(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.FineIn
) -> CaseOut:
    """Send the proposed decision to 法制审核."""
    case = components.cases.request_legal_review(case_id, officer, body.version, body.fine_fen)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/legal-review/approve", response_model=CaseOut)
def approve_legal_review(
    components: ComponentsDep, reviewer: LegalReviewer, case_id: schemas.IdInPath, body: schemas.OpinionIn
) -> CaseOut:
    case = components.cases.approve_legal_review(case_id, reviewer, body.version, body.opinion)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/legal-review/return", response_model=CaseOut)
def return_legal_review(
    components: ComponentsDep, reviewer: LegalReviewer, case_id: schemas.IdInPath, body: schemas.ReasonIn
) -> CaseOut:
    case = components.cases.return_legal_review(case_id, reviewer, body.version, body.reason)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/decision-extension", response_model=CaseOut)
def decision_extension(
    components: ComponentsDep, head: ExtensionApprover, case_id: schemas.IdInPath, body: schemas.DecisionExtensionIn
) -> CaseOut:
    """延长办案期限: the agency's head (负责人, role supervisor) approves a longer decision period, with its reason
    and length in days; recorded as a case event naming who approved. Past the period a decision is refused
    (``decision_period_expired``) until such an extension is recorded."""
    case = components.cases.extend_decision_period(case_id, head, body.version, body.days, body.reason)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/penalty-decision", response_model=CaseOut)
def penalty_decision(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.FineIn
) -> CaseOut:
    """行政处罚决定."""
    case = components.cases.decide_penalty(case_id, officer, body.version, body.fine_fen)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/delivery", response_model=CaseOut)
def delivery(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.DeliveryIn
) -> CaseOut:
    """送达 of the decision; electronic delivery only with the party's consent."""
    case = components.cases.record_delivery(case_id, officer, body.version, body.method, body.delivered_on)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/payment", response_model=CaseOut)
def payment(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.PaymentIn
) -> CaseOut:
    """The amount must equal the fine plus any late surcharge on the day paid."""
    case = components.cases.record_payment(case_id, officer, body.version, body.amount_fen, body.paid_on)
    return case_out(case, unmasked=False)


@router.post("/{case_id}/enforcement", response_model=CaseOut)
def enforcement(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.ReasonIn
) -> CaseOut:
    """Unpaid after the payment deadline: apply to the people's court for enforcement (第七十二条)."""
    return case_out(components.cases.refer_for_enforcement(case_id, officer, body.version, body.reason), unmasked=False)


@router.post("/{case_id}/close", response_model=CaseOut)
def close(components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.CloseIn) -> CaseOut:
    """结案."""
    return case_out(components.cases.close(case_id, officer, body.version, body.reason), unmasked=False)


@router.post("/{case_id}/publication", response_model=CaseOut)
def publication(
    components: ComponentsDep, officer: CaseOfficer, case_id: schemas.IdInPath, body: schemas.StepIn
) -> CaseOut:
    """公示 of a penalty decision (due 7 working days after it)."""
    return case_out(components.cases.publish(case_id, officer, body.version), unmasked=False)
