"""A case driven through the API from a confirmed detection to publication, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cases.clock import ManualClock
from cases.model.staff import Role
from tests.integration.conftest import Staff, problem_of
from tests.integration.world import World, id_card


def _step(client: TestClient, headers: dict[str, str], case: dict[str, Any], path: str, **body: Any) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/cases/{case['id']}/{path}", json={"version": case["version"], **body}, headers=headers
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_persisting_cross_door_violation_goes_from_detection_to_paid_published_and_closed(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    operator, officer, legal = (
        staff.headers(Role.OPERATOR),
        staff.headers(Role.OFFICER),
        staff.headers(Role.LEGAL_REVIEWER),
    )
    detection, _ = world.components.detections.intake(world.event("cross_door"), world.components.registry)

    queue = client.get("/api/v1/detections", headers=operator).json()
    assert [d["id"] for d in queue["items"]] == [detection.id]
    review = {
        "version": queue["items"][0]["version"],
        "decision": "confirm",
        "checklist": {"authentic": True, "clear": True, "complete": True, "accurate": True},
    }
    assert client.post(f"/api/v1/detections/{detection.id}/review", json=review, headers=operator).status_code == 200

    opened = client.post("/api/v1/cases", json={"detection_ids": [detection.id]}, headers=officer)
    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert (case["status"], case["party_name"], case["party_kind"]) == ("draft", "浦东小面馆", "merchant")

    case = _step(client, officer, case, "file")
    assert case["number"].endswith(f"{case['id']:06d}号")
    assert case["decision_due"] == "2026-06-01"  # 90 days end on Sunday 05-31: the next working day
    case = _step(client, officer, case, "rectification-notice", method="direct")
    assert case["rectification_deadline"] == "2026-03-03"  # cross-door: 1 calendar day

    clock.advance(dt.timedelta(days=2))
    case = _step(
        client, officer, case, "recheck", outcome="persisting", observed_on="2026-03-04", inspection_note="货架仍在"
    )
    assert case["status"] == "persisting"
    case = _step(client, officer, case, "penalty-notice", method="direct", proposed_fine_fen=15000)
    assert (case["fine_tier"], case["statement_deadline"]) == ("首次", "2026-03-09")
    case = _step(client, officer, case, "statement", text="已经改正，请求从轻。", channel="online")
    case = _step(client, officer, case, "statement-answer", adopted=True, reply="采纳", revised_fine_fen=10000)
    case = _step(client, officer, case, "legal-review", fine_fen=10000)
    case = _step(client, legal, case, "legal-review/approve", opinion="同意")
    case = _step(client, officer, case, "penalty-decision", fine_fen=10000)
    assert (case["status"], case["fine_fen"], case["delivery_due"]) == ("decided", 10000, "2026-03-13")
    case = _step(client, officer, case, "delivery", method="direct", delivered_on="2026-03-04")
    assert case["payment_due"] == "2026-03-19"
    case = _step(client, officer, case, "publication")

    clock.advance(dt.timedelta(days=17))  # paid on 2026-03-21: two days late
    due = client.get(f"/api/v1/cases/{case['id']}/amount-due", headers=officer).json()
    assert due == {"paid_on": "2026-03-21", "fine_fen": 10000, "surcharge_fen": 600, "total_fen": 10600}
    case = _step(client, officer, case, "payment", amount_fen=10600, paid_on="2026-03-21")
    case = _step(client, officer, case, "close", reason="已缴纳")
    assert case["status"] == "closed"
    assert case["published_on"] == "2026-03-04"

    timeline = client.get(f"/api/v1/cases/{case['id']}/timeline", headers=officer).json()
    assert [e["action"] for e in timeline] == [
        "open_draft",
        "file",
        "issue_rectification_notice",
        "record_recheck",
        "issue_penalty_notice",
        "record_statement",
        "answer_statement",
        "request_legal_review",
        "approve_legal_review",
        "decide_penalty",
        "record_delivery",
        "publish",
        "record_payment",
        "close",
    ]
    assert timeline[8]["actor"] == "legal_reviewer1"
    assert timeline[8]["role"] == "legal_reviewer"
    assert (timeline[3]["from_status"], timeline[3]["to_status"]) == ("notice_issued", "persisting")


def test_an_unknown_vendor_gets_no_notice_until_an_officer_confirms_who_it_is(
    client: TestClient, world: World, staff: Staff
) -> None:
    officer = staff.headers(Role.OFFICER)
    detection = world.detection("stall")
    case = client.post("/api/v1/cases", json={"detection_ids": [detection.id]}, headers=officer).json()
    assert case["party_name"] is None
    case = _step(client, officer, case, "file")

    refused = client.post(
        f"/api/v1/cases/{case['id']}/rectification-notice",
        json={"version": case["version"], "method": "direct"},
        headers=officer,
    )
    assert refused.status_code == 422
    assert problem_of(refused)["code"] == "party_not_confirmed"

    party = {"kind": "individual", "name": "刘某某", "id_number": id_card(7), "contact": "13700137000"}
    case = _step(client, officer, case, "party", **party, reason="现场核实")
    case = _step(client, officer, case, "rectification-notice", method="direct")
    assert case["status"] == "notice_issued"
    assert case["rectification_deadline"] == "2026-03-02"  # a stall must be removed at once


def test_a_corrected_first_offence_is_not_penalised(client: TestClient, world: World, staff: Staff) -> None:
    officer = staff.headers(Role.OFFICER)
    case = client.post(
        "/api/v1/cases", json={"detection_ids": [world.detection("cross_door").id]}, headers=officer
    ).json()
    for path, body in [
        ("file", {}),
        ("rectification-notice", {"method": "direct"}),
        ("recheck", {"outcome": "corrected", "observed_on": "2026-03-02", "inspection_note": "已收回"}),
        ("no-penalty-decision", {"ground": "first_offence", "reason": "初次违法并及时改正"}),
        ("delivery", {"method": "direct", "delivered_on": "2026-03-02"}),
        ("close", {}),
    ]:
        case = _step(client, officer, case, path, **body)
    assert (case["status"], case["decision_kind"], case["fine_fen"]) == ("closed", "no_penalty", None)


def test_a_second_offence_within_a_year_is_no_first_offence_and_lands_in_a_higher_band(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    officer = staff.headers(Role.OFFICER)

    def corrected_case() -> dict[str, Any]:
        case = client.post(
            "/api/v1/cases", json={"detection_ids": [world.detection("cross_door").id]}, headers=officer
        ).json()
        case = _step(client, officer, case, "file")
        case = _step(client, officer, case, "rectification-notice", method="direct")
        today = world.components.clock.today().isoformat()
        return _step(client, officer, case, "recheck", outcome="corrected", observed_on=today, inspection_note="已改正")

    first = corrected_case()
    _step(client, officer, first, "no-penalty-decision", ground="first_offence", reason="首违")
    clock.advance(dt.timedelta(days=30))
    second = corrected_case()
    refused = client.post(
        f"/api/v1/cases/{second['id']}/no-penalty-decision",
        json={"version": second["version"], "ground": "first_offence", "reason": "首违"},
        headers=officer,
    )
    assert refused.status_code == 409
    assert "prior violation" in problem_of(refused)["detail"]
    below_band = client.post(
        f"/api/v1/cases/{second['id']}/penalty-notice",
        json={"version": second["version"], "proposed_fine_fen": 10000, "method": "direct"},
        headers=officer,
    )
    assert problem_of(below_band)["code"] == "fine_outside_range"
    noticed = _step(client, officer, second, "penalty-notice", method="direct", proposed_fine_fen=25000)
    assert (noticed["prior_violations"], noticed["fine_tier"]) == (1, "再次")


def test_a_legal_reviewer_may_not_review_a_case_they_requested(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    officer = staff.headers(Role.OFFICER)
    case = client.post(
        "/api/v1/cases", json={"detection_ids": [world.detection("cross_door").id]}, headers=officer
    ).json()
    for path, body in [
        ("file", {}),
        ("rectification-notice", {"method": "direct"}),
    ]:
        case = _step(client, officer, case, path, **body)
    clock.advance(dt.timedelta(days=2))
    case = _step(
        client, officer, case, "recheck", outcome="persisting", observed_on="2026-03-04", inspection_note="仍在"
    )
    case = _step(client, officer, case, "penalty-notice", method="direct", proposed_fine_fen=10000)
    clock.advance(dt.timedelta(days=7))
    case = _step(client, officer, case, "legal-review", fine_fen=10000)
    # The officer's colleague in the legal-review role is someone else; the officer's own account holds no
    # legal-review permission at all, so four eyes are enforced by role and by name.
    assert (
        client.post(
            f"/api/v1/cases/{case['id']}/legal-review/approve",
            json={"version": case["version"], "opinion": "ok"},
            headers=officer,
        ).status_code
        == 403
    )
    approved = _step(client, staff.headers(Role.LEGAL_REVIEWER), case, "legal-review/approve", opinion="同意")
    assert approved["legal_reviewer"] == "legal_reviewer1"


def test_an_uncertified_camera_cannot_contribute_evidence(client: TestClient, world: World, staff: Staff) -> None:
    detection = world.detection("stall", zone="uncertified")
    response = client.post("/api/v1/cases", json={"detection_ids": [detection.id]}, headers=staff.headers(Role.OFFICER))
    body = problem_of(response)
    assert (response.status_code, body["code"]) == (422, "camera_not_certified")
    assert "no legal review" in body["detail"]
    assert world.components.detections.get(detection.id or 0).case_id is None


def test_a_violation_not_on_the_published_list_cannot_become_a_non_site_case(
    client: TestClient, world: World, staff: Staff
) -> None:
    detection = world.detection("bare_soil")
    response = client.post("/api/v1/cases", json={"detection_ids": [detection.id]}, headers=staff.headers(Role.OFFICER))
    assert problem_of(response)["code"] == "not_listed_for_non_site"


def test_only_confirmed_detections_start_a_case(client: TestClient, world: World, staff: Staff) -> None:
    pending = world.detection("stall", confirmed=False)
    response = client.post("/api/v1/cases", json={"detection_ids": [pending.id]}, headers=staff.headers(Role.OFFICER))
    assert problem_of(response)["code"] == "review_required"


def test_the_deadline_view_lists_what_is_due_soon_and_what_is_overdue(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    officer = staff.headers(Role.OFFICER)
    case = client.post("/api/v1/cases", json={"detection_ids": [world.detection("dust").id]}, headers=officer).json()
    case = _step(client, officer, case, "file")
    case = _step(
        client, officer, case, "rectification-notice", method="direct"
    )  # dust: 3 working days → Thursday 2026-03-05
    soon = client.get("/api/v1/cases/deadlines?within_days=3", headers=officer).json()
    assert [(d["deadline"], d["due"], d["overdue"]) for d in soon] == [("rectification", "2026-03-05", False)]
    clock.advance(dt.timedelta(days=4))
    overdue = client.get("/api/v1/cases/deadlines?within_days=0", headers=officer).json()
    assert [(d["deadline"], d["overdue"]) for d in overdue] == [("rectification", True)]


def test_a_closed_penalty_case_not_yet_published_stays_on_the_deadline_view(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    officer, legal = staff.headers(Role.OFFICER), staff.headers(Role.LEGAL_REVIEWER)
    case = client.post(
        "/api/v1/cases", json={"detection_ids": [world.detection("cross_door").id]}, headers=officer
    ).json()
    case = _step(client, officer, case, "file")
    case = _step(client, officer, case, "rectification-notice", method="direct")
    clock.advance(dt.timedelta(days=2))
    case = _step(
        client, officer, case, "recheck", outcome="persisting", observed_on="2026-03-04", inspection_note="仍在"
    )
    case = _step(client, officer, case, "penalty-notice", method="direct", proposed_fine_fen=10000)
    clock.advance(dt.timedelta(days=6))  # 2026-03-10, the statement period over
    case = _step(client, officer, case, "legal-review", fine_fen=10000)
    case = _step(client, legal, case, "legal-review/approve", opinion="同意")
    case = _step(client, officer, case, "penalty-decision", fine_fen=10000)
    case = _step(client, officer, case, "delivery", method="direct", delivered_on="2026-03-10")
    case = _step(client, officer, case, "payment", amount_fen=10000, paid_on="2026-03-10")
    case = _step(client, officer, case, "close")
    clock.advance(dt.timedelta(days=20))
    listed = client.get("/api/v1/cases/deadlines?within_days=0", headers=officer).json()
    assert [(d["case_id"], d["deadline"], d["due"], d["overdue"]) for d in listed] == [
        (case["id"], "publication", "2026-03-19", True)
    ]


def test_every_case_step_is_logged_with_its_case_action_and_actor(
    client: TestClient, world: World, staff: Staff, caplog: pytest.LogCaptureFixture
) -> None:
    case = world.draft("cross_door")
    with caplog.at_level(logging.INFO, logger="offsite.cases"):
        _step(client, staff.headers(Role.OFFICER), {"id": case.id, "version": case.version}, "file")
    (record,) = [r for r in caplog.records if r.name == "offsite.cases"]
    assert (record.case_id, record.action, record.actor, record.to_status) == (case.id, "file", "officer1", "filed")  # type: ignore[attr-defined]
