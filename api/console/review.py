"""The operators' review queue (第四十一条: every record reviewed as 真实、清晰、完整、准确 before it counts), and the
searchable record of every detection, rejected ones included."""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.web import (
    DETECTION_LABELS,
    Notice,
    back,
    check_length,
    form_of,
    local,
    notice,
    page,
    permitted,
)
from api.roles import Permission, allows
from api.services import ApiServices, services_of
from cases import messages
from cases.errors import InvalidInput, OffsiteError
from cases.messages import Term, wording
from cases.model.detection import Detection, DetectionStatus, ReviewChecklist
from cases.model.registry import Camera, Zone
from cases.persistence.limits import REASON_MAX_CHARS
from cases.services.base import Actor
from cases.services.detections import QueueFilter
from evidence_store.store import EvidenceError

router = APIRouter()
CHECKS = (
    ("authentic", wording("真实")),
    ("clear", wording("清晰")),
    ("complete", wording("完整")),
    ("accurate", wording("准确")),
)


def _cameras(services: ApiServices) -> dict[int, Camera]:
    return {c.id: c for c in services.registry.list_cameras(limit=200).items if c.id is not None}


def _zones(services: ApiServices, camera_ids: set[int]) -> dict[int, Zone]:
    return {z.id: z for cid in camera_ids for z in services.registry.list_zones(cid) if z.id is not None}


def _filter(request: Request, services: ApiServices, default_status: DetectionStatus | None) -> QueueFilter:
    params = request.query_params
    status_text = params.get("status", default_status.value if default_status else "")
    camera = params.get("camera") or None
    tz = services.clock.tz

    def day(name: str, end: bool = False) -> dt.datetime | None:
        text = params.get(name)
        if not text:
            return None
        try:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time.max if end else dt.time.min, tz)
        except ValueError:
            return None
        return moment.astimezone(dt.UTC)

    camera_id = None
    if camera:
        try:
            camera_id = services.registry.find_camera(camera).id
        except OffsiteError:
            camera_id = -1  # an unknown camera matches nothing
    return QueueFilter(
        status=DetectionStatus(status_text) if status_text in DetectionStatus._value2member_map_ else None,
        camera_id=camera_id,
        violation_code=params.get("violation") or None,
        seen_from=day("from"),
        seen_until=day("until", end=True),
    )


def _rows(services: ApiServices, detections: list[Detection]) -> list[dict[str, Any]]:
    cameras = _cameras(services)
    zones = _zones(services, {d.camera_id for d in detections})
    return [
        {
            "d": d,
            "camera": cameras.get(d.camera_id),
            "zone": None if d.zone_id is None else zones.get(d.zone_id),
            "first_seen": local(services, d.first_seen),
            "dwell_min": round(d.dwell.total_seconds() / 60, 1),
            "dwell_s": round(d.dwell.total_seconds()),
        }
        for d in detections
    ]


def _listing(request: Request, template: str, permission: Permission, default: DetectionStatus | None) -> Response:
    permitted(request, permission)
    services = services_of(request)
    criteria = _filter(request, services, default)
    found = services.detections.queue(criteria, request.query_params.get("cursor"), limit=50)
    rows = _rows(services, found.items)
    for row in rows:  # the confirming frame's figures, for the reviewer to see at a glance
        row["quality"] = _quality(services, row["d"].evidence_package_id).get("confirming")
    return page(
        request,
        template,
        rows=rows,
        next_cursor=found.next_cursor,
        cameras=sorted(_cameras(services).values(), key=lambda c: c.device_id),
        filters=dict(request.query_params),
        status_value=criteria.status.value if criteria.status else "",
        statuses=DETECTION_LABELS,
    )


@router.get("/review", response_class=HTMLResponse)
def review_queue(request: Request) -> Response:
    return _listing(request, "review_queue.html", Permission.REVIEW_DETECTIONS, DetectionStatus.PENDING_REVIEW)


@router.get("/detections", response_class=HTMLResponse)
def detection_search(request: Request) -> Response:
    return _listing(request, "detections.html", Permission.READ_DETECTIONS, None)


def _quality(services: ApiServices, package_id: str) -> dict[str, Any]:
    try:
        _type, data = services.evidence_reader().item(package_id, "quality.json")
        figures: dict[str, Any] = json.loads(data)
        return figures
    except (EvidenceError, ValueError):
        return {}


def _neighbours(services: ApiServices, detection: Detection) -> tuple[int | None, int | None]:
    """The previous and next detection still waiting in the queue, for the j/k shortcuts."""
    waiting = [d.id for d in services.detections.queue(QueueFilter(), limit=200).items]
    if detection.id not in waiting:
        return (waiting[0] if waiting else None), None
    index = waiting.index(detection.id)
    before = waiting[index - 1] if index > 0 else None
    after = waiting[index + 1] if index + 1 < len(waiting) else None
    return before, after


@router.get("/detections/{detection_id}", response_class=HTMLResponse)
def detection_page(request: Request, detection_id: int) -> Response:
    return _detection_view(request, detection_id)


@dataclass(frozen=True)
class TypedReview:
    """What a reviewer ticked, chose and typed in the review form: shown again after a refusal."""

    ticked: frozenset[str] = frozenset()
    reason: str = ""
    classified_as: str = ""


def _typed_review(form: dict[str, Any]) -> TypedReview:
    return TypedReview(
        ticked=frozenset(name for name, _label in CHECKS if form.get(name) == "on"),
        reason=str(form.get("reason", "")),
        classified_as=str(form.get("classified_as", "")),
    )


def _detection_view(
    request: Request, detection_id: int, typed: TypedReview | None = None, error: Notice | None = None
) -> Response:
    """The detection page; after a refused review, with the refusal and the form as it was filled in (status 422)."""
    user, _actor = permitted(request, Permission.READ_DETECTIONS)
    services = services_of(request)
    detection = services.detections.get(detection_id)
    manifest: dict[str, Any] = {}
    problem: str | None = None
    try:
        manifest = services.evidence_reader().manifest(detection.evidence_package_id)
    except EvidenceError:
        problem = wording("证据存储中没有该证据包，或暂时无法读取")  # the page tells it
    items = [item["name"] for item in manifest.get("items", [])]
    previous, following = _neighbours(services, detection)
    (row,) = _rows(services, [detection])
    refused = {"error": error} if error else {}
    return page(
        request,
        "detection.html",
        422 if error else 200,
        **refused,
        typed=typed or TypedReview(),
        row=row,
        items=items,
        context=manifest.get("context", {}),
        evidence_problem=problem,
        quality=_quality(services, detection.evidence_package_id),
        checks=CHECKS,
        previous=previous,
        following=following,
        may_review=allows(user.role, Permission.REVIEW_DETECTIONS)
        and detection.status is DetectionStatus.PENDING_REVIEW,
        # a review candidate (不明物体滞留) is confirmed as one of these, chosen by its reviewer
        classify_as=services.law.config.catalogue.violations
        if services.law.is_candidate(detection.violation_code)
        else [],
        may_open_case=allows(user.role, Permission.HANDLE_CASES)
        and detection.status is DetectionStatus.CONFIRMED
        and detection.case_id is None,
        label_editors=_label_editors(services, detection) if allows(user.role, Permission.REVIEW_DETECTIONS) else [],
        label_classes=label_classes(services),
    )


@router.post("/detections/{detection_id}/review", response_model=None)
async def review(request: Request, detection_id: int) -> Response:
    _user, actor = await run_in_threadpool(permitted, request, Permission.REVIEW_DETECTIONS)
    form = await form_of(request)
    typed = _typed_review(form)
    decision = form.get("decision")
    # the violation a review candidate is confirmed as; a rejection classifies nothing, whatever was chosen before
    classified_as = (typed.classified_as.strip() or None) if decision == "confirm" else None
    reason = typed.reason.strip() or None
    if decision not in ("confirm", "reject"):
        return await run_in_threadpool(_detection_view, request, detection_id, typed, notice("choose_decision"))
    try:
        check_length(reason or "", REASON_MAX_CHARS, messages.Wording("意见或驳回理由"))
        following = await run_in_threadpool(
            _review, services_of(request), detection_id, actor, str(form.get("version", "")),
            decision == "confirm", _checklist(typed), reason, classified_as,
        )  # fmt: skip
    except OffsiteError as exc:  # shown again as filled in: nothing ticked or typed is lost to a redirect
        return await run_in_threadpool(_detection_view, request, detection_id, typed, exc)
    done = notice("detection_confirmed" if decision == "confirm" else "detection_rejected", detection=detection_id)
    return back(request, f"/console/detections/{following}" if following else "/console/review", message=done)


def _checklist(typed: TypedReview) -> ReviewChecklist:
    return ReviewChecklist(**{name: name in typed.ticked for name, _label in CHECKS})


def _review(
    services: ApiServices, detection_id: int, actor: Actor, version: str, confirm: bool,
    checklist: ReviewChecklist, reason: str | None, classified_as: str | None,
) -> int | None:  # fmt: skip
    """Review, and return the next detection waiting (found before this one leaves the queue)."""
    detection = services.detections.get(detection_id)
    if not version.isdigit():
        raise InvalidInput(variant="form_no_version")
    _previous, following = _neighbours(services, detection)
    services.detections.review(detection_id, actor, int(version), confirm, checklist, reason, classified_as)
    return following


# -- the box editor (issue 15): what an operator draws on a key frame becomes its training label ------------------

FRAME_LABELS = {"first": wording("首次发现"), "middle": wording("中间"), "confirming": wording("确认")}


def _label_editors(services: ApiServices, detection: Detection) -> list[dict[str, Any]]:
    """Each key frame with the boxes to start from: those an operator drew, else the ones its review gives (the
    violation's box as the detector named it, and the detector's others). None for a package without boxes.json."""
    from vision.capture import BOXES_ITEM
    from vision.review_dataset import Review, ReviewDatasetError, frames_from_review

    store = services.evidence_reader()
    package = detection.evidence_package_id
    try:
        _type, data = store.item(package, BOXES_ITEM)
        recorded = {f["role"]: f for f in json.loads(data)["frames"]}
        assert detection.id is not None
        review = Review(detection.id, detection.status is not DetectionStatus.REJECTED, None, "", services.clock.now())
        derived = frames_from_review(data, review, "", package, None, lambda name: b"")
    except (EvidenceError, ReviewDatasetError, ValueError, KeyError):
        return []
    drawn = services.detections.labels_of(detection.id)
    editors = []
    for frame in derived:
        role = str(frame.provenance["role"])
        boxes = (drawn[role].boxes if role in drawn
                 else [{"class": b.class_name, "xyxy": list(b.xyxy)} for b in frame.boxes])  # fmt: skip
        editors.append({
            "role": role, "label": FRAME_LABELS.get(role, role), "image": recorded[role]["image"],
            "width": frame.width, "height": frame.height, "boxes": json.dumps(boxes),
            "drawn": drawn.get(role), "drawn_at": local(services, drawn[role].labelled_at) if role in drawn else "",
        })  # fmt: skip
    return editors


def label_classes(services: ApiServices) -> tuple[str, ...]:
    """The shipped model's classes: the box editor's choice of classes."""
    return _classes_of(services.shipped_model)


@functools.cache
def _classes_of(model: Path) -> tuple[str, ...]:
    """A model's classes, read from its manifest once."""
    from vision.manifest import ModelManifest, manifest_path_for

    return tuple(ModelManifest.read(manifest_path_for(model)).classes)


@router.post("/detections/{detection_id}/labels", response_model=None)
async def save_labels(request: Request, detection_id: int) -> Response:
    """An operator's boxes on one key frame: they replace that frame's training label."""
    from cases.services.detections import LabelLimits

    _user, actor = await run_in_threadpool(permitted, request, Permission.REVIEW_DETECTIONS)
    form = await form_of(request)
    here = f"/console/detections/{detection_id}"
    services = services_of(request)
    frame = str(form.get("frame", ""))
    try:
        boxes = json.loads(str(form.get("boxes", "[]")))
        detection = await run_in_threadpool(services.detections.get, detection_id)
        editors = {e["role"]: e for e in await run_in_threadpool(_label_editors, services, detection)}
        if frame not in editors:
            raise InvalidInput(variant="label_frame", frame=repr(frame)[:40], frames="、".join(FRAME_LABELS))
        editor = editors[frame]
        context = services.evidence_reader().manifest(detection.evidence_package_id)
        model = (context.get("context", {}).get("model") or {}).get("sha256")
        limits = LabelLimits(label_classes(services), int(editor["width"]), int(editor["height"]), model)
        saved = await run_in_threadpool(services.detections.save_labels, detection_id, frame, boxes, actor, limits)
    except ValueError:
        return back(request, here, error=InvalidInput(variant="label_boxes", limit=300))
    except OffsiteError as exc:
        return back(request, here, error=exc)
    return back(
        request, here, message=notice("labels_saved", frame=Term(f"term.frame.{frame}"), count=len(saved.boxes))
    )
