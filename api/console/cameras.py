"""The cameras' pages (issue 16): every registered camera with its configuration's version and its pipeline's state,
and one camera's page, where an administrator draws its zones and shop-front lines on its picture, chooses its
rules and their times and its source, and saves them as the camera's next version. A running ``offsite serve
--cameras-from-db`` takes the version up before the camera's next frame. Drawing is ``configure_cameras`` (the
administrator's); each look at a camera's picture is logged, as it shows people.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.console.review import label_classes
from api.console.web import back, form_of, local, notice, page, permitted
from api.roles import Permission
from api.services import ApiServices, services_of
from cases.errors import InvalidInput, NotFound, OffsiteError
from cases.services.camera_configs import CameraConfig
from offsite import camera_configs
from vision.config import DEFAULT_TIMES
from vision.events import SubjectKind
from vision.pipeline import DropPolicy
from vision.rules import RuleKind, ZoneKind
from vision.sources import DecodeMode

router = APIRouter()
INDEXED = re.compile(r"^(zone|rule)-(\d{1,6})-([a-z_]+)$")
TIMES = ("min_dwell_s", "inertia_s", "min_median_score", "min_presence", "cooldown_s")
CAMERA_NUMBERS = ("lost_s", "pre_s", "post_s", "queue_size")
PER_PAGE = 200


@router.get("/cameras", response_class=HTMLResponse)
def cameras(request: Request) -> Response:
    """Every registered camera: its configuration's version and who saved it, and what its pipeline is doing."""
    permitted(request, Permission.CONFIGURE_CAMERAS)
    services = services_of(request)
    current = services.camera_configs.current()
    asked = request.query_params.get("offset", "0")
    offset = int(asked) if asked.isdigit() and len(asked) < 9 else 0
    listed = services.registry.list_cameras(offset=offset, limit=PER_PAGE)
    rows = [{"c": camera, "config": current.get(camera.device_id), "state": state_of(services, camera.device_id)}
            for camera in listed.items]  # fmt: skip
    return page(request, "cameras.html", rows=rows, saved_at=lambda c: local(services, c.saved_at), offset=offset,
                total=listed.total, per_page=PER_PAGE)  # fmt: skip


@router.get("/cameras/{device_id}", response_class=HTMLResponse)
def camera(request: Request, device_id: str) -> Response:
    permitted(request, Permission.CONFIGURE_CAMERAS)
    services = services_of(request)
    history = _history(services, device_id)
    document = history[-1].document if history else _blank(device_id)
    return _editor(request, device_id, document, history)


@router.get("/cameras/{device_id}/snapshot.jpg")
def snapshot(request: Request, device_id: str) -> Response:
    """The camera's latest picture to draw on (its newest recent frame, else a file source's first frame)."""
    _user, actor = permitted(request, Permission.CONFIGURE_CAMERAS)
    services = services_of(request)
    picture = camera_configs.snapshot(services, actor, device_id)
    if picture is None:
        raise NotFound(variant="camera_snapshot", camera=device_id[:64])
    return Response(picture, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/cameras/{device_id}/configuration", response_model=None)
async def save(request: Request, device_id: str) -> Response:
    """The drawn configuration as the camera's next version; a refusal shows the page again as drawn, with why."""
    _user, actor = await run_in_threadpool(permitted, request, Permission.CONFIGURE_CAMERAS)
    form = await form_of(request)
    services = services_of(request)
    try:
        document = document_from_form(device_id, form)
    except InvalidInput as exc:
        history = await run_in_threadpool(_history, services, device_id)
        return _editor(request, device_id, history[-1].document if history else _blank(device_id), history,
                       error=exc)  # fmt: skip
    reason = str(form.get("reason", ""))
    try:
        saved = await run_in_threadpool(camera_configs.save_one, services, document, camera_classes(services), actor,
                                        reason)  # fmt: skip
    except OffsiteError as exc:
        history = await run_in_threadpool(_history, services, device_id)
        return _editor(request, device_id, document, history, error=exc, reason=reason)
    said = (notice("camera_config_saved", version=saved.version) if saved.changed
            else notice("camera_config_unchanged", version=saved.version))  # fmt: skip
    return back(request, f"/console/cameras/{device_id}", message=said)


def _history(services: ApiServices, device_id: str) -> list[CameraConfig]:
    services.registry.find_camera(device_id)  # 404 for a camera the registry lacks
    return services.camera_configs.history(device_id)


def camera_classes(services: ApiServices) -> tuple[str, ...]:
    """The classes of the model the cameras run (the shipped model's when no camera runs here)."""
    running = services.cameras
    return tuple(running.detector.class_names) if running is not None else label_classes(services)


def _blank(device_id: str) -> dict[str, Any]:
    return {"camera_id": device_id, "source": {"url": "push", "interval_s": 2.0, "decode": "auto"}, "zones": [],
            "rules": []}  # fmt: skip


def _editor(
    request: Request, device_id: str, document: dict[str, Any], history: list[CameraConfig],
    error: OffsiteError | None = None, reason: str = "",
) -> Response:  # fmt: skip
    services = services_of(request)
    camera = services.registry.find_camera(device_id)
    versions = [{"v": v, "at": local(services, v.saved_at)} for v in reversed(history)]
    defaults = {kind.value: times.model_dump() for kind, times in DEFAULT_TIMES.items()}
    return page(
        request, "camera.html", status_code=422 if error else 200, error=error, camera=camera, device_id=device_id,
        doc=document, versions=versions, state=state_of(services, device_id), reason=reason,
        zone_kinds=[k.value for k in ZoneKind], rule_kinds=[k.value for k in RuleKind],
        subject_kinds=[k.value for k in SubjectKind], decode_modes=[m.value for m in DecodeMode],
        drop_policies=[p.value for p in DropPolicy], defaults=json.dumps(defaults), times=TIMES,
        zones_json=json.dumps(document.get("zones", [])),
    )  # fmt: skip


def state_of(services: ApiServices, device_id: str) -> dict[str, Any] | None:
    """What the camera's pipeline is doing, wherever it runs (None: no pipeline runs it)."""
    found = services.states.state_of(device_id)
    if found is None:
        return None
    history = services.camera_configs.history(device_id)
    version = next((c.version for c in reversed(history) if c.sha256 == found.config_sha256), None)
    return {"metrics": found.metrics, "version": version, "waiting": found.waiting, "runs_on": found.runs_on,
            "current": bool(history) and history[-1].sha256 == found.config_sha256}  # fmt: skip


def document_from_form(device_id: str, form: dict[str, Any]) -> dict[str, Any]:
    """The configuration as the page's form sends it: the source and camera settings, then each zone's and each
    rule's fields by their index (``zone-0-id``, ``rule-1-zones``), in index order. An empty number is the default.
    Types and bounds are left to the validation the pipeline itself does; only coordinates are read here."""
    source: dict[str, Any] = {"url": _text(form, "source_url"), "interval_s": _text(form, "source_interval_s") or 2.0,
                              "decode": _text(form, "source_decode") or "auto"}  # fmt: skip
    if _text(form, "source_start"):
        source["start"] = _text(form, "source_start")
    document: dict[str, Any] = {"camera_id": device_id, "source": source}
    for name in CAMERA_NUMBERS:
        if _text(form, name):
            document[name] = _text(form, name)
    if _text(form, "drop_policy"):
        document["drop_policy"] = _text(form, "drop_policy")
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for key, value in form.items():
        found = INDEXED.match(key)
        if found:
            rows.setdefault((found[1], int(found[2])), {})[found[3]] = value
    document["zones"] = [_zone(device_id, rows[key]) for key in sorted(k for k in rows if k[0] == "zone")]
    document["rules"] = [_rule(rows[key]) for key in sorted(k for k in rows if k[0] == "rule")]
    return document


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name, "")
    return (value[-1] if isinstance(value, list) and value else str(value or "")).strip()


def _zone(device_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    ref = _text(fields, "subject_ref")
    zone: dict[str, Any] = {"id": _text(fields, "id"), "kind": _text(fields, "kind"),
                            "polygon": _coordinates(device_id, _text(fields, "polygon") or "[]"),
                            "subject": {"kind": _text(fields, "subject_kind") or "unknown", "ref": ref or None}}  # fmt: skip
    line = _text(fields, "front_line")
    if line:
        zone["front_line"] = _coordinates(device_id, line)
    return zone


def _coordinates(device_id: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise InvalidInput(variant="camera_geometry", camera=device_id[:64]) from exc


def _rule(fields: dict[str, Any]) -> dict[str, Any]:
    zones = fields.get("zones", [])
    rule: dict[str, Any] = {"id": _text(fields, "id"), "kind": _text(fields, "kind"),
                            "zones": [z for z in (zones if isinstance(zones, list) else [zones]) if z]}  # fmt: skip
    for name in TIMES:
        if _text(fields, name):
            rule[name] = _text(fields, name)
    if _text(fields, "violation"):
        rule["violation"] = _text(fields, "violation")
    if _text(fields, "classes"):
        rule["classes"] = [c.strip() for c in _text(fields, "classes").split(",") if c.strip()]
    return rule
