"""Missed violations in the console (issue 15): an operator looks through a camera's recent frames and boxes what the
detector did not report; the frame becomes a training frame. The operators' (``review_detections``); a party never
reaches any of it. Every look at a camera's recent frames is logged as a personal-data read."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.review import label_classes
from api.console.web import back, form_of, local, notice, page, permitted
from api.roles import Permission
from api.services import services_of
from cases.errors import InvalidInput, OffsiteError
from offsite import missed
from vision import recent_frames

router = APIRouter()


@router.get("/recent", response_class=HTMLResponse)
def cameras(request: Request) -> Response:
    """The cameras that have recent frames, for the operator to choose one."""
    permitted(request, Permission.REVIEW_DETECTIONS)
    services = services_of(request)
    root = services.settings.recent_frames_dir
    found = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    labelled = {camera: len(services.missed.of_camera(camera)) for camera in found}
    return page(request, "recent_cameras.html", cameras=found, labelled=labelled,
                keep_h=services.settings.recent_frames_keep_h)  # fmt: skip


@router.get("/recent/{camera_id}", response_class=HTMLResponse)
def frames(request: Request, camera_id: str) -> Response:
    _user, actor = permitted(request, Permission.REVIEW_DETECTIONS)
    services = services_of(request)
    found = missed.recent(services, actor, camera_id)
    labelled = services.missed.of_camera(camera_id)
    rows = [{"f": f, "at": local(services, f.taken_at), "classes": sorted({b.class_name for b in f.boxes}),
             "labelled": labelled.get(f.name)} for f in found]  # fmt: skip
    return page(request, "recent_frames.html", camera=camera_id, rows=rows,
                keep_h=services.settings.recent_frames_keep_h)  # fmt: skip


@router.get("/recent/{camera_id}/{name}.jpg", response_class=FileResponse)
def picture(request: Request, camera_id: str, name: str) -> Response:
    permitted(request, Permission.REVIEW_DETECTIONS)
    frame = missed.recent_frame(services_of(request), camera_id, name)
    return FileResponse(frame.image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/recent/{camera_id}/{name}", response_class=HTMLResponse)
def frame(request: Request, camera_id: str, name: str) -> Response:
    """One recent frame in the box editor: the boxes drawn on it before, else the detector's."""
    permitted(request, Permission.REVIEW_DETECTIONS)
    services = services_of(request)
    shown = missed.recent_frame(services, camera_id, name)
    drawn = services.missed.of_camera(camera_id).get(name)
    boxes = drawn.boxes if drawn is not None else [{"class": b.class_name, "xyxy": list(b.xyxy)} for b in shown.boxes]
    return page(request, "recent_frame.html", camera=camera_id, f=shown, at=local(services, shown.taken_at),
                boxes=json.dumps(boxes), drawn=drawn, drawn_at=local(services, drawn.labelled_at) if drawn else "",
                label_classes=label_classes(services), newer=_neighbour(services, camera_id, name))  # fmt: skip


def _neighbour(services: Any, camera_id: str, name: str) -> str | None:
    """The next older frame's name, for labelling one after another."""
    names = [f.name for f in recent_frames.listed(services.settings.recent_frames_dir, camera_id)]
    return names[names.index(name) + 1] if name in names and names.index(name) + 1 < len(names) else None


@router.post("/recent/{camera_id}/{name}/missed", response_model=None)
async def save(request: Request, camera_id: str, name: str) -> Response:
    """The operator's boxes on the frame: the frame becomes a training frame of what the detector missed."""
    _user, actor = await run_in_threadpool(permitted, request, Permission.REVIEW_DETECTIONS)
    form = await form_of(request)
    here = f"/console/recent/{camera_id}/{name}"
    services = services_of(request)
    try:
        boxes = json.loads(str(form.get("boxes", "[]")))
        saved = await run_in_threadpool(missed.label, services, camera_id, name, boxes, label_classes(services), actor)
    except ValueError:
        return back(request, here, error=InvalidInput(variant="label_boxes", limit=300))
    except OffsiteError as exc:
        return back(request, here, error=exc)
    return back(request, here, message=notice("missed_saved", count=len(saved.boxes)))
