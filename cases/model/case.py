"""A case (案件) and its lifecycle, as an explicit state machine whose every step is a recorded event.

    draft ─file→ filed ─rectification notice→ notice_issued ─re-check→ corrected ─┬─no-penalty decision→ decided
                                                                     → persisting ─┤
                                                                                   └─pre-penalty notice→
    penalty_notice_issued ─statement→ statement_filed ─answer→ statement_answered
        ─request legal review→ under_legal_review ─approve→ review_approved ─decide penalty→ decided
                                                  └─return→ review_returned ─(request again)
    decided ─delivery→ delivered ─payment→ paid ─close→ closed      (no-penalty: delivered ─close→ closed)
                       delivered ─unpaid after the deadline→ enforcement_requested ─(payment)→ paid / ─close→ closed
    draft ─withdraw (不予立案)→ closed;  review_returned ─new pre-penalty notice→ penalty_notice_issued
    Notices count their periods from the day they are served on the party, by a recorded method.

A penalty decision is also published (公示) within 7 working days of the decision; publication is recorded on
the case beside the stages, because its period runs from the decision, not from closing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cases.errors import (
    ConsentRequired,
    DeadlineNotReached,
    DeadlinePassed,
    DecisionPeriodExpired,
    FineOutsideRange,
    FourEyesViolation,
    IllegalTransition,
    InvalidInput,
    PartyNotConfirmed,
)
from cases.law import Law, Violation
from cases.law.calendar import Deadline
from cases.law.config import DayUnit, Period
from cases.messages import Term
from cases.model.registry import id_card_birth_date, is_valid_id_card, is_valid_uscc, require_mobile
from cases.model.staff import Act, Role


class CaseStatus(StrEnum):
    DRAFT = "draft"
    FILED = "filed"  # 立案
    NOTICE_ISSUED = "notice_issued"  # 责令改正通知 issued, rectification deadline running
    CORRECTED = "corrected"  # re-check found it corrected
    PERSISTING = "persisting"  # re-check found it persisting
    PENALTY_NOTICE_ISSUED = "penalty_notice_issued"  # 行政处罚事先告知
    STATEMENT_FILED = "statement_filed"  # 陈述申辩 received
    STATEMENT_ANSWERED = "statement_answered"
    UNDER_LEGAL_REVIEW = "under_legal_review"  # 法制审核
    REVIEW_APPROVED = "review_approved"
    REVIEW_RETURNED = "review_returned"
    DECIDED = "decided"  # 处罚决定 or 不予处罚决定
    DELIVERED = "delivered"  # 送达
    ENFORCEMENT_REQUESTED = "enforcement_requested"  # unpaid after the deadline: 申请人民法院强制执行 (第七十二条)
    PAID = "paid"
    CLOSED = "closed"  # 结案 (also: a draft withdrawn, 不予立案)


S = CaseStatus
_BEFORE_DECISION = frozenset(
    {
        S.FILED,
        S.NOTICE_ISSUED,
        S.CORRECTED,
        S.PERSISTING,
        S.PENALTY_NOTICE_ISSUED,
        S.STATEMENT_FILED,
        S.STATEMENT_ANSWERED,
        S.REVIEW_RETURNED,
    }
)
# Stages in which the 90-day decision period (第六十条) is still running.
AWAITING_DECISION = _BEFORE_DECISION | {S.UNDER_LEGAL_REVIEW, S.REVIEW_APPROVED}
# Which stages each action may start from. Anything else is an IllegalTransition.
ALLOWED_FROM: dict[str, frozenset[CaseStatus]] = {
    "withdraw": frozenset({S.DRAFT}),
    "file": frozenset({S.DRAFT}),
    "confirm_party": frozenset({S.DRAFT, S.FILED}),
    "issue_rectification_notice": frozenset({S.FILED}),
    "record_recheck": frozenset({S.NOTICE_ISSUED}),
    "note_automatic_recheck": frozenset({S.NOTICE_ISSUED}),
    "decide_no_penalty": _BEFORE_DECISION | {S.REVIEW_APPROVED},
    "issue_penalty_notice": frozenset({S.CORRECTED, S.PERSISTING, S.REVIEW_RETURNED}),
    "record_statement": frozenset({S.PENALTY_NOTICE_ISSUED}),
    "answer_statement": frozenset({S.STATEMENT_FILED}),
    "request_legal_review": frozenset({S.PENALTY_NOTICE_ISSUED, S.STATEMENT_ANSWERED, S.REVIEW_RETURNED}),
    "approve_legal_review": frozenset({S.UNDER_LEGAL_REVIEW}),
    "return_legal_review": frozenset({S.UNDER_LEGAL_REVIEW}),
    "decide_penalty": frozenset({S.PENALTY_NOTICE_ISSUED, S.STATEMENT_ANSWERED, S.REVIEW_APPROVED}),
    "record_delivery": frozenset({S.DECIDED}),
    "refer_for_enforcement": frozenset({S.DELIVERED}),
    "record_payment": frozenset({S.DELIVERED, S.ENFORCEMENT_REQUESTED}),
    "close": frozenset({S.DELIVERED, S.PAID, S.ENFORCEMENT_REQUESTED}),
    "publish": frozenset({S.DECIDED, S.DELIVERED, S.ENFORCEMENT_REQUESTED, S.PAID, S.CLOSED}),
    "consent_to_e_delivery": frozenset(set(S) - {S.DRAFT, S.CLOSED}),
    "extend_decision_period": AWAITING_DECISION,
}


class PartyKind(StrEnum):
    MERCHANT = "merchant"
    SITE = "site"  # the contractor of a registered site
    INDIVIDUAL = "individual"  # a person, identified by ID card number
    ORGANISATION = "organisation"  # identified by unified social credit code


class RecheckOutcome(StrEnum):
    CORRECTED = "corrected"
    PERSISTING = "persisting"


class DecisionKind(StrEnum):
    PENALTY = "penalty"
    NO_PENALTY = "no_penalty"


class NoPenaltyGround(StrEnum):
    FIRST_OFFENCE = "first_offence"  # 初次违法且危害后果轻微并及时改正 (第三十三条第一款)
    MINOR_CORRECTED = "minor_corrected"  # 违法行为轻微并及时改正，没有造成危害后果 (第三十三条第一款)
    NOT_ESTABLISHED = "not_established"  # 违法事实不能成立 (第五十七条第一款第三项)


class DeliveryMethod(StrEnum):
    DIRECT = "direct"  # 直接送达
    POSTAL = "postal"  # 邮寄送达
    ELECTRONIC = "electronic"  # 电子送达: only with the party's signed consent (规定第十三条)
    PUBLIC_NOTICE = "public_notice"  # 公告送达


class StageDeadline(StrEnum):
    RECTIFICATION = "rectification"
    STATEMENT = "statement"
    DELIVERY = "delivery"
    PAYMENT = "payment"


@dataclass(frozen=True)
class Party:
    """当事人, confirmed by an officer or taken from the registry the zone links to."""

    kind: PartyKind
    name: str
    id_number: str  # ID card number (individual) or unified social credit code
    contact: str | None = None  # mobile
    address: str | None = None
    merchant_id: int | None = None
    site_id: int | None = None
    e_delivery_consent: bool = False
    consent_document_ref: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise InvalidInput(variant="party_name_empty")
        if self.kind is PartyKind.INDIVIDUAL:
            if not is_valid_id_card(self.id_number):
                raise InvalidInput(variant="party_id_card", id_number=self.id_number)
        elif not is_valid_uscc(self.id_number):
            raise InvalidInput(variant="party_uscc", id_number=self.id_number)
        require_mobile(self.contact, "party contact")
        if self.e_delivery_consent and not self.consent_document_ref:
            raise InvalidInput(variant="consent_document")

    @property
    def is_individual(self) -> bool:
        return self.kind is PartyKind.INDIVIDUAL


@dataclass
class CaseEvent:
    """One recorded step of a case: who, in which role, when, from which stage to which, why, and the details."""

    seq: int
    at: dt.datetime
    actor: str
    role: str
    action: str
    from_status: str | None
    to_status: str
    reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    case_id: int | None = None
    id: int | None = None


@dataclass
class Case:
    violation_code: str
    camera_id: int  # the place, for the re-check: same camera and zone
    zone_id: int
    subject_kind: str  # merchant / site / unknown
    subject_ref: str | None
    officer: str  # the case officer who handles it
    created_at: dt.datetime
    status: CaseStatus = CaseStatus.DRAFT
    number: str | None = None
    # the party (当事人)
    party_kind: PartyKind | None = None
    party_name: str | None = None
    party_id_number: str | None = None
    party_contact: str | None = None
    party_address: str | None = None
    party_merchant_id: int | None = None
    party_site_id: int | None = None
    party_e_delivery_consent: bool = False
    party_consent_document_ref: str | None = None
    violation_on: dt.date | None = None  # the local day the violation was first seen: priors count before it
    # filing and the notice to correct
    filed_on: dt.date | None = None
    decision_due: dt.date | None = None
    rectification_served_on: dt.date | None = None
    rectification_service_method: DeliveryMethod | None = None
    rectification_deadline: dt.date | None = None
    recheck_outcome: RecheckOutcome | None = None
    recheck_on: dt.date | None = None
    # pre-penalty notice, statement and defence
    prior_violations: int | None = None
    fine_tier: str | None = None
    fine_band_min_fen: int | None = None
    fine_band_max_fen: int | None = None
    proposed_fine_fen: int | None = None
    penalty_notice_served_on: dt.date | None = None
    penalty_notice_service_method: DeliveryMethod | None = None
    fine_ceiling_fen: int | None = None  # the most the decision may say: never more after a defence
    statement_deadline: dt.date | None = None
    hearing_deadline: dt.date | None = None
    statement_text: str | None = None
    statement_adopted: bool | None = None
    # legal review
    review_fine_fen: int | None = None
    review_requested_by: str | None = None
    legal_reviewer: str | None = None
    # decision, delivery, payment, publication
    decision_kind: DecisionKind | None = None
    no_penalty_ground: NoPenaltyGround | None = None
    fine_fen: int | None = None
    decided_on: dt.date | None = None
    decided_by: str | None = None
    delivery_due: dt.date | None = None
    delivered_on: dt.date | None = None
    delivery_method: DeliveryMethod | None = None
    payment_due: dt.date | None = None
    paid_on: dt.date | None = None
    amount_paid_fen: int | None = None
    surcharge_fen: int | None = None
    publication_due: dt.date | None = None
    published_on: dt.date | None = None
    closed_on: dt.date | None = None
    # the deadline of the current stage, kept for the overdue queries
    stage_deadline: dt.date | None = None
    stage_deadline_kind: StageDeadline | None = None
    events: list[CaseEvent] = field(default_factory=list)
    id: int | None = None
    version: int = field(default=0, compare=False)

    # ---- the party -------------------------------------------------------------------------------------
    @property
    def party(self) -> Party | None:
        if self.party_kind is None or self.party_name is None or self.party_id_number is None:
            return None
        return Party(
            kind=self.party_kind,
            name=self.party_name,
            id_number=self.party_id_number,
            contact=self.party_contact,
            address=self.party_address,
            merchant_id=self.party_merchant_id,
            site_id=self.party_site_id,
            e_delivery_consent=self.party_e_delivery_consent,
            consent_document_ref=self.party_consent_document_ref,
        )

    def _set_party(self, party: Party) -> None:
        self.party_kind = party.kind
        self.party_name = party.name
        self.party_id_number = party.id_number
        self.party_contact = party.contact
        self.party_address = party.address
        self.party_merchant_id = party.merchant_id
        self.party_site_id = party.site_id
        self.party_e_delivery_consent = party.e_delivery_consent
        self.party_consent_document_ref = party.consent_document_ref

    # ---- the steps --------------------------------------------------------------------------------------
    @classmethod
    def open_draft(
        cls,
        act: Act,
        *,
        violation_code: str,
        camera_id: int,
        zone_id: int,
        subject_kind: str,
        subject_ref: str | None,
        detection_ids: list[int],
        party: Party | None,
        violation_on: dt.date,
    ) -> Case:
        case = cls(
            violation_code=violation_code,
            violation_on=violation_on,
            camera_id=camera_id,
            zone_id=zone_id,
            subject_kind=subject_kind,
            subject_ref=subject_ref,
            officer=act.actor,
            created_at=act.at,
        )
        if party is not None:
            case._set_party(party)
        case._record(
            act,
            "open_draft",
            None,
            CaseStatus.DRAFT,
            payload={"detection_ids": detection_ids, "party_from_registry": party is not None},
        )
        return case

    def withdraw(self, act: Act, reason: str) -> None:
        """不予立案: a draft that will not become a case (the vendor cannot be identified, the evidence does not
        hold up). Its detections stay linked to it, as the record of why."""
        before = self._require("withdraw")
        if not reason.strip():
            raise InvalidInput(variant="withdraw_reason")
        self.closed_on = act.today
        self._record(act, "withdraw", before, CaseStatus.CLOSED, reason)

    def file(self, act: Act, law: Law, number: str) -> None:
        """立案: the 90-day period for the decision starts."""
        before = self._require("file")
        self.number = number
        self.filed_on = act.today
        due = law.deadline(act.today, law.config.deadlines.filing_to_decision)
        self.decision_due = due.due
        self._record(act, "file", before, CaseStatus.FILED, payload={"number": number, **_due(due, "decision")})

    def confirm_party(self, act: Act, party: Party, reason: str | None = None) -> None:
        """身份确认: record who the party is (a street vendor's identity, or a correction of the registry's)."""
        before = self._require("confirm_party")
        if party.is_individual:
            born = id_card_birth_date(party.id_number)
            if born is None or born > act.today:
                raise InvalidInput(variant="party_id_card_birth", id_number=party.id_number,
                                   born=f"{party.id_number[6:10]}-{party.id_number[10:12]}-{party.id_number[12:14]}")  # fmt: skip
        previous = self.party
        self._set_party(party)
        self._record(
            act, "confirm_party", before, before, reason, {"party": _identity(party), "previous": _identity(previous)}
        )

    def issue_rectification_notice(
        self, act: Act, law: Law, method: DeliveryMethod, served_on: dt.date | None = None
    ) -> Deadline:
        """责令改正, recorded once served on the party: the rectification period runs from the day of service."""
        before = self._require("issue_rectification_notice")
        self._require_party()
        served = self._served(act, method, served_on)
        deadline = law.deadline(served, law.violation(self.violation_code).rectification)
        self.rectification_served_on, self.rectification_service_method = served, method
        self.rectification_deadline = deadline.due
        self._set_stage_deadline(StageDeadline.RECTIFICATION, deadline.due)
        payload = {"method": method.value, "served_on": served.isoformat(), **_due(deadline)}
        self._record(act, "issue_rectification_notice", before, CaseStatus.NOTICE_ISSUED, None, payload)
        return deadline

    def record_recheck(
        self, act: Act, outcome: RecheckOutcome, observed_on: dt.date, source: str, note: str | None = None
    ) -> None:
        """复查: the same camera and zone after the deadline (or a manual inspection) shows the outcome; the
        officer's note (复查记录) is the event's reason, so the timeline shows it.

        A violation can only be found persisting once the rectification deadline has passed.
        """
        before = self._require("record_recheck")
        assert self.rectification_deadline is not None
        if observed_on > act.today:
            raise InvalidInput(variant="recheck_in_future", observed_on=observed_on)
        if self.rectification_served_on is not None and observed_on < self.rectification_served_on:
            raise InvalidInput(variant="recheck_before_notice", observed_on=observed_on,
                               served_on=self.rectification_served_on)  # fmt: skip
        if outcome is RecheckOutcome.PERSISTING and observed_on <= self.rectification_deadline:
            raise DeadlineNotReached(variant="recheck", until=self.rectification_deadline, observed_on=observed_on)
        self.recheck_outcome = outcome
        self.recheck_on = observed_on
        self._clear_stage_deadline()
        target = CaseStatus.CORRECTED if outcome is RecheckOutcome.CORRECTED else CaseStatus.PERSISTING
        self._record(
            act,
            "record_recheck",
            before,
            target,
            (note or "").strip() or None,
            {"observed_on": observed_on.isoformat(), "source": source},
        )

    def note_automatic_recheck(self, act: Act, present: bool, details: dict[str, Any]) -> None:
        """自动复查: once the rectification deadline has passed, the service looks again at the same camera and
        zone. The result is noted on the case, stage unchanged, for the officer to confirm with
        ``record_recheck``: a machine's look is not the agency's finding."""
        before = self._require("note_automatic_recheck")
        if self.rectification_deadline is None or act.today <= self.rectification_deadline:
            raise DeadlineNotReached(variant="rectification", until=self.rectification_deadline)
        self._record(act, "automatic_recheck", before, before, None, {"present": present} | details)

    @property
    def automatic_recheck(self) -> dict[str, Any] | None:
        """The latest automatic re-check waiting for the officer: noted after the notice and not yet followed by
        the officer's own re-check."""
        for event in reversed(self.events):
            if event.action == "automatic_recheck":
                return event.payload | {"at": event.at.isoformat()}
            if event.action in ("record_recheck", "issue_rectification_notice"):
                return None
        return None

    def extend_decision_period(self, act: Act, law: Law, days: int, reason: str) -> Deadline:
        """延长办案期限: the agency's head (负责人) approves a longer period for the decision (第六十条), with its
        reason and length in calendar days; the decision is due that much later. Recorded with who approved."""
        before = self._require("extend_decision_period")
        rule = law.config.deadlines.decision_extension
        if act.role is not Role.SUPERVISOR:
            raise IllegalTransition(variant="extension_by_head")
        if not reason.strip():
            raise InvalidInput(variant="extension_reason")
        if not 1 <= days <= rule.max_days:
            raise InvalidInput(
                variant="extension_days", max_days=rule.max_days, legal_source=rule.legal_source, days=days
            )
        assert self.decision_due is not None
        previous = self.decision_due
        deadline = law.deadline(
            previous, Period(count=days, unit=DayUnit.CALENDAR_DAYS, legal_source=rule.legal_source)
        )
        self.decision_due = deadline.due
        payload = {
            "days": days,
            "previous_due": previous.isoformat(),
            "approved_by": act.actor,
            "approved_after_expiry": act.today > previous,  # the record says when the head approved it late
            **_due(deadline, "decision"),
        }
        self._record(act, "extend_decision_period", before, before, reason, payload)
        return deadline

    def decision_period_days_left(self, today: dt.date) -> int | None:
        """Days until the decision period ends (negative once it has), while a decision is awaited."""
        if self.decision_due is None or self.status not in AWAITING_DECISION:
            return None
        return (self.decision_due - today).days

    def decide_no_penalty(
        self, act: Act, law: Law, ground: NoPenaltyGround, reason: str, prior_violations: int
    ) -> None:
        """不予行政处罚: corrected first or minor violations (第三十三条), or facts not established."""
        before = self._require("decide_no_penalty")
        if not reason.strip():
            raise InvalidInput(variant="no_penalty_reason")
        corrected = self.recheck_outcome is RecheckOutcome.CORRECTED
        if ground in (NoPenaltyGround.FIRST_OFFENCE, NoPenaltyGround.MINOR_CORRECTED) and not corrected:
            raise IllegalTransition(variant="no_penalty_needs_correction", ground=Term(f"term.ground.{ground.value}"))
        if ground is NoPenaltyGround.FIRST_OFFENCE and prior_violations > 0:
            raise IllegalTransition(variant="not_first_offence", prior=prior_violations)
        self._require_decision_period(act.today)
        self.prior_violations = prior_violations
        self._decide(act, law, DecisionKind.NO_PENALTY, None, ground)
        self._record(act, "decide_no_penalty", before, CaseStatus.DECIDED, reason, {"ground": ground.value})

    def issue_penalty_notice(
        self,
        act: Act,
        law: Law,
        proposed_fine_fen: int,
        prior_violations: int,
        method: DeliveryMethod,
        served_on: dt.date | None = None,
    ) -> None:
        """行政处罚事先告知 (第四十四条): facts, basis, proposed fine and rights, with the statement deadline.

        The proposed fine must lie in the discretion band for the party's prior violations.
        """
        before = self._require("issue_penalty_notice")
        self._require_party()
        violation = law.violation(self.violation_code)
        corrected = self.recheck_outcome is RecheckOutcome.CORRECTED
        if corrected and prior_violations == 0 and violation.first_offence_exempt:
            raise IllegalTransition(variant="first_offence_exempt", violation=violation.name)
        if (
            self.statement_text is not None
            and self.fine_ceiling_fen is not None
            and proposed_fine_fen > self.fine_ceiling_fen
        ):
            raise FineOutsideRange(variant="after_statement", ceiling=_yuan(self.fine_ceiling_fen))
        band = law.fine_band(violation, prior_violations)
        if not band.allows(proposed_fine_fen):
            raise FineOutsideRange(
                variant="band",
                fine=_yuan(proposed_fine_fen),
                tier=band.tier,
                band_min=_yuan(band.min_fen),
                band_max=_yuan(band.max_fen),
                prior=prior_violations,
            )
        served = self._served(act, method, served_on)
        deadlines = law.config.deadlines
        statement = law.deadline(served, deadlines.statement)
        hearing = law.deadline(served, deadlines.hearing_request)
        self.penalty_notice_served_on, self.penalty_notice_service_method = served, method
        self.review_fine_fen = self.review_requested_by = self.legal_reviewer = None
        self.prior_violations = prior_violations
        self.fine_tier = band.tier
        self.fine_band_min_fen, self.fine_band_max_fen = band.min_fen, band.max_fen
        self.proposed_fine_fen = self.fine_ceiling_fen = proposed_fine_fen
        self.statement_deadline = statement.due
        self.hearing_deadline = hearing.due if self._hearing_right(law, proposed_fine_fen) else None
        self._set_stage_deadline(StageDeadline.STATEMENT, statement.due)
        self._record(
            act,
            "issue_penalty_notice",
            before,
            CaseStatus.PENALTY_NOTICE_ISSUED,
            None,
            {
                "proposed_fine_fen": proposed_fine_fen,
                "method": method.value,
                "served_on": served.isoformat(),
                "tier": band.tier,
                "prior_violations": prior_violations,
                "statement_deadline": statement.due.isoformat(),
                "hearing_deadline": self.hearing_deadline.isoformat() if self.hearing_deadline else None,
            },
        )

    def consent_to_e_delivery(self, act: Act, reference: str) -> None:
        """The party consents to electronic delivery (规定第十三条) on the party page: later documents may be
        delivered electronically. Recorded with the reference of the consent, stage unchanged."""
        before = self._require("consent_to_e_delivery")
        self._require_party()
        if not reference.strip():
            raise InvalidInput(variant="consent_reference")
        if self.party_e_delivery_consent:
            raise InvalidInput(variant="consent_already")
        self.party_e_delivery_consent = True
        self.party_consent_document_ref = reference
        self._record(act, "e_delivery_consent", before, before, None, {"reference": reference})

    def record_statement(
        self,
        act: Act,
        text: str,
        channel: str,
        received_on: dt.date | None = None,
        attachments_package_id: str | None = None,
    ) -> None:
        """陈述申辩 received (online, in person, or by post: then the day it was sent, which counts)."""
        before = self._require("record_statement")
        assert self.statement_deadline is not None
        assert self.penalty_notice_served_on is not None
        received = received_on or act.today
        if not text.strip():
            raise InvalidInput(variant="statement_empty")
        if not self.penalty_notice_served_on <= received <= act.today:
            raise InvalidInput(variant="statement_received_on", received_on=received)
        if received > self.statement_deadline:
            raise DeadlinePassed(variant="statement", deadline=self.statement_deadline)
        self.statement_text = text
        self._clear_stage_deadline()
        payload: dict[str, Any] = {"channel": channel, "received_on": received.isoformat()}
        if attachments_package_id is not None:
            payload["attachments_package_id"] = attachments_package_id  # sealed as evidence
        self._record(act, "record_statement", before, CaseStatus.STATEMENT_FILED, None, payload)

    def answer_statement(
        self, act: Act, law: Law, adopted: bool, reply: str, revised_fine_fen: int | None = None
    ) -> None:
        """复核 of the statement: adopt it where it holds; the fine may never rise because of it (第四十五条), and a
        revised fine stays within the legal range, or no decision could ever be made under it."""
        before = self._require("answer_statement")
        assert self.proposed_fine_fen is not None
        if not reply.strip():
            raise InvalidInput(variant="answer_reason")
        ceiling = self.proposed_fine_fen
        if revised_fine_fen is not None:
            if revised_fine_fen > self.proposed_fine_fen:
                raise FineOutsideRange(
                    variant="raised_by_defence", revised=_yuan(revised_fine_fen), proposed=_yuan(self.proposed_fine_fen)
                )
            if revised_fine_fen <= 0:
                raise FineOutsideRange(variant="revised_not_positive")
            self._require_fine_allowed(law, revised_fine_fen)
            ceiling = revised_fine_fen
        self.statement_adopted = adopted
        self.fine_ceiling_fen = ceiling
        self._record(
            act,
            "answer_statement",
            before,
            CaseStatus.STATEMENT_ANSWERED,
            reply,
            {"adopted": adopted, "fine_ceiling_fen": ceiling},
        )

    def request_legal_review(self, act: Act, law: Law, fine_fen: int) -> None:
        """Send the proposed decision to 法制审核 (第五十八条)."""
        before = self._require("request_legal_review")
        self._require_rights_periods_over(act.today)
        self._require_fine_allowed(law, fine_fen)
        self.review_fine_fen = fine_fen
        self.review_requested_by = act.actor
        self.legal_reviewer = None
        self._clear_stage_deadline()
        self._record(act, "request_legal_review", before, CaseStatus.UNDER_LEGAL_REVIEW, None, {"fine_fen": fine_fen})

    def approve_legal_review(self, act: Act, opinion: str) -> None:
        before = self._require("approve_legal_review")
        self._require_four_eyes(act)
        self.legal_reviewer = act.actor
        self._record(
            act,
            "approve_legal_review",
            before,
            CaseStatus.REVIEW_APPROVED,
            opinion,
            {"fine_fen": self.review_fine_fen},
        )

    def return_legal_review(self, act: Act, reason: str) -> None:
        before = self._require("return_legal_review")
        self._require_four_eyes(act)
        if not reason.strip():
            raise InvalidInput(variant="return_reason")
        self.legal_reviewer = act.actor
        self._record(act, "return_legal_review", before, CaseStatus.REVIEW_RETURNED, reason)

    def decide_penalty(self, act: Act, law: Law, fine_fen: int) -> None:
        """行政处罚决定: within the ceiling, and after legal review where the law requires it."""
        before = self._require("decide_penalty")
        self._require_rights_periods_over(act.today)
        self._require_fine_allowed(law, fine_fen)
        if before is S.REVIEW_APPROVED:
            if fine_fen != self.review_fine_fen:
                raise FineOutsideRange(variant="review_fine", approved=_yuan(self.review_fine_fen or 0))
        elif law.needs_legal_review(fine_fen):
            raise IllegalTransition(variant="needs_legal_review", fine=_yuan(fine_fen))
        self._require_decision_period(act.today)
        self._decide(act, law, DecisionKind.PENALTY, fine_fen, None)
        self._record(act, "decide_penalty", before, CaseStatus.DECIDED, None, {"fine_fen": fine_fen})

    def record_delivery(self, act: Act, law: Law, method: DeliveryMethod, delivered_on: dt.date) -> None:
        """送达 of the decision; electronic delivery only with the party's signed consent."""
        before = self._require("record_delivery")
        assert self.decided_on is not None
        if not self.decided_on <= delivered_on <= act.today:
            raise InvalidInput(variant="delivery_date", delivered_on=delivered_on, decided_on=self.decided_on)
        if method is DeliveryMethod.ELECTRONIC and not self.party_e_delivery_consent:
            raise ConsentRequired(variant="delivery")
        self.delivery_method = method
        self.delivered_on = delivered_on
        late = self.delivery_due is not None and delivered_on > self.delivery_due
        payload: dict[str, Any] = {"method": method.value, "delivered_on": delivered_on.isoformat(), "late": late}
        if self.decision_kind is DecisionKind.PENALTY:
            due = law.deadline(delivered_on, law.config.deadlines.payment)
            self.payment_due = due.due
            self._set_stage_deadline(StageDeadline.PAYMENT, due.due)
            payload |= _due(due, "payment")
        else:
            self._clear_stage_deadline()
        self._record(act, "record_delivery", before, CaseStatus.DELIVERED, None, payload)

    def amount_due_fen(self, law: Law, paid_on: dt.date) -> tuple[int, int]:
        """(fine, late surcharge) owed if paid on the given day."""
        assert self.fine_fen is not None
        assert self.payment_due is not None
        return self.fine_fen, law.late_surcharge_fen(self.fine_fen, self.payment_due, paid_on)

    def record_payment(self, act: Act, law: Law, amount_fen: int, paid_on: dt.date) -> None:
        before = self._require("record_payment")
        if self.decision_kind is not DecisionKind.PENALTY:
            raise IllegalTransition(variant="nothing_to_pay")
        assert self.delivered_on is not None
        if not self.delivered_on <= paid_on <= act.today:
            raise InvalidInput(variant="payment_date", paid_on=paid_on, delivered_on=self.delivered_on)
        fine, surcharge = self.amount_due_fen(law, paid_on)
        if amount_fen != fine + surcharge:
            raise InvalidInput(
                variant="amount_due",
                amount=_yuan(amount_fen),
                paid_on=paid_on,
                fine=_yuan(fine),
                surcharge=_yuan(surcharge),
            )
        self.paid_on = paid_on
        self.amount_paid_fen = amount_fen
        self.surcharge_fen = surcharge
        self._clear_stage_deadline()
        self._record(
            act,
            "record_payment",
            before,
            CaseStatus.PAID,
            None,
            {"amount_fen": amount_fen, "surcharge_fen": surcharge},
        )

    def refer_for_enforcement(self, act: Act, reason: str) -> None:
        """The fine is unpaid after its deadline: 加处罚款 runs on, and the bureau applies to the people's court
        for enforcement (行政处罚法第七十二条, 行政强制法第五十三条). Payment can still be recorded later."""
        before = self._require("refer_for_enforcement")
        if self.decision_kind is not DecisionKind.PENALTY:
            raise IllegalTransition(variant="nothing_to_enforce")
        assert self.payment_due is not None
        if act.today <= self.payment_due:
            raise DeadlineNotReached(variant="payment", until=self.payment_due)
        if not reason.strip():
            raise InvalidInput(variant="enforcement_reason")
        self._clear_stage_deadline()
        self._record(act, "refer_for_enforcement", before, CaseStatus.ENFORCEMENT_REQUESTED, reason)

    def close(self, act: Act, reason: str | None = None) -> None:
        """结案: a paid penalty, a delivered no-penalty decision, or an enforcement that has ended."""
        before = self._require("close")
        if before is S.DELIVERED and self.decision_kind is DecisionKind.PENALTY:
            raise IllegalTransition(variant="not_paid")
        if before is S.ENFORCEMENT_REQUESTED and not (reason or "").strip():
            raise InvalidInput(variant="enforcement_outcome")
        self.closed_on = act.today
        self._clear_stage_deadline()
        self._record(act, "close", before, CaseStatus.CLOSED, reason)

    def publish(self, act: Act) -> None:
        """公示 of a penalty decision's redacted record, due 7 working days after the decision."""
        before = self._require("publish")
        if self.decision_kind is not DecisionKind.PENALTY:
            raise IllegalTransition(variant="publish_penalty_only")
        if self.published_on is not None:
            raise IllegalTransition(variant="already_published", published_on=self.published_on)
        self.published_on = act.today
        late = self.publication_due is not None and act.today > self.publication_due
        self._record(act, "publish", before, before, None, {"late": late})

    # ---- deadlines ----------------------------------------------------------------------------------------
    def open_deadlines(self) -> dict[str, dt.date]:
        """Every deadline still running: the decision's, the stage's, and publication's."""
        deadlines: dict[str, dt.date] = {}
        if self.decision_due is not None and self.status in _BEFORE_DECISION | {
            S.UNDER_LEGAL_REVIEW,
            S.REVIEW_APPROVED,
        }:
            deadlines["decision"] = self.decision_due
        if self.stage_deadline is not None and self.stage_deadline_kind is not None:
            deadlines[self.stage_deadline_kind.value] = self.stage_deadline
        if self.publication_due is not None and self.published_on is None:
            deadlines["publication"] = self.publication_due
        return deadlines

    # ---- rules shared by the steps ------------------------------------------------------------------------
    def _require(self, action: str) -> CaseStatus:
        allowed = ALLOWED_FROM[action]
        if self.status not in allowed:
            raise IllegalTransition(
                variant="stage",
                action=Term(f"term.action.{action}"),
                stage=Term(f"term.stage.{self.status.value}"),
                allowed=", ".join(sorted(s.value for s in allowed)),
            )
        return self.status

    def _served(self, act: Act, method: DeliveryMethod, served_on: dt.date | None) -> dt.date:
        """The day a notice reached the party: not before filing, not after today; electronically only with
        the party's signed consent (规定第十三条)."""
        served = served_on or act.today
        assert self.filed_on is not None
        if not self.filed_on <= served <= act.today:
            raise InvalidInput(variant="served_on", served_on=served, filed_on=self.filed_on)
        if method is DeliveryMethod.ELECTRONIC and not self.party_e_delivery_consent:
            raise ConsentRequired(variant="service")
        return served

    def _require_party(self) -> None:
        if self.party is None:
            raise PartyNotConfirmed()

    def _hearing_right(self, law: Law, fine_fen: int) -> bool:
        threshold = law.config.deadlines.hearing_threshold
        party = self.party
        limit = threshold.individual_yuan if party is not None and party.is_individual else threshold.organisation_yuan
        return fine_fen >= limit * 100

    def rights_periods_running(self, today: dt.date) -> DeadlineNotReached | None:
        """Why a decision (or its legal review) must wait today, or None: the statement period (unless a statement
        was answered) and any hearing-request period must be over first (第四十四条、第六十四条). The case page
        says so beside those steps before the officer fills them in."""
        if self.status is S.PENALTY_NOTICE_ISSUED and self.statement_deadline and today <= self.statement_deadline:
            return DeadlineNotReached(variant="statement", until=self.statement_deadline)
        if self.hearing_deadline and today <= self.hearing_deadline:
            return DeadlineNotReached(variant="hearing", until=self.hearing_deadline)
        return None

    def _require_rights_periods_over(self, today: dt.date) -> None:
        running = self.rights_periods_running(today)
        if running is not None:
            raise running

    def _require_fine_allowed(self, law: Law, fine_fen: int) -> None:
        violation: Violation = law.violation(self.violation_code)
        if not violation.fine_min_fen <= fine_fen <= violation.fine_max_fen:
            raise FineOutsideRange(
                variant="legal_range",
                fine=_yuan(fine_fen),
                range_min=_yuan(violation.fine_min_fen),
                range_max=_yuan(violation.fine_max_fen),
                basis=violation.penalty_basis,
            )
        if self.fine_ceiling_fen is not None and fine_fen > self.fine_ceiling_fen:
            raise FineOutsideRange(variant="above_notice", fine=_yuan(fine_fen), ceiling=_yuan(self.fine_ceiling_fen))

    def _require_four_eyes(self, act: Act) -> None:
        if act.actor in (self.officer, self.review_requested_by):
            raise FourEyesViolation(variant="own_case", actor=act.actor)

    def _require_decision_period(self, today: dt.date) -> None:
        """第六十条: the decision is made within the period from filing, or within an extension the agency's head
        approved (``extend_decision_period``); past it, no decision is recorded."""
        if self.decision_due is not None and today > self.decision_due:
            extended = any(event.action == "extend_decision_period" for event in self.events)
            raise DecisionPeriodExpired(variant="extended" if extended else "ended", due=self.decision_due)

    def _decide(
        self, act: Act, law: Law, kind: DecisionKind, fine_fen: int | None, ground: NoPenaltyGround | None
    ) -> None:
        """Record the decision and start the delivery (and publication) periods."""
        deadlines = law.config.deadlines
        self.decision_kind = kind
        self.fine_fen = fine_fen
        self.no_penalty_ground = ground
        self.decided_on = act.today
        self.decided_by = act.actor
        delivery = law.deadline(act.today, deadlines.decision_delivery)
        self.delivery_due = delivery.due
        self._set_stage_deadline(StageDeadline.DELIVERY, delivery.due)
        if kind is DecisionKind.PENALTY:
            self.publication_due = law.deadline(act.today, deadlines.publication).due

    def _set_stage_deadline(self, kind: StageDeadline, due: dt.date) -> None:
        self.stage_deadline_kind = kind
        self.stage_deadline = due

    def _clear_stage_deadline(self) -> None:
        self.stage_deadline_kind = None
        self.stage_deadline = None

    def _record(
        self,
        act: Act,
        action: str,
        before: CaseStatus | None,
        after: CaseStatus,
        reason: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self.status = after
        self.events.append(
            CaseEvent(
                seq=len(self.events) + 1,
                at=act.at,
                actor=act.actor,
                role=act.role.value,
                action=action,
                from_status=before.value if before is not None else None,
                to_status=after.value,
                reason=reason,
                payload=payload or {},
            )
        )


def _identity(party: Party | None) -> dict[str, Any] | None:
    if party is None:
        return None
    return {
        "kind": party.kind.value,
        "name": party.name,
        "id_number": party.id_number,
        "contact": party.contact,
        "merchant_id": party.merchant_id,
        "site_id": party.site_id,
    }


def _due(deadline: Deadline, name: str = "deadline") -> dict[str, Any]:
    return {f"{name}_due": deadline.due.isoformat(), f"{name}_provisional": deadline.provisional}


def _yuan(fen: int) -> str:
    return f"{fen / 100:.2f} 元"
