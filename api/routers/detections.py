"""The review queue and the review of a detection; the intake of violation events pushed by gateways."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from api import schemas
from api.deps import DetectionReader, DetectionReviewer, Detections, ReaderLanguage, ServicesDep, gateway_caller
from api.errors import Forbidden
from api.views import detection_out
from cases.errors import InvalidInput
from cases.messages import Term
from cases.model.detection import DetectionStatus, ReviewChecklist
from cases.services.detections import QueueFilter
from offsite.intake import StoreEvidence
from vision.events import InvalidEvent, SubjectKind, SubjectRef, ViolationEvent

router = APIRouter(tags=["detections"])


@router.get("/detections", response_model=schemas.DetectionPageOut)
def review_queue(
    detections: Detections,
    _reader: DetectionReader,
    language: ReaderLanguage,
    status_: Annotated[DetectionStatus | None, Query(alias="status")] = DetectionStatus.PENDING_REVIEW,
    camera_id: Annotated[int | None, Query(ge=1, le=schemas.MAX_RECORD_ID)] = None,
    violation_code: schemas.CodeQuery = None,
    seen_from: Annotated[schemas.IsoTime | None, Query()] = None,
    seen_until: Annotated[schemas.IsoTime | None, Query()] = None,
    cursor: Annotated[
        str | None, Query(min_length=1, max_length=schemas.CURSOR_MAX, pattern=r"^[A-Za-z0-9_-]+$")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> schemas.DetectionPageOut:
    """Newest first. Pass the returned ``next_cursor`` as ``cursor`` for the next page."""
    criteria = QueueFilter(status_, camera_id, violation_code, seen_from, seen_until)
    page = detections.queue(criteria, cursor, limit)
    return schemas.DetectionPageOut(
        items=[detection_out(d, language) for d in page.items], next_cursor=page.next_cursor
    )


@router.get("/detections/{detection_id}", response_model=schemas.DetectionOut)
def get_detection(
    detections: Detections, _reader: DetectionReader, language: ReaderLanguage, detection_id: schemas.IdInPath
) -> schemas.DetectionOut:
    return detection_out(detections.get(detection_id), language)


@router.post("/detections/{detection_id}/review", response_model=schemas.DetectionOut)
def review_detection(
    detections: Detections,
    reviewer: DetectionReviewer,
    language: ReaderLanguage,
    detection_id: schemas.IdInPath,
    body: schemas.ReviewIn,
) -> schemas.DetectionOut:
    """Confirm (all four checklist points must hold) or reject (with a reason). Reviews are final. A review
    candidate (``unknown_object``, 不明物体滞留) is confirmed as the violation the reviewer chooses: ``classified_as``;
    the answer then shows that violation's code and the candidate's kind in ``classified_from``."""
    checklist = ReviewChecklist(**body.checklist.model_dump())
    detection = detections.review(
        detection_id, reviewer, body.version, body.decision == "confirm", checklist, body.reason, body.classified_as
    )
    return detection_out(detection, language)


@router.post(
    "/gateway/events",
    response_model=schemas.IntakeOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"description": "the same event was already received; nothing changed", "model": schemas.IntakeOut},
        403: {"description": "the gateway does not serve the event's camera (forbidden)"},
        404: {"description": "the event's camera is not registered (not_found)"},
        409: {"description": "the event id was already used for a different occurrence (conflict)"},
        422: {
            "description": "a malformed event, or evidence that does not hold up: evidence_package_missing, "
            "evidence_package_invalid (fails verification), evidence_package_other_camera, "
            "evidence_package_time_mismatch (the event's times lie outside the package's)"
        },
    },
)
def push_violation_event(
    services: ServicesDep,
    gateway_id: Annotated[str, Depends(gateway_caller())],
    body: schemas.ViolationEventIn,
    response: Response,
    language: ReaderLanguage,
) -> schemas.IntakeOut:
    """A camera gateway pushes a violation event (signed with its key). Idempotent on ``event_id``. The evidence
    package it cites must be in the evidence store, verify, be sealed for the event's camera, and hold the event's
    times; otherwise nothing is stored."""
    camera = services.registry.find_camera(body.camera_id)
    if camera.gateway_id != gateway_id:
        raise Forbidden(variant="gateway_camera", gateway=repr(gateway_id), camera=repr(body.camera_id))
    try:
        event = ViolationEvent(
            event_id=body.event_id,
            camera_id=body.camera_id,
            zone_id=body.zone_id,
            rule_id=body.rule_id,
            violation_code=body.violation_code,
            subject=SubjectRef(SubjectKind(body.subject.kind), body.subject.ref),
            first_seen=body.first_seen,
            last_seen=body.last_seen,
            evidence_package_id=body.evidence_package_id,
            confidence=body.confidence,
        )
    except InvalidEvent as exc:
        raise InvalidInput(variant="violation_event", problem=Term(f"event.{exc.key}", exc.params)) from exc
    evidence = StoreEvidence(services.evidence_reader)
    detection, created = services.detections.intake(event, services.registry, evidence)
    if not created:
        response.status_code = status.HTTP_200_OK
    return schemas.IntakeOut(detection=detection_out(detection, language), created=created)
