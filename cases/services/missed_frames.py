"""Missed violations (issue 15): a camera's recent frame that an operator boxed because the detector missed what is on
it. The labels are the operators' (``review_detections``); a frame is kept for training until its own retention
ends, and every read of the frames for training (or of a camera's recent frames) is logged (规定 第十六条).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, insert, select, update
from sqlalchemy.orm import Session

from cases.persistence import tables
from cases.services.base import Actor, Service
from cases.services.detections import LabelLimits
from cases.services.registry import log_personal_data_read

M = tables.missed_frames.c


@dataclass(frozen=True)
class MissedFrame:
    camera: str
    name: str
    taken_at: dt.datetime
    image: str  # relative to the training-frame store
    image_sha256: str
    width: int
    height: int
    boxes: list[dict[str, object]]
    model_sha256: str | None
    labelled_by: str
    labelled_at: dt.datetime
    keep_until: dt.datetime


@dataclass(frozen=True)
class RecentFrameFile:
    """A recent frame as the labeller copied it into the training-frame store."""

    camera: str
    name: str
    taken_at: dt.datetime
    image: str
    image_sha256: str


class MissedFrameService(Service):
    def label(
        self, frame: RecentFrameFile, boxes: object, labeller: Actor, limits: LabelLimits, keep: dt.timedelta
    ) -> MissedFrame:
        """The operator's boxes on a recent frame, replacing any drawn on it before; kept for ``keep`` from now."""
        checked = limits.boxes(boxes)
        act = self.clock.act(labeller.username, labeller.role)
        values = {
            "taken_at": frame.taken_at, "image": frame.image, "image_sha256": frame.image_sha256,
            "width": limits.width, "height": limits.height, "boxes": checked, "model_sha256": limits.model_sha256,
            "labelled_by": act.actor, "labelled_at": act.at, "keep_until": act.at + keep,
        }  # fmt: skip
        with self.transaction() as session:
            found = session.execute(select(M.id).where(M.camera == frame.camera, M.name == frame.name)).first()
            if found is None:
                session.execute(insert(tables.missed_frames).values(camera=frame.camera, name=frame.name, **values))
            else:
                session.execute(update(tables.missed_frames).where(M.id == found.id).values(**values))
        return MissedFrame(frame.camera, frame.name, **values)  # type: ignore[arg-type]

    def of_camera(self, camera: str) -> dict[str, MissedFrame]:
        """The camera's labelled frames, by name."""
        with self.transaction() as session:
            return {f.name: f for f in self._rows(session, select(tables.missed_frames).where(M.camera == camera))}

    def for_training(self, reader: Actor, purpose: str) -> list[MissedFrame]:
        """Every labelled frame still kept, oldest first; a read of any is logged (the frames show people)."""
        now = self.clock.now()
        with self.transaction() as session:
            query = select(tables.missed_frames).where(M.keep_until > now).order_by(M.taken_at, M.id)
            found = self._rows(session, query)
            if found:  # nothing read, nothing to log
                log_personal_data_read(session, reader, now, "training_frames", f"{len(found)} missed-violation frames",
                                       ["frames"], purpose)  # fmt: skip
        return found

    def log_recent_read(self, reader: Actor, camera: str, count: int) -> None:
        """An operator looked through a camera's recent frames, to box what the detector missed."""
        with self.transaction() as session:
            log_personal_data_read(session, reader, self.clock.now(), "recent_frames", f"{camera}: {count} frames",
                                   ["frames"], "missed-violation labelling")  # fmt: skip

    def expired(self) -> list[MissedFrame]:
        with self.transaction() as session:
            return self._rows(session, select(tables.missed_frames).where(M.keep_until <= self.clock.now()))

    def forget(self, frames: list[MissedFrame]) -> None:
        """Remove the rows of frames whose retention ended (their pictures are removed by the caller first)."""
        with self.transaction() as session:
            for frame in frames:
                session.execute(delete(tables.missed_frames).where(M.camera == frame.camera, M.name == frame.name))

    @staticmethod
    def _rows(session: Session, query: Select[Any]) -> list[MissedFrame]:
        rows = session.execute(query).mappings()
        return [
            MissedFrame(r["camera"], r["name"], r["taken_at"], r["image"], r["image_sha256"], r["width"], r["height"],
                        list(r["boxes"]), r["model_sha256"], r["labelled_by"], r["labelled_at"], r["keep_until"])
            for r in rows
        ]  # fmt: skip
