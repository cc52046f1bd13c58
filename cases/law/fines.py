"""Fines: the discretion band for a subject's history, and the late-payment surcharge. Amounts in fen."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cases.law.config import DiscretionTable, LateSurcharge, Violation


@dataclass(frozen=True)
class FineBand:
    """The fines the discretion table allows for one violation and one subject history."""

    tier: str
    min_fen: int
    max_fen: int

    def allows(self, fine_fen: int) -> bool:
        return self.min_fen <= fine_fen <= self.max_fen


def discretion_band(table: DiscretionTable, violation: Violation, prior_violations: int) -> FineBand:
    """The tier whose ``min_priors`` is the highest not above the subject's prior violations."""
    tiers = table.violations[violation.code]
    tier = max((t for t in tiers if t.min_priors <= prior_violations), key=lambda t: t.min_priors)
    return FineBand(tier=tier.name, min_fen=tier.fine_min_yuan * 100, max_fen=tier.fine_max_yuan * 100)


def late_surcharge_fen(rule: LateSurcharge, fine_fen: int, payment_due: dt.date, paid_on: dt.date) -> int:
    """加处罚款 (行政处罚法第七十二条): a percentage of the fine for each day after the due date, in whole fen
    (rounded down), never more than the fine when the rule caps it."""
    days_late = max(0, (paid_on - payment_due).days)
    surcharge = fine_fen * rule.percent_per_day * days_late // 100
    return min(surcharge, fine_fen) if rule.capped_at_fine else surcharge
