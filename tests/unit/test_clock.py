"""The manual clock stands still until moved, and once running ticks on in real time from where it stands."""

from __future__ import annotations

import datetime as dt
import time

from cases.clock import ManualClock
from tests.conftest import SHANGHAI

START = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)


def test_a_manual_clock_stands_still_until_moved() -> None:
    clock = ManualClock(SHANGHAI, START)
    assert clock.now() == START
    clock.advance(dt.timedelta(days=1))
    assert clock.now() == START + dt.timedelta(days=1)
    assert clock.today() == dt.date(2026, 12, 2)


def test_a_running_clock_ticks_from_where_it_stands_and_can_still_be_moved() -> None:
    clock = ManualClock(SHANGHAI, START)
    clock.run()
    time.sleep(0.02)
    ticked = clock.now() - START
    assert dt.timedelta(seconds=0.015) < ticked < dt.timedelta(seconds=5)
    clock.advance(dt.timedelta(days=1))
    assert clock.now() - START > dt.timedelta(days=1)
    clock.set(START)
    assert clock.now() - START < dt.timedelta(seconds=1)
