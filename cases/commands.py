"""A case step as one typed command: what the step needs, named, with the role that takes it.

The JSON API builds a command from a request body and the console from a form; both hand it to the one handler,
``CaseService.handle``, which checks the role and takes the step. What a step needs is said once, here, so the two
ways in cannot drift apart (a field the console forgot, a default the API took differently).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from cases.model.case import DeliveryMethod, NoPenaltyGround, Party, RecheckOutcome
from cases.model.staff import Role


@dataclass(frozen=True)
class CaseStep:
    """A step on a case as the caller read it (``version``: a changed case refuses the step)."""

    case_id: int
    version: int
    action: ClassVar[str]  # the case event's action, and the console's name for the step
    role: ClassVar[Role] = Role.OFFICER  # who takes it


@dataclass(frozen=True)
class FileCase(CaseStep):
    action = "file"


@dataclass(frozen=True)
class ConfirmParty(CaseStep):
    party: Party
    reason: str | None
    action = "confirm_party"


@dataclass(frozen=True)
class Withdraw(CaseStep):
    reason: str
    action = "withdraw"


@dataclass(frozen=True)
class IssueRectificationNotice(CaseStep):
    method: DeliveryMethod
    served_on: dt.date | None = None
    action = "issue_rectification_notice"


@dataclass(frozen=True)
class RecordRecheck(CaseStep):
    """From a later detection of the same camera and zone, or from an inspection's note (one of the two)."""

    outcome: RecheckOutcome
    observed_on: dt.date | None = None
    detection_id: int | None = None
    inspection_note: str | None = None
    action = "record_recheck"


@dataclass(frozen=True)
class DecideNoPenalty(CaseStep):
    ground: NoPenaltyGround
    reason: str
    action = "decide_no_penalty"


@dataclass(frozen=True)
class IssuePenaltyNotice(CaseStep):
    proposed_fine_fen: int
    method: DeliveryMethod
    served_on: dt.date | None = None
    action = "issue_penalty_notice"


@dataclass(frozen=True)
class RecordStatement(CaseStep):
    text: str
    channel: str
    received_on: dt.date | None = None
    action = "record_statement"


@dataclass(frozen=True)
class AnswerStatement(CaseStep):
    adopted: bool
    reply: str
    revised_fine_fen: int | None = None
    action = "answer_statement"


@dataclass(frozen=True)
class RequestLegalReview(CaseStep):
    fine_fen: int
    action = "request_legal_review"


@dataclass(frozen=True)
class ApproveLegalReview(CaseStep):
    opinion: str
    action = "approve_legal_review"
    role = Role.LEGAL_REVIEWER


@dataclass(frozen=True)
class ReturnLegalReview(CaseStep):
    reason: str
    action = "return_legal_review"
    role = Role.LEGAL_REVIEWER


@dataclass(frozen=True)
class DecidePenalty(CaseStep):
    fine_fen: int
    action = "decide_penalty"


@dataclass(frozen=True)
class RecordDelivery(CaseStep):
    method: DeliveryMethod
    delivered_on: dt.date
    action = "record_delivery"


@dataclass(frozen=True)
class ReferForEnforcement(CaseStep):
    reason: str
    action = "refer_for_enforcement"


@dataclass(frozen=True)
class RecordPayment(CaseStep):
    amount_fen: int
    paid_on: dt.date
    action = "record_payment"


@dataclass(frozen=True)
class CloseCase(CaseStep):
    reason: str | None = None
    action = "close"


@dataclass(frozen=True)
class Publish(CaseStep):
    action = "publish"


@dataclass(frozen=True)
class ExtendDecisionPeriod(CaseStep):
    """延长办案期限, approved by the agency's head (负责人)."""

    days: int
    reason: str
    action = "extend_decision_period"
    role = Role.SUPERVISOR


CaseCommand = (
    FileCase
    | ConfirmParty
    | Withdraw
    | IssueRectificationNotice
    | RecordRecheck
    | DecideNoPenalty
    | IssuePenaltyNotice
    | RecordStatement
    | AnswerStatement
    | RequestLegalReview
    | ApproveLegalReview
    | ReturnLegalReview
    | DecidePenalty
    | RecordDelivery
    | ReferForEnforcement
    | RecordPayment
    | CloseCase
    | Publish
    | ExtendDecisionPeriod
)
COMMANDS: dict[str, type[CaseStep]] = {
    command.action: command
    for command in (
        FileCase, ConfirmParty, Withdraw, IssueRectificationNotice, RecordRecheck, DecideNoPenalty, IssuePenaltyNotice,
        RecordStatement, AnswerStatement, RequestLegalReview, ApproveLegalReview, ReturnLegalReview, DecidePenalty,
        RecordDelivery, ReferForEnforcement, RecordPayment, CloseCase, Publish, ExtendDecisionPeriod,
    )
}  # fmt: skip
