"""The case's lifecycle as the law orders it, walked on Case objects directly (no database).

The standard case below: a cross-door shop (跨门经营), filed Monday 2026-03-02 (decision due 90 days later, Sunday
05-31 → Monday 06-01), ordered to correct by 03-03 (one calendar day), found persisting 03-04, told of a 100 元
fine on 03-04 (statement until 03-09: three working days), statement 03-05, answered 03-06, legal review requested
03-06 and approved 03-09, decided 03-10 (delivery and publication due 03-19: seven working days), delivered 03-11
(payment due 03-26: fifteen calendar days), paid and closed 03-18, published 03-19.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable

import pytest

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
from cases.law import Law
from cases.model.case import (
    ALLOWED_FROM,
    Case,
    CaseStatus,
    DecisionKind,
    DeliveryMethod,
    NoPenaltyGround,
    Party,
    RecheckOutcome,
)
from cases.model.staff import Act, Role
from tests.conftest import act_on
from tests.unit.helpers import (
    OFFICER,
    OTHER_OFFICER,
    REVIEWER,
    contractor,
    id_card,
    law_with_review_from,
    officer,
    reviewer,
    shop,
    vendor,
)

D = dt.date
S = CaseStatus
DIRECT = DeliveryMethod.DIRECT
FILED_ON = D(2026, 3, 2)
DECISION_DUE = D(2026, 6, 1)
NOTICE_DAY = D(2026, 3, 4)
STATEMENT_DUE = D(2026, 3, 9)
FINE = 10_000  # 100 元, inside the 首次 band 50–200 元 of cross_door
DECIDED_ON = D(2026, 3, 10)
DELIVERED_ON = D(2026, 3, 11)
PAYMENT_DUE = D(2026, 3, 26)
PUBLICATION_DUE = D(2026, 3, 19)
PAID_ON = D(2026, 3, 18)


# ---- walking a case to a stage ------------------------------------------------------------------------------
def draft(code: str = "cross_door", party: Party | None = None) -> Case:
    return Case.open_draft(
        officer(FILED_ON),
        violation_code=code,
        camera_id=1,
        zone_id=2,
        subject_kind="merchant",
        subject_ref="SHOP-0007",
        detection_ids=[11, 12],
        party=party,
        violation_on=FILED_ON,
    )


def filed(law: Law, code: str = "cross_door", party: Party | None = None) -> Case:
    case = draft(code, party or shop())
    case.file(officer(FILED_ON), law, "沪城管非现〔2026〕0001号")
    return case


def notice_issued(law: Law, code: str = "cross_door", party: Party | None = None) -> Case:
    case = filed(law, code, party)
    case.issue_rectification_notice(officer(FILED_ON), law, DIRECT)
    return case


def rechecked(law: Law, outcome: RecheckOutcome, code: str = "cross_door", party: Party | None = None) -> Case:
    """Corrected on the deadline day; persisting the day after it."""
    case = notice_issued(law, code, party)
    assert case.rectification_deadline is not None
    observed = case.rectification_deadline + dt.timedelta(days=outcome is RecheckOutcome.PERSISTING)
    case.record_recheck(officer(observed), outcome, observed, "camera 1, zone 2")
    return case


def corrected(law: Law) -> Case:
    return rechecked(law, RecheckOutcome.CORRECTED)


def persisting(law: Law, code: str = "cross_door", party: Party | None = None) -> Case:
    return rechecked(law, RecheckOutcome.PERSISTING, code, party)


def penalty_noticed(
    law: Law, fine: int = FINE, priors: int = 0, code: str = "cross_door", party: Party | None = None
) -> Case:
    case = persisting(law, code, party)
    assert case.recheck_on is not None
    case.issue_penalty_notice(officer(case.recheck_on), law, fine, priors, DIRECT)
    return case


def statement_filed(law: Law) -> Case:
    case = penalty_noticed(law)
    case.record_statement(officer(D(2026, 3, 5)), "货架当天已搬回店内，请求从轻处理", "online")
    return case


def statement_answered(law: Law, revised: int | None = None) -> Case:
    case = statement_filed(law)
    case.answer_statement(officer(D(2026, 3, 6)), law, True, "当事人已改正，予以采纳", revised)
    return case


def under_review(law: Law, requester: str = OFFICER, fine: int = FINE) -> Case:
    case = statement_answered(law)
    case.request_legal_review(officer(D(2026, 3, 6), requester), law, fine)
    return case


def review_approved(law: Law) -> Case:
    case = under_review(law)
    case.approve_legal_review(reviewer(D(2026, 3, 9)), "事实清楚，证据确凿，裁量适当")
    return case


def review_returned(law: Law) -> Case:
    case = under_review(law)
    case.return_legal_review(reviewer(D(2026, 3, 9)), "请补充复查截图")
    return case


def decided(law: Law, party: Party | None = None) -> Case:
    case = review_approved(law) if party is None else _approved_for(law, party)
    case.decide_penalty(officer(DECIDED_ON), law, FINE)
    return case


def _approved_for(law: Law, party: Party) -> Case:
    case = penalty_noticed(law, party=party)
    case.request_legal_review(officer(D(2026, 3, 10)), law, FINE)
    case.approve_legal_review(reviewer(D(2026, 3, 10)), "同意")
    return case


def delivered(law: Law) -> Case:
    case = decided(law)
    case.record_delivery(officer(DELIVERED_ON), law, DeliveryMethod.DIRECT, DELIVERED_ON)
    return case


def paid(law: Law) -> Case:
    case = delivered(law)
    case.record_payment(officer(PAID_ON), law, FINE, PAID_ON)
    return case


def closed(law: Law) -> Case:
    case = paid(law)
    case.close(officer(PAID_ON))
    return case


def no_penalty_decided(law: Law) -> Case:
    case = corrected(law)
    case.decide_no_penalty(officer(NOTICE_DAY), law, NoPenaltyGround.FIRST_OFFENCE, "首次违法，已及时改正", 0)
    return case


def no_penalty_delivered(law: Law) -> Case:
    case = no_penalty_decided(law)
    case.record_delivery(officer(D(2026, 3, 5)), law, DeliveryMethod.POSTAL, D(2026, 3, 5))
    return case


def bare(status: CaseStatus, party: Party | None = None) -> Case:
    """A case put straight into a stage, for the rules that look at nothing but the stage (and the party)."""
    case = Case(
        violation_code="cross_door",
        camera_id=1,
        zone_id=2,
        subject_kind="merchant",
        subject_ref=None,
        officer=OFFICER,
        created_at=officer(FILED_ON).at,
        status=status,
    )
    if party is not None:
        case.party_kind, case.party_name, case.party_id_number = party.kind, party.name, party.id_number
    return case


# ---- the full penalty path ----------------------------------------------------------------------------------
def walk_penalty_path(law: Law) -> Case:
    case = closed(law)
    case.publish(officer(PUBLICATION_DUE))
    return case


EXPECTED_PENALTY_EVENTS = [
    ("open_draft", OFFICER, "officer", None, "draft"),
    ("file", OFFICER, "officer", "draft", "filed"),
    ("issue_rectification_notice", OFFICER, "officer", "filed", "notice_issued"),
    ("record_recheck", OFFICER, "officer", "notice_issued", "persisting"),
    ("issue_penalty_notice", OFFICER, "officer", "persisting", "penalty_notice_issued"),
    ("record_statement", OFFICER, "officer", "penalty_notice_issued", "statement_filed"),
    ("answer_statement", OFFICER, "officer", "statement_filed", "statement_answered"),
    ("request_legal_review", OFFICER, "officer", "statement_answered", "under_legal_review"),
    ("approve_legal_review", REVIEWER, "legal_reviewer", "under_legal_review", "review_approved"),
    ("decide_penalty", OFFICER, "officer", "review_approved", "decided"),
    ("record_delivery", OFFICER, "officer", "decided", "delivered"),
    ("record_payment", OFFICER, "officer", "delivered", "paid"),
    ("close", OFFICER, "officer", "paid", "closed"),
    ("publish", OFFICER, "officer", "closed", "closed"),
]


def test_the_full_penalty_path_records_every_step_with_who_and_from_where_to_where(law: Law) -> None:
    case = walk_penalty_path(law)
    steps = [(e.action, e.actor, e.role, e.from_status, e.to_status) for e in case.events]
    assert steps == EXPECTED_PENALTY_EVENTS
    assert case.status is S.CLOSED


def test_events_are_numbered_in_order_and_carry_the_time_of_their_act(law: Law) -> None:
    events = walk_penalty_path(law).events
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(earlier.at <= later.at for earlier, later in itertools.pairwise(events))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("number", "沪城管非现〔2026〕0001号"),
        ("filed_on", FILED_ON),
        ("decision_due", DECISION_DUE),
        ("rectification_deadline", D(2026, 3, 3)),
        ("recheck_outcome", RecheckOutcome.PERSISTING),
        ("fine_tier", "首次"),
        ("statement_deadline", STATEMENT_DUE),
        ("hearing_deadline", None),  # 100 元 for a shop is far below the 较大数额 of 50,000 元
        ("statement_adopted", True),
        ("legal_reviewer", REVIEWER),
        ("decision_kind", DecisionKind.PENALTY),
        ("fine_fen", FINE),
        ("decided_on", DECIDED_ON),
        ("delivery_due", PUBLICATION_DUE),
        ("publication_due", PUBLICATION_DUE),
        ("delivered_on", DELIVERED_ON),
        ("payment_due", PAYMENT_DUE),
        ("paid_on", PAID_ON),
        ("amount_paid_fen", FINE),
        ("surcharge_fen", 0),
        ("closed_on", PAID_ON),
        ("published_on", PUBLICATION_DUE),
        ("stage_deadline", None),
    ],
)
def test_the_penalty_path_leaves_the_case_record_complete(law: Law, field: str, value: object) -> None:
    assert getattr(walk_penalty_path(law), field) == value


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("open_draft", {"detection_ids": [11, 12], "party_from_registry": True}),
        ("file", {"number": "沪城管非现〔2026〕0001号", "decision_due": "2026-06-01", "decision_provisional": False}),
        (
            "issue_rectification_notice",
            {
                "method": "direct",
                "served_on": "2026-03-02",
                "deadline_due": "2026-03-03",
                "deadline_provisional": False,
            },
        ),
        ("decide_penalty", {"fine_fen": FINE}),
        ("record_payment", {"amount_fen": FINE, "surcharge_fen": 0}),
        ("publish", {"late": False}),
    ],
)
def test_each_step_records_its_details(law: Law, action: str, payload: dict[str, object]) -> None:
    (event,) = [e for e in walk_penalty_path(law).events if e.action == action]
    assert event.payload == payload


# ---- the no-penalty path (第三十三条; 第五十七条) --------------------------------------------------------------
def test_a_corrected_first_offence_is_decided_without_penalty_delivered_and_closed(law: Law) -> None:
    case = no_penalty_delivered(law)
    case.close(officer(D(2026, 3, 5)), "不予处罚决定已送达")
    assert [(e.action, e.to_status) for e in case.events[-4:]] == [
        ("record_recheck", "corrected"),
        ("decide_no_penalty", "decided"),
        ("record_delivery", "delivered"),
        ("close", "closed"),
    ]
    assert (case.decision_kind, case.no_penalty_ground, case.fine_fen) == (
        DecisionKind.NO_PENALTY,
        NoPenaltyGround.FIRST_OFFENCE,
        None,
    )
    assert (case.payment_due, case.publication_due) == (None, None)


STAGES: dict[str, Callable[[Law], Case]] = {
    "filed": filed,
    "notice_issued": notice_issued,
    "corrected": corrected,
    "persisting": persisting,
    "penalty_notice_issued": penalty_noticed,
    "statement_filed": statement_filed,
    "statement_answered": statement_answered,
    "under_legal_review": under_review,
    "review_approved": review_approved,
    "review_returned": review_returned,
    "decided": decided,
    "delivered": delivered,
    "paid": paid,
    "closed": closed,
}


@pytest.mark.parametrize(
    ("ground", "stage", "priors"),
    [
        (NoPenaltyGround.FIRST_OFFENCE, "corrected", 0),
        (NoPenaltyGround.MINOR_CORRECTED, "corrected", 0),
        (NoPenaltyGround.MINOR_CORRECTED, "corrected", 2),
        (NoPenaltyGround.NOT_ESTABLISHED, "filed", 0),
        (NoPenaltyGround.NOT_ESTABLISHED, "notice_issued", 1),
        (NoPenaltyGround.NOT_ESTABLISHED, "persisting", 2),
        (NoPenaltyGround.NOT_ESTABLISHED, "statement_answered", 0),
        (NoPenaltyGround.NOT_ESTABLISHED, "review_returned", 0),
    ],
)
def test_no_penalty_is_decided_on_its_grounds(law: Law, ground: NoPenaltyGround, stage: str, priors: int) -> None:
    case = STAGES[stage](law)
    case.decide_no_penalty(officer(D(2026, 3, 10)), law, ground, "理由", priors)
    assert (case.status, case.decision_kind, case.no_penalty_ground) == (S.DECIDED, DecisionKind.NO_PENALTY, ground)
    assert case.events[-1].payload == {"ground": ground.value}


@pytest.mark.parametrize(
    ("ground", "stage", "priors", "message"),
    [
        (NoPenaltyGround.FIRST_OFFENCE, "corrected", 1, "not a first offence: the party has 1 prior"),
        (NoPenaltyGround.FIRST_OFFENCE, "corrected", 3, "not a first offence: the party has 3 prior"),
        (NoPenaltyGround.FIRST_OFFENCE, "persisting", 0, "needs a re-check that found it corrected"),
        (NoPenaltyGround.MINOR_CORRECTED, "persisting", 0, "needs a re-check that found it corrected"),
        (NoPenaltyGround.MINOR_CORRECTED, "notice_issued", 0, "needs a re-check that found it corrected"),
        (NoPenaltyGround.FIRST_OFFENCE, "statement_answered", 0, "needs a re-check that found it corrected"),
    ],
)
def test_no_penalty_for_correction_needs_a_corrected_recheck_and_for_a_first_offence_no_priors(
    law: Law, ground: NoPenaltyGround, stage: str, priors: int, message: str
) -> None:
    case = STAGES[stage](law)
    with pytest.raises(IllegalTransition, match=message):
        case.decide_no_penalty(officer(D(2026, 3, 10)), law, ground, "理由", priors)
    assert case.status.value == stage


def test_a_no_penalty_decision_needs_its_reasons(law: Law) -> None:
    with pytest.raises(InvalidInput, match="needs its reasons"):
        corrected(law).decide_no_penalty(officer(NOTICE_DAY), law, NoPenaltyGround.FIRST_OFFENCE, "  ", 0)


def test_a_corrected_first_offence_may_not_be_penalised(law: Law) -> None:
    case = corrected(law)
    with pytest.raises(IllegalTransition, match="on the first-offence exemption list"):
        case.issue_penalty_notice(officer(NOTICE_DAY), law, FINE, 0, DIRECT)
    assert case.status is S.CORRECTED


def test_a_corrected_repeat_violation_may_be_penalised(law: Law) -> None:
    case = corrected(law)
    case.issue_penalty_notice(officer(NOTICE_DAY), law, 20_000, 1, DIRECT)
    assert case.status is S.PENALTY_NOTICE_ISSUED


# ---- the transition table ------------------------------------------------------------------------------------
def test_the_transition_table_is_the_one_the_law_orders() -> None:
    before_decision = {
        S.FILED,
        S.NOTICE_ISSUED,
        S.CORRECTED,
        S.PERSISTING,
        S.PENALTY_NOTICE_ISSUED,
        S.STATEMENT_FILED,
        S.STATEMENT_ANSWERED,
        S.REVIEW_RETURNED,
    }
    expected = {
        "withdraw": {S.DRAFT},  # 不予立案
        "file": {S.DRAFT},
        "confirm_party": {S.DRAFT, S.FILED},
        "issue_rectification_notice": {S.FILED},
        "record_recheck": {S.NOTICE_ISSUED},
        "note_automatic_recheck": {S.NOTICE_ISSUED},  # the service's look, for the officer to confirm
        "decide_no_penalty": before_decision | {S.REVIEW_APPROVED},  # new facts after the review
        "issue_penalty_notice": {S.CORRECTED, S.PERSISTING, S.REVIEW_RETURNED},  # a new notice after a return
        "record_statement": {S.PENALTY_NOTICE_ISSUED},
        "answer_statement": {S.STATEMENT_FILED},
        "request_legal_review": {S.PENALTY_NOTICE_ISSUED, S.STATEMENT_ANSWERED, S.REVIEW_RETURNED},
        "approve_legal_review": {S.UNDER_LEGAL_REVIEW},
        "return_legal_review": {S.UNDER_LEGAL_REVIEW},
        "decide_penalty": {S.PENALTY_NOTICE_ISSUED, S.STATEMENT_ANSWERED, S.REVIEW_APPROVED},
        "record_delivery": {S.DECIDED},
        "refer_for_enforcement": {S.DELIVERED},  # unpaid after the deadline (第七十二条)
        "record_payment": {S.DELIVERED, S.ENFORCEMENT_REQUESTED},
        "close": {S.DELIVERED, S.PAID, S.ENFORCEMENT_REQUESTED},
        "publish": {S.DECIDED, S.DELIVERED, S.ENFORCEMENT_REQUESTED, S.PAID, S.CLOSED},
        "consent_to_e_delivery": set(S) - {S.DRAFT, S.CLOSED},  # the party, on the party page
        "extend_decision_period": before_decision | {S.UNDER_LEGAL_REVIEW, S.REVIEW_APPROVED},  # 第六十条
    }
    assert expected == ALLOWED_FROM


ACTIONS: dict[str, Callable[[Case, Law], object]] = {
    "withdraw": lambda c, law: c.withdraw(officer(NOTICE_DAY), "无法确认当事人"),
    "file": lambda c, law: c.file(officer(NOTICE_DAY), law, "X-1"),
    "confirm_party": lambda c, law: c.confirm_party(officer(NOTICE_DAY), vendor()),
    "issue_rectification_notice": lambda c, law: c.issue_rectification_notice(officer(NOTICE_DAY), law, DIRECT),
    "record_recheck": lambda c, law: c.record_recheck(officer(NOTICE_DAY), RecheckOutcome.CORRECTED, NOTICE_DAY, "x"),
    "consent_to_e_delivery": lambda c, law: c.consent_to_e_delivery(officer(NOTICE_DAY), "当事人网上确认"),
    "note_automatic_recheck": lambda c, law: c.note_automatic_recheck(
        act_on(D(2026, 6, 1), "system", Role.SYSTEM), True, {}
    ),
    "decide_no_penalty": lambda c, law: c.decide_no_penalty(
        officer(NOTICE_DAY), law, NoPenaltyGround.NOT_ESTABLISHED, "理由", 0
    ),
    "issue_penalty_notice": lambda c, law: c.issue_penalty_notice(officer(NOTICE_DAY), law, FINE, 0, DIRECT),
    "record_statement": lambda c, law: c.record_statement(officer(NOTICE_DAY), "申辩", "online"),
    "answer_statement": lambda c, law: c.answer_statement(officer(NOTICE_DAY), law, True, "采纳"),
    "request_legal_review": lambda c, law: c.request_legal_review(officer(NOTICE_DAY), law, FINE),
    "approve_legal_review": lambda c, law: c.approve_legal_review(reviewer(NOTICE_DAY), "同意"),
    "return_legal_review": lambda c, law: c.return_legal_review(reviewer(NOTICE_DAY), "退回"),
    "decide_penalty": lambda c, law: c.decide_penalty(officer(NOTICE_DAY), law, FINE),
    "record_delivery": lambda c, law: c.record_delivery(officer(NOTICE_DAY), law, DeliveryMethod.DIRECT, NOTICE_DAY),
    "record_payment": lambda c, law: c.record_payment(officer(NOTICE_DAY), law, FINE, NOTICE_DAY),
    "refer_for_enforcement": lambda c, law: c.refer_for_enforcement(officer(NOTICE_DAY), "逾期未缴纳"),
    "close": lambda c, law: c.close(officer(NOTICE_DAY)),
    "publish": lambda c, law: c.publish(officer(NOTICE_DAY)),
    "extend_decision_period": lambda c, law: c.extend_decision_period(head(NOTICE_DAY), law, 30, "案情复杂"),
}


def test_every_action_of_the_table_is_tried() -> None:
    assert set(ACTIONS) == set(ALLOWED_FROM)


@pytest.mark.parametrize(
    ("action", "status"),
    [(action, status) for action, allowed in ALLOWED_FROM.items() for status in CaseStatus if status not in allowed],
)
def test_an_action_from_a_stage_that_does_not_allow_it_is_an_illegal_transition(
    law: Law, action: str, status: CaseStatus
) -> None:
    case = bare(status, shop())
    with pytest.raises(IllegalTransition, match=f"cannot {action.replace('_', ' ')} a case in stage {status.value}"):
        ACTIONS[action](case, law)
    assert (case.status, case.events) == (status, [])


# ---- the party (身份确认) -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "notice"),
    [
        (S.FILED, lambda c, law: c.issue_rectification_notice(officer(NOTICE_DAY), law, DIRECT)),
        (S.PERSISTING, lambda c, law: c.issue_penalty_notice(officer(NOTICE_DAY), law, FINE, 0, DIRECT)),
        (S.CORRECTED, lambda c, law: c.issue_penalty_notice(officer(NOTICE_DAY), law, FINE, 1, DIRECT)),
    ],
)
def test_no_notice_without_a_confirmed_party(
    law: Law, status: CaseStatus, notice: Callable[[Case, Law], object]
) -> None:
    case = bare(status)
    with pytest.raises(PartyNotConfirmed, match="party is not confirmed"):
        notice(case, law)
    assert case.status is status


@pytest.mark.parametrize(
    "birth", ["99991231", "20260303", "19000229", "00010101", "19851301"], ids=lambda b: f"born-{b}"
)
def test_a_vendor_s_id_card_number_must_hold_a_real_date_of_birth_before_today(law: Law, birth: str) -> None:
    """The check character catches a digit typed wrong, not a number made up around a date that never was (or
    has not come yet: FILED_ON is 2026-03-02)."""
    case = draft("street_stall", party=None)
    case.file(officer(FILED_ON), law, "沪城管非现〔2026〕0002号")
    impossible = dataclasses.replace(vendor(), id_number=id_card(f"110101{birth}001"))
    with pytest.raises(InvalidInput, match=r"date of birth .* does not exist or is after today"):
        case.confirm_party(officer(FILED_ON), impossible)
    assert (case.party, [e.action for e in case.events][-1]) == (None, "file")


def test_a_street_vendor_once_identified_can_be_told_to_correct(law: Law) -> None:
    case = draft("street_stall", party=None)
    case.file(officer(FILED_ON), law, "沪城管非现〔2026〕0002号")
    case.confirm_party(officer(FILED_ON), vendor(), "经回访确认摊主身份")
    case.issue_rectification_notice(officer(FILED_ON), law, DIRECT)
    confirm = case.events[2]
    assert (confirm.action, confirm.from_status, confirm.to_status, confirm.reason) == (
        "confirm_party",
        "filed",
        "filed",
        "经回访确认摊主身份",
    )
    assert case.party == vendor()
    assert case.status is S.NOTICE_ISSUED


# ---- the notice to correct and the re-check (第二十八条; 第三十三条) ------------------------------------------
@pytest.mark.parametrize(
    ("code", "party", "notice_day", "deadline"),
    [
        ("street_stall", vendor(), D(2026, 3, 2), D(2026, 3, 2)),  # 立即改正: the same day
        ("street_stall", vendor(), D(2026, 3, 7), D(2026, 3, 7)),  # a Saturday: still the same day
        ("cross_door", shop(), D(2026, 3, 2), D(2026, 3, 3)),  # one calendar day
        ("cross_door", shop(), D(2026, 9, 30), D(2026, 10, 8)),  # one day, into 国庆 → after it
        ("construction_dust", contractor(), D(2026, 3, 2), D(2026, 3, 5)),  # three working days
        ("construction_dust", contractor(), D(2026, 9, 30), D(2026, 10, 10)),  # three working days over 国庆
    ],
)
def test_the_rectification_deadline_follows_the_violations_period(
    law: Law, code: str, party: Party, notice_day: dt.date, deadline: dt.date
) -> None:
    case = draft(code, party)
    case.file(officer(notice_day), law, "X-1")
    case.issue_rectification_notice(officer(notice_day), law, DIRECT)
    assert case.rectification_deadline == deadline
    assert case.open_deadlines()["rectification"] == deadline


@pytest.mark.parametrize(
    ("code", "party", "observed_on", "accepted"),
    [
        ("street_stall", vendor(), D(2026, 3, 2), False),  # deadline 03-02: on it
        ("street_stall", vendor(), D(2026, 3, 3), True),
        ("cross_door", shop(), D(2026, 3, 2), False),  # deadline 03-03: before it
        ("cross_door", shop(), D(2026, 3, 3), False),  # on it
        ("cross_door", shop(), D(2026, 3, 4), True),  # after it
        ("construction_dust", contractor(), D(2026, 3, 5), False),  # deadline 03-05
        ("construction_dust", contractor(), D(2026, 3, 6), True),
    ],
)
def test_persisting_can_only_be_found_after_the_rectification_deadline(
    law: Law, code: str, party: Party, observed_on: dt.date, accepted: bool
) -> None:
    case = notice_issued(law, code, party)

    def recheck() -> None:
        case.record_recheck(officer(observed_on), RecheckOutcome.PERSISTING, observed_on, "camera")

    if accepted:
        recheck()
        assert (case.status, case.recheck_on) == (S.PERSISTING, observed_on)
    else:
        with pytest.raises(DeadlineNotReached, match=f"may correct until {case.rectification_deadline}"):
            recheck()
        assert case.status is S.NOTICE_ISSUED


@pytest.mark.parametrize("observed_on", [D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 10)])
def test_corrected_can_be_found_any_time(law: Law, observed_on: dt.date) -> None:
    case = notice_issued(law)
    case.record_recheck(officer(observed_on), RecheckOutcome.CORRECTED, observed_on, "camera")
    assert case.status is S.CORRECTED


def test_a_recheck_cannot_be_observed_in_the_future(law: Law) -> None:
    with pytest.raises(InvalidInput, match="is in the future"):
        notice_issued(law).record_recheck(officer(D(2026, 3, 4)), RecheckOutcome.PERSISTING, D(2026, 3, 5), "x")


@pytest.mark.parametrize("observed_on", [D(1, 1, 1), D(2026, 3, 1)])
def test_a_recheck_cannot_be_observed_before_the_notice_was_served(law: Law, observed_on: dt.date) -> None:
    case = notice_issued(law)
    assert case.rectification_served_on == D(2026, 3, 2)
    with pytest.raises(InvalidInput, match="before the rectification notice was served"):
        case.record_recheck(officer(D(2026, 3, 10)), RecheckOutcome.CORRECTED, observed_on, "x")
    assert (case.status, case.recheck_on) == (S.NOTICE_ISSUED, None)


# ---- the pre-penalty notice and the fine (裁量基准) -----------------------------------------------------------
@pytest.mark.parametrize(
    ("priors", "fine", "accepted"),
    [
        (0, 4_999, False),
        (0, 5_000, True),
        (0, 20_000, True),
        (0, 20_001, False),
        (1, 19_999, False),
        (1, 20_000, True),
        (1, 35_000, True),
        (1, 35_001, False),
        (2, 34_999, False),
        (2, 50_000, True),
        (5, 50_001, False),
    ],
)
def test_the_proposed_fine_must_lie_in_the_discretion_band_for_the_priors(
    law: Law, priors: int, fine: int, accepted: bool
) -> None:
    case = persisting(law)
    if accepted:
        case.issue_penalty_notice(officer(NOTICE_DAY), law, fine, priors, DIRECT)
        assert (case.proposed_fine_fen, case.fine_ceiling_fen) == (fine, fine)
    else:
        with pytest.raises(FineOutsideRange, match=f"outside the discretion band .* for {priors} prior"):
            case.issue_penalty_notice(officer(NOTICE_DAY), law, fine, priors, DIRECT)
        assert case.status is S.PERSISTING


@pytest.mark.parametrize(
    ("party", "fine", "hearing_deadline"),
    [
        (vendor(), 500_000, D(2026, 3, 13)),  # an individual, 5,000 元: a 较大数额, five working days to ask
        (vendor(), 499_999, None),
        (contractor(), 500_000, None),  # an organisation's threshold is 50,000 元
    ],
)
def test_a_large_fine_gives_the_right_to_a_hearing(
    law: Law, party: Party, fine: int, hearing_deadline: dt.date | None
) -> None:
    # site materials: deadline 03-05, persisting 03-06 (Friday), notice the same day
    case = penalty_noticed(law, fine, 0, "site_materials_outside_enclosure", party)
    assert (case.statement_deadline, case.hearing_deadline) == (D(2026, 3, 11), hearing_deadline)


@pytest.mark.parametrize(("day", "accepted"), [(D(2026, 3, 13), False), (D(2026, 3, 16), True)])
def test_no_decision_while_the_party_may_still_request_a_hearing(law: Law, day: dt.date, accepted: bool) -> None:
    case = penalty_noticed(law, 500_000, 0, "site_materials_outside_enclosure", vendor())
    case.record_statement(officer(D(2026, 3, 9)), "申辩", "online")
    case.answer_statement(officer(D(2026, 3, 10)), law, False, "不予采纳")
    if accepted:
        case.request_legal_review(officer(day), law, 500_000)
        assert case.status is S.UNDER_LEGAL_REVIEW
    else:
        with pytest.raises(DeadlineNotReached, match="request a hearing until 2026-03-13"):
            case.request_legal_review(officer(day), law, 500_000)


# ---- statement and defence (第四十四、四十五条) ---------------------------------------------------------------
@pytest.mark.parametrize("day", [NOTICE_DAY, STATEMENT_DUE])
def test_a_statement_is_received_until_its_deadline(law: Law, day: dt.date) -> None:
    case = penalty_noticed(law)
    case.record_statement(officer(day), "申辩", "sms")
    assert (case.status, case.statement_text) == (S.STATEMENT_FILED, "申辩")


def test_a_statement_after_its_deadline_is_refused(law: Law) -> None:
    with pytest.raises(DeadlinePassed, match="statement period ended on 2026-03-09"):
        penalty_noticed(law).record_statement(officer(D(2026, 3, 10)), "申辩", "sms")


@pytest.mark.parametrize("revised", [FINE + 1, FINE * 2])
def test_a_fine_may_not_rise_because_of_a_defence(law: Law, revised: int) -> None:
    case = statement_filed(law)
    with pytest.raises(FineOutsideRange, match="may not rise because of a defence"):
        case.answer_statement(officer(D(2026, 3, 6)), law, False, "不予采纳", revised)
    assert case.status is S.STATEMENT_FILED


def test_a_defence_may_not_lower_the_fine_below_the_legal_range(law: Law) -> None:
    """A ceiling under the legal minimum would leave no fine a decision could impose: the case could then only be
    closed without penalty. Refused at the answer, the case unchanged."""
    case = statement_filed(law)
    minimum = law.violation(case.violation_code).fine_min_fen
    with pytest.raises(FineOutsideRange, match="outside the legal range"):
        case.answer_statement(officer(D(2026, 3, 6)), law, True, "部分采纳", minimum - 1)
    assert (case.status, case.fine_ceiling_fen) == (S.STATEMENT_FILED, FINE)
    case.answer_statement(officer(D(2026, 3, 6)), law, True, "部分采纳", minimum)
    assert case.fine_ceiling_fen == minimum


@pytest.mark.parametrize(("revised", "ceiling"), [(None, FINE), (FINE, FINE), (8_000, 8_000), (5_000, 5_000)])
def test_an_answered_defence_sets_the_ceiling_of_the_decision(law: Law, revised: int | None, ceiling: int) -> None:
    case = statement_answered(law, revised)
    assert case.fine_ceiling_fen == ceiling
    assert case.events[-1].payload == {"adopted": True, "fine_ceiling_fen": ceiling}


@pytest.mark.parametrize("revised", [0, -100])
def test_a_defence_cannot_revise_the_fine_to_nothing(law: Law, revised: int) -> None:
    with pytest.raises(FineOutsideRange, match="decide no penalty instead"):
        statement_filed(law).answer_statement(officer(D(2026, 3, 6)), law, True, "采纳", revised)


def test_an_answer_to_a_statement_needs_its_reasons(law: Law) -> None:
    with pytest.raises(InvalidInput, match="needs its reasons"):
        statement_filed(law).answer_statement(officer(D(2026, 3, 6)), law, True, " ")


# ---- the fine of the decision -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("revised", "fine"), [(None, FINE + 1), (8_000, 8_001), (8_000, FINE)])
def test_a_decision_may_not_exceed_what_the_party_was_told(law: Law, revised: int | None, fine: int) -> None:
    case = statement_answered(law, revised)
    with pytest.raises(FineOutsideRange, match="more than the party was told"):
        case.request_legal_review(officer(D(2026, 3, 6)), law, fine)
    with pytest.raises(FineOutsideRange, match="more than the party was told"):
        case.decide_penalty(officer(D(2026, 3, 6)), law_with_review_from(law, 10_000), fine)


@pytest.mark.parametrize("fine", [4_999, 3_000, 1])
def test_a_decision_must_lie_in_the_legal_range(law: Law, fine: int) -> None:
    case = statement_answered(law)  # a defence never lowers the ceiling below the legal minimum (the test above)
    with pytest.raises(FineOutsideRange, match=r"outside the legal range 50\.00 元–500\.00 元"):
        case.request_legal_review(officer(D(2026, 3, 6)), law, fine)


@pytest.mark.parametrize(("day", "accepted"), [(D(2026, 3, 5), False), (STATEMENT_DUE, False), (D(2026, 3, 10), True)])
def test_no_decision_before_the_statement_period_is_over(law: Law, day: dt.date, accepted: bool) -> None:
    no_review = law_with_review_from(law, 10_000)
    steps: list[Callable[[Case], None]] = [
        lambda c: c.request_legal_review(officer(day), law, FINE),
        lambda c: c.decide_penalty(officer(day), no_review, FINE),
    ]
    for step in steps:
        case = penalty_noticed(law)
        if accepted:
            step(case)
            assert case.status in (S.UNDER_LEGAL_REVIEW, S.DECIDED)
        else:
            with pytest.raises(DeadlineNotReached, match="may file a statement until 2026-03-09"):
                step(case)


def test_an_answered_statement_ends_the_wait_for_the_statement_period(law: Law) -> None:
    case = statement_answered(law)  # answered 03-06, the period runs to 03-09
    case.decide_penalty(officer(D(2026, 3, 6)), law_with_review_from(law, 10_000), FINE)
    assert case.status is S.DECIDED


# ---- legal review (第五十八条) ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("requester", "approver", "allowed"),
    [
        (OFFICER, OFFICER, False),  # the case officer reviews their own case
        (OTHER_OFFICER, OTHER_OFFICER, False),  # the requester reviews their own request
        (OTHER_OFFICER, OFFICER, False),  # the case officer, though someone else asked
        (OFFICER, REVIEWER, True),
        (OTHER_OFFICER, REVIEWER, True),
    ],
)
@pytest.mark.parametrize("decision", ["approve", "return"])
def test_legal_review_needs_a_second_pair_of_eyes(
    law: Law, requester: str, approver: str, allowed: bool, decision: str
) -> None:
    case = under_review(law, requester)
    act = reviewer(D(2026, 3, 9), approver)

    def review() -> None:
        if decision == "approve":
            case.approve_legal_review(act, "同意")
        else:
            case.return_legal_review(act, "补充证据")

    if allowed:
        review()
        assert case.legal_reviewer == approver
        assert case.status in (S.REVIEW_APPROVED, S.REVIEW_RETURNED)
    else:
        with pytest.raises(FourEyesViolation, match=f"{approver} handles this case and may not review it"):
            review()
        assert case.status is S.UNDER_LEGAL_REVIEW


def test_a_returned_review_needs_a_reason(law: Law) -> None:
    with pytest.raises(InvalidInput, match="needs a reason"):
        under_review(law).return_legal_review(reviewer(D(2026, 3, 9)), "  ")


def test_a_returned_review_can_be_requested_again_and_approved(law: Law) -> None:
    case = review_returned(law)
    case.request_legal_review(officer(D(2026, 3, 10)), law, 8_000)
    assert (case.status, case.review_fine_fen, case.legal_reviewer) == (S.UNDER_LEGAL_REVIEW, 8_000, None)
    case.approve_legal_review(reviewer(D(2026, 3, 10)), "同意")
    assert case.status is S.REVIEW_APPROVED


@pytest.mark.parametrize("stage", ["statement_answered", "penalty_notice_issued"])
def test_with_the_shipped_rule_no_penalty_decision_without_legal_review(law: Law, stage: str) -> None:
    case = STAGES[stage](law)
    with pytest.raises(IllegalTransition, match=r"100\.00 元 needs legal review"):
        case.decide_penalty(officer(D(2026, 3, 10)), law, FINE)


@pytest.mark.parametrize(("fine", "needs_review"), [(99_999, False), (100_000, True)])
def test_legal_review_is_required_from_the_configured_amount(law: Law, fine: int, needs_review: bool) -> None:
    law_1000 = law_with_review_from(law, 1_000)
    # construction dust, 首次 band 300–1,000 元: deadline 03-05, persisting 03-06, statement until 03-11
    case = penalty_noticed(law_1000, fine, 0, "construction_dust", contractor())

    def decide() -> None:
        case.decide_penalty(officer(D(2026, 3, 12)), law_1000, fine)

    if needs_review:
        with pytest.raises(IllegalTransition, match="needs legal review"):
            decide()
    else:
        decide()
        assert (case.status, case.fine_fen) == (S.DECIDED, fine)


@pytest.mark.parametrize("fine", [FINE - 1, 5_000])
def test_the_decision_carries_the_fine_the_legal_review_approved(law: Law, fine: int) -> None:
    case = review_approved(law)
    with pytest.raises(FineOutsideRange, match=r"the fine the legal review approved \(100\.00 元\)"):
        case.decide_penalty(officer(DECIDED_ON), law, fine)
    assert case.status is S.REVIEW_APPROVED


# ---- delivery (第六十一条; 规定第十三条) --------------------------------------------------------------------------
@pytest.mark.parametrize("method", [DeliveryMethod.DIRECT, DeliveryMethod.POSTAL, DeliveryMethod.PUBLIC_NOTICE])
def test_delivery_other_than_electronic_needs_no_consent(law: Law, method: DeliveryMethod) -> None:
    case = decided(law)
    case.record_delivery(officer(DELIVERED_ON), law, method, DELIVERED_ON)
    assert (case.status, case.delivery_method, case.payment_due) == (S.DELIVERED, method, PAYMENT_DUE)


def test_electronic_delivery_without_the_partys_consent_is_refused(law: Law) -> None:
    case = decided(law)
    with pytest.raises(ConsentRequired, match="signed consent"):
        case.record_delivery(officer(DELIVERED_ON), law, DeliveryMethod.ELECTRONIC, DELIVERED_ON)
    assert case.status is S.DECIDED


def test_electronic_delivery_with_the_partys_consent_is_accepted(law: Law) -> None:
    case = decided(law, party=shop(consent=True))
    case.record_delivery(officer(DELIVERED_ON), law, DeliveryMethod.ELECTRONIC, DELIVERED_ON)
    assert (case.status, case.delivery_method) == (S.DELIVERED, DeliveryMethod.ELECTRONIC)


@pytest.mark.parametrize("delivered_on", [D(2026, 3, 9), D(2026, 3, 12)])  # before the decision; after today
def test_delivery_lies_between_the_decision_and_today(law: Law, delivered_on: dt.date) -> None:
    with pytest.raises(InvalidInput, match="must lie between the decision"):
        decided(law).record_delivery(officer(DELIVERED_ON), law, DeliveryMethod.DIRECT, delivered_on)


# ---- payment (第六十七、七十二条) ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("paid_on", "amount", "surcharge"),
    [
        (D(2026, 3, 11), FINE, 0),  # the delivery day
        (PAYMENT_DUE, FINE, 0),  # the due day
        (D(2026, 3, 30), FINE + 1_200, 1_200),  # 4 days late: 12%
        (D(2026, 5, 5), 2 * FINE, FINE),  # 40 days late: capped at the fine
    ],
)
def test_the_payment_is_the_fine_plus_the_late_surcharge(
    law: Law, paid_on: dt.date, amount: int, surcharge: int
) -> None:
    case = delivered(law)
    assert case.amount_due_fen(law, paid_on) == (FINE, surcharge)
    case.record_payment(officer(paid_on), law, amount, paid_on)
    assert (case.status, case.amount_paid_fen, case.surcharge_fen) == (S.PAID, amount, surcharge)


@pytest.mark.parametrize(
    ("paid_on", "amount"),
    [(D(2026, 3, 20), FINE - 1), (D(2026, 3, 20), FINE + 1), (D(2026, 3, 30), FINE), (D(2026, 5, 5), 3 * FINE)],
)
def test_a_payment_of_any_other_amount_is_refused(law: Law, paid_on: dt.date, amount: int) -> None:
    case = delivered(law)
    with pytest.raises(InvalidInput, match=f"does not match the amount due on {paid_on}"):
        case.record_payment(officer(paid_on), law, amount, paid_on)
    assert case.status is S.DELIVERED


@pytest.mark.parametrize("paid_on", [D(2026, 3, 10), D(2026, 3, 21)])  # before delivery; after today (03-20)
def test_payment_lies_between_delivery_and_today(law: Law, paid_on: dt.date) -> None:
    with pytest.raises(InvalidInput, match="must lie between delivery"):
        delivered(law).record_payment(officer(D(2026, 3, 20)), law, FINE, paid_on)


def test_a_no_penalty_decision_has_nothing_to_pay(law: Law) -> None:
    with pytest.raises(IllegalTransition, match="nothing to pay"):
        no_penalty_delivered(law).record_payment(officer(D(2026, 3, 6)), law, FINE, D(2026, 3, 6))


# ---- closing and publication ------------------------------------------------------------------------------------
def test_a_penalty_case_cannot_close_unpaid(law: Law) -> None:
    case = delivered(law)
    with pytest.raises(IllegalTransition, match="not paid yet"):
        case.close(officer(D(2026, 3, 20)))
    assert case.status is S.DELIVERED


def test_a_no_penalty_case_closes_after_delivery(law: Law) -> None:
    case = no_penalty_delivered(law)
    case.close(officer(D(2026, 3, 6)))
    assert (case.status, case.closed_on) == (S.CLOSED, D(2026, 3, 6))


@pytest.mark.parametrize("stage", ["decided", "delivered", "paid", "closed"])
def test_a_penalty_decision_is_published_from_any_stage_after_it(law: Law, stage: str) -> None:
    case = STAGES[stage](law)
    case.publish(officer(D(2026, 3, 20)))
    assert case.published_on == D(2026, 3, 20)
    assert (case.events[-1].from_status, case.events[-1].to_status) == (stage, stage)


def test_a_no_penalty_decision_is_not_published(law: Law) -> None:
    with pytest.raises(IllegalTransition, match="only penalty decisions are published"):
        no_penalty_decided(law).publish(officer(D(2026, 3, 5)))


def test_a_decision_is_published_only_once(law: Law) -> None:
    case = decided(law)
    case.publish(officer(D(2026, 3, 11)))
    with pytest.raises(IllegalTransition, match="already published on 2026-03-11"):
        case.publish(officer(D(2026, 3, 12)))


@pytest.mark.parametrize(("day", "late"), [(DECIDED_ON, False), (PUBLICATION_DUE, False), (D(2026, 3, 20), True)])
def test_publication_after_seven_working_days_is_recorded_as_late(law: Law, day: dt.date, late: bool) -> None:
    case = decided(law)
    case.publish(officer(day))
    assert case.events[-1].payload == {"late": late}


# ---- the 90-day decision period (第六十条) and the running deadlines ----------------------------------------------
@pytest.mark.parametrize(
    ("filed_on", "due", "provisional"),
    [
        (D(2026, 3, 2), D(2026, 6, 1), False),  # ends Sunday 05-31
        (D(2026, 7, 4), D(2026, 10, 8), False),  # ends 10-02 in 国庆
        (D(2026, 10, 6), D(2027, 1, 4), True),  # reaches 2027, not in the calendar yet
    ],
)
def test_the_decision_is_due_ninety_days_after_filing(
    law: Law, filed_on: dt.date, due: dt.date, provisional: bool
) -> None:
    case = draft()
    case.file(officer(filed_on), law, "X-1")
    assert case.decision_due == due
    assert case.events[-1].payload["decision_provisional"] is provisional


OPEN_DEADLINES: list[tuple[str, dict[str, dt.date]]] = [
    ("filed", {"decision": DECISION_DUE}),
    ("notice_issued", {"decision": DECISION_DUE, "rectification": D(2026, 3, 3)}),
    ("corrected", {"decision": DECISION_DUE}),
    ("persisting", {"decision": DECISION_DUE}),
    ("penalty_notice_issued", {"decision": DECISION_DUE, "statement": STATEMENT_DUE}),
    ("statement_filed", {"decision": DECISION_DUE}),
    ("statement_answered", {"decision": DECISION_DUE}),
    ("under_legal_review", {"decision": DECISION_DUE}),
    ("review_approved", {"decision": DECISION_DUE}),
    ("review_returned", {"decision": DECISION_DUE}),
    ("decided", {"delivery": PUBLICATION_DUE, "publication": PUBLICATION_DUE}),
    ("delivered", {"payment": PAYMENT_DUE, "publication": PUBLICATION_DUE}),
    ("paid", {"publication": PUBLICATION_DUE}),
    ("closed", {"publication": PUBLICATION_DUE}),
]


def test_a_draft_has_no_running_deadline() -> None:
    assert draft().open_deadlines() == {}


@pytest.mark.parametrize(("stage", "deadlines"), OPEN_DEADLINES)
def test_the_running_deadlines_of_each_stage(law: Law, stage: str, deadlines: dict[str, dt.date]) -> None:
    case = STAGES[stage](law)
    assert case.status.value == stage
    assert case.open_deadlines() == deadlines


def test_a_published_closed_case_has_no_running_deadline(law: Law) -> None:
    assert walk_penalty_path(law).open_deadlines() == {}


@pytest.mark.parametrize(
    ("stage", "deadlines"),
    [
        ("decided", {"delivery": D(2026, 3, 13)}),  # decided 03-04: seven working days
        ("delivered", {}),
    ],
)
def test_a_no_penalty_decision_runs_only_the_delivery_deadline(
    law: Law, stage: str, deadlines: dict[str, dt.date]
) -> None:
    case = no_penalty_decided(law) if stage == "decided" else no_penalty_delivered(law)
    assert case.open_deadlines() == deadlines


@pytest.mark.parametrize("then", ["request", "approve", "return"])
def test_a_case_sent_to_legal_review_after_the_statement_period_has_no_statement_deadline_open(
    law: Law, then: str
) -> None:
    case = penalty_noticed(law)  # no statement filed; the period ends 03-09
    case.request_legal_review(officer(D(2026, 3, 10)), law, FINE)
    if then == "approve":
        case.approve_legal_review(reviewer(D(2026, 3, 11)), "同意")
    elif then == "return":
        case.return_legal_review(reviewer(D(2026, 3, 11)), "补充证据")
    assert case.open_deadlines() == {"decision": DECISION_DUE}


def head(day: dt.date) -> Act:
    """The agency's head (负责人), who approves a longer decision period."""
    return act_on(day, "head1", Role.SUPERVISOR)


def test_a_decision_on_the_last_day_of_the_ninety_stands(law: Law) -> None:
    case = review_approved(law)
    case.decide_penalty(officer(DECISION_DUE), law, FINE)
    assert case.status is S.DECIDED


@pytest.mark.parametrize("day", [D(2026, 6, 2), D(2026, 6, 5), D(2026, 9, 1)])
def test_a_penalty_decision_past_the_ninety_days_without_an_approved_extension_is_refused(
    law: Law, day: dt.date
) -> None:
    case = review_approved(law)
    before = len(case.events)
    with pytest.raises(DecisionPeriodExpired, match=r"ended on 2026-06-01.*负责人批准") as refused:
        case.decide_penalty(officer(day), law, FINE)
    assert refused.value.code == "decision_period_expired"
    assert (case.status, len(case.events), case.decided_on) == (S.REVIEW_APPROVED, before, None)


def test_a_no_penalty_decision_past_the_ninety_days_without_an_approved_extension_is_refused(law: Law) -> None:
    case = filed(law)
    with pytest.raises(DecisionPeriodExpired):
        case.decide_no_penalty(officer(D(2026, 6, 2)), law, NoPenaltyGround.NOT_ESTABLISHED, "违法事实不能成立", 0)
    assert case.status is S.FILED


def test_an_extension_approved_by_the_head_moves_the_decision_due_and_is_recorded_with_who_approved(
    law: Law,
) -> None:
    case = review_approved(law)
    deadline = case.extend_decision_period(head(D(2026, 5, 25)), law, 30, "案情复杂，需补充调查")
    assert deadline.due == case.decision_due == D(2026, 7, 1)  # 06-01 + 30 days, a Wednesday
    event = case.events[-1]
    assert (event.action, event.actor, event.role, event.reason) == (
        "extend_decision_period",
        "head1",
        "supervisor",
        "案情复杂，需补充调查",
    )
    assert event.payload == {
        "days": 30,
        "previous_due": "2026-06-01",
        "approved_by": "head1",
        "approved_after_expiry": False,
        "decision_due": "2026-07-01",
        "decision_provisional": False,
    }
    assert (event.from_status, event.to_status) == ("review_approved", "review_approved")
    case.decide_penalty(officer(D(2026, 6, 30)), law, FINE)  # 95 days after filing, within the extension
    assert case.status is S.DECIDED
    assert case.open_deadlines() == {"delivery": case.delivery_due, "publication": case.publication_due}


def test_an_extension_approved_after_the_period_ended_says_so(law: Law) -> None:
    case = review_approved(law)
    case.extend_decision_period(head(D(2026, 6, 3)), law, 10, "补充调查")
    assert case.events[-1].payload["approved_after_expiry"] is True
    assert case.decision_due == D(2026, 6, 11)


def test_a_decision_past_the_extended_period_is_refused_naming_the_extension(law: Law) -> None:
    case = review_approved(law)
    case.extend_decision_period(head(D(2026, 5, 25)), law, 10, "补充调查")
    with pytest.raises(DecisionPeriodExpired, match=r"ended on 2026-06-11, as extended"):
        case.decide_penalty(officer(D(2026, 6, 12)), law, FINE)


@pytest.mark.parametrize(
    ("act", "days", "reason", "error", "message"),
    [
        (officer(D(2026, 5, 25)), 30, "案情复杂", IllegalTransition, "only the agency's head"),
        (act_on(D(2026, 5, 25), REVIEWER, Role.LEGAL_REVIEWER), 30, "案情复杂", IllegalTransition, "负责人"),
        (head(D(2026, 5, 25)), 0, "案情复杂", InvalidInput, "1 to 30 days"),
        (head(D(2026, 5, 25)), 31, "案情复杂", InvalidInput, "not 31"),
        (head(D(2026, 5, 25)), 30, "  ", InvalidInput, "needs its reason"),
    ],
)
def test_an_extension_needs_the_head_a_reason_and_a_length_within_the_rule(
    law: Law, act: Act, days: int, reason: str, error: type[Exception], message: str
) -> None:
    case = review_approved(law)
    before = (case.decision_due, len(case.events))
    with pytest.raises(error, match=message):
        case.extend_decision_period(act, law, days, reason)
    assert (case.decision_due, len(case.events)) == before


def test_a_decided_case_has_no_decision_period_to_extend(law: Law) -> None:
    case = review_approved(law)
    case.decide_penalty(officer(DECIDED_ON), law, FINE)
    with pytest.raises(IllegalTransition, match="cannot extend decision period"):
        case.extend_decision_period(head(DECIDED_ON), law, 30, "补充调查")


@pytest.mark.parametrize(("day", "left"), [(D(2026, 5, 22), 10), (DECISION_DUE, 0), (D(2026, 6, 3), -2)])
def test_the_days_left_of_the_decision_period_count_down_past_zero(law: Law, day: dt.date, left: int) -> None:
    assert filed(law).decision_period_days_left(day) == left


def test_the_act_records_the_role_it_was_done_in(law: Law) -> None:
    case = under_review(law)
    case.approve_legal_review(reviewer(D(2026, 3, 9)), "同意")
    assert (case.events[-1].role, case.events[-1].reason) == (Role.LEGAL_REVIEWER.value, "同意")


@pytest.mark.parametrize(
    ("delivered_on", "late"),
    [(DELIVERED_ON, False), (D(2026, 3, 19), False), (D(2026, 3, 20), True)],  # due 7 working days after 03-10
)
def test_a_delivery_after_the_seven_working_days_stands_and_is_recorded_as_late(
    law: Law, delivered_on: dt.date, late: bool
) -> None:
    case = decided(law)
    assert case.delivery_due == D(2026, 3, 19)
    case.record_delivery(officer(D(2026, 3, 20)), law, DeliveryMethod.DIRECT, delivered_on)
    assert case.events[-1].payload["late"] is late


# ---- rules added after review: service of notices, dead ends, grounds ----------------------------------------
def test_a_draft_that_will_not_become_a_case_is_withdrawn_with_its_reason() -> None:
    case = draft("street_stall")
    with pytest.raises(InvalidInput, match="needs a reason"):
        case.withdraw(officer(FILED_ON), " ")
    case.withdraw(officer(FILED_ON), "无法确认摊主身份")
    assert (case.status, case.closed_on, case.events[-1].reason) == (S.CLOSED, FILED_ON, "无法确认摊主身份")


@pytest.mark.parametrize(
    ("served_on", "statement_due"),
    [(D(2026, 3, 4), D(2026, 3, 9)), (D(2026, 3, 5), D(2026, 3, 10))],  # 3 working days from service
)
def test_the_statement_period_runs_from_the_day_the_notice_is_served(
    law: Law, served_on: dt.date, statement_due: dt.date
) -> None:
    case = persisting(law)
    case.issue_penalty_notice(officer(D(2026, 3, 5)), law, FINE, 0, DeliveryMethod.POSTAL, served_on)
    assert (case.penalty_notice_served_on, case.statement_deadline) == (served_on, statement_due)
    assert case.events[-1].payload["method"] == "postal"


@pytest.mark.parametrize("served_on", [D(2026, 3, 1), D(2026, 3, 6)])  # before filing; after today
def test_a_notice_is_served_between_filing_and_today(law: Law, served_on: dt.date) -> None:
    case = filed(law)
    with pytest.raises(InvalidInput, match="lies outside the filing"):
        case.issue_rectification_notice(officer(D(2026, 3, 5)), law, DIRECT, served_on)
    assert case.status is S.FILED


def test_electronic_service_of_a_notice_needs_the_partys_consent(law: Law) -> None:
    with pytest.raises(ConsentRequired):
        filed(law).issue_rectification_notice(officer(FILED_ON), law, DeliveryMethod.ELECTRONIC)
    case = filed(law, party=shop(consent=True))
    case.issue_rectification_notice(officer(FILED_ON), law, DeliveryMethod.ELECTRONIC)
    assert case.rectification_service_method is DeliveryMethod.ELECTRONIC


def test_a_statement_posted_within_the_period_counts_even_if_entered_later(law: Law) -> None:
    case = penalty_noticed(law)  # statement period ends 03-09
    case.record_statement(officer(D(2026, 3, 11)), "邮寄的申辩书", "written", received_on=D(2026, 3, 9))
    assert case.events[-1].payload["received_on"] == "2026-03-09"
    late = penalty_noticed(law)
    with pytest.raises(DeadlinePassed):
        late.record_statement(officer(D(2026, 3, 11)), "逾期申辩", "written", received_on=D(2026, 3, 10))


def test_a_corrected_repeat_offence_with_an_adopted_defence_may_still_be_decided_without_penalty(law: Law) -> None:
    case = rechecked(law, RecheckOutcome.CORRECTED)
    case.issue_penalty_notice(officer(NOTICE_DAY), law, 20_000, 1, DIRECT)  # a repeat: 再次 band
    case.record_statement(officer(D(2026, 3, 5)), "已改正，情节轻微", "online")
    case.answer_statement(officer(D(2026, 3, 6)), law, True, "采纳")
    case.decide_no_penalty(officer(D(2026, 3, 6)), law, NoPenaltyGround.MINOR_CORRECTED, "轻微并及时改正", 1)
    assert (case.status, case.no_penalty_ground) == (S.DECIDED, NoPenaltyGround.MINOR_CORRECTED)


def test_facts_found_not_established_after_the_legal_review_end_without_penalty(law: Law) -> None:
    case = review_approved(law)
    case.decide_no_penalty(officer(D(2026, 3, 10)), law, NoPenaltyGround.NOT_ESTABLISHED, "新证据表明非当事人所为", 0)
    assert (case.status, case.decision_kind) == (S.DECIDED, DecisionKind.NO_PENALTY)


def test_a_returned_review_may_lead_to_a_new_pre_penalty_notice_but_never_above_the_defence_ceiling(law: Law) -> None:
    case = statement_answered(law, revised=8_000)
    case.request_legal_review(officer(D(2026, 3, 9)), law, 8_000)
    case.return_legal_review(reviewer(D(2026, 3, 9)), "告知内容有误，重新告知")
    with pytest.raises(FineOutsideRange, match="第四十五条"):
        case.issue_penalty_notice(officer(D(2026, 3, 10)), law, FINE, 0, DIRECT)
    case.issue_penalty_notice(officer(D(2026, 3, 10)), law, 8_000, 0, DIRECT)
    assert (case.status, case.statement_deadline, case.review_fine_fen) == (
        S.PENALTY_NOTICE_ISSUED,
        D(2026, 3, 13),
        None,
    )


def test_a_violation_off_the_first_offence_list_may_be_penalised_though_corrected(law: Law) -> None:
    case = rechecked(law, RecheckOutcome.CORRECTED, code="site_materials_outside_enclosure", party=contractor())
    case.issue_penalty_notice(officer(D(2026, 3, 9)), law, 300_000, 0, DIRECT)
    assert case.status is S.PENALTY_NOTICE_ISSUED


def test_an_unpaid_fine_is_referred_for_enforcement_only_after_its_deadline_and_may_still_be_paid(law: Law) -> None:
    case = delivered(law)  # payment due 03-26
    with pytest.raises(DeadlineNotReached, match="may pay until 2026-03-26"):
        case.refer_for_enforcement(officer(D(2026, 3, 26)), "逾期未缴")
    case.refer_for_enforcement(officer(D(2026, 3, 30)), "逾期未缴纳，申请人民法院强制执行")
    assert case.status is S.ENFORCEMENT_REQUESTED
    fine, surcharge = case.amount_due_fen(law, D(2026, 4, 2))
    case.record_payment(officer(D(2026, 4, 2)), law, fine + surcharge, D(2026, 4, 2))
    assert (case.status, case.surcharge_fen) == (S.PAID, FINE * 3 * 7 // 100)


def test_an_enforcement_closes_only_with_its_outcome(law: Law) -> None:
    case = delivered(law)
    case.refer_for_enforcement(officer(D(2026, 3, 30)), "逾期未缴纳")
    with pytest.raises(InvalidInput, match="执行完毕"):
        case.close(officer(D(2026, 9, 1)))
    case.close(officer(D(2026, 9, 1)), "终结执行：当事人下落不明")
    assert case.status is S.CLOSED


def test_a_corrected_identity_keeps_the_previous_one_in_the_record() -> None:
    case = draft("street_stall", party=vendor())
    case.confirm_party(officer(FILED_ON), shop(), "核实后更正为商户")
    payload = case.events[-1].payload
    assert payload["previous"]["id_number"] == vendor().id_number
    assert payload["party"]["id_number"] == shop().id_number


# ---- the automatic re-check (自动复查) --------------------------------------------------------------------------
def system(day: dt.date) -> Act:
    return act_on(day, "system", Role.SYSTEM)


def test_the_service_may_look_again_only_after_the_rectification_deadline(law: Law) -> None:
    case = notice_issued(law)
    assert case.rectification_deadline is not None
    with pytest.raises(DeadlineNotReached, match="may correct until"):
        case.note_automatic_recheck(system(case.rectification_deadline), True, {"camera_id": "cam-1"})
    assert case.automatic_recheck is None
    assert len(case.events) == 3


def test_an_automatic_recheck_waits_on_the_case_for_the_officer_and_changes_no_stage(law: Law) -> None:
    case = notice_issued(law)
    assert case.rectification_deadline is not None
    after = case.rectification_deadline + dt.timedelta(days=1)
    case.note_automatic_recheck(system(after), True, {"camera_id": "cam-1", "seen_s": 42.0})
    assert case.status is S.NOTICE_ISSUED
    last = case.events[-1]
    assert (last.action, last.actor, last.role, last.from_status, last.to_status) == (
        "automatic_recheck", "system", "system", "notice_issued", "notice_issued",
    )  # fmt: skip
    assert case.automatic_recheck is not None
    assert case.automatic_recheck["present"] is True
    assert case.automatic_recheck["seen_s"] == 42.0
    # the officer's own re-check is the finding; the automatic one is then no longer waiting
    case.record_recheck(officer(after), RecheckOutcome.PERSISTING, after, "依自动复查结果确认")
    assert case.automatic_recheck is None
    with pytest.raises(IllegalTransition, match="cannot note automatic recheck"):
        case.note_automatic_recheck(system(after), True, {})


# ---- the party's consent to electronic delivery (规定第十三条) ---------------------------------------------------
def test_the_party_may_consent_to_electronic_delivery_once_and_it_is_recorded(law: Law) -> None:
    case = notice_issued(law)
    assert not case.party_e_delivery_consent
    party = act_on(NOTICE_DAY, "浦东小面馆", Role.PARTY)
    case.consent_to_e_delivery(party, "当事人页面确认 2026-03-04")
    assert case.party_e_delivery_consent
    assert case.party_consent_document_ref == "当事人页面确认 2026-03-04"
    assert (case.events[-1].action, case.events[-1].role, case.status) == (
        "e_delivery_consent",
        "party",
        S.NOTICE_ISSUED,
    )
    with pytest.raises(InvalidInput, match="already consented"):
        case.consent_to_e_delivery(party, "again")


def test_a_statement_keeps_the_package_of_its_attachments(law: Law) -> None:
    case = rechecked(law, RecheckOutcome.PERSISTING)
    case.issue_penalty_notice(officer(case.recheck_on or NOTICE_DAY), law, FINE, 0, DIRECT)
    day = case.penalty_notice_served_on
    assert day is not None
    case.record_statement(act_on(day, "浦东小面馆", Role.PARTY), "已改正", "online", None, "ab" * 32)
    assert case.events[-1].payload["attachments_package_id"] == "ab" * 32
