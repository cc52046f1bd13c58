"""Domain objects to response bodies, with the computed fields a client needs."""

from __future__ import annotations

import datetime as dt
from dataclasses import fields
from typing import Any

from api import schemas
from cases.messages import Term
from cases.model.case import Case
from cases.model.detection import Detection
from cases.model.registry import Camera
from cases.services.csv_import import ImportReport


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj) if f.name != "events"}


def _each_told(terms: list[Term] | None, language: str) -> list[str] | None:
    return None if terms is None else [term.told(language) for term in terms]


def camera_out(camera: Camera, today: dt.date, language: str) -> schemas.CameraOut:
    problems = _each_told(camera.certification_problems(today), language)
    return schemas.CameraOut.model_validate({**_plain(camera), "certification_problems": problems})


def detection_out(detection: Detection, language: str) -> schemas.DetectionOut:
    problems = _each_told(detection.certification_problems, language)
    plain = {**_plain(detection), "dwell_seconds": detection.dwell.total_seconds(), "certification_problems": problems}
    return schemas.DetectionOut.model_validate(plain)


def import_report_out(report: ImportReport, language: str) -> schemas.ImportReportOut:
    rejected = [
        schemas.RejectedRowOut(line=row.line, key=row.key, code=row.problem.key, error=row.problem.told(language))
        for row in report.rejected
    ]
    return schemas.ImportReportOut(kind=report.kind, inserted=report.inserted, updated=report.updated,
                                   written=report.written, rejected=rejected)  # fmt: skip


def case_out(case: Case, unmasked: bool) -> schemas.CaseOut:
    out = schemas.CaseOut.model_validate({**_plain(case), "open_deadlines": case.open_deadlines()})
    return out if unmasked else out.masked()
