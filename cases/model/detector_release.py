"""A detector release: one model file (known by its SHA-256) in the model registry, and where it stands.

candidate → shadow → active → retired. A candidate (or a shadow) becomes active only through the gate
(``cases.services.detector_releases``), and the model it replaces retires at that moment; a rollback makes the
retired model that was active last active again. Who moved a release, and when, is kept with it; every decision,
with its figures, is kept in the registry's decision record.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from cases.errors import IllegalTransition, InvalidInput
from cases.messages import Term
from cases.model.staff import Act

SHA256 = re.compile(r"[0-9a-f]{64}")


class ReleaseStatus(StrEnum):
    CANDIDATE = "candidate"  # registered, not yet judged
    SHADOW = "shadow"  # runs beside the active model on live cameras; its findings are recorded, never queued
    ACTIVE = "active"  # the model the cameras use
    RETIRED = "retired"  # was active, or was never promoted; kept for rollback and for the record


class GateAction(StrEnum):
    REGISTERED = "registered"
    PROMOTED = "promoted"
    REFUSED = "refused"  # the gate found the candidate no better, or a class worse
    SHADOWED = "shadowed"
    ROLLED_BACK = "rolled_back"
    RETIRED = "retired"


@dataclass
class DetectorRelease:
    sha256: str
    name: str
    path: str  # where the file lies in the model store, relative to it
    registered_by: str
    registered_at: dt.datetime
    status: ReleaseStatus = ReleaseStatus.CANDIDATE
    figures: dict[str, Any] | None = None  # the gate's last figures for it
    activated_at: dt.datetime | None = None  # when it last became active: a rollback returns to the latest before
    status_by: str | None = None
    status_at: dt.datetime | None = None
    id: int | None = None
    version: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if not SHA256.fullmatch(self.sha256):
            raise InvalidInput(variant="model_sha256", value=repr(self.sha256))

    def require_undecided(self) -> None:
        """Only a candidate or a shadow goes before the gate."""
        self._require(ReleaseStatus.CANDIDATE, ReleaseStatus.SHADOW)

    def shadow(self, act: Act) -> None:
        self._require(ReleaseStatus.CANDIDATE)
        self._move(act, ReleaseStatus.SHADOW)

    def activate(self, act: Act) -> None:
        """Through the gate (a candidate or a shadow), or back by a rollback (a retired model)."""
        self._require(ReleaseStatus.CANDIDATE, ReleaseStatus.SHADOW, ReleaseStatus.RETIRED)
        self._move(act, ReleaseStatus.ACTIVE)
        self.activated_at = act.at

    def retire(self, act: Act) -> None:
        self._require(ReleaseStatus.CANDIDATE, ReleaseStatus.SHADOW, ReleaseStatus.ACTIVE)
        self._move(act, ReleaseStatus.RETIRED)

    def _require(self, *allowed: ReleaseStatus) -> None:
        if self.status not in allowed:
            raise IllegalTransition(
                variant="release",
                model=self.sha256[:12],
                status=Term(f"term.release.{self.status.value}"),
                allowed=[Term(f"term.release.{s.value}") for s in allowed],
            )

    def _move(self, act: Act, status: ReleaseStatus) -> None:
        self.status, self.status_by, self.status_at = status, act.actor, act.at
