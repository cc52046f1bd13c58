"""The lock-out rule of the attempts ledger, without a database: N failures within a window lock for a while,
counted from the failure that completes them."""

from __future__ import annotations

import datetime as dt

import pytest

from cases.services.throttle import Limit, locked_until, seconds_until

T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)
FIVE_IN_15_LOCK_15 = Limit(5, dt.timedelta(minutes=15), dt.timedelta(minutes=15))


def minutes(*offsets: float) -> list[dt.datetime]:
    return [T0 + dt.timedelta(minutes=m) for m in offsets]


@pytest.mark.parametrize(
    ("failures", "until"),
    [
        ([], None),
        (minutes(0, 1, 2, 3), None),  # four are not five
        (minutes(0, 1, 2, 3, 4), T0 + dt.timedelta(minutes=19)),  # the fifth starts fifteen minutes
        (minutes(0, 4, 8, 12, 15), T0 + dt.timedelta(minutes=30)),  # exactly fifteen minutes apart still counts
        (minutes(0, 4, 8, 12, 15.5), None),  # five, but never within fifteen minutes of one another
        (minutes(0, 1, 2, 3, 4, 40, 41, 42, 43, 44), T0 + dt.timedelta(minutes=59)),  # the latest lock-out
        (minutes(0, 1, 2, 3, 4, 20), T0 + dt.timedelta(minutes=19)),  # one more after the lock-out starts none
    ],
    ids=["none", "four", "five-in-four-minutes", "five-in-exactly-fifteen", "spread-wider", "two-lock-outs",
         "one-after"],
)  # fmt: skip
def test_five_failures_within_fifteen_minutes_lock_for_fifteen_from_the_fifth(
    failures: list[dt.datetime], until: dt.datetime | None
) -> None:
    assert locked_until(failures, FIVE_IN_15_LOCK_15) == until


@pytest.mark.parametrize(
    ("wait", "seconds"),
    [
        (dt.timedelta(minutes=15), 900),
        (dt.timedelta(seconds=0.2), 1),
        (dt.timedelta(0), 1),
        (dt.timedelta(seconds=59.1), 60),
    ],
)
def test_retry_after_is_whole_seconds_rounded_up_and_never_zero(wait: dt.timedelta, seconds: int) -> None:
    assert seconds_until(T0 + wait, T0) == seconds
