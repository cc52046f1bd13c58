"""Camera gateways push violation events to POST /api/v1/gateway/events, each request signed with the gateway's
derived key: HMAC-SHA256 over ``METHOD\\nPATH\\nTIMESTAMP\\nNONCE\\nSHA256(body)``. What is signed correctly,
fresh and from the camera's own gateway becomes a detection pending review, once; anything else stores nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cases.clock import ManualClock
from cases.errors import EvidencePackageTaken
from cases.model.staff import Role
from cases.persistence import tables
from cases.services.accounts import gateway_secret, gateway_signature
from cases.services.detections import DetectionService
from offsite.bootstrap import Components
from offsite.intake import StoreEvidence
from tests.integration.conftest import Staff, problem_of
from tests.integration.world import World, key_frame_items
from tests.unit.evidence.test_store import kill_a_seal_midway
from vision.events import ViolationEvent
from vision.synthetic import render_still

PATH = "/api/v1/gateway/events"


def secret_of(components: Components, device_id: str, key_version: int = 1) -> str:
    """The secret a gateway holds, derived from the master key exactly as the service derives it."""
    return gateway_secret(components.settings.gateway_master_key.get_secret_value(), device_id, key_version)


def seal_package(components: Components, context: dict[str, Any]) -> str:
    """A package sealed in the service's evidence store, its key frames showing a generated street."""
    with tempfile.TemporaryDirectory() as folder:
        items = key_frame_items(Path(folder), render_still(9_100_003, 160, 90).image)
        return components.evidence().seal(items, context).package_id


def package_for(components: Components, event: ViolationEvent, **context: Any) -> str:
    """The package a camera's pipeline would have sealed for the event: its camera, zone and times."""
    sealed_context = {
        "event_id": event.event_id,
        "camera_id": event.camera_id,
        "zone_id": event.zone_id,
        "rule_id": event.rule_id,
        "violation_code": event.violation_code,
        "first_seen": event.first_seen.isoformat(),
        "confirmed_at": event.last_seen.isoformat(),
    }
    return seal_package(components, sealed_context | context)


def event_body(world: World, kind: str = "stall", *, seal: bool = True, **changes: Any) -> dict[str, Any]:
    """A gateway's event for ``kind``, citing a package sealed for it (unless ``changes`` names another)."""
    event = world.event(kind)
    if seal:
        event = type(event)(**{**event.__dict__, "evidence_package_id": package_for(world.components, event)})
    body = {
        "event_id": event.event_id,
        "camera_id": event.camera_id,
        "zone_id": event.zone_id,
        "rule_id": event.rule_id,
        "violation_code": event.violation_code,
        "subject": {"kind": event.subject.kind.value, "ref": event.subject.ref},
        "first_seen": event.first_seen.isoformat(),
        "last_seen": event.last_seen.isoformat(),
        "evidence_package_id": event.evidence_package_id,
        "confidence": event.confidence,
    }
    return {**body, **changes}


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def signed_headers(
    components: Components,
    content: bytes,
    gateway: str = "gw-1",
    *,
    secret: str | None = None,
    nonce: str | None = None,
    timestamp: int | None = None,
    method: str = "POST",
    path: str = PATH,
) -> dict[str, str]:
    secret = secret or secret_of(components, gateway)
    nonce = nonce or secrets.token_hex(12)
    stamp = str(timestamp if timestamp is not None else int(components.clock.now().timestamp()))
    return {
        "Content-Type": "application/json",
        "X-Gateway-Id": gateway,
        "X-Gateway-Timestamp": stamp,
        "X-Gateway-Nonce": nonce,
        "X-Gateway-Signature": gateway_signature(secret, method, path, stamp, nonce, content),
    }


def push(client: TestClient, components: Components, body: dict[str, Any], **signing: Any) -> Any:
    content = encode(body)
    return client.post(PATH, content=content, headers=signed_headers(components, content, **signing))


def detection_count(components: Components) -> int:
    with components.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(tables.detections)).scalar_one())


def assert_rejected(response: Any, status: int = 401, code: str = "gateway_rejected") -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = problem_of(response)
    assert body["code"] == code
    return body


# ---- accepted -------------------------------------------------------------------------------------------------
def test_a_correctly_signed_event_becomes_a_detection_pending_review(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    body = event_body(world, "cross_door")
    response = push(client, world.components, body)
    assert response.status_code == 201, response.text
    intake = response.json()
    assert intake["created"] is True
    detection = intake["detection"]
    assert detection["event_id"] == body["event_id"]
    assert detection["camera_id"] == world.cameras["main"].id
    assert detection["zone_id"] == world.zones["shop"].id
    assert (detection["subject_kind"], detection["subject_ref"]) == ("merchant", "SHOP-1")
    assert (detection["status"], detection["reviewed_by"], detection["case_id"]) == ("pending_review", None, None)
    assert detection["dwell_seconds"] == 600
    assert dt.datetime.fromisoformat(detection["received_at"]) == clock.now()

    queue = client.get("/api/v1/detections", headers=staff.headers(Role.OPERATOR)).json()
    assert [d["id"] for d in queue["items"]] == [detection["id"]]


def test_the_same_event_sent_again_changes_nothing_and_answers_200(client: TestClient, world: World) -> None:
    body = event_body(world)
    first = push(client, world.components, body)
    assert first.status_code == 201, first.text

    again = push(client, world.components, body)  # a retry: same event, fresh nonce and signature
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False
    assert again.json()["detection"] == first.json()["detection"]
    assert detection_count(world.components) == 1


def test_a_timestamp_just_inside_the_replay_window_is_accepted(client: TestClient, world: World) -> None:
    window = world.components.settings.gateway_replay_window_s
    now = int(world.components.clock.now().timestamp())
    assert push(client, world.components, event_body(world), timestamp=now - window + 1).status_code == 201
    assert push(client, world.components, event_body(world), timestamp=now + window - 1).status_code == 201
    assert detection_count(world.components) == 2


# ---- refused: authentication --------------------------------------------------------------------------------
def test_a_signature_made_with_the_wrong_key_is_rejected(client: TestClient, world: World) -> None:
    response = push(client, world.components, event_body(world), secret="not-the-gateway-secret")
    assert "signature" in assert_rejected(response)["detail"]
    assert detection_count(world.components) == 0


def test_a_replayed_request_is_rejected_and_stores_nothing_new(client: TestClient, world: World) -> None:
    content = encode(event_body(world))
    headers = signed_headers(world.components, content)
    assert client.post(PATH, content=content, headers=headers).status_code == 201

    replay = client.post(PATH, content=content, headers=headers)
    assert "replayed" in assert_rejected(replay)["detail"]

    other = encode(event_body(world))  # a new event, correctly signed, but reusing the nonce
    reused = signed_headers(world.components, other, nonce=headers["X-Gateway-Nonce"])
    assert_rejected(client.post(PATH, content=other, headers=reused))
    assert detection_count(world.components) == 1


@pytest.mark.parametrize(
    "skew_s", [-301, 301, -86_400, 86_400], ids=["301s-old", "301s-ahead", "a-day-old", "a-day-ahead"]
)
def test_a_timestamp_outside_the_replay_window_is_rejected(client: TestClient, world: World, skew_s: int) -> None:
    now = int(world.components.clock.now().timestamp())
    response = push(client, world.components, event_body(world), timestamp=now + skew_s)
    assert "window" in assert_rejected(response)["detail"]
    assert detection_count(world.components) == 0


@pytest.mark.parametrize("header", ["X-Gateway-Id", "X-Gateway-Timestamp", "X-Gateway-Nonce", "X-Gateway-Signature"])
def test_a_request_missing_a_signing_header_is_rejected(client: TestClient, world: World, header: str) -> None:
    content = encode(event_body(world))
    headers = signed_headers(world.components, content)
    del headers[header]
    response = client.post(PATH, content=content, headers=headers)
    assert header in assert_rejected(response)["detail"]
    assert detection_count(world.components) == 0


@pytest.mark.parametrize(
    ("header", "value", "reason"),
    [
        ("X-Gateway-Timestamp", "yesterday", "Unix time"),
        ("X-Gateway-Timestamp", "99999999999999999999", "Unix time"),
        ("X-Gateway-Nonce", "short", "8 to 64"),
        ("X-Gateway-Nonce", "n" * 65, "8 to 64"),
        ("X-Gateway-Signature", "0" * 64, "signature"),
        ("X-Gateway-Signature", "not hex at all", "signature"),
    ],
    ids=["timestamp-words", "timestamp-overflow", "nonce-short", "nonce-long", "signature-zeros", "signature-not-hex"],
)
def test_a_malformed_signing_header_is_rejected(
    client: TestClient, world: World, header: str, value: str, reason: str
) -> None:
    content = encode(event_body(world))
    headers = signed_headers(world.components, content)
    headers[header] = value
    response = client.post(PATH, content=content, headers=headers)
    assert reason in assert_rejected(response)["detail"]
    assert detection_count(world.components) == 0


def test_a_signature_header_with_non_ascii_bytes_is_rejected_not_a_server_error(
    client: TestClient, world: World
) -> None:
    content = encode(event_body(world))
    headers: dict[str, Any] = signed_headers(world.components, content)
    headers["X-Gateway-Signature"] = ("é" * 64).encode("latin-1")
    response = client.post(PATH, content=content, headers=headers)
    assert_rejected(response)
    assert detection_count(world.components) == 0


def test_an_unregistered_gateway_is_rejected_even_with_a_key_derived_for_it(client: TestClient, world: World) -> None:
    response = push(client, world.components, event_body(world), gateway="gw-404")
    assert "not registered" in assert_rejected(response)["detail"]
    assert detection_count(world.components) == 0


def test_one_gateway_may_not_sign_with_another_gateways_key(client: TestClient, world: World) -> None:
    secret_of_gw2 = secret_of(world.components, "gw-2")
    response = push(client, world.components, event_body(world), gateway="gw-1", secret=secret_of_gw2)
    assert_rejected(response)
    assert detection_count(world.components) == 0


@pytest.mark.parametrize(
    "tamper",
    ["body", "method", "path", "timestamp", "nonce"],
    ids=lambda part: f"{part}-changed-after-signing",
)
def test_a_request_changed_after_signing_is_rejected(client: TestClient, world: World, tamper: str) -> None:
    body = event_body(world)
    content = encode(body)
    now = int(world.components.clock.now().timestamp())
    signing: dict[str, Any] = {
        "method": "GET" if tamper == "method" else "POST",
        "path": "/api/v1/gateway/other" if tamper == "path" else PATH,
        "timestamp": now,
        "nonce": "nonce-original",
    }
    headers = signed_headers(world.components, content, **signing)
    if tamper == "body":
        content = encode({**body, "violation_code": "cross_door", "zone_id": "Z-SHOP"})
    if tamper == "timestamp":
        headers["X-Gateway-Timestamp"] = str(now - 10)
    if tamper == "nonce":
        headers["X-Gateway-Nonce"] = "nonce-tampered"
    response = client.post(PATH, content=content, headers=headers)
    assert "signature" in assert_rejected(response)["detail"]
    assert detection_count(world.components) == 0


# ---- refused: authorisation and content ---------------------------------------------------------------------
def test_a_gateway_may_push_only_for_its_own_cameras(client: TestClient, world: World) -> None:
    world.components.accounts.register_gateway("gw-east", "gateway east")
    response = push(client, world.components, event_body(world), gateway="gw-east")  # cam-1 belongs to gw-1
    body = assert_rejected(response, 403, "forbidden")
    assert "gw-east" in body["detail"]
    assert "cam-1" in body["detail"]
    assert detection_count(world.components) == 0


def test_after_a_key_rotation_the_old_secret_fails_and_the_new_one_works(
    client: TestClient, world: World, staff: Staff
) -> None:
    rotated = client.post("/api/v1/gateways/gw-1/rotate-key", headers=staff.headers(Role.ADMIN))
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert (new["device_id"], new["key_version"], new["active"]) == ("gw-1", 2, True)
    assert new["secret"] == secret_of(world.components, "gw-1", 2)
    assert new["secret"] != secret_of(world.components, "gw-1", 1)

    old_key = push(client, world.components, event_body(world), secret=secret_of(world.components, "gw-1", 1))
    assert_rejected(old_key)
    assert detection_count(world.components) == 0

    new_key = push(client, world.components, event_body(world), secret=new["secret"])
    assert new_key.status_code == 201, new_key.text
    assert detection_count(world.components) == 1


def test_only_an_admin_rotates_a_gateway_key(client: TestClient, world: World, staff: Staff) -> None:
    refused = client.post("/api/v1/gateways/gw-1/rotate-key", headers=staff.headers(Role.OFFICER))
    assert_rejected(refused, 403, "forbidden")
    assert world.components.accounts.get_gateway("gw-1").key_version == 1


def test_a_gateway_registered_through_the_api_signs_with_the_secret_it_was_given(
    client: TestClient, world: World, staff: Staff
) -> None:
    admin = staff.headers(Role.ADMIN)
    created = client.post("/api/v1/gateways", json={"device_id": "gw-new", "name": "新网关"}, headers=admin)
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    camera = world.cameras["main"]
    patched = client.patch(
        f"/api/v1/cameras/{camera.id}", json={"version": camera.version, "gateway_id": "gw-new"}, headers=admin
    )
    assert patched.status_code == 200, patched.text

    response = push(client, world.components, event_body(world), gateway="gw-new", secret=secret)
    assert response.status_code == 201, response.text
    assert_rejected(push(client, world.components, event_body(world), gateway="gw-1"), 403, "forbidden")


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"camera_id": "cam-404"}, "cam-404"),
        ({"zone_id": "Z-NOWHERE"}, "Z-NOWHERE"),
        ({"violation_code": "jaywalking"}, "jaywalking"),
    ],
    ids=["unknown-camera", "unknown-zone", "unknown-violation"],
)
def test_an_event_naming_something_unknown_is_not_found(
    client: TestClient, world: World, changes: dict[str, Any], named: str
) -> None:
    event = world.event()
    package = package_for(world.components, event, **changes)  # sealed for what the event names
    response = push(client, world.components, event_body(world, event_id=event.event_id, evidence_package_id=package, **changes))  # fmt: skip
    assert named in assert_rejected(response, 404, "not_found")["detail"]
    assert detection_count(world.components) == 0


@pytest.mark.parametrize(
    ("changes", "code", "named"),
    [
        (
            {"last_seen": "2026-03-02T08:00:00+08:00", "first_seen": "2026-03-02T09:00:00+08:00"},
            "invalid_input",
            "last_seen",
        ),
        ({"subject": {"kind": "merchant", "ref": None}}, "invalid_input", "subject"),
        ({"first_seen": "2026-03-02T09:00:00"}, "invalid_request", "first_seen"),
        ({"confidence": 1.5}, "invalid_request", "confidence"),
        ({"event_id": "evt with spaces"}, "invalid_request", "event_id"),
        ({"operator_note": "hello"}, "invalid_request", "operator_note"),
        ({"first_seen": "0001-01-01T00:00:00+14:00"}, "invalid_request", "body.first_seen"),
        ({"last_seen": "9999-12-31T23:59:59-14:00"}, "invalid_request", "body.last_seen"),
        ({"first_seen": "1969-12-31T23:59:59Z"}, "invalid_request", "body.first_seen"),
        ({"confidence": "0.9"}, "invalid_request", "body.confidence"),
    ],
    ids=[
        "last-before-first",
        "merchant-without-ref",
        "naive-time",
        "confidence-over-1",
        "bad-event-id",
        "unknown-field",
        "first-seen-before-utc-begins",
        "last-seen-after-utc-ends",
        "first-seen-before-1970",
        "confidence-as-text",
    ],
)
def test_a_signed_but_malformed_event_is_refused_with_422(
    client: TestClient, world: World, changes: dict[str, Any], code: str, named: str
) -> None:
    response = push(client, world.components, event_body(world, **changes))
    assert named in assert_rejected(response, 422, code)["detail"]
    assert detection_count(world.components) == 0


def test_a_request_replayed_while_its_timestamp_is_still_fresh_is_rejected(
    client: TestClient, world: World, clock: ManualClock
) -> None:
    window = world.components.settings.gateway_replay_window_s
    content = encode(event_body(world))
    stamped_ahead = int(clock.now().timestamp()) + window - 1  # a gateway clock running ahead, still accepted
    headers = signed_headers(world.components, content, timestamp=stamped_ahead)
    assert client.post(PATH, content=content, headers=headers).status_code == 201

    clock.advance(dt.timedelta(seconds=window + 1))  # the timestamp is 2 s old now: well inside the window
    replay = client.post(PATH, content=content, headers=headers)
    assert_rejected(replay)


# ---- refused: the evidence the event cites ---------------------------------------------------------------------
def test_an_event_citing_a_package_the_store_does_not_hold_is_refused_and_stores_nothing(
    client: TestClient, world: World
) -> None:
    package_for(world.components, world.event())  # the store holds packages, just not these
    for missing in ("0" * 64, hashlib.sha256(b"never sealed").hexdigest()):
        response = push(client, world.components, event_body(world, evidence_package_id=missing))
        detail = assert_rejected(response, 422, "evidence_package_missing")["detail"]
        assert missing in detail
        assert "not in the evidence store" in detail
    response = push(client, world.components, event_body(world, evidence_package_id="pkg-0001"))
    assert "evidence_package_id" in assert_rejected(response, 422, "invalid_request")["detail"]  # not a package id
    assert detection_count(world.components) == 0


def test_an_event_citing_a_package_whose_seal_was_interrupted_waits_with_503_and_stores_nothing(
    client: TestClient, world: World
) -> None:
    """A check not made is never a check passed: a package whose seal was killed half-way (completed by the next
    writer) cannot be vouched for now, so the gateway is told to come back, not that the package is bad."""
    kill_a_seal_midway(world.components.settings.evidence_dir, "heads/")
    (package_id,) = list(world.components.evidence_reader().package_ids())

    # the event written out by hand: the world's own events seal a package of theirs, and the writer that opens
    # for it would complete the interrupted seal first
    first_seen = world.components.clock.now() - dt.timedelta(hours=1)
    body = {
        "event_id": "evt-interrupted",
        "camera_id": "cam-1",
        "zone_id": world.zones["road"].code,
        "rule_id": "street_stall-dwell",
        "violation_code": "street_stall",
        "subject": {"kind": "unknown", "ref": None},
        "first_seen": first_seen.isoformat(),
        "last_seen": (first_seen + dt.timedelta(minutes=10)).isoformat(),
        "evidence_package_id": package_id,
        "confidence": 0.9,
    }
    response = push(client, world.components, body)
    detail = assert_rejected(response, 503, "evidence_store_unavailable")["detail"]
    assert package_id in detail
    assert "interrupted seal" in detail
    assert int(response.headers["Retry-After"]) > 0
    assert detection_count(world.components) == 0


def test_an_event_citing_a_package_before_anything_was_sealed_is_refused(client: TestClient, world: World) -> None:
    response = push(client, world.components, event_body(world, seal=False, evidence_package_id="ab" * 32))
    assert "ab" * 32 in assert_rejected(response, 422, "evidence_package_missing")["detail"]
    assert detection_count(world.components) == 0


def test_an_event_for_one_camera_citing_a_package_sealed_for_another_is_refused(
    client: TestClient, world: World
) -> None:
    event = world.event()
    other = package_for(world.components, event, camera_id="cam-9")  # gw-1's other camera
    response = push(client, world.components, event_body(world, evidence_package_id=other))
    detail = assert_rejected(response, 422, "evidence_package_other_camera")["detail"]
    assert "sealed for camera 'cam-9'" in detail
    assert "'cam-1'" in detail
    assert detection_count(world.components) == 0


def test_an_event_citing_a_package_sealed_for_no_camera_is_refused(client: TestClient, world: World) -> None:
    document = seal_package(world.components, {"kind": "document", "case_number": "沪城管非现〔2026〕000001号"})
    response = push(client, world.components, event_body(world, evidence_package_id=document))
    assert "sealed for no camera" in assert_rejected(response, 422, "evidence_package_other_camera")["detail"]
    assert detection_count(world.components) == 0


@pytest.mark.parametrize(
    ("sealed", "named"),
    [({"zone_id": "Z-OTHER"}, "Z-OTHER"), ({"violation_code": "construction_dust"}, "construction_dust"),
     ({"event_id": "evt-another-occurrence"}, "evt-another-occurrence")],
    ids=["another-zone", "another-violation", "another-event"],
)  # fmt: skip
def test_an_event_citing_a_package_sealed_for_another_finding_of_its_camera_is_refused(
    client: TestClient, world: World, sealed: dict[str, str], named: str
) -> None:
    """A package names the finding it was sealed for; it cannot prove another finding of the same camera and time."""
    event = world.event()
    other = package_for(world.components, event, **sealed)
    response = push(client, world.components, event_body(world, event_id=event.event_id, evidence_package_id=other))
    detail = assert_rejected(response, 422, "evidence_package_other_finding")["detail"]
    assert other in detail
    assert named in detail
    assert detection_count(world.components) == 0


@pytest.mark.parametrize(
    ("kind", "subject", "watched"),
    [
        ("cross_door", {"kind": "merchant", "ref": "NOPE"}, "merchant 'SHOP-1'"),  # a shop the registry lacks
        ("dust", {"kind": "merchant", "ref": "SHOP-1"}, "site 'PERMIT-1'"),  # a real shop, but not this zone's
        ("stall", {"kind": "site", "ref": "PERMIT-1"}, "—"),  # a road's zone watches no one in particular
    ],
    ids=["unknown-shop", "another-zone-s-shop", "named-on-a-road"],
)
def test_an_event_naming_a_subject_its_zone_does_not_watch_is_refused_and_stores_nothing(
    client: TestClient, world: World, kind: str, subject: dict[str, str], watched: str
) -> None:
    """A case takes its party from the zone; an event naming another would put that name on the record beside a
    party it does not name."""
    body = event_body(world, kind, subject=subject)
    detail = assert_rejected(push(client, world.components, body), 422, "invalid_input")["detail"]
    assert repr(subject["ref"]) in detail
    assert f"it watches {watched}" in detail
    assert detection_count(world.components) == 0
    named = event_body(world, kind)  # the zone's own subject, as the registry holds it
    assert push(client, world.components, named).status_code == 201


def test_a_package_backs_one_detection_only(client: TestClient, world: World) -> None:
    """The same package cited again under another event id (another zone's merchant, say) is refused: one sealed
    package, one finding, one detection, whatever its fields claim. (A package that names its event refuses any
    other event id already; this one, like a package sealed before packages named their event, does not.)"""
    event = world.event()
    body = event_body(world, event_id=event.event_id, evidence_package_id=package_for(world.components, event, event_id=None))  # fmt: skip
    assert push(client, world.components, body).status_code == 201
    again = body | {"event_id": "evt-the-same-package-again"}
    detail = assert_rejected(push(client, world.components, again), 409, "evidence_package_taken")["detail"]
    assert body["evidence_package_id"] in detail
    assert body["event_id"] in detail
    assert detection_count(world.components) == 1
    assert push(client, world.components, body).status_code == 200  # the first event's re-send is still answered


def test_the_database_refuses_a_second_detection_on_one_package_whatever_path_the_event_took(world: World) -> None:
    """A pipeline's event is not checked against other detections' packages (it cites what it has just sealed):
    should one ever cite a package already held, the database's own index (migration 0017) refuses it, and the
    refusal names the detection that holds the package, as the gateway's check does. The re-send of the first is
    still answered with its detection."""
    c = world.components
    first = world.event()
    held, _ = c.detections.intake(first, c.registry)
    second = ViolationEvent(**{**world.event().__dict__, "evidence_package_id": first.evidence_package_id})
    with pytest.raises(EvidencePackageTaken) as refused:
        c.detections.intake(second, c.registry)
    assert first.evidence_package_id in str(refused.value)
    assert repr(first.event_id) in str(refused.value)
    assert detection_count(c) == 1
    again, created = c.detections.intake(first, c.registry)
    assert (again.id, created) == (held.id, False)


def test_two_gateways_citing_one_package_at_once_store_one_detection(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the intake's check alone cannot see: the first event's check passed, its detection not yet stored,
    when the second event citing the same package is checked. They take turns: the second is refused once the
    first is stored, on either database."""
    components = world.components
    first, second = world.event(), world.event()
    package = package_for(components, first, event_id=None)
    first, second = (ViolationEvent(**{**event.__dict__, "evidence_package_id": package}) for event in (first, second))
    first_checked, second_started = threading.Event(), threading.Event()
    check = DetectionService._package_free

    def slow_first_check(session: Any, event: ViolationEvent) -> None:
        check(session, event)
        if event.event_id == first.event_id:
            first_checked.set()
            second_started.wait(10)
            time.sleep(1)  # the second event's intake runs meanwhile, up to where it must wait its turn

    monkeypatch.setattr(DetectionService, "_package_free", staticmethod(slow_first_check))
    evidence = StoreEvidence(components.evidence_reader)
    outcomes: dict[str, object] = {}

    def intake(event: ViolationEvent) -> None:
        try:
            outcomes[event.event_id] = components.detections.intake(event, components.registry, evidence)[1]
        except EvidencePackageTaken as refused:
            outcomes[event.event_id] = refused

    racing = threading.Thread(target=intake, args=(first,))
    racing.start()
    assert first_checked.wait(30)
    second_started.set()
    intake(second)
    racing.join(30)
    assert outcomes[first.event_id] is True
    assert isinstance(outcomes[second.event_id], EvidencePackageTaken)
    assert detection_count(components) == 1


@pytest.mark.parametrize(
    ("first_shift_s", "last_shift_s", "accepted"),
    [
        (0, 0, True),
        (-1.5, 1.5, True),  # within the tolerance of a gateway's rounding
        (-3, 0, False),  # the event began before the package's first sighting
        (0, 3, False),  # the event ended after the package's confirmation
        (-7200, -7200, False),  # another occurrence of the same camera, two hours earlier
    ],
    ids=["same-times", "within-2s", "starts-3s-early", "ends-3s-late", "two-hours-earlier"],
)
def test_an_event_must_lie_within_the_times_its_package_was_sealed_with(
    client: TestClient, world: World, first_shift_s: float, last_shift_s: float, accepted: bool
) -> None:
    body = event_body(world)
    first = dt.datetime.fromisoformat(body["first_seen"]) + dt.timedelta(seconds=first_shift_s)
    last = dt.datetime.fromisoformat(body["last_seen"]) + dt.timedelta(seconds=last_shift_s)
    response = push(client, world.components, body | {"first_seen": first.isoformat(), "last_seen": last.isoformat()})
    if accepted:
        assert response.status_code == 201, response.text
        return
    detail = assert_rejected(response, 422, "evidence_package_time_mismatch")["detail"]
    assert body["evidence_package_id"] in detail
    assert first.astimezone(dt.UTC).isoformat() in detail or last.astimezone(dt.UTC).isoformat() in detail
    assert detection_count(world.components) == 0


def test_an_event_citing_a_package_sealed_without_times_is_refused(client: TestClient, world: World) -> None:
    untimed = seal_package(world.components, {"camera_id": "cam-1", "zone_id": "Z-ROAD"})
    response = push(client, world.components, event_body(world, evidence_package_id=untimed))
    assert "states no times" in assert_rejected(response, 422, "evidence_package_time_mismatch")["detail"]
    assert detection_count(world.components) == 0


def test_an_event_citing_a_package_that_no_longer_verifies_is_refused_naming_the_problem(
    client: TestClient, world: World
) -> None:
    body = event_body(world)
    store = world.components.evidence()
    manifest = store.manifest(body["evidence_package_id"])
    frame = next(item for item in manifest["items"] if item["name"] == "frame-confirming.jpg")
    stored = world.components.settings.evidence_dir / "objects" / "items" / frame["sha256"]
    os.chmod(stored, 0o644)  # someone with access to the disk edits the stored key frame
    stored.write_bytes(stored.read_bytes()[:-10] + b"\x00" * 10)
    response = push(client, world.components, body)
    detail = assert_rejected(response, 422, "evidence_package_invalid")["detail"]
    assert "frame-confirming.jpg" in detail
    assert detection_count(world.components) == 0
