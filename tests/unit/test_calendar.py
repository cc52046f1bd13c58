"""Deadlines on the real calendar: the holidays library's China (国务院办公厅关于2026年部分节假日安排的通知 and the
statutory days of every year), overridden by configs/calendar.yaml.

行政处罚法第八十五条: the law's 二日、三日、五日、七日 are working days (holidays and weekends skipped, make-up
working days 调休上班 counted), the start day not counted. Other periods count calendar days and, when they end on a
rest day, end on the next working day instead.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cases.law import Law
from cases.law.calendar import Deadline
from cases.law.config import CalendarConfig, CalendarYear, DayOverride, DayUnit, HolidayRange, Period

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
        (D(2027, 1, 1), False),  # 元旦 2027: a statutory holiday, though 2027's arrangement is not published
        (D(2027, 1, 2), False),  # a Saturday of 2027
        (D(2027, 2, 8), False),  # 春节 2027 (statutory: 除夕 02-05 and the first three days from 02-06)
        (D(2025, 1, 26), True),  # Sunday, 调休上班 before 春节 2025 (the library carries earlier years too)
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
        (D(2026, 12, 28), working(7), D(2027, 1, 7)),  # 元旦 2027-01-01 skipped; 2027's 调休 unknown yet
        (D(2026, 12, 17), calendar(15), D(2027, 1, 4)),  # ends on 元旦 2027-01-01 → Monday
        (D(2026, 10, 6), calendar(90), D(2027, 1, 4)),  # a 90-day decision period of a case filed in October
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
        (D(2025, 12, 31), working(3)),  # starts in 2025, which the library carries
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


@pytest.mark.parametrize(("year", "covered"), [(2001, True), (2025, True), (2026, True), (2027, False)])
def test_a_year_is_covered_when_the_library_carries_its_arrangement(law: Law, year: int, covered: bool) -> None:
    assert law.calendar.covers(year) is covered


# ---- configs/calendar.yaml overrides the library ------------------------------------------------------------------
# An arrangement for 2027 written into the config, as a bureau would before the library carries the year. Its days
# are an example, not the State Council's notice: 春节 2027 (除夕 02-05) from 02-05 to 02-11, Sundays 01-31 and 02-20
# worked instead.
SPRING_FESTIVAL_2027 = CalendarYear(
    legal_source="国务院办公厅关于2027年部分节假日安排的通知（测试用示例）",
    holidays=[HolidayRange(name="春节", first=D(2027, 2, 5), last=D(2027, 2, 11))],
    extra_working_days=[D(2027, 1, 31), D(2027, 2, 20)],
)


def law_with(law: Law, calendar: CalendarConfig) -> Law:
    return Law(law.config.model_copy(update={"calendar": calendar}))


def test_a_year_written_in_the_config_counts_its_adjusted_working_days(law: Law) -> None:
    written = law_with(law, CalendarConfig(years={2027: SPRING_FESTIVAL_2027}))
    assert written.calendar.is_working_day(D(2027, 1, 31)) is True  # a Sunday worked before 春节
    assert written.calendar.is_working_day(D(2027, 2, 11)) is False  # a Thursday of 春节
    # Thursday 01-28 + 7 working days: 01-29, Sunday 01-31, 02-01 to 02-04; then 春节 to 02-11; 02-12
    assert written.deadline(D(2027, 1, 28), working(7)) == Deadline(due=D(2027, 2, 12), provisional=False)


def test_a_day_overridden_in_the_config_wins_over_the_library_and_the_written_year(law: Law) -> None:
    overrides = [
        DayOverride(date=D(2026, 3, 4), working=False, legal_source="市政府关于台风期间停工的通知（示例）"),
        DayOverride(date=D(2026, 2, 16), working=True, legal_source="示例：春节中的一天改为工作日"),
        DayOverride(date=D(2027, 1, 31), working=False, legal_source="示例：改回休息日"),
    ]
    overridden = law_with(law, CalendarConfig(years={2027: SPRING_FESTIVAL_2027}, days=overrides))
    assert [overridden.calendar.is_working_day(o.date) for o in overrides] == [False, True, False]
    assert overridden.deadline(D(2026, 3, 3), working(1)).due == D(2026, 3, 5)


def test_a_day_overridden_in_a_year_the_library_lacks_does_not_make_the_year_covered(law: Law) -> None:
    one_day = DayOverride(date=D(2027, 1, 4), working=False, legal_source="示例")
    assert law_with(law, CalendarConfig(days=[one_day])).calendar.covers(2027) is False


def test_a_year_a_deadline_reaches_that_the_library_lacks_is_reported(law: Law) -> None:
    """In December 2026 the 90-day decision period reaches 2027, whose arrangement is not published in the library."""
    assert law.calendar_years_missing(D(2026, 12, 5)) == [2027]
    warning = law.calendar_warning(D(2026, 12, 5))
    assert warning is not None
    assert "2027" in warning
    assert "configs/calendar.yaml" in warning
    assert law.calendar_years_missing(D(2026, 3, 2)) == []  # 90 days from March stays in 2026
    assert law.calendar_warning(D(2026, 3, 2)) is None
    written = law_with(law, CalendarConfig(years={2027: SPRING_FESTIVAL_2027}))
    assert written.calendar_years_missing(D(2026, 12, 5)) == []
