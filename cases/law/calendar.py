"""Working days and deadlines.

Two counting rules from the law:
- 行政处罚法第八十五条: its "two, three, five, seven days" are working days, holidays excluded. Those periods
  are configured in ``working_days``: the start day is not counted, the deadline is the Nth working day after.
- Other periods count calendar days; when the last day falls on a rest day, the period ends on the next
  working day (the general rule for periods in Chinese procedure law).

A period of 0 days ("immediately") ends the same day, rest day or not.

Which days are rest days comes from the kept ``holidays`` library (China: the statutory days of the 全国年节及纪念日
放假办法 for every year, and each year's State Council arrangement with its 调休 working days for the years it has
published), overridden by ``configs/calendar.yaml``: a year listed there replaces the library's arrangement for the
days it names, and a single day listed under ``days`` wins over everything. A year whose arrangement neither holds
counts the statutory holidays and weekends only, and a deadline reaching it says it is provisional.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from holidays.countries.china import China, ChinaStaticHolidays

from cases.law.config import CalendarConfig, DayUnit, Period

# The years whose State Council holiday arrangement (国务院办公厅关于部分节假日安排的通知) the library carries: it
# keeps each year's moved holidays and 调休 working days in this table, and only the statutory days otherwise.
LIBRARY_ARRANGEMENT_YEARS: frozenset[int] = frozenset(ChinaStaticHolidays.special_public_holidays)


@dataclass(frozen=True)
class Deadline:
    due: dt.date
    provisional: bool  # True when a year on the way has no published holiday arrangement


@dataclass(frozen=True)
class _LibraryYear:
    rest_days: frozenset[dt.date]
    weekend_working_days: frozenset[dt.date]


@functools.cache
def _library_year(year: int) -> _LibraryYear:
    """One year of the library's China calendar, computed once and then frozen (safe to share between threads)."""
    china = China(years=year)  # type: ignore[no-untyped-call]  # the library does not annotate its constructors
    return _LibraryYear(rest_days=frozenset(china), weekend_working_days=frozenset(china.weekend_workdays))


class WorkingCalendar:
    def __init__(self, config: CalendarConfig) -> None:
        self._configured: dict[dt.date, bool] = {}  # day → is a working day, as configs/calendar.yaml says
        for spec in config.years.values():
            for holiday in spec.holidays:
                day = holiday.first
                while day <= holiday.last:
                    self._configured[day] = False
                    day += dt.timedelta(days=1)
            self._configured.update(dict.fromkeys(spec.extra_working_days, True))
        self._configured.update({override.date: override.working for override in config.days})
        self._configured_years = frozenset(config.years)

    def covers(self, year: int) -> bool:
        """Whether the year's holiday arrangement is known (from the library or configs/calendar.yaml)."""
        return year in self._configured_years or year in LIBRARY_ARRANGEMENT_YEARS

    def source_of(self, year: int) -> str | None:
        """Where the year's arrangement comes from, in words for `offsite config check`; None when missing."""
        if year in self._configured_years:
            return "configs/calendar.yaml"
        if year in LIBRARY_ARRANGEMENT_YEARS:
            return "holidays library"
        return None

    def missing_years(self, first: dt.date, last: dt.date) -> list[int]:
        return [year for year in range(first.year, last.year + 1) if not self.covers(year)]

    def is_working_day(self, day: dt.date) -> bool:
        configured = self._configured.get(day)
        if configured is not None:
            return configured
        # a 调休 working day may be published with the next year's arrangement (e.g. 2011-12-31 for 2012's 元旦)
        if any(day in _library_year(year).weekend_working_days for year in (day.year, day.year + 1)):
            return True
        if day in _library_year(day.year).rest_days:
            return False
        return day.weekday() < 5

    def next_working_day_on_or_after(self, day: dt.date) -> dt.date:
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, start: dt.date, count: int) -> dt.date:
        day = start
        remaining = count
        while remaining > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return day

    def deadline(self, start: dt.date, period: Period) -> Deadline:
        if period.count == 0:
            due = start  # "immediately" (立即改正): the same day, whatever day it is
        elif period.unit is DayUnit.WORKING_DAYS:
            due = self.add_working_days(start, period.count)
        else:
            due = self.next_working_day_on_or_after(start + dt.timedelta(days=period.count))
        provisional = bool(self.missing_years(start, due))
        return Deadline(due=due, provisional=provisional)
