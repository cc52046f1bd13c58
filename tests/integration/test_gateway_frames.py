"""Camera gateways push JPEG frames to POST /api/v1/gateway/cameras/{device_id}/frames and register the stream the
service pulls at PUT/GET /api/v1/gateway/cameras/{device_id}/stream, each request signed like every gateway request.
A frame is queued for the camera's pipeline only when it is whole, well timed, from the camera's own gateway and
there is room; anything else is refused with a problem naming why, and the queue stays as it was."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from cases.model.registry import CameraStatus
from cases.model.staff import Role
from offsite.bootstrap import Components
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_gateway_api import signed_headers
from tests.integration.world import World
from vision.pushed import PushedFrames

MIB = 1024 * 1024


def frames_path(device_id: str = "cam-1") -> str:
    return f"/api/v1/gateway/cameras/{device_id}/frames"


def stream_path(device_id: str = "cam-1") -> str:
    return f"/api/v1/gateway/cameras/{device_id}/stream"


def jpeg(width: int = 64, height: int = 48) -> bytes:
    picture = np.zeros((height, width, 3), np.uint8)
    picture[:, : width // 2] = (0, 0, 255)
    ok, encoded = cv2.imencode(".jpg", picture)
    assert ok
    return encoded.tobytes()


def push_frame(
    client: TestClient,
    components: Components,
    content: bytes,
    timestamp: str | None = "now",
    *,
    device_id: str = "cam-1",
    content_type: str | None = "image/jpeg",
    **signing: Any,
) -> Any:
    path = frames_path(device_id)
    headers = signed_headers(components, content, path=path, **signing)
    del headers["Content-Type"]
    if content_type is not None:
        headers["Content-Type"] = content_type
    if timestamp is not None:
        headers["X-Frame-Timestamp"] = components.clock.now().isoformat() if timestamp == "now" else timestamp
    return client.post(path, content=content, headers=headers)


def call_stream(
    client: TestClient, components: Components, method: str, body: dict[str, Any] | None = None, **signing: Any
) -> Any:
    device_id = signing.pop("device_id", "cam-1")
    path = stream_path(device_id)
    content = b"" if body is None else json.dumps(body).encode()
    headers = signed_headers(components, content, method=method, path=path, **signing)
    return client.request(method, path, content=content, headers=headers)


@pytest.fixture
def pipeline(world: World) -> PushedFrames:
    """cam-1's pipeline, taking pushed frames, four at most waiting."""
    return world.components.frames.open("cam-1", capacity=4)


def refused(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = problem_of(response)
    assert body["code"] == code, body
    return str(body["detail"])


def taken(pipeline: PushedFrames) -> list[Any]:
    pipeline.close()
    return list(pipeline.frames())


# ---- accepted --------------------------------------------------------------------------------------------------
def test_a_signed_frame_is_queued_for_the_cameras_pipeline(
    client: TestClient, world: World, pipeline: PushedFrames
) -> None:
    components = world.components
    first = push_frame(client, components, jpeg(64, 48))
    assert first.status_code == 202, first.text
    assert first.json() == {"camera_id": "cam-1", "seq": 0}
    second = push_frame(client, components, jpeg(32, 24))
    assert second.json() == {"camera_id": "cam-1", "seq": 1}

    assert components.frames.get("cam-1") is pipeline
    frames = taken(pipeline)
    assert [(f.camera_id, f.seq, f.size) for f in frames] == [("cam-1", 0, (64, 48)), ("cam-1", 1, (32, 24))]
    assert frames[0].ts == components.clock.now()
    assert tuple(frames[0].image[10, 5]) == pytest.approx((0, 0, 255), abs=8)  # decoded BGR
    assert (pipeline.frames_in, pipeline.frames_refused_full, pipeline.frames_refused_bad) == (2, 0, 0)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2026-03-02T10:00:00.250+08:00", dt.datetime(2026, 3, 2, 2, 0, 0, 250_000, tzinfo=dt.UTC)),
        ("2026-03-02T02:00:00Z", dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)),
        ("1772416799.5", dt.datetime(2026, 3, 2, 1, 59, 59, 500_000, tzinfo=dt.UTC)),
        ("1772416800", dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)),
    ],
    ids=["iso-with-offset", "iso-utc-z", "unix-with-fraction", "unix-whole"],
)
def test_the_capture_time_is_iso_8601_with_offset_or_unix_seconds(
    client: TestClient, world: World, pipeline: PushedFrames, header: str, expected: dt.datetime
) -> None:
    response = push_frame(client, world.components, jpeg(), header)
    assert response.status_code == 202, response.text
    assert [f.ts for f in taken(pipeline)] == [expected]


# ---- a full queue ----------------------------------------------------------------------------------------------
def test_a_full_queue_answers_429_with_retry_after_and_drops_nothing(
    client: TestClient, world: World, pipeline: PushedFrames
) -> None:
    components = world.components
    for seq in range(4):
        assert push_frame(client, components, jpeg()).json()["seq"] == seq
    for _ in range(2):
        response = push_frame(client, components, jpeg())
        assert "full (4 frames waiting)" in refused(response, 429, "frame_queue_full")
        assert response.headers["retry-after"].isdigit()
        assert int(response.headers["retry-after"]) >= 1
    assert pipeline.queued == 4
    assert (pipeline.frames_in, pipeline.frames_refused_full) == (4, 2)

    next(pipeline.frames())  # the pipeline takes one: room for one more
    assert push_frame(client, components, jpeg()).json()["seq"] == 4
    assert [f.seq for f in taken(pipeline)] == [1, 2, 3, 4]


# ---- refused, nothing queued -----------------------------------------------------------------------------------
def over_the_frame_limit() -> bytes:
    return jpeg() + b"\x00" * (8 * MIB)  # over the 8 MiB of a frame, under the 20 MiB of any request


@pytest.mark.parametrize(
    ("send", "status", "code", "named"),
    [
        (lambda c: push_frame(*c, jpeg(), secret="not-the-gateway-secret"), 401, "gateway_rejected", "signature"),
        (lambda c: push_frame(*c, jpeg(), gateway="gw-404"), 401, "gateway_rejected", "gw-404"),
        (lambda c: push_frame(*c, jpeg(), device_id="cam-404"), 404, "not_found", "cam-404"),
        (lambda c: push_frame(*c, jpeg(), gateway="gw-2"), 403, "forbidden", "gw-2"),
        (lambda c: push_frame(*c, b'{"frame": "not really"}'), 422, "bad_frame", "not a JPEG"),
        (lambda c: push_frame(*c, jpeg()[:-300]), 422, "bad_frame", "truncated"),
        (lambda c: push_frame(*c, b""), 422, "bad_frame", "empty"),
        (lambda c: push_frame(*c, over_the_frame_limit()), 413, "payload_too_large", "over the limit of 8388608"),
        (lambda c: push_frame(*c, jpeg(4200, 4100)), 413, "payload_too_large", "4200×4100"),
        (lambda c: push_frame(*c, jpeg(4096, 1)), 422, "bad_frame", "4096×1 pixels: its shorter side is under 16"),
        (lambda c: push_frame(*c, jpeg(4096, 300)), 422, "bad_frame", "sides are 13.7 to 1, beyond the 10 to 1"),
        (lambda c: push_frame(*c, jpeg(), None), 422, "bad_frame", "X-Frame-Timestamp is missing"),
        (lambda c: push_frame(*c, jpeg(), "yesterday"), 422, "bad_frame", "neither ISO 8601"),
        (lambda c: push_frame(*c, jpeg(), "2026-03-02T10:00:00"), 422, "bad_frame", "no time zone"),
        (lambda c: push_frame(*c, jpeg(), "2026-03-03T10:00:00+08:00"), 422, "bad_frame", "ahead of the server"),
        (lambda c: push_frame(*c, jpeg(), "0001-01-01T00:00:00+14:00"), 422, "bad_frame", "from 1970-01-01"),
        (lambda c: push_frame(*c, jpeg(), "9999-12-31T23:59:59-14:00"), 422, "bad_frame", "from 1970-01-01"),
        (lambda c: push_frame(*c, jpeg(), content_type="application/json"), 415, "unsupported_media_type", "json"),
        (lambda c: push_frame(*c, jpeg(), content_type=None), 415, "unsupported_media_type", "image/jpeg"),
    ],
    ids=[
        "bad-signature",
        "unregistered-gateway",
        "unknown-camera",
        "other-gateways-camera",
        "not-a-jpeg",
        "truncated-jpeg",
        "empty-body",
        "over-the-frame-byte-limit",
        "over-the-pixel-limit",
        "degenerate-4096x1",
        "degenerate-aspect-ratio",
        "no-timestamp",
        "timestamp-in-words",
        "timestamp-without-offset",
        "timestamp-a-day-ahead",
        "timestamp-before-utc-begins",
        "timestamp-after-utc-ends",
        "wrong-content-type",
        "no-content-type",
    ],
)
def test_a_frame_that_cannot_be_taken_is_refused_naming_why_and_nothing_is_queued(
    client: TestClient, world: World, pipeline: PushedFrames, send: Any, status: int, code: str, named: str
) -> None:
    response = send((client, world.components))
    assert named in refused(response, status, code)
    assert pipeline.queued == 0
    assert pipeline.frames_in == 0
    assert push_frame(client, world.components, jpeg()).json()["seq"] == 0  # and the camera still takes frames


def test_a_frame_over_the_request_limit_is_refused_before_the_route(
    client: TestClient, world: World, pipeline: PushedFrames
) -> None:
    limit = world.components.settings.max_upload_bytes
    response = push_frame(client, world.components, jpeg() + b"\x00" * limit)
    assert f"larger than {limit} bytes" in refused(response, 413, "payload_too_large")
    assert pipeline.queued == 0


def test_a_camera_whose_pipeline_takes_no_pushed_frames_answers_409(client: TestClient, world: World) -> None:
    response = push_frame(client, world.components, jpeg(), device_id="cam-9")  # gw-1's, but no pipeline opened
    assert "no pipeline" in refused(response, 409, "no_pipeline")
    assert world.components.frames.get("cam-9") is None


def test_a_pipeline_that_closed_takes_no_more_frames(client: TestClient, world: World, pipeline: PushedFrames) -> None:
    assert push_frame(client, world.components, jpeg()).status_code == 202
    pipeline.close()
    refused(push_frame(client, world.components, jpeg()), 409, "no_pipeline")
    assert [f.seq for f in pipeline.frames()] == [0]


def test_a_suspended_camera_takes_no_frames(client: TestClient, world: World, pipeline: PushedFrames) -> None:
    camera = world.cameras["main"]
    assert camera.id is not None
    world.components.registry.update_camera(camera.id, camera.version, {"status": CameraStatus.SUSPENDED})
    response = push_frame(client, world.components, jpeg())
    assert "suspended" in refused(response, 409, "camera_inactive")
    assert pipeline.queued == 0


def test_a_replayed_frame_is_rejected_and_not_queued_twice(
    client: TestClient, world: World, pipeline: PushedFrames
) -> None:
    content = jpeg()
    headers = signed_headers(world.components, content, path=frames_path())
    headers |= {"Content-Type": "image/jpeg", "X-Frame-Timestamp": world.components.clock.now().isoformat()}
    assert client.post(frames_path(), content=content, headers=headers).status_code == 202
    replay = client.post(frames_path(), content=content, headers=headers)
    assert "replayed" in refused(replay, 401, "gateway_rejected")
    assert pipeline.queued == 1


# ---- the stream address ----------------------------------------------------------------------------------------
def test_a_gateway_registers_its_cameras_stream_and_reads_it_back_with_credentials_masked(
    client: TestClient, world: World, staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    components = world.components
    url = "rtsp://admin:Hik12345@10.0.0.5:554/Streaming/Channels/101?token=tok-secret&channel=1"
    masked = "rtsp://***@10.0.0.5:554/Streaming/Channels/101?token=***&channel=1"
    with caplog.at_level(logging.DEBUG):
        put = call_stream(client, components, "PUT", {"url": url, "sample_interval_s": 0.5})
    assert put.status_code == 200, put.text
    assert put.json() == {"camera_id": "cam-1", "url": masked, "sample_interval_s": 0.5}

    got = call_stream(client, components, "GET")
    assert got.status_code == 200, got.text
    assert got.json() == put.json()

    stored = components.registry.find_camera("cam-1")
    assert (stored.stream_url, stored.sample_interval_s) == (url, 0.5)  # kept whole: the pipeline pulls with it
    assert stored.version == world.cameras["main"].version + 1

    staff_view = client.get(f"/api/v1/cameras/{stored.id}", headers=staff.headers(Role.ADMIN))
    assert staff_view.status_code == 200, staff_view.text
    for secret in ("Hik12345", "tok-secret"):
        assert secret not in put.text
        assert secret not in got.text
        assert secret not in staff_view.text
        assert secret not in caplog.text
    assert masked in caplog.text  # the registration is logged, masked


def test_a_camera_without_a_stream_reads_as_none(client: TestClient, world: World) -> None:
    got = call_stream(client, world.components, "GET")
    assert got.status_code == 200, got.text
    assert got.json() == {"camera_id": "cam-1", "url": None, "sample_interval_s": None}


def test_registering_again_replaces_the_stream_and_its_interval(client: TestClient, world: World) -> None:
    components = world.components
    first = {"url": "http://10.0.0.5/live.mjpg", "sample_interval_s": 2.0}
    assert call_stream(client, components, "PUT", first).status_code == 200
    second = call_stream(client, components, "PUT", {"url": "rtsps://cam.example:322/live"})
    assert second.json() == {"camera_id": "cam-1", "url": "rtsps://cam.example:322/live", "sample_interval_s": None}


@pytest.mark.parametrize(
    ("body", "code", "named"),
    [
        ({"url": "ftp://user:pw-secret@10.0.0.5/stream"}, "invalid_input", "scheme 'ftp'"),
        ({"url": "file:///etc/passwd"}, "invalid_input", "scheme 'file'"),
        ({"url": "10.0.0.5:554/live"}, "invalid_input", "is not one of rtsp"),
        ({"url": "rtsp:///live"}, "invalid_input", "has no host"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "invalid_input", "169.254.169.254"),
        ({"url": "rtsp://[fe80::1]/live"}, "invalid_input", "fe80::1"),
        ({"url": "rtsp://0.0.0.0:554/live"}, "invalid_input", "0.0.0.0"),
        ({"url": "rtsp://224.0.0.1/live"}, "invalid_input", "224.0.0.1"),
        ({"url": "rtsp://user:pw-secret@10.0.0.5:99999/live"}, "invalid_input", "not a valid URL"),
        ({"url": "rtsp://10.0.0.5/live stream"}, "invalid_input", "without spaces"),
        ({"url": "rtsp://10.0.0.5/live", "sample_interval_s": 0.01}, "invalid_request", "sample_interval_s"),
        ({"url": "rtsp://10.0.0.5/live", "sample_interval_s": 7200}, "invalid_request", "sample_interval_s"),
        ({"url": "rtsp://10.0.0.5/" + "x" * 1100}, "invalid_request", "url"),
        ({"url": "rtsp://10.0.0.5/live", "password": "x"}, "invalid_request", "password"),
        ({}, "invalid_request", "url"),
    ],
    ids=[
        "ftp",
        "file",
        "no-scheme",
        "no-host",
        "cloud-metadata",
        "link-local-v6",
        "unspecified",
        "multicast",
        "bad-port",
        "space",
        "interval-too-short",
        "interval-too-long",
        "too-long",
        "unknown-field",
        "no-url",
    ],
)
def test_a_stream_that_cannot_be_pulled_is_refused_and_nothing_changes(
    client: TestClient, world: World, body: dict[str, Any], code: str, named: str
) -> None:
    before = world.components.registry.find_camera("cam-1")
    response = call_stream(client, world.components, "PUT", body)
    detail = refused(response, 422, code)
    assert named in detail
    assert "pw-secret" not in response.text
    after = world.components.registry.find_camera("cam-1")
    assert (after.stream_url, after.sample_interval_s, after.version) == (None, None, before.version)


@pytest.mark.parametrize("method", ["PUT", "GET"])
@pytest.mark.parametrize(
    ("signing", "status", "code"),
    [
        ({"gateway": "gw-2"}, 403, "forbidden"),
        ({"device_id": "cam-404"}, 404, "not_found"),
        ({"secret": "not-the-gateway-secret"}, 401, "gateway_rejected"),
    ],
    ids=["other-gateway", "unknown-camera", "bad-signature"],
)
def test_only_the_cameras_own_gateway_reads_or_registers_its_stream(
    client: TestClient, world: World, method: str, signing: dict[str, Any], status: int, code: str
) -> None:
    body = {"url": "rtsp://10.0.0.5/live"} if method == "PUT" else None
    refused(call_stream(client, world.components, method, body, **signing), status, code)
    assert world.components.registry.find_camera("cam-1").stream_url is None


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", frames_path()), ("PUT", stream_path()), ("GET", stream_path())],
)
def test_an_unsigned_request_is_rejected(client: TestClient, world: World, method: str, path: str) -> None:
    refused(client.request(method, path), 401, "gateway_rejected")
