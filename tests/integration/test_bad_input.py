"""Every bad input gets a clear RFC 9457 problem with a stable code, and changes nothing: no row added, no case
or detection moved, no version bumped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cases.clock import ManualClock
from cases.errors import NotFound
from cases.model.case import Case
from cases.model.staff import Role
from cases.persistence import tables
from cases.services import accounts as accounts_module
from offsite.bootstrap import Components, build, web_app
from offsite.settings import Settings
from tests.integration.conftest import Staff, problem_of
from tests.integration.world import World, id_card, uscc

SMALL_LIMIT = 2048


# ---- helpers ----------------------------------------------------------------------------------------------------
def counts(components: Components) -> dict[str, int]:
    """Rows per table that a refused request could have added to."""
    watched = [
        tables.merchants,
        tables.sites,
        tables.cameras,
        tables.zones,
        tables.detections,
        tables.cases,
        tables.case_events,
        tables.notifications,
        tables.users,
    ]
    with components.engine.connect() as connection:
        return {t.name: int(connection.execute(select(func.count()).select_from(t)).scalar_one()) for t in watched}


def case_state(components: Components, case_id: int | None) -> tuple[Any, ...]:
    assert case_id is not None
    case = components.cases.get(case_id)
    return case.status, case.version, len(case.events), case.stage_deadline, case.number


def detection_state(components: Components, detection_id: int | None) -> tuple[Any, ...]:
    assert detection_id is not None
    detection = components.detections.get(detection_id)
    return detection.status, detection.version, detection.reviewed_by, detection.case_id


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = problem_of(response)
    assert body["code"] == code, body
    return body


def _step(client: TestClient, headers: dict[str, str], case_id: int | None, path: str, **body: Any) -> dict[str, Any]:
    version = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["version"]
    response = client.post(f"/api/v1/cases/{case_id}/{path}", json={"version": version, **body}, headers=headers)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.fixture
def officer(staff: Staff) -> dict[str, str]:
    return staff.headers(Role.OFFICER)


@pytest.fixture
def admin(staff: Staff) -> dict[str, str]:
    return staff.headers(Role.ADMIN)


@pytest.fixture
def operator(staff: Staff) -> dict[str, str]:
    return staff.headers(Role.OPERATOR)


@pytest.fixture
def draft(world: World) -> Case:
    return world.draft("cross_door")


@pytest.fixture
def small_client(settings: Settings, components: Components, clock: ManualClock) -> Iterator[TestClient]:
    """An app whose settings accept request bodies of at most 2 KiB, on the same database."""
    small = settings.model_copy(update={"max_upload_bytes": SMALL_LIMIT})
    built = build(small, clock=clock)
    try:
        with TestClient(web_app(built)) as test_client:
            yield test_client
    finally:
        built.close()


# ---- malformed bodies -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "content_type", "message"),
    [
        (b'{"version": 1}', None, "valid dictionary"),
        (b'[{"version": 1}]', "application/json", "valid dictionary"),
    ],
    ids=["no-content-type", "array-not-object"],
)
def test_a_json_body_of_the_wrong_shape_is_an_invalid_request_and_moves_nothing(
    client: TestClient,
    world: World,
    draft: Case,
    officer: dict[str, str],
    content: bytes,
    content_type: str | None,
    message: str,
) -> None:
    before, rows = case_state(world.components, draft.id), counts(world.components)
    headers = {**officer, **({"Content-Type": content_type} if content_type else {})}
    response = client.post(f"/api/v1/cases/{draft.id}/file", content=content, headers=headers)
    body = refused(response, 422, "invalid_request")
    assert message in body["detail"]
    assert body["errors"], body
    assert case_state(world.components, draft.id) == before
    assert counts(world.components) == rows


def _merchant(**changes: Any) -> dict[str, Any]:
    return {
        "code": "SHOP-2",
        "name": "新开小店",
        "address": "商城路 700 号",
        "uscc": uscc(3),
        "mobile": "13700137000",
        **changes,
    }


def _review(version: int = 1, **changes: Any) -> dict[str, Any]:
    checklist = {"authentic": True, "clear": True, "complete": True, "accurate": True}
    return {"version": version, "decision": "confirm", "checklist": checklist, **changes}


@pytest.mark.parametrize(
    ("target", "body", "field"),
    [
        ("case_file", {"version": 1, "force": True}, "body.force"),
        ("merchants", _merchant(owner="王老板"), "body.owner"),
        (
            "review",
            _review(checklist={"authentic": True, "clear": True, "complete": True, "accurate": True, "sharp": True}),
            "body.checklist.sharp",
        ),
        ("cases", {"detection_ids": [1], "officer": "officer2"}, "body.officer"),
    ],
    ids=["case-step", "merchant", "nested-checklist", "open-case"],
)
def test_an_unknown_field_is_refused_and_named(
    client: TestClient,
    world: World,
    staff: Staff,
    draft: Case,
    target: str,
    body: dict[str, Any],
    field: str,
) -> None:
    pending = world.detection("stall", confirmed=False)
    path_and_role = {
        "case_file": (f"/api/v1/cases/{draft.id}/file", Role.OFFICER),
        "merchants": ("/api/v1/merchants", Role.ADMIN),
        "review": (f"/api/v1/detections/{pending.id}/review", Role.OPERATOR),
        "cases": ("/api/v1/cases", Role.OFFICER),
    }
    path, role = path_and_role[target]
    headers = staff.headers(role)
    before = (
        case_state(world.components, draft.id),
        detection_state(world.components, pending.id),
        counts(world.components),
    )
    response = client.post(path, json=body, headers=headers)
    problem = refused(response, 422, "invalid_request")
    assert field in problem["detail"]
    assert field in [error["field"] for error in problem["errors"]]
    after = (
        case_state(world.components, draft.id),
        detection_state(world.components, pending.id),
        counts(world.components),
    )
    assert after == before


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/api/v1/cases/{case}/file", {"version": "one"}, "body.version"),
        ("POST", "/api/v1/cases/{case}/file", {"version": 0}, "body.version"),
        ("POST", "/api/v1/cases/{case}/file", {}, "body.version"),
        (
            "POST",
            "/api/v1/cases/{case}/penalty-notice",
            {"version": 1, "proposed_fine_fen": -100},
            "body.proposed_fine_fen",
        ),
        (
            "POST",
            "/api/v1/cases/{case}/penalty-notice",
            {"version": 1, "proposed_fine_fen": 99.5},
            "body.proposed_fine_fen",
        ),
        (
            "POST",
            "/api/v1/cases/{case}/delivery",
            {"version": 1, "method": "pigeon", "delivered_on": "2026-03-02"},
            "body.method",
        ),
        (
            "POST",
            "/api/v1/cases/{case}/delivery",
            {"version": 1, "method": "direct", "delivered_on": "2026-02-30"},
            "body.delivered_on",
        ),
        (
            "POST",
            "/api/v1/cases/{case}/recheck",
            {"version": 1, "outcome": "maybe", "inspection_note": "x"},
            "body.outcome",
        ),
        ("POST", "/api/v1/cases/abc/file", {"version": 1}, "path.case_id"),
        ("POST", "/api/v1/cases/{case}/file", {"version": 10**4000}, "body.version"),  # not echoed in a 409
        ("POST", "/api/v1/cases", {"detection_ids": "1"}, "body.detection_ids"),
        ("POST", "/api/v1/cases", {"detection_ids": []}, "body.detection_ids"),
        ("POST", "/api/v1/cases", {"detection_ids": ["first"]}, "body.detection_ids.0"),
        ("GET", "/api/v1/cases?status=bogus", None, "query.status"),
        ("GET", "/api/v1/cases?limit=0", None, "query.limit"),
        ("GET", "/api/v1/cases/deadlines?within_days=400", None, "query.within_days"),
        ("GET", "/api/v1/cases/{case}/amount-due?paid_on=tomorrow", None, "query.paid_on"),
    ],
    ids=[
        "version-string",
        "version-zero",
        "version-missing",
        "fine-negative",
        "fine-fraction",
        "delivery-method-unknown",
        "date-impossible",
        "recheck-outcome-unknown",
        "case-id-not-int",
        "version-of-4000-digits",
        "detection-ids-not-list",
        "detection-ids-empty",
        "detection-id-not-int",
        "status-unknown",
        "limit-zero",
        "within-days-too-many",
        "paid-on-not-date",
    ],
)
def test_a_value_of_the_wrong_type_or_range_is_refused_and_named(
    client: TestClient,
    world: World,
    draft: Case,
    officer: dict[str, str],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    field: str,
) -> None:
    before, rows = case_state(world.components, draft.id), counts(world.components)
    response = client.request(method, path.format(case=draft.id), json=body, headers=officer)
    problem = refused(response, 422, "invalid_request")
    assert field in [error["field"] for error in problem["errors"]], problem
    assert case_state(world.components, draft.id) == before
    assert counts(world.components) == rows


# ---- unknown things ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "method", "path", "body", "named"),
    [
        (Role.OFFICER, "GET", "/api/v1/cases/999999", None, "case 999999"),
        (Role.OFFICER, "GET", "/api/v1/cases/999999/timeline", None, "case 999999"),
        (Role.OFFICER, "POST", "/api/v1/cases/999999/file", {"version": 1}, "case 999999"),
        (Role.OFFICER, "POST", "/api/v1/cases", {"detection_ids": [999999]}, "detection 999999"),
        (Role.OPERATOR, "GET", "/api/v1/detections/999999", None, "detection 999999"),
        (Role.OPERATOR, "POST", "/api/v1/detections/999999/review", _review(), "detection 999999"),
        (Role.OFFICER, "GET", "/api/v1/cameras/999999", None, "camera 999999"),
        (Role.OFFICER, "GET", "/api/v1/cameras/999999/zones", None, "camera 999999"),
        (Role.ADMIN, "PATCH", "/api/v1/cameras/999999", {"version": 1, "name": "x"}, "camera 999999"),
        (
            Role.ADMIN,
            "POST",
            "/api/v1/cameras/999999/zones",
            {"code": "Z-1", "name": "x", "subject": "public_space"},
            "camera 999999",
        ),
        (Role.OFFICER, "GET", "/api/v1/merchants/999999", None, "merchant 999999"),
        (Role.ADMIN, "PATCH", "/api/v1/merchants/999999", {"version": 1, "name": "x"}, "merchant 999999"),
        (Role.OFFICER, "GET", "/api/v1/sites/999999", None, "site 999999"),
        (Role.OFFICER, "GET", "/api/v1/catalogue/jaywalking", None, "jaywalking"),
        (Role.ADMIN, "POST", "/api/v1/gateways/gw-404/rotate-key", None, "gw-404"),
    ],
    ids=lambda value: value if isinstance(value, str) and value.startswith("/") else None,
)
def test_an_unknown_id_is_not_found_and_changes_nothing(
    client: TestClient,
    world: World,
    staff: Staff,
    role: Role,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    named: str,
) -> None:
    headers = staff.headers(role)
    rows = counts(world.components)
    response = client.request(method, path, json=body, headers=headers)
    assert named in refused(response, 404, "not_found")["detail"]
    assert counts(world.components) == rows


def test_an_unknown_path_and_a_wrong_method_are_problems_too(client: TestClient, officer: dict[str, str]) -> None:
    refused(client.get("/api/v1/nowhere", headers=officer), 404, "not_found")
    refused(client.delete("/api/v1/cases", headers=officer), 405, "method_not_allowed")


def test_a_cursor_the_service_did_not_issue_is_refused(client: TestClient, operator: dict[str, str]) -> None:
    response = client.get("/api/v1/detections?cursor=not-a-cursor", headers=operator)
    assert "cursor" in refused(response, 422, "cursor_invalid")["detail"]


def test_a_case_cannot_be_opened_from_the_same_detection_twice_in_one_request(
    client: TestClient, world: World, officer: dict[str, str]
) -> None:
    detection = world.detection("cross_door")
    rows = counts(world.components)
    response = client.post("/api/v1/cases", json={"detection_ids": [detection.id, detection.id]}, headers=officer)
    problem = refused(response, 422, "invalid_request")
    assert problem["errors"] == [{"field": "body.detection_ids", "message": "must name each value once"}]
    assert counts(world.components) == rows
    assert detection_state(world.components, detection.id)[3] is None


# ---- the state machine and versions -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "step", "body"),
    [
        (Role.OFFICER, "rectification-notice", {"method": "direct"}),
        (Role.OFFICER, "recheck", {"outcome": "corrected", "observed_on": "2026-03-02", "inspection_note": "已改正"}),
        (Role.OFFICER, "no-penalty-decision", {"ground": "first_offence", "reason": "首违"}),
        (Role.OFFICER, "penalty-notice", {"proposed_fine_fen": 10000, "method": "direct"}),
        (Role.OFFICER, "statement", {"text": "我已改正"}),
        (Role.OFFICER, "statement-answer", {"adopted": True, "reply": "采纳"}),
        (Role.OFFICER, "legal-review", {"fine_fen": 10000}),
        (Role.LEGAL_REVIEWER, "legal-review/approve", {"opinion": "同意"}),
        (Role.LEGAL_REVIEWER, "legal-review/return", {"reason": "证据不足"}),
        (Role.OFFICER, "penalty-decision", {"fine_fen": 10000}),
        (Role.OFFICER, "delivery", {"method": "direct", "delivered_on": "2026-03-02"}),
        (Role.OFFICER, "payment", {"amount_fen": 10000, "paid_on": "2026-03-02"}),
        (Role.OFFICER, "close", {}),
        (Role.OFFICER, "publication", {}),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_a_step_the_drafts_stage_does_not_allow_is_an_illegal_transition_naming_the_stage(
    client: TestClient, world: World, staff: Staff, draft: Case, role: Role, step: str, body: dict[str, Any]
) -> None:
    headers = staff.headers(role)
    before, rows = case_state(world.components, draft.id), counts(world.components)
    response = client.post(f"/api/v1/cases/{draft.id}/{step}", json={"version": draft.version, **body}, headers=headers)
    problem = refused(response, 409, "illegal_transition")
    assert "stage draft" in problem["detail"]
    assert "allowed from" in problem["detail"]
    assert case_state(world.components, draft.id) == before
    assert counts(world.components) == rows


def test_filing_a_case_twice_is_an_illegal_transition(
    client: TestClient, world: World, draft: Case, officer: dict[str, str]
) -> None:
    filed = _step(client, officer, draft.id, "file")
    before = case_state(world.components, draft.id)
    response = client.post(f"/api/v1/cases/{draft.id}/file", json={"version": filed["version"]}, headers=officer)
    assert "stage filed" in refused(response, 409, "illegal_transition")["detail"]
    assert case_state(world.components, draft.id) == before
    assert world.components.cases.get(draft.id or 0).number == filed["number"]


def test_a_step_based_on_a_stale_version_is_a_version_conflict(
    client: TestClient, world: World, draft: Case, officer: dict[str, str]
) -> None:
    read = client.get(f"/api/v1/cases/{draft.id}", headers=officer).json()
    _step(client, officer, draft.id, "file")  # someone else moves the case meanwhile
    before, rows = case_state(world.components, draft.id), counts(world.components)

    response = client.post(
        f"/api/v1/cases/{draft.id}/rectification-notice",
        json={"version": read["version"], "method": "direct"},
        headers=officer,
    )
    problem = refused(response, 409, "version_conflict")
    assert f"version {read['version']}" in problem["detail"]
    assert case_state(world.components, draft.id) == before
    assert counts(world.components) == rows


def test_a_version_from_the_future_is_a_version_conflict_too(
    client: TestClient, world: World, draft: Case, officer: dict[str, str]
) -> None:
    before = case_state(world.components, draft.id)
    response = client.post(f"/api/v1/cases/{draft.id}/file", json={"version": draft.version + 5}, headers=officer)
    refused(response, 409, "version_conflict")
    assert case_state(world.components, draft.id) == before


def test_a_review_based_on_a_stale_version_is_a_version_conflict(
    client: TestClient, world: World, operator: dict[str, str]
) -> None:
    pending = world.detection("stall", confirmed=False)
    before = detection_state(world.components, pending.id)
    response = client.post(
        f"/api/v1/detections/{pending.id}/review", json=_review(pending.version + 1), headers=operator
    )
    refused(response, 409, "version_conflict")
    assert detection_state(world.components, pending.id) == before


# ---- size -------------------------------------------------------------------------------------------------------
def test_a_body_over_the_upload_limit_is_refused_with_413(
    small_client: TestClient, world: World, admin: dict[str, str]
) -> None:
    rows = counts(world.components)
    oversize = _merchant(address="长" * SMALL_LIMIT)
    response = small_client.post("/api/v1/merchants", json=oversize, headers=admin)
    assert str(SMALL_LIMIT) in refused(response, 413, "payload_too_large")["detail"]
    assert counts(world.components) == rows

    fits = small_client.post("/api/v1/merchants", json=_merchant(), headers=admin)
    assert fits.status_code == 201, fits.text


def test_a_csv_upload_over_the_limit_is_refused_with_413(
    small_client: TestClient, world: World, admin: dict[str, str]
) -> None:
    rows = counts(world.components)
    content = "code,name,address\n" + "".join(f"BIG-{n},店{n},路{n}号\n" for n in range(200))
    assert len(content.encode()) > SMALL_LIMIT
    files = {"file": ("shops.csv", content.encode(), "text/csv")}
    response = small_client.post("/api/v1/imports/merchants", files=files, headers=admin)
    refused(response, 413, "payload_too_large")
    assert counts(world.components) == rows


def test_a_streamed_body_over_the_upload_limit_is_refused_with_413(
    small_client: TestClient, world: World, admin: dict[str, str]
) -> None:
    rows = counts(world.components)
    payload = b'{"code": "SHOP-9", "name": "' + b"x" * (SMALL_LIMIT * 2) + b'", "address": "a"}'

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield payload

    response = small_client.post(
        "/api/v1/merchants", content=chunks(), headers={**admin, "Content-Type": "application/json"}
    )
    assert counts(world.components) == rows
    refused(response, 413, "payload_too_large")


# ---- registry values --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"uscc": uscc(3)[:17] + ("0" if uscc(3)[17] != "0" else "1")}, "invalid_input", "uscc"),
        # the form of a code or a mobile is declared in the OpenAPI document: refused before the registry sees it
        ({"uscc": "91310115MA1K0000"}, "invalid_request", "uscc"),
        ({"uscc": uscc(3).lower()}, "invalid_request", "uscc"),
        ({"uscc": "91310115MA1K0000I"[:17] + "0"}, "invalid_request", "uscc"),
        ({"mobile": "12345"}, "invalid_request", "mobile"),
        ({"mobile": "1380013800"}, "invalid_request", "mobile"),
        ({"mobile": "23800138000"}, "invalid_request", "mobile"),
        ({"mobile": "+8613800138000"}, "invalid_request", "mobile"),
        ({"e_delivery_consent": True}, "invalid_input", "consent"),
        ({"code": "SHOP 2"}, "invalid_request", "body.code"),
        ({"name": ""}, "invalid_request", "body.name"),
        ({"e_delivery_consent": "maybe"}, "invalid_request", "body.e_delivery_consent"),
    ],
    ids=[
        "uscc-check-character",
        "uscc-too-short",
        "uscc-lowercase",
        "uscc-letter-I",
        "mobile-short",
        "mobile-10-digits",
        "mobile-not-1x",
        "mobile-with-country-code",
        "consent-without-document",
        "code-with-space",
        "name-empty",
        "consent-not-bool",
    ],
)
def test_an_invalid_merchant_is_refused_naming_the_field(
    client: TestClient, world: World, admin: dict[str, str], changes: dict[str, Any], code: str, field: str
) -> None:
    rows = counts(world.components)
    response = client.post("/api/v1/merchants", json=_merchant(**changes), headers=admin)
    assert field in refused(response, 422, code)["detail"]
    assert counts(world.components) == rows


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mobile": "12345"}, "mobile"),
        ({"uscc": "91310115MA1K00000X"}, "uscc"),
        ({"name": None}, "name"),
        ({"code": "SHOP-X"}, "code"),
    ],
    ids=["bad-mobile", "bad-uscc", "name-emptied", "code-not-editable"],
)
def test_an_invalid_merchant_update_is_refused_and_keeps_the_record(
    client: TestClient, world: World, admin: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    merchant = world.merchant
    assert merchant is not None
    response = client.patch(
        f"/api/v1/merchants/{merchant.id}", json={"version": merchant.version, **changes}, headers=admin
    )
    assert response.status_code == 422, response.text
    assert field in problem_of(response)["detail"]
    with world.components.engine.connect() as connection:
        row = connection.execute(select(tables.merchants).where(tables.merchants.c.id == merchant.id)).one()
    assert (row.code, row.name, row.mobile, row.uscc, row.version) == (
        merchant.code,
        merchant.name,
        merchant.mobile,
        merchant.uscc,
        merchant.version,
    )


def test_a_duplicate_merchant_code_already_exists(client: TestClient, world: World, admin: dict[str, str]) -> None:
    rows = counts(world.components)
    response = client.post("/api/v1/merchants", json=_merchant(code="SHOP-1", name="冒名小店"), headers=admin)
    refused(response, 409, "already_exists")
    assert counts(world.components) == rows
    listed = client.get("/api/v1/merchants?q=SHOP-1", headers=admin).json()
    assert [m["name"] for m in listed["items"]] == ["浦东小面馆"]


# ---- review -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("point", "label"),
    [("authentic", "真实"), ("clear", "清晰"), ("complete", "完整"), ("accurate", "准确")],
)
def test_a_confirmation_with_a_failing_checklist_point_is_refused_naming_it(
    client: TestClient, world: World, operator: dict[str, str], point: str, label: str
) -> None:
    pending = world.detection("stall", confirmed=False)
    before = detection_state(world.components, pending.id)
    body = _review(pending.version)
    body["checklist"][point] = False
    response = client.post(f"/api/v1/detections/{pending.id}/review", json=body, headers=operator)
    assert label in refused(response, 422, "invalid_input")["detail"]
    assert detection_state(world.components, pending.id) == before


# a reason left out is the review's rule; a reason of spaces alone is refused by the schema, naming the field
@pytest.mark.parametrize(("reason", "code"), [(None, "invalid_input"), ("   ", "invalid_request")])
def test_a_rejection_needs_a_reason(
    client: TestClient, world: World, operator: dict[str, str], reason: str | None, code: str
) -> None:
    pending = world.detection("stall", confirmed=False)
    before = detection_state(world.components, pending.id)
    body = _review(pending.version, decision="reject", reason=reason)
    body["checklist"]["clear"] = False
    response = client.post(f"/api/v1/detections/{pending.id}/review", json=body, headers=operator)
    assert "reason" in refused(response, 422, code)["detail"]
    assert detection_state(world.components, pending.id) == before


@pytest.mark.parametrize("second_decision", ["confirm", "reject"])
def test_a_detection_is_reviewed_once_and_a_second_review_is_refused(
    client: TestClient, world: World, staff: Staff, second_decision: str
) -> None:
    pending = world.detection("stall", confirmed=False)
    first = client.post(
        f"/api/v1/detections/{pending.id}/review", json=_review(pending.version), headers=staff.headers(Role.OPERATOR)
    )
    assert first.status_code == 200, first.text
    before = detection_state(world.components, pending.id)

    again = _review(first.json()["version"], decision=second_decision, reason="改判")
    response = client.post(
        f"/api/v1/detections/{pending.id}/review", json=again, headers=staff.headers(Role.OPERATOR, "operator2")
    )
    problem = refused(response, 409, "illegal_transition")
    assert "already confirmed by operator1" in problem["detail"]
    assert detection_state(world.components, pending.id) == before


# ---- the law ----------------------------------------------------------------------------------------------------
def _persisting_cross_door_case(client: TestClient, world: World, officer: dict[str, str], clock: ManualClock) -> int:
    case = world.draft("cross_door")
    _step(client, officer, case.id, "file")
    _step(
        client, officer, case.id, "rectification-notice", method="direct"
    )  # cross-door: correct within 1 calendar day
    clock.advance(dt.timedelta(days=2))
    today = clock.today().isoformat()
    _step(client, officer, case.id, "recheck", outcome="persisting", observed_on=today, inspection_note="货架仍在")
    assert case.id is not None
    return case.id


@pytest.mark.parametrize(
    "fine_fen",
    [4_999, 20_001, 30_000, 50_001, 1],
    ids=["below-first-band", "above-first-band", "legal-but-outside-band", "above-legal-maximum", "one-fen"],
)
def test_a_proposed_fine_outside_the_range_is_refused(
    client: TestClient, world: World, officer: dict[str, str], clock: ManualClock, fine_fen: int
) -> None:
    case_id = _persisting_cross_door_case(client, world, officer, clock)
    before, rows = case_state(world.components, case_id), counts(world.components)
    version = before[1]
    response = client.post(
        f"/api/v1/cases/{case_id}/penalty-notice",
        json={"version": version, "proposed_fine_fen": fine_fen, "method": "direct"},
        headers=officer,
    )
    problem = refused(response, 422, "fine_outside_range")
    assert "首次" in problem["detail"]
    assert case_state(world.components, case_id) == before
    assert counts(world.components) == rows


def test_electronic_delivery_without_the_partys_consent_is_refused(
    client: TestClient, world: World, officer: dict[str, str]
) -> None:
    assert world.merchant is not None
    assert world.merchant.e_delivery_consent is False
    case = world.draft("cross_door")
    today = world.components.clock.today().isoformat()
    for path, body in [
        ("file", {}),
        ("rectification-notice", {"method": "direct"}),
        ("recheck", {"outcome": "corrected", "observed_on": today, "inspection_note": "已收回"}),
        ("no-penalty-decision", {"ground": "first_offence", "reason": "初次违法并及时改正"}),
    ]:
        _step(client, officer, case.id, path, **body)
    before, rows = case_state(world.components, case.id), counts(world.components)

    response = client.post(
        f"/api/v1/cases/{case.id}/delivery",
        json={"version": before[1], "method": "electronic", "delivered_on": today},
        headers=officer,
    )
    assert "consent" in refused(response, 422, "consent_required")["detail"]
    assert case_state(world.components, case.id) == before
    assert counts(world.components) == rows

    delivered = _step(client, officer, case.id, "delivery", method="direct", delivered_on=today)
    assert delivered["status"] == "delivered"


# ---- text lengths -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/cameras", {"device_id": "cam-long", "name": "长" * 150, "address": "示范路"}, "name"),
        ("/api/v1/cameras/{camera}/zones", {"code": "Z-LONG", "name": "长" * 150, "subject": "public_space"}, "name"),
        (
            "/api/v1/users",
            {"username": "long", "display_name": "长" * 150, "role": "officer", "password": "password-1234"},
            "display_name",
        ),
    ],
    ids=["camera-name", "zone-name", "user-display-name"],
)
def test_a_text_the_schema_accepts_is_stored_whole_or_refused_never_a_server_error(
    request: pytest.FixtureRequest,
    settings: Settings,
    components: Components,
    world: World,
    admin: dict[str, str],
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    rows = counts(world.components)
    with TestClient(web_app(components), raise_server_exceptions=False) as client:
        response = client.post(path.format(camera=world.cameras["main"].id), json=body, headers=admin)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        assert f"body.{field}" in [e["field"] for e in problem_of(response)["errors"]]
        assert counts(world.components) == rows
    else:
        assert response.json()[field] == body[field]


CHINESE = {"Accept-Language": "zh-CN"}  # the client asks for English unless a test asks otherwise


# ---- times the calendar cannot hold -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("seen_from=0001-01-01T00:00:00%2B14:00", "query.seen_from"),
        ("seen_until=9999-12-31T23:59:59-14:00", "query.seen_until"),
        ("seen_from=1969-12-31T23:59:59Z", "query.seen_from"),
        ("seen_until=2200-01-01T00:00:00Z", "query.seen_until"),
    ],
    ids=["before-utc-begins", "after-utc-ends", "before-1970", "from-2200"],
)
def test_a_time_outside_the_services_years_is_refused_naming_the_query_parameter(
    client: TestClient, operator: dict[str, str], query: str, field: str
) -> None:
    problem = refused(client.get(f"/api/v1/detections?{query}", headers=operator), 422, "invalid_request")
    assert [error["field"] for error in problem["errors"]] == [field]
    assert "1970" in problem["detail"]


def test_a_time_at_the_edges_of_the_services_years_is_accepted(client: TestClient, operator: dict[str, str]) -> None:
    query = "seen_from=1970-01-01T08:00:00%2B08:00&seen_until=2199-12-31T23:59:59Z"
    assert client.get(f"/api/v1/detections?{query}", headers=operator).status_code == 200


# ---- text with nothing to read ------------------------------------------------------------------------------------
INVISIBLE_TEXTS = ["   ", "\u200b", "\u200f", "\ufeff", "\u0301", "\u3000\u2003", "\u200b \u0301\n"]


@pytest.mark.parametrize("invisible", INVISIBLE_TEXTS, ids=["spaces", "zwsp", "rlm", "bom", "combining", "wide", "mix"])
@pytest.mark.parametrize(
    ("role", "path", "body", "field"),
    [
        (
            Role.LEGAL_REVIEWER,
            "/cases/{case}/legal-review/approve",
            {"version": 1, "opinion": "{text}"},
            "body.opinion",
        ),
        (Role.OFFICER, "/cases/{case}/withdraw", {"version": 1, "reason": "{text}"}, "body.reason"),
        (Role.OFFICER, "/cases/{case}/close", {"version": 1, "reason": "{text}"}, "body.reason"),
        (Role.OFFICER, "/cases/{case}/statement", {"version": 1, "text": "{text}"}, "body.text"),
        (Role.ADMIN, "/merchants", _merchant(name="{text}"), "body.name"),
        (Role.ADMIN, "/cameras", {"device_id": "cam-x", "name": "{text}", "address": "示范路"}, "body.name"),
        (
            Role.ADMIN,
            "/cameras",
            {"device_id": "cam-x", "name": "点位", "address": "示范路", "district": "{text}"},
            "body.district",
        ),
        (
            Role.ADMIN,
            "/users",
            {"username": "clerk", "display_name": "{text}", "role": "officer", "password": "password-1234"},
            "body.display_name",
        ),
    ],
    ids=["opinion", "withdraw-reason", "close-reason", "statement", "merchant-name", "camera-name", "district", "user"],
)
def test_text_with_no_visible_character_is_refused_naming_the_field(
    client: TestClient,
    world: World,
    staff: Staff,
    draft: Case,
    role: Role,
    path: str,
    body: dict[str, Any],
    field: str,
    invisible: str,
) -> None:
    headers = {**staff.headers(role), **CHINESE}
    before, rows = case_state(world.components, draft.id), counts(world.components)
    sent = {name: invisible if value == "{text}" else value for name, value in body.items()}
    response = client.post(f"/api/v1{path.format(case=draft.id)}", json=sent, headers=headers)
    problem = refused(response, 422, "invalid_request")
    assert field in [error["field"] for error in problem["errors"]], problem
    assert "可见字符" in problem["detail"]
    assert case_state(world.components, draft.id) == before
    assert counts(world.components) == rows


def test_text_with_a_visible_character_among_invisible_ones_is_kept_whole(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    name = "\u200b小店\u0301 "
    response = client.post("/api/v1/merchants", json=_merchant(name=name), headers=admin)
    assert response.status_code == 201, response.text
    assert response.json()["name"] == name


# ---- numbers are numbers ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        (
            "/api/v1/cases/{case}/penalty-notice",
            {"version": 1, "method": "direct", "proposed_fine_fen": "50000"},
            "body.proposed_fine_fen",
        ),
        (
            "/api/v1/cases/{case}/penalty-notice",
            {"version": 1, "method": "direct", "proposed_fine_fen": True},
            "body.proposed_fine_fen",
        ),
        ("/api/v1/cases/{case}/file", {"version": "1"}, "body.version"),
        ("/api/v1/cases/{case}/file", {"version": True}, "body.version"),
        ("/api/v1/cases", {"detection_ids": ["1"]}, "body.detection_ids.0"),
        ("/api/v1/cases", {"detection_ids": [True]}, "body.detection_ids.0"),
        (
            "/api/v1/cases/{case}/payment",
            {"version": 1, "amount_fen": "100", "paid_on": "2026-03-02"},
            "body.amount_fen",
        ),
    ],
    ids=["fine-text", "fine-true", "version-text", "version-true", "id-text", "id-true", "amount-text"],
)
def test_a_number_sent_as_text_or_a_boolean_is_refused_naming_the_field(
    client: TestClient, world: World, draft: Case, officer: dict[str, str], path: str, body: dict[str, Any], field: str
) -> None:
    before, rows = case_state(world.components, draft.id), counts(world.components)
    response = client.post(path.format(case=draft.id), json=body, headers={**officer, **CHINESE})
    problem = refused(response, 422, "invalid_request")
    assert field in [error["field"] for error in problem["errors"]], problem
    assert "整数" in problem["detail"]
    assert case_state(world.components, draft.id) == before
    assert counts(world.components) == rows


def test_numbers_in_the_query_and_the_path_may_still_be_written_as_text(
    client: TestClient, draft: Case, officer: dict[str, str]
) -> None:
    assert client.get(f"/api/v1/cases/{draft.id}?", headers=officer).status_code == 200
    assert client.get("/api/v1/cases?offset=0&limit=5", headers=officer).status_code == 200


# ---- messages speak the domain's words ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "body", "named"),
    [
        ("/api/v1/merchants", _merchant(code="SHOP-1"), "商户编号 SHOP-1"),
        ("/api/v1/cameras", {"device_id": "{camera}", "name": "重复点位", "address": "示范路"}, "设备编号 {camera}"),
        (
            "/api/v1/cameras/{camera_id}/zones",
            {"code": "Z-ROAD", "name": "重复区域", "subject": "public_space"},
            "区域编号 Z-ROAD",
        ),
        (
            "/api/v1/users",
            {"username": "admin1", "display_name": "重复", "role": "officer", "password": "password-1234"},
            "用户名 admin1",
        ),
        ("/api/v1/gateways", {"device_id": "gw-1", "name": "重复网关"}, "网关编号 gw-1"),
    ],
    ids=["merchant-code", "camera-device-id", "zone-code", "username", "gateway"],
)
def test_a_duplicate_names_the_field_in_domain_words_never_the_databases(
    client: TestClient, world: World, admin: dict[str, str], path: str, body: dict[str, Any], named: str
) -> None:
    camera = world.cameras["main"]
    fill = {"camera": camera.device_id, "camera_id": str(camera.id)}
    sent = {name: value.format(**fill) if isinstance(value, str) else value for name, value in body.items()}
    rows = counts(world.components)
    response = client.post(path.format(**fill), json=sent, headers={**admin, **CHINESE})
    problem = refused(response, 409, "already_exists")
    assert named.format(**fill) in problem["detail"]
    assert "constraint" not in problem["detail"].lower()
    assert counts(world.components) == rows


def test_a_party_naming_an_unknown_merchant_is_told_so_in_words(
    client: TestClient, world: World, draft: Case, officer: dict[str, str]
) -> None:
    before = case_state(world.components, draft.id)
    body = {
        "version": draft.version,
        "kind": "individual",
        "name": "张三",
        "id_number": id_card(7),
        "merchant_id": 999999,
    }
    response = client.post(f"/api/v1/cases/{draft.id}/party", json=body, headers={**officer, **CHINESE})
    problem = refused(response, 404, "not_found")
    assert "商户 999999 不存在" in problem["detail"]
    assert case_state(world.components, draft.id) == before


@pytest.mark.parametrize(
    ("role", "path", "body", "field", "listed"),
    [
        (
            Role.ADMIN,
            "/users",
            {"username": "root1", "display_name": "根", "role": "root", "password": "password-1234"},
            "body.role",
            "operator、officer",
        ),
        (Role.OPERATOR, "/detections/1/review", _review(decision="maybe"), "body.decision", "confirm、reject"),
        (
            Role.OFFICER,
            "/cases/{case}/delivery",
            {"version": 1, "method": "pigeon", "delivered_on": "2026-03-02"},
            "body.method",
            "、",
        ),
    ],
    ids=["role", "decision", "delivery-method"],
)
def test_an_unknown_choice_lists_the_allowed_values_plainly(
    client: TestClient,
    staff: Staff,
    draft: Case,
    role: Role,
    path: str,
    body: dict[str, Any],
    field: str,
    listed: str,
) -> None:
    message = field_refusal(client, staff, role, path.format(case=draft.id), body, field)
    assert listed in message
    for leak in ("<", "Role.", "'", " or "):
        assert leak not in message, message


def field_refusal(client: TestClient, staff: Staff, role: Role, path: str, body: dict[str, Any], field: str) -> str:
    """What a refused request's finding on ``field`` says, in Chinese."""
    response = client.post(f"/api/v1{path}", json=body, headers={**staff.headers(role), **CHINESE})
    problem = refused(response, 422, "invalid_request")
    return str(next(error["message"] for error in problem["errors"] if error["field"] == field))


@pytest.mark.parametrize(
    ("role", "path", "body", "field", "wanted"),
    [
        (
            Role.OFFICER,
            "/cases/{case}/party",
            {"version": 1, "kind": "individual", "name": "张三", "id_number": "123"},
            "body.id_number",
            "身份证号",
        ),
        (Role.ADMIN, "/merchants", _merchant(uscc="91310115MA1K0000"), "body.uscc", "统一社会信用代码"),
        (Role.ADMIN, "/merchants", _merchant(mobile="12345"), "body.mobile", "手机号"),
        (
            Role.ADMIN,
            "/cameras",
            {"device_id": "cam-x", "name": "点位", "address": "示范路", "gbt28181_id": "12"},
            "body.gbt28181_id",
            "GB/T 28181",
        ),
        (Role.ADMIN, "/merchants", _merchant(code="SHOP 2"), "body.code", "字母、数字"),
    ],
    ids=["id-number", "uscc", "mobile", "gbt28181", "code"],
)
def test_a_format_error_says_in_words_what_is_wanted_never_the_pattern(
    client: TestClient,
    staff: Staff,
    draft: Case,
    role: Role,
    path: str,
    body: dict[str, Any],
    field: str,
    wanted: str,
) -> None:
    message = field_refusal(client, staff, role, path.format(case=draft.id), body, field)
    assert wanted in message
    assert "^" not in message
    assert "[0-9" not in message


@pytest.mark.parametrize(
    ("path", "chinese_title"),
    [
        ("/api/v1/cases?limit=0", "请求参数不符合要求"),
        ("/api/v1/nowhere", "要查找的记录不存在"),
        ("/api/v1/cases/999999", "要查找的记录不存在"),
    ],
    ids=["invalid-request", "no-such-route", "no-such-case"],
)
def test_a_problems_title_is_told_in_the_readers_language(
    client: TestClient, officer: dict[str, str], path: str, chinese_title: str
) -> None:
    chinese = problem_of(client.get(path, headers={**officer, **CHINESE}))
    english = problem_of(client.get(path, headers={**officer, "Accept-Language": "en"}))
    assert chinese["title"] == chinese_title
    assert english["title"] != chinese["title"]
    assert english["title"].isascii()


# ---- bodies that are not JSON -------------------------------------------------------------------------------------
def test_a_json_body_sent_as_plain_text_is_an_unsupported_media_type(
    client: TestClient, world: World, draft: Case, officer: dict[str, str]
) -> None:
    before = case_state(world.components, draft.id)
    headers = {**officer, "Content-Type": "text/plain"}
    response = client.post(f"/api/v1/cases/{draft.id}/file", content=b'{"version": 1}', headers=headers)
    assert "application/json" in refused(response, 415, "unsupported_media_type")["detail"]
    assert case_state(world.components, draft.id) == before


def test_a_json_body_that_is_not_utf8_is_told_as_such(
    client: TestClient, world: World, draft: Case, officer: dict[str, str]
) -> None:
    headers = {**officer, **CHINESE, "Content-Type": "application/json"}
    response = client.post(f"/api/v1/cases/{draft.id}/file", content=b'{"version": "\xff\xfe"}', headers=headers)
    assert response.status_code in (400, 422), response.text
    detail = problem_of(response)["detail"]
    assert "JSON" in detail
    assert "表单" not in detail


@pytest.mark.parametrize(
    ("content", "told"),
    [
        (b'{"version": 1', "第 14 个字符处有语法错误"),  # cut short: the end is where it breaks
        (b'{"version": 1,}', "第 15 个字符处有语法错误"),
        (b"hello", "第 1 个字符处有语法错误"),
        (b"version=1", "第 1 个字符处有语法错误"),  # a form's encoding, labelled JSON
        (b"[" * 50_000 + b"]" * 50_000, "嵌套不可过深"),
        (b'{"version": ' + b"9" * 5_000 + b"}", "数字不可过长"),
    ],
    ids=["cut-short", "trailing-comma", "not-json", "form-encoded", "nested-50000-deep", "a-5000-digit-number"],
)
def test_a_body_that_cannot_be_read_as_json_is_a_malformed_request_that_names_no_field(
    client: TestClient, world: World, draft: Case, officer: dict[str, str], content: bytes, told: str
) -> None:
    """A body that is not JSON has no field to name: the answer says where the text breaks, or what JSON the
    service cannot read, not that a field "body.13" is wrong."""
    before = case_state(world.components, draft.id)
    headers = {**officer, **CHINESE, "Content-Type": "application/json"}
    response = client.post(f"/api/v1/cases/{draft.id}/file", content=content, headers=headers)
    problem = refused(response, 400, "malformed_request")
    assert told in problem["detail"]
    assert "errors" not in problem
    assert case_state(world.components, draft.id) == before


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_number_that_is_not_finite_is_refused_as_such(
    client: TestClient, world: World, admin: dict[str, str], number: str
) -> None:
    """JSON has no NaN, but Python's reader takes one: it was told "须不大于 180.0", which it is not either."""
    content = f'{{"device_id": "cam-nan", "name": "测试点位", "address": "示范路", "longitude": {number}}}'.encode()
    headers = {**admin, **CHINESE, "Content-Type": "application/json"}
    problem = refused(client.post("/api/v1/cameras", content=content, headers=headers), 422, "invalid_request")
    assert problem["errors"] == [{"field": "body.longitude", "message": "须为有限的数字（不可为 NaN 或无穷大）"}]
    with pytest.raises(NotFound):
        world.components.registry.find_camera("cam-nan")


def test_a_text_holding_a_lone_surrogate_is_refused_naming_the_field_and_why(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    """JSON may escape half of a UTF-16 pair alone ("\\ud800"); no text can hold it. Told so, not in general terms."""
    content = '{"device_id": "cam-x", "name": "\\ud800", "address": "示范路"}'.encode()
    headers = {**admin, **CHINESE, "Content-Type": "application/json"}
    problem = refused(client.post("/api/v1/cameras", content=content, headers=headers), 422, "invalid_request")
    assert problem["errors"] == [
        {"field": "body.name", "message": "含有无法编码的字符（单独的代理项 \\ud800–\\udfff）"}
    ]


# ---- searches and pages -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("wildcard", ["%25", "_", "%5C"], ids=["percent", "underscore", "backslash"])
def test_a_merchant_search_for_a_wildcard_character_finds_it_literally(
    client: TestClient, world: World, admin: dict[str, str], wildcard: str
) -> None:
    listed = client.get(f"/api/v1/merchants?q={wildcard}", headers=admin).json()
    assert listed["total"] == 0, listed


def test_a_merchant_search_still_finds_by_part_of_a_name(
    client: TestClient, world: World, admin: dict[str, str]
) -> None:
    assert client.get("/api/v1/merchants?q=小面", headers=admin).json()["total"] == 1


@pytest.mark.parametrize("parameter", ["offset=9223372036854775808", "offset=2147483648"])
def test_a_case_page_offset_beyond_what_the_database_counts_is_refused_naming_it(
    client: TestClient, officer: dict[str, str], parameter: str
) -> None:
    problem = refused(client.get(f"/api/v1/cases?{parameter}", headers=officer), 422, "invalid_request")
    assert [error["field"] for error in problem["errors"]] == ["query.offset"]


# ---- accounts -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("password", [" " * 12, "\u3000" * 12, "\u200b" * 12])
def test_a_blank_password_is_refused_naming_the_field(
    client: TestClient, world: World, admin: dict[str, str], password: str
) -> None:
    rows = counts(world.components)
    body = {"username": "blank", "display_name": "空白", "role": "officer", "password": password}
    problem = refused(client.post("/api/v1/users", json=body, headers=admin), 422, "invalid_request")
    assert "body.password" in [error["field"] for error in problem["errors"]]
    change = {"current_password": "password-1234", "new_password": password}
    problem = refused(client.post("/api/v1/auth/password", json=change, headers=admin), 422, "invalid_request")
    assert "body.new_password" in [error["field"] for error in problem["errors"]]
    assert counts(world.components) == rows


@pytest.mark.parametrize("twin", ["Admin1", "ADMIN1"])
def test_a_username_differing_only_in_case_already_exists(
    client: TestClient, world: World, admin: dict[str, str], twin: str
) -> None:
    rows = counts(world.components)
    body = {"username": twin, "display_name": "冒名", "role": "admin", "password": "password-1234"}
    problem = refused(client.post("/api/v1/users", json=body, headers=admin), 409, "already_exists")
    assert "admin1" in problem["detail"]
    assert counts(world.components) == rows
    signed_in = client.post("/api/v1/auth/token", data={"username": "admin1", "password": "password-1234"})
    assert signed_in.status_code == 200, signed_in.text


def test_a_username_differing_only_in_case_created_in_a_race_is_refused_by_the_database(
    client: TestClient, world: World, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the service's check cannot see: ``Admin1`` checked before ``admin1`` was stored (made here by
    passing its check once). The database's index refuses it, named as when the check sees it."""
    rows = counts(world.components)
    checks = iter([lambda session, username: None])
    original = accounts_module.refuse_username_taken
    monkeypatch.setattr(accounts_module, "refuse_username_taken", lambda s, u: next(checks, original)(s, u))
    body = {"username": "Admin1", "display_name": "冒名", "role": "admin", "password": "password-1234"}
    problem = refused(client.post("/api/v1/users", json=body, headers=admin), 409, "already_exists")
    assert "admin1" in problem["detail"]
    assert "Admin1" in problem["detail"]
    assert counts(world.components) == rows


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"name": "\u200b"}, "body.name"), ({"e_delivery_consent": "yes"}, "body.e_delivery_consent")],
    ids=["invisible-name", "consent-not-bool"],
)
def test_a_patch_refusal_names_the_field_alone_never_the_schemas_branches(
    client: TestClient, world: World, admin: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    merchant = world.merchant
    assert merchant is not None
    body = {"version": merchant.version, **changes}
    response = client.patch(f"/api/v1/merchants/{merchant.id}", json=body, headers=admin)
    assert [error["field"] for error in refused(response, 422, "invalid_request")["errors"]] == [field]
