"""The real photos the detector is measured on live beside the project (``../shared/data``), never in it. Tests that
need them find them there and skip with the reason elsewhere; in CI (``CI=true`` or OFFSITE_REQUIRE_SERVICES=1)
their absence fails the run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("OFFSITE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("OFFSITE_REQUIRE_SERVICES") == "1"


def shared(relative: str) -> Path:
    """A path under the shared data folder, or a skip (a failure in CI) naming what is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        reason = f"{path} is absent (real data for measuring the detector lives beside the project, not in it)"
        if required():
            pytest.fail(f"{reason}; CI requires it")
        pytest.skip(reason)
    return path
