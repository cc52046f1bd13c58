"""The demo walks its cases through the real calendar: whatever day it is run, each step waits as long as the law
makes it wait (a rectification period whose last day is a rest day runs to the next working day)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from offsite.demo import run_demo

# 2026-12-02 00:30 in Shanghai: the cross-door notice of forty days before is served on Friday 2026-10-23, and its
# period runs past the weekend to Monday 2026-10-26 (a fixed two-day wait found it "persisting" on the Sunday)
FRIDAY_NOTICE = dt.datetime(2026, 12, 1, 16, 30, tzinfo=dt.UTC)


def test_a_notice_served_on_a_friday_is_rechecked_after_its_deadline(tmp_path: Path) -> None:
    components, summary = run_demo(tmp_path, now=FRIDAY_NOTICE, learning=False)
    components.close()
    assert summary.cases == {"closed": 2, "notice_issued": 1, "draft": 1}
    assert summary.true_violations_found == sum(summary.events.values())
