"""Camera configurations (issue 16): each registered camera's source, zones and rules, one version a save, kept for
good with who saved it, when and why. The domain does not read the documents (``vision.config`` validates them before
they are saved); it keeps their history and answers which version is current.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select

from cases.persistence import tables
from cases.services.base import Actor, Service
from cases.services.registry import RegistryService, log_personal_data_read

C = tables.camera_configs.c


@dataclass(frozen=True)
class CameraConfig:
    device_id: str
    version: int
    document: dict[str, Any]
    sha256: str
    saved_by: str
    saved_at: dt.datetime
    reason: str


@dataclass(frozen=True)
class Saved:
    device_id: str
    version: int
    changed: bool  # False: the document was the current version's already, and no version was made


def fingerprint(document: dict[str, Any]) -> str:
    """The SHA-256 of a document's canonical JSON: the same configuration always has the same fingerprint."""
    return hashlib.sha256(json.dumps(document, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class CameraConfigService(Service):
    def save_all(
        self, documents: dict[str, dict[str, Any]], actor: Actor, reason: str, registry: RegistryService
    ) -> list[Saved]:
        """Each camera's document (by device id) as its next version, in one transaction: every camera must be in
        the registry, or nothing is saved. A document equal to the camera's current one makes no version."""
        for device_id in documents:
            registry.find_camera(device_id)  # 404 names the camera missing from the registry
        act = self.clock.act(actor.username, actor.role)
        saved = []
        with self.transaction() as session:
            for device_id, document in documents.items():
                sha256 = fingerprint(document)
                current = session.execute(
                    select(C.version, C.sha256).where(C.device_id == device_id).order_by(C.version.desc()).limit(1)
                ).first()
                if current is not None and current.sha256 == sha256:
                    saved.append(Saved(device_id, current.version, False))
                    continue
                version = 1 if current is None else current.version + 1
                session.execute(insert(tables.camera_configs).values(
                    device_id=device_id, version=version, document=document, sha256=sha256, saved_by=act.actor,
                    saved_at=act.at, reason=reason[:200],
                ))  # fmt: skip
                saved.append(Saved(device_id, version, True))
        return saved

    def current(self) -> dict[str, CameraConfig]:
        """Every camera's latest version, by device id."""
        latest = select(C.device_id, func.max(C.version).label("version")).group_by(C.device_id).subquery("latest")
        query = select(tables.camera_configs).join(
            latest, (latest.c.device_id == C.device_id) & (latest.c.version == C.version)
        )
        with self.transaction() as session:
            return {c.device_id: c for c in map(_config, session.execute(query).mappings())}

    def log_snapshot_read(self, reader: Actor, device_id: str) -> None:
        """An administrator looked at a camera's picture to draw its zones: it shows people, so the look is logged."""
        with self.transaction() as session:
            log_personal_data_read(session, reader, self.clock.now(), "camera_snapshot", device_id, ["frame"],
                                   "drawing the camera's zones")  # fmt: skip

    def history(self, device_id: str) -> list[CameraConfig]:
        """A camera's versions, oldest first."""
        query = select(tables.camera_configs).where(C.device_id == device_id).order_by(C.version)
        with self.transaction() as session:
            return [_config(row) for row in session.execute(query).mappings()]


def _config(row: Any) -> CameraConfig:
    return CameraConfig(row["device_id"], row["version"], dict(row["document"]), row["sha256"], row["saved_by"],
                        row["saved_at"], row["reason"])  # fmt: skip
