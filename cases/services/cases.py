"""Cases: opened from confirmed detections, then driven step by step. Each step is one transaction that loads
the case, checks the caller's version, asks the domain, and commits the new stage with its recorded event."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, assert_never

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from cases import commands
from cases.clock import Clock
from cases.commands import CaseCommand
from cases.errors import (
    CameraNotCertified,
    IllegalTransition,
    InvalidInput,
    LawViolation,
    NotFound,
    NotListedForNonSite,
    ReviewRequired,
    ZoneNotRegistered,
)
from cases.law import Law
from cases.law.fines import FineBand
from cases.messages import Term
from cases.model.case import (
    AWAITING_DECISION,
    Case,
    CaseEvent,
    CaseStatus,
    DecisionKind,
    DeliveryMethod,
    NoPenaltyGround,
    Party,
    PartyKind,
    RecheckOutcome,
)
from cases.model.detection import Detection, DetectionStatus
from cases.model.registry import Camera, Merchant, Site, Zone, ZoneSubject, mask_identifier, mask_mobile
from cases.model.staff import Act, Role
from cases.persistence import tables
from cases.services import notifications
from cases.services.base import Actor, Service, check_version, get_or_404
from cases.services.registry import log_personal_data_read

C = tables.cases.c
# Keys under which a step's recorded details hold a person's identifiers (a confirmed party, the one it replaced).
IDENTITY_NUMBER_KEYS = frozenset({"id_number", "party_id_number", "uscc", "contractor_uscc"})
MOBILE_KEYS = frozenset({"contact", "party_contact", "mobile", "contact_phone"})
SYSTEM = Actor("system", Role.SYSTEM)  # the service acting on its own: the automatic re-check
log = logging.getLogger("offsite.cases")


@dataclass(frozen=True)
class DeadlineItem:
    case_id: int
    number: str | None
    status: CaseStatus
    officer: str
    deadline: str  # decision / rectification / statement / delivery / payment / publication
    due: dt.date
    overdue: bool


class DocumentIssuer(Protocol):
    """Renders and seals the document a step has just issued (a notice or a decision), inside the step's
    transaction, and records it there; raises ``DocumentNotIssued`` when it cannot, which rolls the step back.
    Wired by the composition root, which owns the evidence store: a notice is served only with its document."""

    def __call__(self, session: Session, case: Case) -> None: ...


class CaseService(Service):
    issuer: DocumentIssuer | None = None  # set by the composition root; None only where no document is wanted

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        law: Law,
        clock: Clock,
        number_prefix: str = "沪城管非现",
    ) -> None:
        super().__init__(session_factory, law, clock)
        self.number_prefix = number_prefix

    # ---- opening a case -------------------------------------------------------------------------------
    def open_draft(self, detection_ids: list[int], officer: Actor) -> Case:
        """A draft from one or more confirmed detections of the same subject at the same place."""
        if not detection_ids or len(set(detection_ids)) != len(detection_ids):
            raise InvalidInput(variant="detection_ids")
        act = self.clock.act(officer.username, officer.role)
        with self.transaction() as session:
            found = [get_or_404(session, Detection, ident, "detection") for ident in detection_ids]
            first = self._check_detections_may_open_a_case(session, found, act)
            if first.zone_id is None:  # confirmation links the zone; this guards the place a case is opened for
                raise ZoneNotRegistered(variant="detection", ident=first.id, zone=repr(first.unregistered_zone))
            zone = get_or_404(session, Zone, first.zone_id, "zone")
            case = Case.open_draft(
                act,
                violation_on=min(self.clock.local_date(d.first_seen) for d in found),
                violation_code=first.violation_code,
                camera_id=first.camera_id,
                zone_id=first.zone_id,
                subject_kind=first.subject_kind,
                subject_ref=first.subject_ref,
                detection_ids=detection_ids,
                party=self._party_from_registry(session, zone),
            )
            session.add(case)
            session.flush()
            for detection in found:
                detection.case_id = case.id
        return case

    def _check_detections_may_open_a_case(self, session: Session, found: list[Detection], act: Act) -> Detection:
        first = found[0]
        violation = self.law.violation(first.violation_code)
        if not violation.listed_for_non_site:
            raise NotListedForNonSite(variant="violation", violation=violation.name, violation_code=violation.code)
        for detection in found:
            if detection.status is not DetectionStatus.CONFIRMED:
                raise ReviewRequired(
                    variant="detection", ident=detection.id, status=Term(f"term.detection.{detection.status.value}")
                )
            if detection.case_id is not None:
                raise InvalidInput(variant="detection_in_case", ident=detection.id, case_id=detection.case_id)
            same = (
                detection.violation_code,
                detection.zone_id,
                detection.subject_kind,
                detection.subject_ref,
            )
            if same != (first.violation_code, first.zone_id, first.subject_kind, first.subject_ref):
                raise InvalidInput(variant="detections_differ", ident=detection.id, first=first.id)
            self._check_not_time_barred(detection)
            self._check_certified_at_capture(session, detection)
        return first

    def _check_not_time_barred(self, detection: Detection) -> None:
        """第三十六条: not discovered within two years of the day the violation ended."""
        ended_on = self.clock.local_date(detection.last_seen)
        discovered_on = self.clock.local_date(detection.received_at)
        if ended_on < self.law.limitation_start(discovered_on):
            raise LawViolation(
                variant="time_barred", ident=detection.id, ended_on=ended_on, discovered_on=discovered_on
            )

    def _check_certified_at_capture(self, session: Session, detection: Detection) -> None:
        """第四十一条: the camera's certification as it stood when the evidence was captured, recorded at intake;
        a later review or maintenance neither cures nor spoils it."""
        camera = get_or_404(session, Camera, detection.camera_id, "camera")
        captured_on = self.clock.local_date(detection.first_seen)
        problems = detection.certification_problems
        if problems is None:  # no snapshot recorded at intake: judge by the camera's record now
            problems = camera.certification_problems(captured_on)
        if problems:
            raise CameraNotCertified(
                variant="at_capture", device_id=camera.device_id, captured_on=captured_on, problems=problems
            )

    @staticmethod
    def _party_from_registry(session: Session, zone: Zone) -> Party | None:
        """The zone's registry link names the party, when the registry holds a valid credit code for it."""
        if zone.subject is ZoneSubject.MERCHANT and zone.merchant_id is not None:
            merchant = get_or_404(session, Merchant, zone.merchant_id, "merchant")
            if merchant.uscc is None:
                return None
            return Party(
                kind=PartyKind.MERCHANT,
                name=merchant.name,
                id_number=merchant.uscc,
                contact=merchant.mobile,
                address=merchant.address,
                merchant_id=merchant.id,
                e_delivery_consent=merchant.e_delivery_consent,
                consent_document_ref=merchant.consent_document_ref,
            )
        if zone.subject is ZoneSubject.SITE and zone.site_id is not None:
            site = get_or_404(session, Site, zone.site_id, "site")
            if site.contractor_uscc is None:
                return None
            return Party(
                kind=PartyKind.SITE,
                name=site.contractor,
                id_number=site.contractor_uscc,
                contact=site.contact_phone,
                address=site.address,
                site_id=site.id,
            )
        return None

    # ---- the steps --------------------------------------------------------------------------------------
    def handle(self, command: CaseCommand, actor: Actor) -> Case:
        """The one handler of a case step, whoever asks (the JSON API, the console): the step's role, then the step."""
        if actor.role is not command.role:
            raise IllegalTransition(
                variant="step_role",
                step=Term(f"term.action.{command.action}"),
                role=Term(f"term.role.{command.role.value}"),
            )
        c, v = command.case_id, command.version
        match command:
            case commands.FileCase():
                return self.file(c, actor, v)
            case commands.ConfirmParty(party=party, reason=reason):
                return self.confirm_party(c, actor, v, party, reason)
            case commands.Withdraw(reason=reason):
                return self.withdraw(c, actor, v, reason)
            case commands.IssueRectificationNotice(method=method, served_on=served_on):
                return self.issue_rectification_notice(c, actor, v, method, served_on)
            case commands.RecordRecheck():
                return self.record_recheck(
                    c, actor, v, command.outcome, command.observed_on, command.detection_id, command.inspection_note
                )
            case commands.DecideNoPenalty(ground=ground, reason=reason):
                return self.decide_no_penalty(c, actor, v, ground, reason)
            case commands.IssuePenaltyNotice(proposed_fine_fen=fine, method=method, served_on=served_on):
                return self.issue_penalty_notice(c, actor, v, fine, method, served_on)
            case commands.RecordStatement(text=text, channel=channel, received_on=received_on):
                return self.record_statement(c, actor, v, text, channel, received_on)
            case commands.AnswerStatement(adopted=adopted, reply=reply, revised_fine_fen=revised):
                return self.answer_statement(c, actor, v, adopted, reply, revised)
            case commands.RequestLegalReview(fine_fen=fine):
                return self.request_legal_review(c, actor, v, fine)
            case commands.ApproveLegalReview(opinion=opinion):
                return self.approve_legal_review(c, actor, v, opinion)
            case commands.ReturnLegalReview(reason=reason):
                return self.return_legal_review(c, actor, v, reason)
            case commands.DecidePenalty(fine_fen=fine):
                return self.decide_penalty(c, actor, v, fine)
            case commands.RecordDelivery(method=method, delivered_on=delivered_on):
                return self.record_delivery(c, actor, v, method, delivered_on)
            case commands.ReferForEnforcement(reason=reason):
                return self.refer_for_enforcement(c, actor, v, reason)
            case commands.RecordPayment(amount_fen=amount, paid_on=paid_on):
                return self.record_payment(c, actor, v, amount, paid_on)
            case commands.CloseCase(reason=reason):
                return self.close(c, actor, v, reason)
            case commands.Publish():
                return self.publish(c, actor, v)
            case commands.ExtendDecisionPeriod(days=days, reason=reason):
                return self.extend_decision_period(c, actor, v, days, reason)
            case _:
                assert_never(command)

    def file(self, case_id: int, officer: Actor, version: int) -> Case:
        def step(case: Case, act: Act, session: Session) -> None:
            year = act.today.year
            case.file(act, self.law, number=self._case_number(case, year))

        return self._step(case_id, officer, version, step)

    def _case_number(self, case: Case, year: int) -> str:
        return f"{self.number_prefix}〔{year}〕{case.id:06d}号"

    def confirm_party(self, case_id: int, officer: Actor, version: int, party: Party, reason: str | None) -> Case:
        return self._step(case_id, officer, version, lambda case, act, _s: case.confirm_party(act, party, reason))

    def withdraw(self, case_id: int, officer: Actor, version: int, reason: str) -> Case:
        return self._step(case_id, officer, version, lambda case, act, _s: case.withdraw(act, reason))

    def issue_rectification_notice(
        self, case_id: int, officer: Actor, version: int, method: DeliveryMethod, served_on: dt.date | None = None
    ) -> Case:
        def step(case: Case, act: Act, session: Session) -> None:
            deadline = case.issue_rectification_notice(act, self.law, method, served_on)
            violation = self.law.violation(case.violation_code)
            self._notify(
                session,
                case,
                act,
                "rectification_notice",
                f"【城管执法】{case.party_name}：经查，您在{self._place(session, case)}存在{violation.name}行为，"
                f"违反{violation.legal_basis}。请于{deadline.due:%Y年%m月%d日}前改正。案号{case.number}。",
            )

        return self._step(case_id, officer, version, step)

    def record_recheck(
        self,
        case_id: int,
        officer: Actor,
        version: int,
        outcome: RecheckOutcome,
        observed_on: dt.date | None = None,
        detection_id: int | None = None,
        inspection_note: str | None = None,
    ) -> Case:
        """复查 from a later detection of the same camera and zone, or from a manual inspection's note."""
        if (detection_id is None) == (not inspection_note):
            raise InvalidInput(variant="recheck_source")

        def step(case: Case, act: Act, session: Session) -> None:
            observed = observed_on
            if detection_id is not None:
                detection = get_or_404(session, Detection, detection_id, "detection")
                self._check_recheck_detection(case, detection, outcome)
                self._check_certified_at_capture(session, detection)
                observed = self.clock.local_date(detection.last_seen)
                source = f"detection:{detection_id}"
                detection.case_id = case.id
            else:
                source = f"inspection:{inspection_note}"
            if observed is None:
                raise InvalidInput(variant="recheck_day")
            case.record_recheck(act, outcome, observed, source, inspection_note)

        return self._step(case_id, officer, version, step)

    def note_automatic_recheck(self, case_id: int, version: int, present: bool, details: dict[str, Any]) -> Case:
        """The service's own look at the camera after the deadline, noted on the case for the officer."""

        def step(case: Case, act: Act, session: Session) -> None:
            case.note_automatic_recheck(act, present, details)

        return self._step(case_id, SYSTEM, version, step)

    def due_for_automatic_recheck(self, today: dt.date | None = None) -> list[Case]:
        """Cases whose rectification deadline has passed with no re-check yet, automatic or the officer's."""
        today = today or self.clock.today()
        query = select(Case).where(C.status == CaseStatus.NOTICE_ISSUED, C.rectification_deadline < today)
        with self.transaction() as session:
            found = list(session.scalars(query.order_by(C.id)))
        return [case for case in found if case.automatic_recheck is None]

    @staticmethod
    def _check_recheck_detection(case: Case, detection: Detection, outcome: RecheckOutcome) -> None:
        if outcome is not RecheckOutcome.PERSISTING:
            raise InvalidInput(variant="recheck_correction_by_inspection")
        if (detection.camera_id, detection.zone_id, detection.violation_code) != (
            case.camera_id,
            case.zone_id,
            case.violation_code,
        ):
            raise InvalidInput(variant="recheck_other_detection", ident=detection.id)
        if detection.status is not DetectionStatus.CONFIRMED:
            raise ReviewRequired(
                variant="detection", ident=detection.id, status=Term(f"term.detection.{detection.status.value}")
            )
        if detection.case_id is not None:
            raise InvalidInput(variant="detection_in_case", ident=detection.id, case_id=detection.case_id)

    def decide_no_penalty(
        self, case_id: int, officer: Actor, version: int, ground: NoPenaltyGround, reason: str
    ) -> Case:
        def step(case: Case, act: Act, session: Session) -> None:
            priors = self.prior_violations(session, case, act.today)
            case.decide_no_penalty(act, self.law, ground, reason, priors)
            self._notify_decision(session, case, act)

        return self._step(case_id, officer, version, step)

    def issue_penalty_notice(
        self,
        case_id: int,
        officer: Actor,
        version: int,
        proposed_fine_fen: int,
        method: DeliveryMethod,
        served_on: dt.date | None = None,
    ) -> Case:
        def step(case: Case, act: Act, session: Session) -> None:
            priors = self.prior_violations(session, case, act.today)
            case.issue_penalty_notice(act, self.law, proposed_fine_fen, priors, method, served_on)
            violation = self.law.violation(case.violation_code)
            found = "经复查未改正" if case.recheck_outcome is RecheckOutcome.PERSISTING else "虽已改正，但属再次违法"
            self._notify(
                session,
                case,
                act,
                "penalty_notice",
                f"【城管执法】{case.party_name}：您的{violation.name}行为{found}，拟依据{violation.penalty_basis}"
                f"处罚款{proposed_fine_fen / 100:.2f}元。您有权于{case.statement_deadline:%Y年%m月%d日}前陈述、申辩"
                + (f"，于{case.hearing_deadline:%Y年%m月%d日}前要求听证" if case.hearing_deadline else "")
                + f"。案号{case.number}。",
            )

        return self._step(case_id, officer, version, step)

    def record_statement(
        self,
        case_id: int,
        actor: Actor,
        version: int,
        text: str,
        channel: str,
        received_on: dt.date | None = None,
        attachments_package_id: str | None = None,
    ) -> Case:
        def step(case: Case, act: Act, session: Session) -> None:
            case.record_statement(act, text, channel, received_on, attachments_package_id)

        return self._step(case_id, actor, version, step)

    def consent_to_e_delivery(self, case_id: int, party: Actor, version: int, reference: str) -> Case:
        """The party's consent to electronic delivery, given on the party page."""
        return self._step(case_id, party, version, lambda case, act, _s: case.consent_to_e_delivery(act, reference))

    def find_by_number(self, number: str) -> Case | None:
        with self.transaction() as session:
            return session.scalars(select(Case).where(C.number == number)).one_or_none()

    def answer_statement(
        self,
        case_id: int,
        officer: Actor,
        version: int,
        adopted: bool,
        reply: str,
        revised_fine_fen: int | None,
    ) -> Case:
        return self._step(
            case_id,
            officer,
            version,
            lambda case, act, _s: case.answer_statement(act, self.law, adopted, reply, revised_fine_fen),
        )

    def request_legal_review(self, case_id: int, officer: Actor, version: int, fine_fen: int) -> Case:
        return self._step(
            case_id,
            officer,
            version,
            lambda case, act, _s: case.request_legal_review(act, self.law, fine_fen),
        )

    def approve_legal_review(self, case_id: int, reviewer: Actor, version: int, opinion: str) -> Case:
        return self._step(case_id, reviewer, version, lambda case, act, _s: case.approve_legal_review(act, opinion))

    def return_legal_review(self, case_id: int, reviewer: Actor, version: int, reason: str) -> Case:
        return self._step(case_id, reviewer, version, lambda case, act, _s: case.return_legal_review(act, reason))

    def decide_penalty(self, case_id: int, officer: Actor, version: int, fine_fen: int) -> Case:
        def step(case: Case, act: Act, session: Session) -> None:
            case.decide_penalty(act, self.law, fine_fen)
            self._notify_decision(session, case, act)

        return self._step(case_id, officer, version, step)

    def record_delivery(
        self, case_id: int, officer: Actor, version: int, method: DeliveryMethod, delivered_on: dt.date
    ) -> Case:
        def step(case: Case, act: Act, session: Session) -> None:
            self._refresh_consent(session, case)
            case.record_delivery(act, self.law, method, delivered_on)

        return self._step(case_id, officer, version, step)

    @staticmethod
    def _refresh_consent(session: Session, case: Case) -> None:
        """The consent recorded for the case (given on the party page, or taken with the party) stands. Only a
        case with none may take the shop's consent from the registry at delivery: the shop may have signed one
        since the draft."""
        if case.party_merchant_id is None or case.party_e_delivery_consent:
            return
        merchant = get_or_404(session, Merchant, case.party_merchant_id, "merchant")
        if merchant.e_delivery_consent:
            case.party_e_delivery_consent = True
            case.party_consent_document_ref = merchant.consent_document_ref

    def record_payment(self, case_id: int, officer: Actor, version: int, amount_fen: int, paid_on: dt.date) -> Case:
        return self._step(
            case_id,
            officer,
            version,
            lambda case, act, _s: case.record_payment(act, self.law, amount_fen, paid_on),
        )

    def refer_for_enforcement(self, case_id: int, officer: Actor, version: int, reason: str) -> Case:
        return self._step(case_id, officer, version, lambda case, act, _s: case.refer_for_enforcement(act, reason))

    def close(self, case_id: int, officer: Actor, version: int, reason: str | None) -> Case:
        return self._step(case_id, officer, version, lambda case, act, _s: case.close(act, reason))

    def publish(self, case_id: int, officer: Actor, version: int) -> Case:
        return self._step(case_id, officer, version, lambda case, act, _s: case.publish(act))

    # ---- reading ----------------------------------------------------------------------------------------
    def get(self, case_id: int) -> Case:
        with self.transaction() as session:
            return get_or_404(session, Case, case_id, "case")

    def read_with_party(self, case_id: int, reader: Actor, purpose: str) -> Case:
        """The case with its party's identity number and contact: the read is logged (规定第十六条)."""
        with self.transaction() as session:
            case = get_or_404(session, Case, case_id, "case")
            if case.party_id_number is not None:
                log_personal_data_read(
                    session,
                    reader,
                    self.clock.now(),
                    "case_party",
                    str(case_id),
                    ["party_id_number", "party_contact"],
                    purpose,
                )
            return case

    def timeline(self, case_id: int) -> list[CaseEvent]:
        """The case's recorded steps, identity numbers and mobiles in their details masked: the full values are
        read through ``read_with_party``, which logs the read (规定第十六条)."""
        return masked_events(self.get(case_id).events)

    def detections_of(self, case_id: int) -> list[Detection]:
        with self.transaction() as session:
            get_or_404(session, Case, case_id, "case")
            query = select(Detection).where(tables.detections.c.case_id == case_id).order_by(tables.detections.c.id)
            return list(session.scalars(query))

    def amount_due(self, case_id: int, paid_on: dt.date) -> tuple[int, int]:
        case = self.get(case_id)
        if case.decision_kind is not DecisionKind.PENALTY or case.payment_due is None:
            raise InvalidInput(variant="no_fine_yet", case_id=case_id)
        return case.amount_due_fen(self.law, paid_on)

    def find(
        self, status: CaseStatus | None = None, officer: str | None = None, offset: int = 0, limit: int = 50
    ) -> tuple[list[Case], int]:
        if not 1 <= limit <= 200 or offset < 0:
            raise InvalidInput(variant="page_bounds", max_limit=200)
        conditions = []
        if status is not None:
            conditions.append(C.status == status)
        if officer is not None:
            conditions.append(C.officer == officer)
        with self.transaction() as session:
            total = session.scalar(select(func.count()).select_from(tables.cases).where(*conditions)) or 0
            query = select(Case).where(*conditions).order_by(C.id.desc()).offset(offset).limit(limit)
            return list(session.scalars(query)), total

    def count_by_status(self) -> dict[str, int]:
        with self.transaction() as session:
            rows = session.execute(select(C.status, func.count()).group_by(C.status)).all()
        return {status.value: count for status, count in rows}

    def deadlines(self, within_days: int, today: dt.date | None = None) -> list[DeadlineItem]:
        """两超期: every running deadline that is past or falls within the next ``within_days`` days, soonest
        first."""
        if not 0 <= within_days <= 365:
            raise InvalidInput(variant="within_days", max_days=365)
        today = today or self.clock.today()
        horizon = today + dt.timedelta(days=within_days)
        query = select(Case).where(
            or_(
                (C.decision_due <= horizon) & C.status.in_(AWAITING_DECISION),
                C.stage_deadline <= horizon,
                (C.publication_due <= horizon) & C.published_on.is_(None),
            )
        )
        items = []
        with self.transaction() as session:
            for case in session.scalars(query):
                assert case.id is not None
                for name, due in case.open_deadlines().items():
                    if due <= horizon:
                        items.append(
                            DeadlineItem(case.id, case.number, case.status, case.officer, name, due, due < today)
                        )
        return sorted(items, key=lambda item: (item.due, item.case_id))

    def decision_period_ending(self, within_days: int | None = None) -> list[DeadlineItem]:
        """Cases awaiting a decision whose period (第六十条, as extended) has ended or ends within ``within_days``
        days (default: the configured warning), soonest first: an extension must be approved before then."""
        days = self.law.config.deadlines.decision_extension.warning_days if within_days is None else within_days
        return [item for item in self.deadlines(days) if item.deadline == "decision"]

    def extend_decision_period(self, case_id: int, head: Actor, version: int, days: int, reason: str) -> Case:
        """延长办案期限, approved by the agency's head (负责人批准)."""
        return self._step(
            case_id, head, version, lambda case, act, _s: case.extend_decision_period(act, self.law, days, reason)
        )

    def fine_band(self, case_id: int) -> tuple[FineBand, int]:
        """The discretion band (裁量基准) a fine proposed today must fall in for this case, and the party's prior
        violations that chose it: what the fine form shows before the officer submits."""
        with self.transaction() as session:
            case = get_or_404(session, Case, case_id, "case")
            priors = self.prior_violations(session, case, self.clock.today())
        return self.law.fine_band(self.law.violation(case.violation_code), priors), priors

    def prior_violations(self, session: Session, case: Case, today: dt.date) -> int:
        """Violations of the same type by the same party, decided in the look-back period before this violation
        was committed (裁量基准): what was decided after it is not a prior."""
        if case.party_id_number is None:
            return 0
        reference = case.violation_on or today
        since = reference - dt.timedelta(days=self.law.config.discretion.prior_lookback_days)
        query = select(func.count()).where(
            C.party_id_number == case.party_id_number,
            C.violation_code == case.violation_code,
            C.decided_on >= since,
            C.decided_on <= reference,
            C.id != case.id,
            or_(
                C.decision_kind == DecisionKind.PENALTY,
                C.no_penalty_ground != NoPenaltyGround.NOT_ESTABLISHED,
            ),
        )
        return session.scalar(query) or 0

    # ---- shared -----------------------------------------------------------------------------------------
    def _step(self, case_id: int, actor: Actor, version: int, step: Callable[[Case, Act, Session], Any]) -> Case:
        act = self.clock.act(actor.username, actor.role)
        with self.transaction() as session:
            case = get_or_404(session, Case, case_id, "case")
            check_version("case", case_id, case.version, version)
            events_before = len(case.events)
            step(case, act, session)
            if self.issuer is not None and len(case.events) > events_before:
                self.issuer(session, case)  # the step's document, sealed, or no step at all
        event = case.events[-1]
        log.info(
            "case %s: %s by %s (%s) %s → %s",
            case_id,
            event.action,
            event.actor,
            event.role,
            event.from_status,
            event.to_status,
            extra={"case_id": case_id, "action": event.action, "actor": event.actor, "to_status": event.to_status},
        )
        return case

    def _notify_decision(self, session: Session, case: Case, act: Act) -> None:
        violation = self.law.violation(case.violation_code)
        if case.decision_kind is DecisionKind.PENALTY:
            assert case.fine_fen is not None
            what = f"决定对您的{violation.name}行为处罚款{case.fine_fen / 100:.2f}元"
        else:
            what = f"决定对您的{violation.name}行为不予行政处罚"
        self._notify(
            session,
            case,
            act,
            "decision",
            f"【城管执法】{case.party_name}：本局{what}，决定书将依法送达。案号{case.number}。",
        )

    @staticmethod
    def _notify(session: Session, case: Case, act: Act, kind: str, body: str) -> None:
        """Into the outbox, by SMS when the party has a mobile; otherwise the paper notice is the only one."""
        if case.party_contact is None or case.id is None:
            return
        notifications.enqueue(session, case.id, kind, "sms", case.party_contact, body, act.at)

    @staticmethod
    def _place(session: Session, case: Case) -> str:
        camera = session.get(Camera, case.camera_id)
        zone = session.get(Zone, case.zone_id)
        if camera is None or zone is None:
            raise NotFound(variant="case_place", case_id=case.id)
        return f"{camera.address}（{zone.name}）"


def masked_events(events: list[CaseEvent]) -> list[CaseEvent]:
    """Copies of the events, fit for any timeline: identity numbers and mobiles in their details masked."""
    return [replace(event, payload=_masked(event.payload)) for event in events]


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _masked_field(key, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _masked_field(key: str, value: Any) -> Any:
    if isinstance(value, str) and key in IDENTITY_NUMBER_KEYS:
        return mask_identifier(value)
    if isinstance(value, str) and key in MOBILE_KEYS:
        return mask_mobile(value)
    return _masked(value)
