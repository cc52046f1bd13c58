"""Fixtures shared by every test: the shipped law configuration, and helpers to build acts and parties."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from cases.law import Law
from cases.model.staff import Act, Role
from offsite.config_files import load_law
from offsite.settings import PROJECT_ROOT

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session")
def law() -> Law:
    """The law as shipped in configs/ (Shanghai defaults, 2026 calendar)."""
    return Law(load_law(PROJECT_ROOT / "configs"))


def act_on(day: dt.date, actor: str = "officer1", role: Role = Role.OFFICER, hour: int = 10) -> Act:
    """An act at ``hour`` o'clock Shanghai time on ``day``."""
    at = dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI).astimezone(dt.UTC)
    return Act(actor=actor, role=role, at=at, today=day)
