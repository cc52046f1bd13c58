"""Deadlines on the real 2026 calendar (国务院办公厅关于2026年部分节假日安排的通知).

行政处罚法第八十五条: the law's 二日、三日、五日、七日 are working days (holidays and weekends skipped, make-up
working days 调休上班 counted), the start day not counted. Other periods count calendar days and, when they end on a
rest day, end on the next working day instead.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cases.law import Law
from cases.law.calendar import Deadline
from cases.law.config import DayUnit, Period

D = dt.date


def working(count: int) -> Period:
    return Period(count=count, unit=DayUnit.WORKING_DAYS, legal_source="行政处罚法第八十五条")


def calendar(count: int) -> Period:
    return Period(count=count, unit=DayUnit.CALENDAR_DAYS, legal_source="行政处罚法第六十条")


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 1, 1), False),  # 元旦
        (D(2026, 1, 3), False),  # 元旦, a Saturday
        (D(2026, 1, 4), True),  # Sunday, 调休上班
        (D(2026, 2, 14), True),  # Saturday, 调休上班 before 春节
        (D(2026, 2, 16), False),  # Monday in 春节
        (D(2026, 2, 23), False),  # last day of 春节, a Monday
        (D(2026, 2, 24), True),  # first working day after 春节
        (D(2026, 2, 28), True),  # Saturday, 调休上班 after 春节
        (D(2026, 4, 6), False),  # 清明节, a Monday
        (D(2026, 5, 5), False),  # 劳动节, a Tuesday
        (D(2026, 5, 9), True),  # Saturday, 调休上班
        (D(2026, 6, 19), False),  # 端午节, a Friday
        (D(2026, 9, 20), True),  # Sunday, 调休上班 before 国庆
        (D(2026, 9, 25), False),  # 中秋节, a Friday
        (D(2026, 10, 7), False),  # 国庆节, a Wednesday
        (D(2026, 10, 10), True),  # Saturday, 调休上班 after 国庆
        (D(2026, 10, 11), False),  # an ordinary Sunday
        (D(2026, 3, 4), True),  # an ordinary Wednesday
        (D(2026, 3, 7), False),  # an ordinary Saturday
        (D(2027, 1, 1), True),  # 2027 is not in the calendar: only weekends rest
        (D(2027, 1, 2), False),  # a Saturday of 2027
    ],
)
def test_holidays_rest_and_make_up_days_work(law: Law, day: dt.date, working: bool) -> None:
    assert law.calendar.is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "count", "due"),
    [
        # 7-day delivery (第六十一条)
        (D(2026, 3, 4), 7, D(2026, 3, 13)),  # Wed → Fri of the next week: one weekend skipped
        (D(2026, 9, 30), 7, D(2026, 10, 15)),  # over 国庆, counting Saturday 10-10
        (D(2026, 2, 12), 7, D(2026, 2, 28)),  # counting Saturdays 02-14 and 02-28, over 春节
        (D(2026, 6, 17), 7, D(2026, 6, 29)),  # over 端午 and a weekend
        # 5-day hearing request (第六十四条)
        (D(2026, 4, 30), 5, D(2026, 5, 11)),  # over 劳动节, counting Saturday 05-09
        (D(2026, 9, 18), 5, D(2026, 9, 24)),  # counting Sunday 09-20
        (D(2026, 4, 2), 5, D(2026, 4, 10)),  # Thu: 04-03, then 清明 (Sat–Mon), then 04-07 to 04-10
        # 3-day statement (第四十四、四十五条)
        (D(2026, 2, 13), 3, D(2026, 2, 25)),  # Fri: Saturday 02-14, then 春节, then 02-24, 02-25
        (D(2025, 12, 31), 3, D(2026, 1, 6)),  # over 元旦, counting Sunday 01-04
        (D(2026, 1, 1), 3, D(2026, 1, 6)),  # from a holiday itself
        (D(2026, 1, 9), 3, D(2026, 1, 14)),  # an ordinary weekend
        (D(2026, 10, 9), 1, D(2026, 10, 10)),  # the next working day is a Saturday
    ],
)
def test_working_day_periods_skip_rest_days_and_count_make_up_days(
    law: Law, start: dt.date, count: int, due: dt.date
) -> None:
    assert law.deadline(start, working(count)).due == due


@pytest.mark.parametrize(
    ("start", "count", "due"),
    [
        (D(2026, 3, 4), 15, D(2026, 3, 19)),  # ends on a Thursday: stays
        (D(2026, 3, 6), 15, D(2026, 3, 23)),  # ends Saturday 03-21 → Monday
        (D(2026, 9, 16), 15, D(2026, 10, 8)),  # ends 10-01 in 国庆 → first day after it
        (D(2026, 2, 5), 15, D(2026, 2, 24)),  # ends 02-20 in 春节 → 02-24
        (D(2026, 2, 13), 15, D(2026, 2, 28)),  # ends on make-up Saturday 02-28: stays
        (D(2026, 3, 2), 90, D(2026, 6, 1)),  # 90-day decision: ends Sunday 05-31 → Monday
        (D(2026, 7, 4), 90, D(2026, 10, 8)),  # 90-day decision: ends 10-02 in 国庆 → 10-08
        (D(2026, 7, 12), 90, D(2026, 10, 10)),  # 90-day decision: ends on make-up Saturday 10-10: stays
        (D(2026, 1, 5), 90, D(2026, 4, 7)),  # ends 04-05 in 清明 → 04-07
    ],
)
def test_calendar_day_periods_end_on_the_next_working_day_when_they_end_on_a_rest_day(
    law: Law, start: dt.date, count: int, due: dt.date
) -> None:
    assert law.deadline(start, calendar(count)).due == due


@pytest.mark.parametrize(
    "start",
    [D(2026, 3, 4), D(2026, 3, 7), D(2026, 10, 3), D(2026, 10, 10)],  # a weekday, a Saturday, 国庆, a make-up Saturday
)
def test_an_immediate_period_ends_the_same_day_even_on_a_rest_day(law: Law, start: dt.date) -> None:
    """立即改正 is not a party's filing period: the rest-day extension does not stretch it."""
    assert law.deadline(start, calendar(0)) == Deadline(due=start, provisional=False)


def test_a_zero_working_day_period_ends_on_its_start_day(law: Law) -> None:
    assert law.deadline(D(2026, 3, 4), working(0)).due == D(2026, 3, 4)


@pytest.mark.parametrize(
    ("start", "period", "due"),
    [
        (D(2026, 12, 28), working(7), D(2027, 1, 6)),  # 2027-01-01 counted as a working day: unknown yet
        (D(2026, 12, 20), calendar(15), D(2027, 1, 4)),  # ends Saturday 2027-01-02 → Monday
        (D(2026, 10, 6), calendar(90), D(2027, 1, 4)),  # a 90-day decision period of a case filed in October
        (D(2025, 12, 31), working(3), D(2026, 1, 6)),  # starts in 2025, which is not in the calendar either
    ],
)
def test_a_deadline_that_reaches_a_year_not_in_the_calendar_is_provisional(
    law: Law, start: dt.date, period: Period, due: dt.date
) -> None:
    assert law.deadline(start, period) == Deadline(due=due, provisional=True)


@pytest.mark.parametrize(
    ("start", "period"),
    [
        (D(2026, 12, 10), calendar(15)),  # 12-25, a Friday
        (D(2026, 12, 22), working(7)),  # 12-31
        (D(2026, 1, 1), calendar(0)),
    ],
)
def test_a_deadline_inside_the_calendar_is_final(law: Law, start: dt.date, period: Period) -> None:
    assert law.deadline(start, period).provisional is False


@pytest.mark.parametrize(
    ("name", "start", "due"),
    [
        ("filing_to_decision", D(2026, 3, 2), D(2026, 6, 1)),  # 第六十条: 90 calendar days
        ("decision_delivery", D(2026, 9, 30), D(2026, 10, 15)),  # 第六十一条: 7 working days
        ("payment", D(2026, 9, 16), D(2026, 10, 8)),  # 第六十七条: 15 calendar days
        ("publication", D(2026, 2, 12), D(2026, 2, 28)),  # 7 working days
        ("statement", D(2026, 2, 13), D(2026, 2, 25)),  # 3 working days
        ("hearing_request", D(2026, 4, 30), D(2026, 5, 11)),  # 第六十四条: 5 working days
    ],
)
def test_the_shipped_periods_count_as_the_law_says(law: Law, name: str, start: dt.date, due: dt.date) -> None:
    period = getattr(law.config.deadlines, name)
    assert law.deadline(start, period).due == due


@pytest.mark.parametrize(("year", "covered"), [(2025, False), (2026, True), (2027, False)])
def test_the_shipped_calendar_covers_2026_only(law: Law, year: int, covered: bool) -> None:
    assert law.calendar.covers(year) is covered
