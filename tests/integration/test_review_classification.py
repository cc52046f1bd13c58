"""A review candidate (不明物体滞留, ``unknown_object``: what no model names, arrived and staying) end to end, on SQLite
and PostgreSQL: pushed by a gateway, it waits for review like any detection; the operator who confirms it chooses
the violation it is, and from then on it is that violation (a case opened from it is of that violation), its own
kind kept beside it. Every refused review changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect

from cases.model.detection import DetectionStatus
from cases.model.staff import Role
from cases.persistence import migrate
from offsite.bootstrap import Components
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_console import csrf, sign_in, version
from tests.integration.test_gateway_api import event_body, package_for, push
from tests.integration.world import ALL_PASS, OPERATOR, World

CHECKS = {"authentic": True, "clear": True, "complete": True, "accurate": True}


def pushed(client: TestClient, world: World, kind: str = "unknown_object") -> dict[str, Any]:
    """A detection as the camera's gateway pushes it (signed, citing a package sealed for it)."""
    response = push(client, world.components, event_body(world, kind))
    assert response.status_code == 201, response.text
    detection: dict[str, Any] = response.json()["detection"]
    return detection


def review(client: TestClient, staff: Staff, detection: dict[str, Any], decision: str = "confirm",
           **fields: Any) -> Any:  # fmt: skip
    body = {"version": detection["version"], "decision": decision, "checklist": CHECKS, **fields}
    return client.post(f"/api/v1/detections/{detection['id']}/review", json=body, headers=staff.headers(Role.OPERATOR))


def stored(client: TestClient, staff: Staff, detection: dict[str, Any]) -> dict[str, Any]:
    response = client.get(f"/api/v1/detections/{detection['id']}", headers=staff.headers(Role.OPERATOR))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def open_case(client: TestClient, staff: Staff, detection: dict[str, Any]) -> Any:
    return client.post("/api/v1/cases", json={"detection_ids": [detection["id"]]}, headers=staff.headers(Role.OFFICER))


# ---- intake -----------------------------------------------------------------------------------------------------
def test_a_candidate_pushed_by_a_gateway_waits_for_review_and_the_queue_filters_it_by_its_code(
    client: TestClient, world: World, staff: Staff
) -> None:
    unknown = pushed(client, world)
    stall = pushed(client, world, "stall")
    assert (unknown["violation_code"], unknown["classified_from"], unknown["status"]) == (
        "unknown_object",
        None,
        "pending_review",
    )
    operator = staff.headers(Role.OPERATOR)

    def queue(**params: str) -> list[int]:
        return [d["id"] for d in client.get("/api/v1/detections", params=params, headers=operator).json()["items"]]

    assert queue() == [stall["id"], unknown["id"]]
    assert queue(violation_code="unknown_object") == [unknown["id"]]
    assert queue(violation_code="street_stall") == [stall["id"]]
    catalogue = client.get("/api/v1/catalogue/unknown_object", headers=operator)
    assert catalogue.json() == {"code": "unknown_object", "name": "不明物体滞留", "classify_on_review": True}


def test_a_code_that_is_neither_violation_nor_candidate_is_still_refused_at_intake(
    client: TestClient, world: World
) -> None:
    event = world.event("unknown_object")
    package = package_for(world.components, event, violation_code="unknown_thing")  # sealed for what it names
    body = event_body(world, "unknown_object", event_id=event.event_id, evidence_package_id=package, violation_code="unknown_thing")  # fmt: skip
    response = push(client, world.components, body)
    assert (response.status_code, problem_of(response)["code"]) == (404, "not_found")
    assert "unknown_thing" in problem_of(response)["detail"]


# ---- confirmed as the violation it is ------------------------------------------------------------------------------
def test_a_candidate_confirmed_as_a_violation_becomes_it_and_opens_a_case_of_that_violation(
    client: TestClient, world: World, staff: Staff
) -> None:
    unknown = pushed(client, world)
    assert open_case(client, staff, unknown).status_code == 422  # not before review: it is no violation yet

    confirmed = review(client, staff, unknown, classified_as="street_stall", reason="三轮车占道售卖水果")
    assert confirmed.status_code == 200, confirmed.text
    answer = confirmed.json()
    assert (answer["status"], answer["violation_code"], answer["classified_from"]) == (
        "confirmed",
        "street_stall",
        "unknown_object",
    )
    assert (answer["reviewed_by"], answer["review_reason"]) == ("operator1", "三轮车占道售卖水果")
    assert answer["reviewed_at"] is not None
    assert stored(client, staff, unknown) == answer  # as stored, not only as answered

    opened = open_case(client, staff, unknown)
    assert opened.status_code == 201, opened.text
    assert opened.json()["violation_code"] == "street_stall"
    assert stored(client, staff, unknown)["case_id"] == opened.json()["id"]


def test_a_candidate_confirmed_without_the_violation_it_is_is_refused_and_nothing_changes(
    client: TestClient, world: World, staff: Staff
) -> None:
    unknown = pushed(client, world)
    refused = review(client, staff, unknown)
    assert refused.status_code == 422
    problem = problem_of(refused)
    assert problem["code"] == "classification_refused"
    assert "is a 不明物体滞留 candidate, not a violation itself" in problem["detail"]
    assert "无序设摊（street_stall）" in problem["detail"]
    assert stored(client, staff, unknown) == unknown

    chinese = client.post(
        f"/api/v1/detections/{unknown['id']}/review",
        json={"version": unknown["version"], "decision": "confirm", "checklist": CHECKS},
        headers={**staff.headers(Role.OPERATOR), "Accept-Language": "zh-CN"},
    )
    assert "确认时须认定其所属违法行为" in problem_of(chinese)["detail"]


@pytest.mark.parametrize(
    ("chosen", "said"),
    [
        ("littering", "'littering' is not a violation of the catalogue"),
        ("unknown_object", "不明物体滞留 is itself a review candidate, not a violation"),
    ],
    ids=["unknown-code", "a-candidate"],
)
def test_a_candidate_classified_as_anything_but_a_violation_is_refused_and_nothing_changes(
    client: TestClient, world: World, staff: Staff, chosen: str, said: str
) -> None:
    unknown = pushed(client, world)
    refused = review(client, staff, unknown, classified_as=chosen)
    assert (refused.status_code, problem_of(refused)["code"]) == (422, "classification_refused")
    assert said in problem_of(refused)["detail"]
    assert stored(client, staff, unknown) == unknown


def test_a_detection_its_detector_named_takes_no_classification_and_nothing_changes(
    client: TestClient, world: World, staff: Staff
) -> None:
    stall = pushed(client, world, "stall")
    refused = review(client, staff, stall, classified_as="cross_door")
    assert (refused.status_code, problem_of(refused)["code"]) == (422, "classification_refused")
    assert "is 无序设摊 as its detector named it" in problem_of(refused)["detail"]
    assert stored(client, staff, stall) == stall
    confirmed = review(client, staff, stall)  # as it always was: confirmed as what its detector named
    assert (confirmed.json()["violation_code"], confirmed.json()["classified_from"]) == ("street_stall", None)


def test_a_candidate_is_rejected_like_any_detection_and_never_opens_a_case(
    client: TestClient, world: World, staff: Staff
) -> None:
    unknown = pushed(client, world)
    classifying = review(client, staff, unknown, "reject", reason="快递包裹，已取走", classified_as="street_stall")
    assert (classifying.status_code, problem_of(classifying)["code"]) == (422, "classification_refused")
    assert stored(client, staff, unknown) == unknown

    rejected = review(client, staff, unknown, "reject", reason="快递包裹，已取走")
    assert rejected.status_code == 200, rejected.text
    assert (rejected.json()["status"], rejected.json()["violation_code"], rejected.json()["classified_from"]) == (
        "rejected",
        "unknown_object",
        None,
    )
    refused = open_case(client, staff, unknown)
    assert (refused.status_code, problem_of(refused)["code"]) == (422, "review_required")
    assert "不明物体滞留 (unknown_object) is a review candidate, not a violation" in problem_of(refused)["detail"]


# ---- the console ------------------------------------------------------------------------------------------------
def test_the_console_offers_the_choice_only_for_a_candidate_and_shows_what_it_became(
    client: TestClient, components: Components, world: World, staff: Staff
) -> None:
    unknown, stall = pushed(client, world), pushed(client, world, "stall")
    sign_in(client, components, Role.OPERATOR)
    assert 'name="classified_as"' not in client.get(f"/console/detections/{stall['id']}").text
    page = client.get(f"/console/detections/{unknown['id']}").text
    assert 'name="classified_as"' in page
    offered = [code for code in ("street_stall", "cross_door", "construction_dust",
                                 "site_materials_outside_enclosure", "bare_soil_uncovered")
               if f'<option value="{code}">' in page]  # fmt: skip
    assert len(offered) == 5
    assert '<option value="unknown_object">' not in page  # a candidate is no choice
    assert '<option value="unknown_object"' in client.get("/console/review").text  # the queue's filter names it

    form = {"csrf": csrf(page), "version": version(page), "decision": "confirm", **dict.fromkeys(CHECKS, "on")}
    refused = client.post(f"/console/detections/{unknown['id']}/review", data={**form, "classified_as": ""})
    assert "确认时须认定其所属违法行为" in refused.text
    assert components.detections.get(unknown["id"]).status is DetectionStatus.PENDING_REVIEW

    done = client.post(f"/console/detections/{unknown['id']}/review", data={**form, "classified_as": "street_stall"},
                       follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    detection = components.detections.get(unknown["id"])
    assert (detection.status, detection.violation_code, detection.classified_from, detection.reviewed_by) == (
        DetectionStatus.CONFIRMED,
        "street_stall",
        "unknown_object",
        "operator1",
    )
    shown = client.get(f"/console/detections/{unknown['id']}").text
    assert "不明物体滞留 → 无序设摊" in shown
    assert "审核人员 operator1 认定" in shown
    assert "不明物体滞留 → 无序设摊" in client.get("/console/detections?status=confirmed").text


def test_the_console_rejects_a_candidate_whatever_was_chosen_in_the_form(
    client: TestClient, components: Components, world: World
) -> None:
    unknown = world.detection("unknown_object", confirmed=False)
    sign_in(client, components, Role.OPERATOR)
    page = client.get(f"/console/detections/{unknown.id}").text
    form = {"csrf": csrf(page), "version": version(page), "decision": "reject", "reason": "落叶堆，非违法行为",
            "classified_as": "street_stall"}  # fmt: skip
    assert client.post(f"/console/detections/{unknown.id}/review", data=form, follow_redirects=False).status_code == 303
    rejected = components.detections.get(unknown.id or 0)
    assert (rejected.status, rejected.violation_code, rejected.classified_from) == (
        DetectionStatus.REJECTED,
        "unknown_object",
        None,
    )


# ---- the schema: migration 0008 ---------------------------------------------------------------------------------
def test_rolling_back_0008_keeps_every_detection_and_refuses_while_one_was_classified(
    components: Components, world: World
) -> None:
    engine = components.engine
    stall = world.detection("stall")
    try:
        migrate.downgrade(engine, "0007")  # nothing classified yet: the column goes, the detections stay
        assert "classified_from" not in {c["name"] for c in inspect(engine).get_columns("detections")}
        migrate.upgrade(engine)
        assert components.detections.get(stall.id or 0).classified_from is None

        unknown = world.detection("unknown_object", confirmed=False)
        components.detections.review(unknown.id or 0, OPERATOR, unknown.version, True, ALL_PASS, None, "street_stall")
        with pytest.raises(RuntimeError, match="1 detections were classified on review from a candidate kind"):
            migrate.downgrade(engine, "0007")
        assert migrate.current_revision(engine) == migrate.head_revision(engine)
        assert components.detections.get(unknown.id or 0).classified_from == "unknown_object"
    finally:
        migrate.upgrade(engine)
