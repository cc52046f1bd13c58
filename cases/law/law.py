"""``Law``: the configuration together with the calendar, asked questions in the domain's words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cases.errors import NotFound
from cases.law.calendar import Deadline, WorkingCalendar
from cases.law.config import LawConfig, Period, Violation
from cases.law.fines import FineBand, discretion_band, late_surcharge_fen


@dataclass(frozen=True)
class Law:
    config: LawConfig
    calendar: WorkingCalendar = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "calendar", WorkingCalendar(self.config.calendar))

    def violation(self, code: str) -> Violation:
        violation = self.config.catalogue.get(code)
        if violation is None:
            raise NotFound(f"violation type {code!r} is not in the catalogue")
        return violation

    def deadline(self, start: dt.date, period: Period) -> Deadline:
        return self.calendar.deadline(start, period)

    def fine_band(self, violation: Violation, prior_violations: int) -> FineBand:
        return discretion_band(self.config.discretion, violation, prior_violations)

    def late_surcharge_fen(self, fine_fen: int, payment_due: dt.date, paid_on: dt.date) -> int:
        return late_surcharge_fen(self.config.deadlines.late_surcharge, fine_fen, payment_due, paid_on)

    def needs_legal_review(self, fine_fen: int) -> bool:
        return fine_fen >= self.config.legal_review.min_fine_yuan * 100

    def limitation_start(self, today: dt.date) -> dt.date:
        """Violations first seen before this date are time-barred (第三十六条)."""
        years = self.config.deadlines.limitation_years
        try:
            return today.replace(year=today.year - years)
        except ValueError:  # 29 February
            return today.replace(year=today.year - years, day=28)
