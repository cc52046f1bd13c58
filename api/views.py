"""Domain objects to response bodies, with the computed fields a client needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Any

from api import schemas
from cases.model.case import Case
from cases.model.detection import Detection
from cases.model.registry import Camera


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj) if f.name != "events"}


def camera_out(camera: Camera, today: dt.date) -> schemas.CameraOut:
    return schemas.CameraOut.model_validate(
        {**_plain(camera), "certification_problems": camera.certification_problems(today)}
    )


def detection_out(detection: Detection) -> schemas.DetectionOut:
    return schemas.DetectionOut.model_validate({**_plain(detection), "dwell_seconds": detection.dwell.total_seconds()})


def case_out(case: Case, unmasked: bool) -> schemas.CaseOut:
    out = schemas.CaseOut.model_validate({**_plain(case), "open_deadlines": case.open_deadlines()})
    return out if unmasked else out.masked()
