"""What the command centre watches (issue 16): each camera's last detection for the camera wall, and today's figures
for its dashboard. Read-only; the day is the bureau's local calendar day."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select

from cases.model.detection import DetectionStatus
from cases.persistence import tables
from cases.services.base import Actor, Service
from cases.services.registry import log_personal_data_read
from cases.services.statistics import district_of, district_order

D = tables.detections.c
K = tables.cameras.c


@dataclass(frozen=True)
class LastDetection:
    detection_id: int
    violation_code: str
    first_seen: dt.datetime
    status: DetectionStatus


@dataclass(frozen=True)
class WallCamera:
    """A registered camera as the wall places it: by district and street."""

    device_id: str
    name: str
    address: str
    district: str
    street: str | None


@dataclass
class TodayFigures:
    day: dt.date
    found: Counter[str] = field(default_factory=Counter)  # detections by violation code
    by_hour: dict[str, list[int]] = field(default_factory=dict)  # violation code → 24 local hours
    outcomes: Counter[str] = field(default_factory=Counter)  # pending_review, confirmed, rejected
    cases_opened: int = 0

    @property
    def total(self) -> int:
        return sum(self.found.values())


class CommandCentreService(Service):
    def cameras(self, district: str | None = None, street: str | None = None) -> list[WallCamera]:
        """The registered cameras, by district, street (those without one last) and device id; a camera without a
        recorded district is placed by its address's leading district."""
        with self.transaction() as session:
            rows = session.execute(select(K.device_id, K.name, K.address, K.district, K.street)).all()
        placed = [WallCamera(r.device_id, r.name, r.address, district_of(r.address, r.district), r.street)
                  for r in rows]  # fmt: skip
        chosen = [c for c in placed if (district is None or c.district == district)
                  and (street is None or c.street == street)]  # fmt: skip
        return sorted(
            chosen, key=lambda c: (*district_order(c.district), c.street is None, c.street or "", c.device_id)
        )

    def log_wall_opened(self, reader: Actor, shown: str, count: int) -> None:
        """The camera wall was opened: it shows the cameras' newest frames, which show people."""
        with self.transaction() as session:
            log_personal_data_read(session, reader, self.clock.now(), "camera_wall", f"{shown}: {count} cameras",
                                   ["frames"], "command centre watch")  # fmt: skip

    def last_detections(self, after_id: int = 0) -> dict[str, LastDetection]:
        """Each camera's latest detection (the last one received) among those after ``after_id``, by device id: a
        wall that remembers the highest id it saw asks only for what is new, through the primary key."""
        latest = select(func.max(D.id).label("id")).where(D.id > after_id).group_by(D.camera_id).subquery("latest")
        query = (
            select(K.device_id, D.id, D.violation_code, D.first_seen, D.status)
            .join(latest, latest.c.id == D.id)
            .join(tables.cameras, K.id == D.camera_id)
        )
        with self.transaction() as session:
            return {r.device_id: LastDetection(r.id, r.violation_code, r.first_seen, r.status)
                    for r in session.execute(query)}  # fmt: skip

    def today(self, district: str | None = None) -> TodayFigures:
        """Today's detections by violation and local hour, their review outcomes, and the cases opened today."""
        now = self.clock.now().astimezone(self.clock.tz)
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + dt.timedelta(days=1)
        cameras = {c.device_id for c in self.cameras(district)} if district else None
        figures = TodayFigures(now.date())
        query = (
            select(K.device_id, D.violation_code, D.first_seen, D.status)
            .join(tables.cameras, K.id == D.camera_id)
            .where(D.first_seen >= start, D.first_seen < end)
        )
        with self.transaction() as session:
            for row in session.execute(query):
                if cameras is not None and row.device_id not in cameras:
                    continue
                figures.found[row.violation_code] += 1
                hours = figures.by_hour.setdefault(row.violation_code, [0] * 24)
                hours[row.first_seen.astimezone(self.clock.tz).hour] += 1
                figures.outcomes[DetectionStatus(row.status).value] += 1
            opened = (
                select(K.device_id)
                .join(tables.cases, tables.cases.c.camera_id == K.id)
                .where(tables.cases.c.created_at >= start, tables.cases.c.created_at < end)
            )
            figures.cases_opened = sum(1 for (device_id,) in session.execute(opened)
                                       if cameras is None or device_id in cameras)  # fmt: skip
        return figures
