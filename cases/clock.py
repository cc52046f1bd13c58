"""Time, injected: services ask a clock, so that tests and the demo can move it."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

from cases.model.staff import Act, Role


class Clock:
    """The system clock, read in UTC, with the local calendar day of the bureau's time zone."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def today(self) -> dt.date:
        return self.local_date(self.now())

    def local_date(self, instant: dt.datetime) -> dt.date:
        return instant.astimezone(self.tz).date()

    def act(self, actor: str, role: Role) -> Act:
        now = self.now()
        return Act(actor=actor, role=role, at=now, today=self.local_date(now))


class ManualClock(Clock):
    """A clock that stands still until moved: for tests and the demo's simulated days. ``run()`` lets it tick on
    in real time from where it stands (the demo's console once its story is told); it can still be moved."""

    def __init__(self, tz: ZoneInfo, start: dt.datetime) -> None:
        super().__init__(tz)
        if start.tzinfo is None:
            raise ValueError("start must carry a time zone")
        self._now = start
        self._running_since: float | None = None

    def now(self) -> dt.datetime:
        if self._running_since is None:
            return self._now
        return self._now + dt.timedelta(seconds=time.monotonic() - self._running_since)

    def run(self) -> None:
        self._running_since = time.monotonic()

    def advance(self, delta: dt.timedelta) -> None:
        self._now += delta

    def set(self, instant: dt.datetime) -> None:
        self._now = instant
        if self._running_since is not None:
            self._running_since = time.monotonic()
