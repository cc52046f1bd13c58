"""The law's configuration: violation catalogue, deadlines, working-day calendar, discretion table.

Each model forbids unknown fields and bounds its numbers, so that a malformed file fails at start-up with the
field named. Amounts are written in yuan in the files and used in fen (1/100 yuan) in the code.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cases.messages import ENGLISH

Yuan = Annotated[int, Field(ge=0, le=10_000_000, description="Amount in yuan")]
LegalSource = Annotated[str, Field(min_length=2, max_length=300, description="Law, article, or document")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubjectType(StrEnum):
    """Who answers for a violation, and so how the party is identified."""

    MERCHANT = "merchant"  # a registered shop (一店一码)
    SITE = "site"  # a registered construction site: its contractor
    UNKNOWN_VENDOR = "unknown_vendor"  # a street vendor, identified by an officer


class DayUnit(StrEnum):
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"


class Period(_Strict):
    count: int = Field(ge=0, le=3650, description="How many days")
    unit: DayUnit = Field(description="Working days skip weekends and holidays; calendar days do not")
    legal_source: LegalSource


def named(kind: Violation | CandidateKind, language: str) -> str:
    """A kind's name in the reader's language: its English name for a reader of English where the catalogue gives
    one, else its Chinese name (the legal name, which every other language falls back to)."""
    return kind.name_en if language == ENGLISH and kind.name_en else kind.name


class Violation(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,47}$", description="Stable code used by rules and cases")
    name: str = Field(min_length=2, max_length=40, description="Chinese name, e.g. 无序设摊")
    name_en: str | None = Field(
        default=None, min_length=2, max_length=80, description="English name for a reader who chose English"
    )
    legal_basis: LegalSource = Field(description="The regulation and article the conduct violates")
    penalty_basis: LegalSource = Field(description="The regulation and article that sets the penalty")
    fine_min_yuan: Yuan
    fine_max_yuan: Yuan
    listed_for_non_site: bool = Field(description="On the published 非现场执法事项清单 (规定第四条)")
    first_offence_exempt: bool = Field(
        description="On the 首违不罚 list: a first offence corrected in time is not penalised (第三十三条第一款)"
    )
    rectification: Period = Field(description="Time given by the notice to correct (责令改正)")
    subject: SubjectType

    @model_validator(mode="after")
    def _range_ordered(self) -> Violation:
        if self.fine_min_yuan > self.fine_max_yuan:
            raise ValueError(f"fine_min_yuan {self.fine_min_yuan} exceeds fine_max_yuan {self.fine_max_yuan}")
        return self

    def named(self, language: str) -> str:
        return named(self, language)

    @property
    def fine_min_fen(self) -> int:
        return self.fine_min_yuan * 100

    @property
    def fine_max_fen(self) -> int:
        return self.fine_max_yuan * 100


# What a violation has of its own and a review candidate has not: the candidate takes them from the violation the
# operator who reviews it classifies it as.
VIOLATION_ONLY = tuple(name for name in Violation.model_fields if name not in ("code", "name", "name_en"))


class CandidateKind(_Strict):
    """A kind of detection that is not itself a violation: what a detector raises without naming it (不明物体滞留,
    something no model names that arrived and stays). It is recorded and reviewed like any detection, but it has no
    legal basis, fine or time to correct of its own, is never on the non-site list and never opens a case: the
    operator who confirms it classifies it as one of the catalogue's violations, and it proceeds as that one."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,47}$", description="Stable code used by rules and detections")
    name: str = Field(min_length=2, max_length=40, description="Chinese name, e.g. 不明物体滞留")
    name_en: str | None = Field(
        default=None, min_length=2, max_length=80, description="English name for a reader who chose English"
    )

    def named(self, language: str) -> str:
        return named(self, language)

    @model_validator(mode="before")
    @classmethod
    def _nothing_of_a_violation(cls, data: object) -> object:
        if isinstance(data, dict):
            given = [name for name in VIOLATION_ONLY if name in data]
            if given:
                raise ValueError(
                    f"candidate {data.get('code')}: a review candidate has no {', '.join(given)} of its own; it takes "
                    "them from the violation the reviewing operator classifies it as"
                )
        return data


class Catalogue(_Strict):
    violations: list[Violation] = Field(min_length=1)
    candidates: list[CandidateKind] = Field(
        default_factory=list, description="Kinds of detection an operator classifies as a violation on review"
    )

    @model_validator(mode="after")
    def _unique_codes(self) -> Catalogue:
        codes = [kind.code for kind in self.kinds]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"duplicate violation codes: {', '.join(duplicates)}")
        return self

    @property
    def kinds(self) -> list[Violation | CandidateKind]:
        """Every kind a detection may be: the violations, then the review candidates."""
        return [*self.violations, *self.candidates]

    def get(self, code: str) -> Violation | None:
        return next((v for v in self.violations if v.code == code), None)

    def kind(self, code: str) -> Violation | CandidateKind | None:
        return next((kind for kind in self.kinds if kind.code == code), None)


class LateSurcharge(_Strict):
    percent_per_day: int = Field(ge=0, le=100, description="加处罚款: percent of the fine per day late")
    capped_at_fine: bool = Field(description="The surcharge never exceeds the fine itself")
    legal_source: LegalSource


class HearingThreshold(_Strict):
    """较大数额罚款 (行政处罚法第六十三条): from these fines the party may request a hearing."""

    individual_yuan: Yuan
    organisation_yuan: Yuan
    legal_source: LegalSource


class DecisionExtension(_Strict):
    """延长办案期限: past the decision period a decision needs an extension approved by the agency's head."""

    max_days: int = Field(ge=1, le=365, description="The longest one approved extension may be, in calendar days")
    warning_days: int = Field(
        ge=0, le=90, description="Cases whose decision period ends within this many days are shown to officers"
    )
    legal_source: LegalSource


class Deadlines(_Strict):
    filing_to_decision: Period
    decision_extension: DecisionExtension
    decision_delivery: Period
    payment: Period
    late_surcharge: LateSurcharge
    publication: Period
    statement: Period
    hearing_request: Period
    hearing_threshold: HearingThreshold
    limitation_years: int = Field(ge=1, le=20, description="Violations older than this cannot be filed")
    limitation_source: LegalSource


class HolidayRange(_Strict):
    name: str = Field(min_length=1, max_length=20)
    first: dt.date
    last: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> HolidayRange:
        if self.last < self.first:
            raise ValueError(f"holiday {self.name}: last {self.last} is before first {self.first}")
        return self


class CalendarYear(_Strict):
    holidays: list[HolidayRange]
    extra_working_days: list[dt.date] = Field(
        default_factory=list, description="Weekend days that are working days (调休上班)"
    )
    legal_source: LegalSource


class DayOverride(_Strict):
    """One day the bureau's calendar decides itself, whatever the holidays library or a year's list says."""

    date: dt.date
    working: bool = Field(description="true: a working day; false: a rest day")
    legal_source: LegalSource = Field(description="The notice that made the day so")


class CalendarConfig(_Strict):
    years: dict[int, CalendarYear] = Field(
        default_factory=dict,
        description="A year's whole holiday arrangement, for a year the holidays library does not carry yet",
    )
    days: list[DayOverride] = Field(default_factory=list, description="Single days that override everything else")

    @model_validator(mode="after")
    def _dates_in_their_year(self) -> CalendarConfig:
        for year, spec in self.years.items():
            days = [d for h in spec.holidays for d in (h.first, h.last)] + spec.extra_working_days
            stray = [d.isoformat() for d in days if d.year != year]
            if stray:
                raise ValueError(f"year {year} lists dates of another year: {', '.join(stray)}")
            weekdays = [d.isoformat() for d in spec.extra_working_days if d.weekday() < 5]
            if weekdays:
                raise ValueError(f"year {year}: extra working days must be weekend days, not {', '.join(weekdays)}")
            both = [
                d.isoformat() for d in spec.extra_working_days if any(h.first <= d <= h.last for h in spec.holidays)
            ]
            if both:
                raise ValueError(f"year {year}: {', '.join(both)} listed both as holiday and as working day")
        dates = [override.date for override in self.days]
        twice = sorted({d.isoformat() for d in dates if dates.count(d) > 1})
        if twice:
            raise ValueError(f"days: {', '.join(twice)} overridden more than once")
        return self


class DiscretionTier(_Strict):
    name: str = Field(min_length=1, max_length=20, description="e.g. 首次, 再次, 多次")
    min_priors: int = Field(ge=0, le=1000, description="Prior violations in the look-back period from which it applies")
    fine_min_yuan: Yuan
    fine_max_yuan: Yuan

    @model_validator(mode="after")
    def _range_ordered(self) -> DiscretionTier:
        if self.fine_min_yuan > self.fine_max_yuan:
            raise ValueError(f"tier {self.name}: fine_min_yuan exceeds fine_max_yuan")
        return self


class DiscretionTable(_Strict):
    legal_source: LegalSource
    prior_lookback_days: int = Field(ge=1, le=3650, description="Earlier violations counted as priors")
    violations: dict[str, list[DiscretionTier]]

    @model_validator(mode="after")
    def _tiers_start_at_zero_and_rise(self) -> DiscretionTable:
        for code, tiers in self.violations.items():
            if not tiers:
                raise ValueError(f"{code}: no tiers")
            priors = [t.min_priors for t in tiers]
            if priors[0] != 0 or priors != sorted(set(priors)):
                raise ValueError(f"{code}: tiers must start at min_priors 0 and rise strictly, got {priors}")
        return self


class LegalReviewRule(_Strict):
    min_fine_yuan: Yuan = Field(description="Penalty decisions with a fine of at least this need legal review")
    legal_source: LegalSource


class LawConfig(_Strict):
    """All of the law's configuration, cross-checked: every violation has a discretion table inside its range."""

    catalogue: Catalogue
    deadlines: Deadlines
    calendar: CalendarConfig
    discretion: DiscretionTable
    legal_review: LegalReviewRule

    @model_validator(mode="after")
    def _discretion_matches_catalogue(self) -> LawConfig:
        for violation in self.catalogue.violations:
            tiers = self.discretion.violations.get(violation.code)
            if tiers is None:
                raise ValueError(f"discretion table has no tiers for violation {violation.code}")
            for tier in tiers:
                if tier.fine_min_yuan < violation.fine_min_yuan or tier.fine_max_yuan > violation.fine_max_yuan:
                    raise ValueError(
                        f"discretion tier {violation.code}/{tier.name} ({tier.fine_min_yuan}–{tier.fine_max_yuan} "
                        f"yuan) is outside the legal range {violation.fine_min_yuan}–{violation.fine_max_yuan}"
                    )
        unknown = sorted(set(self.discretion.violations) - {v.code for v in self.catalogue.violations})
        if unknown:
            raise ValueError(f"discretion table names unknown violations: {', '.join(unknown)}")
        return self
