"""Imperative mapping: the domain's plain dataclasses are mapped onto the tables here, and only here.

Cameras, merchants, sites, detections and cases carry a version column: an update whose version no longer
matches the row (somebody else changed it first) fails instead of overwriting, and becomes a 409.
"""

from __future__ import annotations

from sqlalchemy.orm import registry, relationship

from cases.model.case import Case, CaseEvent
from cases.model.detection import Detection
from cases.model.detector_release import DetectorRelease
from cases.model.registry import Camera, Merchant, Site, Zone
from cases.model.training_job import TrainingJob
from cases.persistence import tables

mapper_registry = registry(metadata=tables.metadata)
_mapped = False


def start_mappers() -> None:
    """Map the domain classes once per process."""
    global _mapped
    if _mapped:
        return
    _mapped = True
    for cls, table in (
        (Camera, tables.cameras),
        (Merchant, tables.merchants),
        (Site, tables.sites),
        (Detection, tables.detections),
        (DetectorRelease, tables.detector_releases),
        (TrainingJob, tables.training_jobs),
    ):
        mapper_registry.map_imperatively(cls, table, version_id_col=table.c.version)
    mapper_registry.map_imperatively(Zone, tables.zones)
    mapper_registry.map_imperatively(CaseEvent, tables.case_events)
    mapper_registry.map_imperatively(
        Case,
        tables.cases,
        version_id_col=tables.cases.c.version,
        properties={
            "events": relationship(
                CaseEvent, order_by=tables.case_events.c.seq, cascade="all, delete-orphan", lazy="selectin"
            )
        },
    )
