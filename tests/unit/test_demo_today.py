"""The demo's "today" falls in the bureau's today: a demo run shortly after local midnight still shows today's
detections on the dashboard (its "today" card counts from local midnight)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from offsite.demo import FOOTAGE_SECONDS, todays_times

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(hour: int, minute: int) -> dt.datetime:
    return dt.datetime(2026, 12, 6, hour, minute, tzinfo=SHANGHAI).astimezone(dt.UTC)


def test_by_day_the_reviews_are_two_hours_ago_and_the_footage_an_hour_and_a_half_before_them() -> None:
    now = local(14, 0)
    reviewed, footage_ago = todays_times(now, SHANGHAI)
    assert now - reviewed == dt.timedelta(hours=2)
    assert footage_ago == dt.timedelta(hours=1, minutes=30)


@pytest.mark.parametrize(("hour", "minute"), [(0, 5), (0, 40), (1, 0), (2, 30), (3, 29), (3, 31)])
def test_early_in_the_day_the_story_is_squeezed_into_the_part_of_today_that_has_passed(hour: int, minute: int) -> None:
    now = local(hour, minute)
    midnight = dt.datetime(2026, 12, 6, tzinfo=SHANGHAI)
    reviewed, footage_ago = todays_times(now, SHANGHAI)
    assert reviewed - footage_ago >= midnight  # today's footage began today
    assert footage_ago >= dt.timedelta(seconds=FOOTAGE_SECONDS)  # and ended before the reviews
    assert reviewed < now
    assert now - reviewed > footage_ago / 2  # in the proportions of the day's story


def test_in_the_first_minutes_of_the_day_there_is_no_room_and_the_story_keeps_its_hours() -> None:
    now = local(0, 3)
    reviewed, footage_ago = todays_times(now, SHANGHAI)
    assert now - reviewed == dt.timedelta(hours=2)
    assert footage_ago == dt.timedelta(hours=1, minutes=30)
