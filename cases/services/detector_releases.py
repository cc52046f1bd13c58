"""The model registry: detector releases by SHA-256, the gate's decisions, shadowing and rollback (issue 15).

Training, promotion and rollback belong to an administrator (docs/roles.md; the command line acts as one, the
console will check the role); every decision is recorded with who took it and the figures it was taken on. At most one release is active at a time: promoting one retires the one it replaces, in the
same transaction, so a reader never sees two active models or none in between.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from cases.errors import IllegalTransition, InvalidInput, NotFound
from cases.model.detector_release import DetectorRelease, GateAction, ReleaseStatus
from cases.persistence import tables
from cases.services.base import Actor, Service
from vision.shadow import ShadowFinding

R = tables.detector_releases.c
DEFAULT_SHADOW_HOURS = 24.0
MAX_SHADOW_HOURS = 24.0 * 90
SF = tables.shadow_findings.c


@dataclass(frozen=True)
class Decision:
    at: str
    actor: str
    sha256: str
    action: GateAction
    replaced: str | None
    figures: dict[str, Any] | None


class DetectorReleaseService(Service):
    def register(self, sha256: str, name: str, path: str, actor: Actor) -> tuple[DetectorRelease, bool]:
        """A model file as a candidate; the same file registered again is the release already known."""
        act = self.clock.act(actor.username, actor.role)
        with self.transaction() as session:
            found = self._by_sha(session, sha256)
            if found is not None:
                return found, False
            release = DetectorRelease(sha256, name[:128], path, act.actor, act.at)
            session.add(release)
            self._record(session, actor, release.sha256, GateAction.REGISTERED, None, {"name": name, "path": path})
        return release, True

    def adopt_shipped(self, sha256: str, name: str, path: str, actor: Actor) -> DetectorRelease:
        """The model shipped with the product, active when the registry has no active model yet (a new install)."""
        release, _ = self.register(sha256, name, path, actor)
        act = self.clock.act(actor.username, actor.role)
        with self.transaction() as session:
            if self._active(session) is None:
                release = self._get(session, sha256)
                release.activate(act)
                self._record(session, actor, sha256, GateAction.PROMOTED, None, {"shipped": True})
        return release

    def releases(self) -> list[DetectorRelease]:
        with self.transaction() as session:
            return list(session.scalars(select(DetectorRelease).order_by(R.registered_at, R.id)))

    def get(self, sha256: str) -> DetectorRelease:
        with self.transaction() as session:
            return self._get(session, sha256)

    def active(self) -> DetectorRelease | None:
        with self.transaction() as session:
            return self._active(session)

    def decide(self, sha256: str, actor: Actor, passed: bool, figures: dict[str, Any]) -> DetectorRelease:
        """The gate's verdict on a candidate (or a shadow): passed, it becomes active and the active model retires;
        refused, it stays where it was. Either way the decision and its figures are recorded."""
        act = self.clock.act(actor.username, actor.role)
        with self.transaction() as session:
            release = self._get(session, sha256)
            release.require_undecided()
            previous = self._active(session) if passed else None
            if passed:
                if previous is not None:
                    previous.retire(act)
                    session.flush()  # one active model at any moment
                release.activate(act)
            release.figures = figures
            action = GateAction.PROMOTED if passed else GateAction.REFUSED
            self._record(session, actor, sha256, action, None if previous is None else previous.sha256, figures)
        return release

    def shadow(self, sha256: str, actor: Actor, hours: float = DEFAULT_SHADOW_HOURS) -> DetectorRelease:
        """A candidate beside the active model on the cameras for ``hours``, then no longer run (its findings stay
        for the report and the gate's decision)."""
        if not 0 < hours <= MAX_SHADOW_HOURS:
            raise InvalidInput(variant="shadow_hours", limit=MAX_SHADOW_HOURS)
        act = self.clock.act(actor.username, actor.role)
        with self.transaction() as session:
            release = self._get(session, sha256)
            release.shadow(act)
            until = act.at + dt.timedelta(hours=hours)
            self._record(
                session, actor, sha256, GateAction.SHADOWED, None, {"hours": hours, "until": until.isoformat()}
            )
        return release

    def shadow_until(self, sha256: str) -> dt.datetime | None:
        """When the release's latest shadow period ends (None: never shadowed, or shadowed before periods)."""
        shadowed = [d for d in self.decisions(sha256) if d.action is GateAction.SHADOWED]
        until = (shadowed[-1].figures or {}).get("until") if shadowed else None
        return dt.datetime.fromisoformat(until) if until else None

    def rollback(self, actor: Actor) -> DetectorRelease:
        """The active model retires and the one active before it (the latest activated of the retired) returns."""
        act = self.clock.act(actor.username, actor.role)
        with self.transaction() as session:
            current = self._active(session)
            earlier = session.scalars(
                select(DetectorRelease)
                .where(R.status == ReleaseStatus.RETIRED, R.activated_at.is_not(None))
                .order_by(R.activated_at.desc(), R.id.desc())
            ).first()
            if current is None or earlier is None:
                raise IllegalTransition(variant="nothing_to_roll_back")
            current.retire(act)
            session.flush()
            earlier.activate(act)
            self._record(session, actor, earlier.sha256, GateAction.ROLLED_BACK, current.sha256, None)
        return earlier

    def shadowed(self) -> DetectorRelease | None:
        """The model in shadow mode, if one is."""
        with self.transaction() as session:
            return session.scalars(
                select(DetectorRelease).where(R.status == ReleaseStatus.SHADOW).order_by(R.status_at.desc())
            ).first()

    def record_shadow(self, finding: ShadowFinding) -> None:
        """What the shadow model would have raised: recorded, never sealed nor queued."""
        with self.transaction() as session:
            session.execute(insert(tables.shadow_findings).values(
                sha256=finding.model_sha256, camera=finding.camera_id, zone=finding.zone_id,
                violation_code=finding.violation_code, first_seen=finding.first_seen,
                confirmed_at=finding.confirmed_at, median_score=finding.median_score, recorded_at=self.clock.now(),
            ))  # fmt: skip

    def shadow_findings(self, sha256: str) -> list[ShadowFinding]:
        with self.transaction() as session:
            rows = session.execute(select(tables.shadow_findings).where(SF.sha256 == sha256).order_by(SF.id)).mappings()
            return [ShadowFinding(r["sha256"], r["camera"], r["zone"], r["violation_code"], r["first_seen"],
                                  r["confirmed_at"], r["median_score"]) for r in rows]  # fmt: skip

    def decisions(self, sha256: str | None = None) -> list[Decision]:
        query = select(tables.detector_decisions).order_by(tables.detector_decisions.c.id)
        if sha256 is not None:
            query = query.where(tables.detector_decisions.c.sha256 == sha256)
        with self.transaction() as session:
            rows = session.execute(query).mappings().all()
        return [
            Decision(r["at"].isoformat(), r["actor"], r["sha256"], GateAction(r["action"]), r["replaced"], r["figures"])
            for r in rows
        ]

    # -- inside ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _by_sha(session: Session, sha256: str) -> DetectorRelease | None:
        return session.scalars(select(DetectorRelease).where(R.sha256 == sha256)).one_or_none()

    def _get(self, session: Session, sha256: str) -> DetectorRelease:
        release = self._by_sha(session, sha256)
        if release is None:
            raise NotFound(variant="release", model=sha256[:12])
        return release

    @staticmethod
    def _active(session: Session) -> DetectorRelease | None:
        return session.scalars(select(DetectorRelease).where(R.status == ReleaseStatus.ACTIVE)).one_or_none()

    def _record(
        self,
        session: Session,
        actor: Actor,
        sha256: str,
        action: GateAction,
        replaced: str | None,
        figures: dict[str, Any] | None,
    ) -> None:
        session.execute(
            insert(tables.detector_decisions).values(
                at=self.clock.now(),
                actor=actor.username,
                role=actor.role.value,
                sha256=sha256,
                action=action,
                replaced=replaced,
                figures=figures,
            )
        )
