"""The demo's clock reads the wall clock once its story is told: the console it serves shows today's times, not
times as far behind as the demo took to build (it took about 140 s, and every page ran that far behind)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from offsite.demo import run_demo


def test_the_demo_clock_reads_the_wall_clock_when_the_demo_is_served(tmp_path: Path) -> None:
    components, summary = run_demo(tmp_path, learning=False)
    try:
        assert summary.seconds > 5, "the demo ran too fast to show a lag"
        behind = dt.datetime.now(dt.UTC) - components.clock.now()
        assert abs(behind.total_seconds()) < 2, f"the demo's clock is {behind.total_seconds():.0f} s behind"
    finally:
        components.close()
