"""``Law``: the configuration together with the calendar, asked questions in the domain's words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from cases.errors import NotFound, ReviewRequired
from cases.law.calendar import Deadline, WorkingCalendar
from cases.law.config import CandidateKind, LawConfig, Period, Violation
from cases.law.fines import FineBand, discretion_band, late_surcharge_fen


@dataclass(frozen=True)
class Law:
    config: LawConfig
    calendar: WorkingCalendar = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "calendar", WorkingCalendar(self.config.calendar))

    def violation(self, code: str) -> Violation:
        """The violation of that code. A review candidate is none: it becomes one only when an operator classifies
        it on review, so nothing that needs a violation (a case, a notice, a fine) can start from it."""
        violation = self.config.catalogue.get(code)
        if violation is None:
            candidate = self.config.catalogue.kind(code)
            if isinstance(candidate, CandidateKind):
                raise ReviewRequired(variant="candidate", kind=candidate.name, code=candidate.code)
            raise NotFound(variant="violation_type", code=repr(code))
        return violation

    def kind(self, code: str) -> Violation | CandidateKind:
        """What a detection of that code is: a violation or a review candidate (intake accepts both)."""
        kind = self.config.catalogue.kind(code)
        if kind is None:
            raise NotFound(variant="violation_type", code=repr(code))
        return kind

    def is_candidate(self, code: str) -> bool:
        return isinstance(self.config.catalogue.kind(code), CandidateKind)

    def deadline(self, start: dt.date, period: Period) -> Deadline:
        return self.calendar.deadline(start, period)

    def periods(self) -> list[Period]:
        """Every period the law counts: the procedure's and each violation's time to correct."""
        deadlines = self.config.deadlines
        procedure = [
            deadlines.filing_to_decision,
            deadlines.decision_delivery,
            deadlines.payment,
            deadlines.publication,
            deadlines.statement,
            deadlines.hearing_request,
        ]
        return procedure + [violation.rectification for violation in self.config.catalogue.violations]

    def furthest_due(self, today: dt.date) -> dt.date:
        """The furthest any deadline counted from today falls."""
        return max(self.deadline(today, period).due for period in self.periods())

    def calendar_years_missing(self, today: dt.date) -> list[int]:
        """The years a deadline counted from today can reach whose holiday arrangement is not known."""
        return self.calendar.missing_years(today, self.furthest_due(today))

    def calendar_warning(self, today: dt.date) -> str | None:
        """A plain sentence naming the missing years, for `offsite config check` and /readyz; None when none is."""
        return missing_years_warning(self.calendar_years_missing(today))

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


def missing_years_warning(missing: list[int]) -> str | None:
    """What missing holiday years mean for deadlines, in one sentence; None when no year is missing."""
    if not missing:
        return None
    years = ", ".join(str(year) for year in missing)
    return (
        f"the holiday arrangement of {years} is missing (neither the holidays library nor configs/calendar.yaml "
        f"has it): deadlines reaching {years} count statutory holidays and weekends only and are marked "
        "provisional; add the year under `years:` in configs/calendar.yaml or upgrade the holidays library"
    )
