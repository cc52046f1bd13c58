"""What the law says, as data (``config``) and as pure functions (``calendar``, ``fines``, ``law``)."""

from cases.law.calendar import Deadline, WorkingCalendar
from cases.law.config import CandidateKind, LawConfig, SubjectType, Violation
from cases.law.fines import FineBand
from cases.law.law import Law

__all__ = ["CandidateKind", "Deadline", "FineBand", "Law", "LawConfig", "SubjectType", "Violation", "WorkingCalendar"]
