"""Cameras at district scale (issue 16) in the JSON API: a camera's configuration (its versions, and a new one saved
as the console's camera page saves it: ``configure_cameras``), and what the command centre watches (the camera
wall's tiles and today's figures: ``watch_cameras``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from api import schemas
from api.console.cameras import camera_classes
from api.deps import CameraConfigs, CommandCentre, ReaderLanguage, Registry, ServicesDep, require
from api.roles import Permission
from cases.errors import InvalidInput, NotFound
from cases.services.base import Actor
from cases.services.camera_configs import CameraConfig
from offsite import camera_configs, camera_wall

router = APIRouter(tags=["cameras at scale"])
CameraConfigurer = Annotated[Actor, Depends(require(Permission.CONFIGURE_CAMERAS))]
Watcher = Annotated[Actor, Depends(require(Permission.WATCH_CAMERAS))]
PlaceQuery = Annotated[str | None, Query(max_length=50)]


def _out(config: CameraConfig) -> schemas.CameraConfigOut:
    return schemas.CameraConfigOut.model_validate(config)


@router.get("/cameras/{device_id}/configurations", response_model=list[schemas.CameraConfigOut])
def configurations(
    camera_configs: CameraConfigs, registry: Registry, _configurer: CameraConfigurer, device_id: schemas.CodePath
) -> list[schemas.CameraConfigOut]:
    """The camera's configuration versions, oldest first: source, zones, rules as the pipeline reads them, who
    saved each, when and why."""
    registry.find_camera(device_id)
    return [_out(c) for c in camera_configs.history(device_id)]


@router.get("/cameras/{device_id}/configuration", response_model=schemas.CameraConfigOut)
def configuration(
    camera_configs: CameraConfigs, registry: Registry, _configurer: CameraConfigurer, device_id: schemas.CodePath
) -> schemas.CameraConfigOut:
    """The camera's current configuration (404 while it has none)."""
    registry.find_camera(device_id)
    history = camera_configs.history(device_id)
    if not history:
        raise NotFound(variant="camera_config", camera=device_id)
    return _out(history[-1])


@router.put("/cameras/{device_id}/configuration", response_model=schemas.CameraConfigSavedOut)
async def save_configuration(
    services: ServicesDep, configurer: CameraConfigurer, device_id: schemas.CodePath,
    body: schemas.CameraConfigIn,
) -> schemas.CameraConfigSavedOut:  # fmt: skip
    """Save the camera's configuration as its next version, validated as the pipeline reads it (422 naming the
    field, zone or rule; nothing saved). The same configuration as the current one makes no version. A running
    camera takes it up before its next frame."""
    await run_in_threadpool(services.registry.find_camera, device_id)  # 404 for a camera the registry lacks
    document = body.document | {"camera_id": device_id}
    if body.document.get("camera_id", device_id) != device_id:
        raise InvalidInput(variant="camera_other_camera", camera=device_id)
    classes = camera_classes(services)
    saved = await run_in_threadpool(camera_configs.save_one, services, document, classes, configurer, body.reason)
    return schemas.CameraConfigSavedOut(device_id=saved.device_id, version=saved.version, changed=saved.changed)


@router.get("/wall", response_model=list[schemas.WallTileOut])
def wall(
    services: ServicesDep,
    _watcher: Watcher,
    language: ReaderLanguage,
    district: PlaceQuery = None,
    street: PlaceQuery = None,
) -> list[schemas.WallTileOut]:
    """Every camera's tile on the command centre's wall, by district and street: its pipeline's state here, frames
    analysed and dropped, its newest recent frame, its last detection. The console's wall follows the same tiles as
    server-sent events. A tile names its last detection's violation in the reader's language (Accept-Language)."""
    tiles = camera_wall.tiles(services, district, street, camera_wall.Looks(), language)
    return [schemas.WallTileOut.model_validate(t.as_json()) for t in tiles]


@router.get("/dashboard/today", response_model=schemas.TodayOut)
def today(command_centre: CommandCentre, _watcher: Watcher, district: PlaceQuery = None) -> schemas.TodayOut:
    """Today's detections (the bureau's local day) by violation and hour, their review, and the cases opened."""
    figures = command_centre.today(district)
    return schemas.TodayOut(day=figures.day, found=dict(figures.found), by_hour=figures.by_hour,
                            outcomes=dict(figures.outcomes), cases_opened=figures.cases_opened)  # fmt: skip
