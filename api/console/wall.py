"""The command centre's pages (issue 16): the camera wall, whose tiles follow the cameras as server-sent events while
it is open, filtered by district and street; and today's dashboard, its charts drawn by matplotlib on the server.
Both are ``watch_cameras``: the duty operators', the head's and the administrator's."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.console import charts
from api.console.web import page, page_language, permitted
from api.roles import Permission
from api.services import services_of
from cases.errors import NotFound
from cases.messages import wording
from offsite import camera_wall, missed
from vision import recent_frames

router = APIRouter()
WALL_EVERY_S = 2.0  # how often an open wall is told the cameras' state
STREAM_S = 600.0  # one stream's life; the browser's EventSource connects again (and the session is checked again)


def _place(request: Request) -> tuple[str | None, str | None]:
    district = (request.query_params.get("district") or "").strip()[:50] or None
    street = (request.query_params.get("street") or "").strip()[:50] or None
    return district, street


@router.get("/wall", response_class=HTMLResponse)
def wall(request: Request) -> Response:
    _user, actor = permitted(request, Permission.WATCH_CAMERAS)
    services = services_of(request)
    district, street = _place(request)
    tiles = camera_wall.tiles(services, district, street, camera_wall.Looks(), page_language(request))
    shown = " · ".join(p for p in (district, street) if p) or wording("全部")  # for the log: in Chinese
    services.command_centre.log_wall_opened(actor, shown, len(tiles))
    return page(request, "wall.html", tiles=tiles, places=camera_wall.places(services), district=district or "",
                street=street or "", query=request.url.query, every_s=WALL_EVERY_S)  # fmt: skip


@router.get("/wall/stream")
async def stream(request: Request) -> Response:
    """The tiles as server-sent events (``event: tiles``), sent when they change, a comment between to keep the
    connection; the stream ends after ``STREAM_S`` and the browser reconnects."""
    await run_in_threadpool(permitted, request, Permission.WATCH_CAMERAS)
    services = services_of(request)
    district, street = _place(request)
    language = page_language(request)

    async def events() -> AsyncIterator[str]:
        looks, sent, ends = camera_wall.Looks(), "", time.monotonic() + STREAM_S
        yield f"retry: {int(WALL_EVERY_S * 1000)}\n\n"
        while not await request.is_disconnected():
            tiles = await run_in_threadpool(camera_wall.tiles, services, district, street, looks, language)
            body = json.dumps([t.as_json() for t in tiles], ensure_ascii=False)
            yield f"event: tiles\ndata: {body}\n\n" if body != sent else ": unchanged\n\n"
            sent = body
            if time.monotonic() >= ends:
                return
            await asyncio.sleep(WALL_EVERY_S)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})  # fmt: skip


@router.get("/wall/{device_id}/frame.jpg", response_class=FileResponse)
def frame(request: Request, device_id: str) -> Response:
    """A camera's newest recent frame, for its tile (the wall's opening is what is logged)."""
    permitted(request, Permission.WATCH_CAMERAS)
    services = services_of(request)
    newest = recent_frames.newest(services.settings.recent_frames_dir, device_id)
    if newest is None:
        raise NotFound(variant="camera_snapshot", camera=device_id[:64])
    shown = missed.recent_frame(services, device_id, newest[0])
    return FileResponse(shown.image, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    """Today's figures: detections by violation and hour, their review, cases opened, cameras online."""
    permitted(request, Permission.WATCH_CAMERAS)
    services = services_of(request)
    district, _street = _place(request)
    today = services.command_centre.today(district)
    language = page_language(request)
    tiles = camera_wall.tiles(services, district, None, camera_wall.Looks(), language)
    names = services.statistics.violation_names(language)
    states = {state: sum(1 for t in tiles if t.state == state) for state in ("online", "offline", "failed")}
    return page(request, "dashboard.html", today=today, names=names, states=states, cameras=len(tiles),
                district=district or "", districts=sorted(camera_wall.places(services)),
                by_hour=charts.by_hour(today.by_hour, names, language),
                outcomes=charts.outcomes(today.outcomes, language))  # fmt: skip
