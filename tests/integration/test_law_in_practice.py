"""Rules that only show across records and time: certification as it stood at capture, notices served,
dead ends that must have a way out, reused event ids, personal data in step responses, the outbox's retries."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Column, Integer, MetaData, Table, func, select, update

from cases.clock import ManualClock
from cases.errors import Conflict, InvalidInput
from cases.model.staff import Role
from cases.persistence import tables
from cases.persistence.types import JsonDocument
from cases.services import notifications
from cases.services.notifications import Message
from tests.integration.conftest import Staff, problem_of
from tests.integration.world import World


def _step(client: TestClient, headers: dict[str, str], case_id: int | None, path: str, **body: Any) -> Any:
    version = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["version"]
    return client.post(f"/api/v1/cases/{case_id}/{path}", json={"version": version, **body}, headers=headers)


def _patch_camera(client: TestClient, world: World, staff: Staff, **changes: Any) -> None:
    camera = world.components.registry.get_camera(world.cameras["main"].id or 0)
    response = client.patch(
        f"/api/v1/cameras/{camera.id}", json={"version": camera.version, **changes}, headers=staff.headers(Role.ADMIN)
    )
    assert response.status_code == 200, response.text


# ---- 第四十一条: the camera as it stood when the evidence was captured -------------------------------------------
def test_evidence_captured_while_maintenance_had_lapsed_stays_unusable_after_the_maintenance(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    _patch_camera(client, world, staff, next_maintenance_due=(clock.today() - dt.timedelta(days=5)).isoformat())
    detection = world.detection("cross_door")
    assert detection.certification_problems
    assert "lapsed" in detection.certification_problems[0].english
    _patch_camera(client, world, staff, next_maintenance_due=(clock.today() + dt.timedelta(days=180)).isoformat())
    response = client.post("/api/v1/cases", json={"detection_ids": [detection.id]}, headers=staff.headers(Role.OFFICER))
    assert problem_of(response)["code"] == "camera_not_certified"


def test_certification_problems_recorded_in_english_before_the_catalogue_are_told_in_chinese(
    client: TestClient, world: World, staff: Staff
) -> None:
    detection = world.detection("cross_door")
    recorded_then = Table(
        "detections", MetaData(), Column("id", Integer), Column("certification_problems", JsonDocument)
    )
    with world.components.engine.begin() as connection:
        connection.execute(
            update(recorded_then)
            .where(recorded_then.c.id == detection.id)
            .values(certification_problems=["maintenance was due 2026-01-31: certification lapsed"])
        )
    read = client.get(
        f"/api/v1/detections/{detection.id}", headers=staff.headers(Role.OPERATOR) | {"Accept-Language": "zh"}
    )
    assert read.json()["certification_problems"] == ["应于 2026-01-31 进行维护，检定已失效"]
    response = client.post("/api/v1/cases", json={"detection_ids": [detection.id]}, headers=staff.headers(Role.OFFICER))
    assert problem_of(response)["detail"].endswith(": maintenance was due 2026-01-31: certification lapsed")


def test_evidence_captured_while_certified_stays_usable_after_the_camera_is_suspended(
    client: TestClient, world: World, staff: Staff
) -> None:
    detection = world.detection("cross_door")
    _patch_camera(client, world, staff, status="suspended")
    response = client.post("/api/v1/cases", json={"detection_ids": [detection.id]}, headers=staff.headers(Role.OFFICER))
    assert response.status_code == 201, response.text


def test_a_recheck_from_a_camera_uncertified_at_capture_is_refused(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    officer = staff.headers(Role.OFFICER)
    case = world.draft("cross_door")
    _step(client, officer, case.id, "file")
    _step(client, officer, case.id, "rectification-notice", method="direct")
    clock.advance(dt.timedelta(days=2))
    _patch_camera(client, world, staff, published=False)
    later = world.detection("cross_door", hours_ago=0.5)
    response = _step(client, officer, case.id, "recheck", outcome="persisting", detection_id=later.id)
    assert problem_of(response)["code"] == "camera_not_certified"
    assert "location not published" in problem_of(response)["detail"]


# ---- notices are served, and their periods run from service ------------------------------------------------
def test_a_notice_records_how_and_when_it_was_served_and_counts_from_then(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    officer = staff.headers(Role.OFFICER)
    case = world.draft("dust")
    _step(client, officer, case.id, "file")
    clock.advance(dt.timedelta(days=3))  # Thursday 03-05: the letter reached the site on Wednesday
    noticed = _step(client, officer, case.id, "rectification-notice", method="postal", served_on="2026-03-04").json()
    assert (noticed["rectification_service_method"], noticed["rectification_served_on"]) == ("postal", "2026-03-04")
    assert noticed["rectification_deadline"] == "2026-03-09"  # 3 working days from Wednesday
    electronic = _step(client, officer, world.draft("dust").id, "file")
    assert electronic.status_code == 200
    refused = _step(client, officer, electronic.json()["id"], "rectification-notice", method="electronic")
    assert problem_of(refused)["code"] == "consent_required"


# ---- ways out that the law provides ---------------------------------------------------------------------------
def test_a_draft_is_withdrawn_with_a_reason(client: TestClient, world: World, staff: Staff) -> None:
    case = world.draft("stall")
    response = _step(client, staff.headers(Role.OFFICER), case.id, "withdraw", reason="无法确认摊主身份")
    assert response.json()["status"] == "closed"


def test_an_unpaid_fine_is_referred_for_enforcement(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    officer, legal = staff.headers(Role.OFFICER), staff.headers(Role.LEGAL_REVIEWER)
    case_id = world.draft("cross_door").id
    _step(client, officer, case_id, "file")
    _step(client, officer, case_id, "rectification-notice", method="direct")
    clock.advance(dt.timedelta(days=2))
    _step(client, officer, case_id, "recheck", outcome="persisting", observed_on="2026-03-04", inspection_note="仍在")
    _step(client, officer, case_id, "penalty-notice", proposed_fine_fen=10000, method="direct")
    clock.advance(dt.timedelta(days=6))
    _step(client, officer, case_id, "legal-review", fine_fen=10000)
    _step(client, legal, case_id, "legal-review/approve", opinion="同意")
    _step(client, officer, case_id, "penalty-decision", fine_fen=10000)
    _step(client, officer, case_id, "delivery", method="direct", delivered_on="2026-03-10")
    early = _step(client, officer, case_id, "enforcement", reason="逾期未缴纳")
    assert problem_of(early)["code"] == "deadline_not_reached"
    clock.advance(dt.timedelta(days=20))
    referred = _step(client, officer, case_id, "enforcement", reason="逾期未缴纳，申请强制执行")
    assert referred.json()["status"] == "enforcement_requested"


# ---- one event id, one occurrence ----------------------------------------------------------------------------
def test_an_event_id_reused_for_another_occurrence_is_refused_not_answered_with_the_first(world: World) -> None:
    first = world.event("stall")
    world.components.detections.intake(first, world.components.registry)
    _again, created = world.components.detections.intake(first, world.components.registry)
    assert created is False
    other = world.event("dust")
    with pytest.raises(Conflict, match="different occurrence"):
        world.components.detections.intake(replace(other, event_id=first.event_id), world.components.registry)


def test_an_event_from_the_future_is_refused(world: World) -> None:
    event = world.event("stall")
    ahead = world.components.clock.now() + dt.timedelta(hours=1)
    with pytest.raises(InvalidInput, match="in the future"):
        world.components.detections.intake(
            replace(event, first_seen=ahead, last_seen=ahead + dt.timedelta(minutes=5)), world.components.registry
        )


# ---- personal data in responses -------------------------------------------------------------------------------
def test_step_responses_mask_the_party_and_only_the_logged_read_shows_it(
    client: TestClient, world: World, staff: Staff
) -> None:
    officer = staff.headers(Role.OFFICER)
    case = world.draft("cross_door")
    filed = _step(client, officer, case.id, "file").json()
    assert filed["party_contact"] == "138****8000"
    assert "*" in filed["party_id_number"]

    def reads() -> int:
        with world.components.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(tables.personal_data_reads)).scalar_one()

    before = reads()
    full = client.get(f"/api/v1/cases/{case.id}", headers=officer).json()
    assert full["party_contact"] == "13800138000"
    assert reads() == before + 1


@pytest.mark.parametrize("path", ["/api/v1/cases/99999999999999999999", "/api/v1/detections/99999999999999999999"])
def test_an_id_beyond_any_database_integer_is_refused_the_same_on_both_databases(
    client: TestClient, staff: Staff, path: str
) -> None:
    response = client.get(path, headers=staff.headers(Role.OFFICER))
    # the document declares the bound (ids up to 2^53 - 1), so the request is refused before any database sees it
    assert (response.status_code, problem_of(response)["code"]) == (422, "invalid_request")


def test_a_nul_character_is_refused_the_same_on_both_databases(client: TestClient, staff: Staff) -> None:
    body = {"code": "SHOP-NUL", "name": "坏\x00名字", "address": "某路 1 号"}
    response = client.post("/api/v1/merchants", json=body, headers=staff.headers(Role.ADMIN))
    # the document declares that free text holds no NUL, so it is refused before any database sees it
    assert (response.status_code, problem_of(response)["code"]) == (422, "invalid_request")
    assert problem_of(response)["detail"] == "body.name: must not contain a NUL character"


def test_a_nul_character_is_told_in_chinese_without_the_pattern(client: TestClient, staff: Staff) -> None:
    body = {"code": "SHOP-NUL", "name": "坏\x00名字", "address": "某路 1 号"}
    headers = staff.headers(Role.ADMIN) | {"Accept-Language": "zh-CN"}
    response = client.post("/api/v1/merchants", json=body, headers=headers)
    assert problem_of(response)["detail"] == "body.name: 不能包含空字符（NUL）"


# ---- e-delivery consent as it stands at delivery ---------------------------------------------------------------
def test_consent_given_after_the_draft_allows_electronic_delivery(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    officer = staff.headers(Role.OFFICER)
    case_id = world.draft("cross_door").id
    _step(client, officer, case_id, "file")
    _step(client, officer, case_id, "rectification-notice", method="direct")
    _step(client, officer, case_id, "recheck", outcome="corrected", observed_on="2026-03-02", inspection_note="已改正")
    _step(client, officer, case_id, "no-penalty-decision", ground="first_offence", reason="首违")
    merchant = world.merchant
    assert merchant is not None
    consent = {"version": merchant.version, "e_delivery_consent": True, "consent_document_ref": "确认书 2026-9"}
    assert (
        client.patch(f"/api/v1/merchants/{merchant.id}", json=consent, headers=staff.headers(Role.ADMIN)).status_code
        == 200
    )
    delivered = _step(client, officer, case_id, "delivery", method="electronic", delivered_on="2026-03-02")
    assert delivered.status_code == 200, delivered.text


# ---- the outbox -----------------------------------------------------------------------------------------------
class FlakyChannel:
    name = "sms"

    def __init__(self, bad_recipient: str) -> None:
        self.bad = bad_recipient
        self.sent: list[str] = []

    def send(self, message: Message) -> None:
        if message.recipient == self.bad:
            raise ConnectionError("gateway refused the number")
        self.sent.append(message.recipient)


def test_a_message_that_keeps_failing_is_retried_with_backoff_then_given_up_without_blocking_others(
    world: World, clock: ManualClock
) -> None:
    components = world.components
    case = world.draft("cross_door")
    with components.session_factory() as session, session.begin():
        for _ in range(3):
            notifications.enqueue(session, case.id or 0, "test", "sms", "13900000000", "坏号码", clock.now())
        notifications.enqueue(session, case.id or 0, "test", "sms", "13800138000", "好号码", clock.now())
    channel = FlakyChannel("13900000000")
    assert notifications.dispatch(components.session_factory, {"sms": channel}, clock.now(), limit=3) == (0, 3)
    assert notifications.dispatch(components.session_factory, {"sms": channel}, clock.now(), limit=3) == (1, 0)
    assert channel.sent == ["13800138000"]  # the failures wait for their next attempt; the good one went through
    for _ in range(10):
        clock.advance(dt.timedelta(hours=1))
        notifications.dispatch(components.session_factory, {"sms": channel}, clock.now())
    with components.engine.connect() as connection:
        rows = connection.execute(select(tables.notifications.c.status, tables.notifications.c.attempts)).all()
    assert sorted(rows) == [("failed", 5), ("failed", 5), ("failed", 5), ("sent", 1)]


def test_the_logging_channel_masks_the_mobile(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="offsite.notifications"):
        notifications.LoggingChannel("sms").send(Message(1, 1, "test", "sms", "13800138000", "内容"))
    assert "138****8000" in caplog.text
    assert "13800138000" not in caplog.text
