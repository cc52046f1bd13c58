"""Camera gateways push JPEG frames into a camera's pipeline, and register the stream address the service pulls.

Both routes are signed like every gateway request (``api.deps.gateway_caller``) and serve only the camera's own
gateway. A frame is accepted (202) only whole: refused, it leaves the camera's queue as it was.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.deps import Frames, Registry, ServicesDep, gateway_caller
from api.errors import (
    BadFrame,
    CameraInactive,
    Forbidden,
    FrameQueueFull,
    NoPipeline,
    PayloadTooLarge,
    PipelineUnreachable,
    UnsupportedMediaType,
)
from api.schemas import CodePath, within_service_years
from cases.messages import Term
from cases.model.registry import (
    SAMPLE_INTERVAL_BOUNDS_S,
    STREAM_SCHEMES,
    STREAM_URL_MAX_LENGTH,
    Camera,
    CameraStatus,
    mask_stream_url,
)
from cases.services.registry import RegistryService
from vision import pushed

router = APIRouter(
    tags=["gateway"],
    responses={
        403: {"description": "the gateway does not serve this camera (forbidden)"},
        404: {"description": "no camera has this device id (not_found)"},
    },
)
Gateway = Annotated[str, Depends(gateway_caller())]
UNIX_SECONDS = re.compile(r"(\d{1,11})(?:\.(\d{1,9}))?")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class FrameAcceptedOut(BaseModel):
    camera_id: str = Field(description="the camera's device id")
    seq: int = Field(description="the frame's place in the camera's pushed frames, counting from 0")


class StreamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=STREAM_URL_MAX_LENGTH,
        description=f"the address the service pulls: {', '.join(STREAM_SCHEMES)}; credentials (user:password@) "
        "are kept for pulling and never shown again",
    )
    sample_interval_s: float | None = Field(
        None,
        ge=SAMPLE_INTERVAL_BOUNDS_S[0],
        le=SAMPLE_INTERVAL_BOUNDS_S[1],
        description="seconds between the frames the pipeline samples; the pipeline's default when left out",
    )


class StreamOut(BaseModel):
    camera_id: str
    url: str | None = Field(description="credentials masked as ***; null when no stream is registered")
    sample_interval_s: float | None


# ---- frames ---------------------------------------------------------------------------------------------------
async def jpeg_body(request: Request) -> bytes:
    """The raw request body (already read, and so cached, by the signature check)."""
    return await request.body()


def capture_time(value: str | None) -> dt.datetime:
    """X-Frame-Timestamp: ISO 8601 with its UTC offset, or Unix seconds with an optional fraction."""
    if not value:
        raise BadFrame(variant="no_timestamp")
    value = value.strip()
    if match := UNIX_SECONDS.fullmatch(value):
        whole, fraction = match.group(1), (match.group(2) or "").ljust(6, "0")[:6]
        captured = EPOCH + dt.timedelta(seconds=int(whole), microseconds=int(fraction))
    else:
        try:
            captured = dt.datetime.fromisoformat(value)  # a naive time is refused by the intake, naming the problem
        except ValueError as exc:
            raise BadFrame(variant="timestamp", value=repr(value[:40])) from exc
    if captured.tzinfo is not None and not within_service_years(captured):
        raise BadFrame(variant="timestamp_range", value=repr(value[:40]))
    return captured


def own_camera(registry: RegistryService, gateway_id: str, device_id: str) -> Camera:
    camera = registry.find_camera(device_id)
    if camera.gateway_id != gateway_id:
        raise Forbidden(variant="gateway_camera", gateway=repr(gateway_id), camera=repr(device_id))
    return camera


@router.post(
    "/gateway/cameras/{device_id}/frames",
    response_model=FrameAcceptedOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        409: {"description": "the camera is suspended (camera_inactive) or no pipeline takes its frames (no_pipeline)"},
        413: {"description": "over the frame's byte or pixel limit"},
        415: {"description": "the body is not image/jpeg"},
        422: {"description": "not a whole JPEG, or a missing or unusable X-Frame-Timestamp (bad_frame)"},
        429: {
            "description": "the camera's frame queue is full: retry after Retry-After seconds (frame_queue_full)",
            "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
        },
        503: {
            "description": "in a cluster, the worker holding the camera cannot be reached now: retry after "
            "Retry-After seconds (frames_unreachable)",
            "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
        },
    },
)
def push_frame(
    registry: Registry,
    frames: Frames,
    gateway_id: Gateway,
    device_id: CodePath,
    jpeg: Annotated[bytes, Depends(jpeg_body)],
    content_type: Annotated[str | None, Header()] = None,
    x_frame_timestamp: Annotated[str | None, Header()] = None,
) -> FrameAcceptedOut:
    """A camera's gateway pushes one JPEG frame (the raw body, ``Content-Type: image/jpeg``) captured at
    ``X-Frame-Timestamp``. Accepted frames enter the camera's pipeline in order; nothing is dropped: a full queue
    answers 429 with ``Retry-After``."""
    media_type = (content_type or "").partition(";")[0].strip().lower()
    if media_type != "image/jpeg":
        raise UnsupportedMediaType(variant="frame", media_type=repr(media_type or "none"))
    camera = own_camera(registry, gateway_id, device_id)
    if camera.status is not CameraStatus.ACTIVE:
        raise CameraInactive(variant="camera", camera=repr(device_id), status=camera.status.value)
    ts = capture_time(x_frame_timestamp)
    try:
        seq = frames.push(device_id, jpeg, ts)
    except pushed.NoPipeline as exc:
        raise NoPipeline(variant="camera", camera=repr(exc.camera_id)) from exc
    except pushed.FrameQueueFull as exc:
        wait_s = max(1, math.ceil(exc.retry_after_s))
        raise FrameQueueFull(variant="camera", headers={"Retry-After": str(wait_s)}, camera=repr(exc.camera_id),
                             capacity=exc.capacity, wait_s=f"{exc.retry_after_s:.1f}") from exc  # fmt: skip
    except pushed.FramesUnreachable as exc:
        wait_s = max(1, math.ceil(exc.retry_after_s))
        raise PipelineUnreachable(variant="camera", headers={"Retry-After": str(wait_s)}, camera=repr(exc.camera_id),
                                wait_s=wait_s) from exc  # fmt: skip
    except pushed.PushedFrameError as exc:
        pushing, problem = repr(exc.camera_id), Term(f"frame.{exc.key}", exc.params)
        if exc.too_large:
            raise PayloadTooLarge(variant="pushed", camera=pushing, problem=problem) from exc
        raise BadFrame(variant="pushed", camera=pushing, problem=problem) from exc
    return FrameAcceptedOut(camera_id=device_id, seq=seq)


# ---- stream address -------------------------------------------------------------------------------------------
def stream_out(camera: Camera) -> StreamOut:
    return StreamOut(
        camera_id=camera.device_id, url=mask_stream_url(camera.stream_url), sample_interval_s=camera.sample_interval_s
    )


@router.put("/gateway/cameras/{device_id}/stream", response_model=StreamOut)
def register_stream(services: ServicesDep, gateway_id: Gateway, device_id: CodePath, body: StreamIn) -> StreamOut:
    """The camera's gateway says where the service pulls the camera's video from (replacing what was there)."""
    own_camera(services.registry, gateway_id, device_id)
    camera = services.registry.set_camera_stream(device_id, body.url, body.sample_interval_s)
    services.stream_changed(device_id)  # whoever runs the camera's pipeline pulls the new address now
    return stream_out(camera)


@router.get("/gateway/cameras/{device_id}/stream", response_model=StreamOut)
def read_stream(registry: Registry, gateway_id: Gateway, device_id: CodePath) -> StreamOut:
    """The stream address registered for the camera, credentials masked."""
    return stream_out(own_camera(registry, gateway_id, device_id))
