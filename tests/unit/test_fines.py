"""Fines: the discretion band (裁量基准) by prior violations, the late surcharge (第七十二条), legal review (第五十八条).

Amounts in the tables are in fen: 5_000 fen = 50 元.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cases.errors import NotFound
from cases.law import Law
from cases.law.config import LateSurcharge
from cases.law.fines import FineBand, late_surcharge_fen
from tests.unit.helpers import law_with_review_from

D = dt.date
CODES = ["street_stall", "cross_door", "construction_dust", "site_materials_outside_enclosure", "bare_soil_uncovered"]


@pytest.mark.parametrize(
    ("code", "priors", "band"),
    [
        ("street_stall", 0, FineBand("首次", 5_000, 20_000)),
        ("street_stall", 1, FineBand("再次", 20_000, 35_000)),
        ("street_stall", 2, FineBand("多次", 35_000, 50_000)),
        ("street_stall", 5, FineBand("多次", 35_000, 50_000)),
        ("cross_door", 0, FineBand("首次", 5_000, 20_000)),
        ("cross_door", 1, FineBand("再次", 20_000, 35_000)),
        ("cross_door", 2, FineBand("多次", 35_000, 50_000)),
        ("cross_door", 5, FineBand("多次", 35_000, 50_000)),
        ("construction_dust", 0, FineBand("首次", 30_000, 100_000)),
        ("construction_dust", 1, FineBand("再次", 100_000, 200_000)),
        ("construction_dust", 2, FineBand("多次", 200_000, 300_000)),
        ("construction_dust", 5, FineBand("多次", 200_000, 300_000)),
        ("site_materials_outside_enclosure", 0, FineBand("首次", 300_000, 1_000_000)),
        ("site_materials_outside_enclosure", 1, FineBand("再次", 1_000_000, 2_000_000)),
        ("site_materials_outside_enclosure", 2, FineBand("多次", 2_000_000, 3_000_000)),
        ("site_materials_outside_enclosure", 5, FineBand("多次", 2_000_000, 3_000_000)),
        ("bare_soil_uncovered", 0, FineBand("首次", 1_000_000, 3_000_000)),
        ("bare_soil_uncovered", 1, FineBand("再次", 3_000_000, 6_000_000)),
        ("bare_soil_uncovered", 2, FineBand("多次", 6_000_000, 10_000_000)),
        ("bare_soil_uncovered", 5, FineBand("多次", 6_000_000, 10_000_000)),
    ],
)
def test_the_discretion_band_rises_with_prior_violations(law: Law, code: str, priors: int, band: FineBand) -> None:
    assert law.fine_band(law.violation(code), priors) == band


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("priors", [0, 1, 2, 5])
def test_every_discretion_band_lies_inside_the_legal_range(law: Law, code: str, priors: int) -> None:
    violation = law.violation(code)
    band = law.fine_band(violation, priors)
    assert violation.fine_min_fen <= band.min_fen <= band.max_fen <= violation.fine_max_fen


@pytest.mark.parametrize(
    ("fine_fen", "allowed"),
    [(4_999, False), (5_000, True), (12_345, True), (20_000, True), (20_001, False)],
)
def test_a_band_allows_its_bounds_and_nothing_outside(fine_fen: int, allowed: bool) -> None:
    assert FineBand("首次", 5_000, 20_000).allows(fine_fen) is allowed


def test_an_unknown_violation_is_not_found(law: Law) -> None:
    with pytest.raises(NotFound, match="'littering' is not in the catalogue"):
        law.violation("littering")


# ---- 加处罚款: 3% of the fine per day after the due date, in whole fen rounded down, never more than the fine ----
DUE = D(2026, 3, 26)


@pytest.mark.parametrize(
    ("fine_fen", "paid_on", "surcharge_fen"),
    [
        (20_000, D(2026, 3, 11), 0),  # paid well before the due day
        (20_000, DUE, 0),  # paid on the due day: on time
        (20_000, D(2026, 3, 27), 600),  # 1 day late: 3%
        (20_000, D(2026, 4, 5), 6_000),  # 10 days late: 30%
        (20_000, D(2026, 4, 28), 19_800),  # 33 days late: 99%
        (20_000, D(2026, 4, 29), 20_000),  # 34 days late: 102%, capped at the fine
        (20_000, D(2026, 5, 5), 20_000),  # 40 days late: capped at the fine
        (20_000, D(2027, 3, 26), 20_000),  # a year late: still capped at the fine
        (333, D(2026, 3, 27), 9),  # 9.99 fen rounds down to 9
        (5_050, D(2026, 3, 27), 151),  # 151.5 fen rounds down to 151
        (5_050, D(2026, 3, 28), 303),  # 2 days: 303 fen exactly
    ],
)
def test_the_late_surcharge_is_three_percent_a_day_rounded_down_and_capped_at_the_fine(
    law: Law, fine_fen: int, paid_on: dt.date, surcharge_fen: int
) -> None:
    assert law.late_surcharge_fen(fine_fen, DUE, paid_on) == surcharge_fen


def test_the_late_surcharge_is_counted_in_calendar_days_holidays_included(law: Law) -> None:
    # due the day before 国庆; paid the first working day after it: 8 days late, holidays count
    assert law.late_surcharge_fen(10_000, D(2026, 9, 30), D(2026, 10, 8)) == 2_400


def test_an_uncapped_rule_lets_the_surcharge_exceed_the_fine() -> None:
    rule = LateSurcharge(percent_per_day=3, capped_at_fine=False, legal_source="测试用规则")
    assert late_surcharge_fen(rule, 20_000, DUE, D(2026, 5, 5)) == 24_000


# ---- 法制审核 (第五十八条) -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fine_fen", [0, 1, 5_000, 10_000_000])
def test_the_shipped_rule_sends_every_penalty_decision_to_legal_review(law: Law, fine_fen: int) -> None:
    assert law.needs_legal_review(fine_fen) is True


@pytest.mark.parametrize(
    ("fine_fen", "needed"),
    [(5_000, False), (99_999, False), (100_000, True), (100_001, True), (3_000_000, True)],
)
def test_legal_review_is_needed_from_the_threshold_on(law: Law, fine_fen: int, needed: bool) -> None:
    assert law_with_review_from(law, 1_000).needs_legal_review(fine_fen) is needed


# ---- 第三十六条: two years' limitation --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("today", "start"),
    [
        (D(2026, 3, 15), D(2024, 3, 15)),
        (D(2026, 1, 1), D(2024, 1, 1)),
        (D(2028, 2, 29), D(2026, 2, 28)),  # 29 February has no twin two years before
    ],
)
def test_violations_first_seen_more_than_two_years_ago_are_time_barred(
    law: Law, today: dt.date, start: dt.date
) -> None:
    assert law.limitation_start(today) == start
