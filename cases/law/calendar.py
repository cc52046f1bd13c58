"""Working days and deadlines.

Two counting rules from the law:
- 行政处罚法第八十五条: its "two, three, five, seven days" are working days, holidays excluded. Those periods
  are configured in ``working_days``: the start day is not counted, the deadline is the Nth working day after.
- Other periods count calendar days; when the last day falls on a rest day, the period ends on the next
  working day (the general rule for periods in Chinese procedure law).

A period of 0 days ("immediately") ends the same day, rest day or not.

Years the calendar does not cover count only weekends as rest days, and the deadline says it is provisional.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cases.law.config import CalendarConfig, DayUnit, Period


@dataclass(frozen=True)
class Deadline:
    due: dt.date
    provisional: bool  # True when a year on the way is not in the calendar config


class WorkingCalendar:
    def __init__(self, config: CalendarConfig) -> None:
        self._holidays: set[dt.date] = set()
        self._extra_working_days: set[dt.date] = set()
        for spec in config.years.values():
            for holiday in spec.holidays:
                day = holiday.first
                while day <= holiday.last:
                    self._holidays.add(day)
                    day += dt.timedelta(days=1)
            self._extra_working_days.update(spec.extra_working_days)
        self._years = frozenset(config.years)

    def covers(self, year: int) -> bool:
        return year in self._years

    def is_working_day(self, day: dt.date) -> bool:
        if day in self._extra_working_days:
            return True
        if day in self._holidays:
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
        provisional = not all(self.covers(year) for year in range(start.year, due.year + 1))
        return Deadline(due=due, provisional=provisional)
