"""The registries through the API: cameras and their certification, zones, merchants and sites with their
personal data masked in lists and every full read logged, and the all-or-nothing CSV import."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cases.clock import ManualClock
from cases.model.staff import Role
from cases.persistence import tables
from offsite.bootstrap import Components
from tests.integration.conftest import Staff, problem_of
from tests.integration.world import World, uscc

Headers = dict[str, str]
TODAY = dt.date(2026, 3, 2)  # the clock's start, in Shanghai


@pytest.fixture
def admin(staff: Staff) -> Headers:
    return staff.headers(Role.ADMIN)


@pytest.fixture
def officer(staff: Staff) -> Headers:
    return staff.headers(Role.OFFICER)


def count(components: Components, table: Any) -> int:
    with components.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def reads_logged(components: Components) -> list[Any]:
    with components.engine.connect() as connection:
        return list(connection.execute(select(tables.personal_data_reads).order_by(tables.personal_data_reads.c.id)))


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = problem_of(response)
    assert body["code"] == code, body
    return body


# ---- cameras ----------------------------------------------------------------------------------------------------
def certified_camera(**changes: Any) -> dict[str, Any]:
    return {
        "device_id": "cam-2",
        "name": "世纪大道口",
        "address": "浦东新区世纪大道 100 号",
        "gbt28181_id": "31011500001320000001",
        "longitude": 121.51,
        "latitude": 31.23,
        "legal_review_date": "2025-12-01",
        "legal_review_ref": "法审〔2025〕12 号",
        "technical_review_date": "2025-12-05",
        "technical_review_ref": "技审〔2025〕30 号",
        "next_maintenance_due": "2026-09-01",
        "published": True,
        "gateway_id": "gw-1",
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({}, []),
        ({"legal_review_date": None, "legal_review_ref": None}, ["no legal review (法制审核) recorded"]),
        ({"technical_review_date": None, "technical_review_ref": None}, ["no technical review (技术审核) recorded"]),
        ({"legal_review_date": "2026-03-03"}, ["legal review dated 2026-03-03 is after the capture"]),
        ({"next_maintenance_due": None}, ["no maintenance schedule recorded"]),
        ({"next_maintenance_due": "2026-03-01"}, ["maintenance was due 2026-03-01: certification lapsed"]),
        ({"published": False}, ["location not published"]),
        ({"status": "suspended"}, ["camera is suspended"]),
    ],
    ids=[
        "certified",
        "no-legal-review",
        "no-technical-review",
        "legal-review-in-the-future",
        "no-maintenance-schedule",
        "maintenance-overdue",
        "not-published",
        "suspended",
    ],
)
def test_a_new_camera_reports_why_its_evidence_of_today_would_not_count(
    client: TestClient, world: World, admin: Headers, changes: dict[str, Any], problems: list[str]
) -> None:
    response = client.post("/api/v1/cameras", json=certified_camera(**changes), headers=admin)
    assert response.status_code == 201, response.text
    camera = response.json()
    assert camera["certification_problems"] == problems
    assert (camera["device_id"], camera["version"], camera["gateway_id"]) == ("cam-2", 1, "gw-1")

    read = client.get(f"/api/v1/cameras/{camera['id']}", headers=admin).json()
    assert read == camera


def test_a_bare_camera_lists_every_missing_certification(client: TestClient, world: World, admin: Headers) -> None:
    bare = {"device_id": "cam-3", "name": "新点位", "address": "张江路 1 号"}
    camera = client.post("/api/v1/cameras", json=bare, headers=admin).json()
    assert camera["certification_problems"] == [
        "no legal review (法制审核) recorded",
        "no technical review (技术审核) recorded",
        "no maintenance schedule recorded",
        "location not published",
    ]
    listed = client.get("/api/v1/cameras", headers=admin).json()
    assert listed["total"] == 3
    assert {c["device_id"]: c["certification_problems"] == [] for c in listed["items"]} == {
        "cam-1": True,
        "cam-9": False,
        "cam-3": False,
    }


def test_certification_lapses_as_the_maintenance_date_passes(
    client: TestClient, world: World, admin: Headers, clock: ManualClock
) -> None:
    camera = world.cameras["main"]
    assert client.get(f"/api/v1/cameras/{camera.id}", headers=admin).json()["certification_problems"] == []
    clock.advance(dt.timedelta(days=201))
    problems = client.get(f"/api/v1/cameras/{camera.id}", headers=admin).json()["certification_problems"]
    assert problems == ["maintenance was due 2026-09-18: certification lapsed"]


def test_a_camera_update_with_the_current_version_applies_and_bumps_it(
    client: TestClient, world: World, admin: Headers
) -> None:
    camera = client.get(f"/api/v1/cameras/{world.cameras['uncertified'].id}", headers=admin).json()
    patch = {
        "version": camera["version"],
        "legal_review_date": "2026-02-01",
        "legal_review_ref": "法审 9",
        "technical_review_date": "2026-02-02",
        "technical_review_ref": "技审 9",
        "next_maintenance_due": "2026-12-31",
        "published": True,
    }
    response = client.patch(f"/api/v1/cameras/{camera['id']}", json=patch, headers=admin)
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["version"] == camera["version"] + 1
    assert updated["certification_problems"] == []
    assert (updated["name"], updated["address"]) == (camera["name"], camera["address"])  # untouched fields kept


def test_a_camera_update_based_on_a_stale_version_is_refused_and_changes_nothing(
    client: TestClient, world: World, admin: Headers
) -> None:
    path = f"/api/v1/cameras/{world.cameras['main'].id}"
    read = client.get(path, headers=admin).json()
    first = client.patch(path, json={"version": read["version"], "name": "张杨路口（东）"}, headers=admin)
    assert first.status_code == 200, first.text

    stale = client.patch(path, json={"version": read["version"], "name": "张杨路口（西）"}, headers=admin)
    assert f"version {read['version']}" in refused(stale, 409, "version_conflict")["detail"]
    now = client.get(path, headers=admin).json()
    assert (now["name"], now["version"]) == ("张杨路口（东）", read["version"] + 1)


@pytest.mark.parametrize(
    ("changes", "status", "code", "named"),
    [
        ({"legal_review_ref": None}, 422, "invalid_input", "legal review"),
        ({"technical_review_date": None}, 422, "invalid_input", "technical review"),
        ({"gbt28181_id": "123"}, 422, "invalid_request", "gbt28181_id"),
        ({"longitude": 181.0}, 422, "invalid_request", "longitude"),
        ({"latitude": -91.0}, 422, "invalid_request", "latitude"),
        ({"device_id": "cam 2"}, 422, "invalid_request", "device_id"),
        ({"status": "broken"}, 422, "invalid_request", "status"),
        ({"gateway_id": "gw-404"}, 404, "not_found", "gw-404"),
        ({"device_id": "cam-1"}, 409, "already_exists", "device_id"),
    ],
    ids=[
        "legal-review-without-ref",
        "technical-review-without-date",
        "gbt28181-short",
        "longitude",
        "latitude",
        "device-id-with-space",
        "status-unknown",
        "gateway-unregistered",
        "device-id-taken",
    ],
)
def test_an_invalid_camera_is_refused_and_not_stored(
    client: TestClient, world: World, admin: Headers, changes: dict[str, Any], status: int, code: str, named: str
) -> None:
    cameras = count(world.components, tables.cameras)
    response = client.post("/api/v1/cameras", json=certified_camera(**changes), headers=admin)
    assert named in refused(response, status, code)["detail"]
    assert count(world.components, tables.cameras) == cameras


# ---- zones ------------------------------------------------------------------------------------------------------
def test_zones_are_created_on_a_camera_and_listed_with_it(client: TestClient, world: World, admin: Headers) -> None:
    assert world.merchant is not None
    camera_id = world.cameras["uncertified"].id
    polygon = [[0.1, 0.1], [0.6, 0.1], [0.6, 0.9]]
    shop = {
        "code": "Z-SHOP-9",
        "name": "面馆侧门",
        "subject": "merchant",
        "merchant_id": world.merchant.id,
        "polygon": polygon,
    }
    created = client.post(f"/api/v1/cameras/{camera_id}/zones", json=shop, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json() | {"id": None} == {**shop, "id": None, "camera_id": camera_id, "site_id": None}

    zones = client.get(f"/api/v1/cameras/{camera_id}/zones", headers=admin).json()
    assert [z["code"] for z in zones] == ["Z-X", "Z-SHOP-9"]


@pytest.mark.parametrize(
    ("zone", "status", "code", "named"),
    [
        ({"subject": "merchant"}, 422, "invalid_input", "merchant zone"),
        ({"subject": "site"}, 422, "invalid_input", "site zone"),
        ({"subject": "site", "merchant_id": "MERCHANT"}, 422, "invalid_input", "site zone"),
        ({"subject": "public_space", "merchant_id": "MERCHANT"}, 422, "invalid_input", "public_space zone"),
        ({"subject": "merchant", "merchant_id": "MERCHANT", "site_id": "SITE"}, 422, "invalid_input", "merchant zone"),
        ({"subject": "merchant", "merchant_id": 999999}, 404, "not_found", "merchant 999999"),
        ({"subject": "site", "site_id": 999999}, 404, "not_found", "site 999999"),
        ({"subject": "public_space", "polygon": [[0.1, 0.1], [0.2, 0.2]]}, 422, "invalid_input", "3 points"),
        ({"subject": "public_space", "polygon": [[0.1, 0.1], [1.2, 0.2], [0.3, 0.3]]}, 422, "invalid_input", "0..1"),
        ({"subject": "public_space", "polygon": [[0, 0], [0, 0], [0, 0]]}, 422, "invalid_input", "no area"),
        ({"subject": "public_space", "polygon": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]}, 422, "invalid_input", "no area"),
        ({"subject": "public_space", "polygon": [[0, 0], [1, 0], [0, 1], [1, 1]]}, 422, "invalid_input", "cross"),
        ({"subject": "public_space", "polygon": [[0.5, 0.5]] * 30_000}, 422, "invalid_input", "at most 100"),
        ({"subject": "public_space", "code": "Z-ROAD"}, 409, "already_exists", "code"),
        ({"subject": "parking"}, 422, "invalid_request", "subject"),
    ],
    ids=[
        "merchant-zone-without-merchant",
        "site-zone-without-site",
        "site-zone-with-a-merchant",
        "public-zone-with-a-merchant",
        "merchant-zone-with-a-site-too",
        "unknown-merchant",
        "unknown-site",
        "polygon-of-two-points",
        "polygon-outside-the-image",
        "polygon-of-one-point-thrice",
        "polygon-on-a-line",
        "polygon-crossing-itself",
        "polygon-of-30000-points",
        "code-taken-on-this-camera",
        "subject-unknown",
    ],
)
def test_an_invalid_zone_is_refused_and_not_stored(
    client: TestClient, world: World, admin: Headers, zone: dict[str, Any], status: int, code: str, named: str
) -> None:
    assert world.merchant is not None
    assert world.site is not None
    links = {"MERCHANT": world.merchant.id, "SITE": world.site.id}
    body = {
        "code": "Z-NEW",
        "name": "新区域",
        **{k: links.get(v, v) if isinstance(v, str) else v for k, v in zone.items()},
    }
    zones = count(world.components, tables.zones)
    response = client.post(f"/api/v1/cameras/{world.cameras['main'].id}/zones", json=body, headers=admin)
    assert named in refused(response, status, code)["detail"]
    assert count(world.components, tables.zones) == zones


def test_the_same_zone_code_may_be_used_on_another_camera(client: TestClient, world: World, admin: Headers) -> None:
    body = {"code": "Z-ROAD", "name": "另一个路口", "subject": "public_space"}
    response = client.post(f"/api/v1/cameras/{world.cameras['uncertified'].id}/zones", json=body, headers=admin)
    assert response.status_code == 201, response.text


# ---- personal data: masked in lists, logged when read in full --------------------------------------------------
def test_the_merchant_list_masks_mobile_and_credit_code_and_logs_no_read(
    client: TestClient, world: World, staff: Staff
) -> None:
    for role in (Role.OPERATOR, Role.OFFICER, Role.ADMIN):
        listed = client.get("/api/v1/merchants", headers=staff.headers(role)).json()
        assert listed["total"] == 1
        (shop,) = listed["items"]
        assert shop["mobile"] == "138****8000"
        assert shop["uscc"] == uscc(1)[:4] + "*" * 10 + uscc(1)[-4:]
        assert (shop["code"], shop["name"]) == ("SHOP-1", "浦东小面馆")
    assert reads_logged(world.components) == []


def test_a_full_merchant_read_shows_personal_data_and_is_logged_with_actor_record_and_fields(
    client: TestClient, world: World, staff: Staff
) -> None:
    assert world.merchant is not None
    path = f"/api/v1/merchants/{world.merchant.id}"
    shop = client.get(path, headers=staff.headers(Role.OFFICER)).json()
    assert (shop["mobile"], shop["uscc"]) == ("13800138000", uscc(1))

    assert client.get(path, headers=staff.headers(Role.SUPERVISOR)).status_code == 200
    reads = reads_logged(world.components)
    assert [(r.actor, r.role, r.record_type, r.record_id, r.fields) for r in reads] == [
        ("officer1", "officer", "merchant", "SHOP-1", "mobile,uscc"),
        ("supervisor1", "supervisor", "merchant", "SHOP-1", "mobile,uscc"),
    ]
    assert all(r.at == world.components.clock.now() for r in reads)
    assert all(str(world.merchant.id) in r.purpose for r in reads)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN])
def test_a_refused_full_read_shows_nothing_and_logs_nothing(
    client: TestClient, world: World, staff: Staff, role: Role
) -> None:
    assert world.merchant is not None
    response = client.get(f"/api/v1/merchants/{world.merchant.id}", headers=staff.headers(role))
    body = refused(response, 403, "forbidden")
    assert "13800138000" not in response.text
    assert "mobile" not in body
    assert reads_logged(world.components) == []


def test_a_merchant_update_answers_with_masked_personal_data(client: TestClient, world: World, admin: Headers) -> None:
    assert world.merchant is not None
    patch = {"version": world.merchant.version, "mobile": "13912345678"}
    response = client.patch(f"/api/v1/merchants/{world.merchant.id}", json=patch, headers=admin)
    assert response.status_code == 200, response.text
    assert (response.json()["mobile"], response.json()["version"]) == ("139****5678", world.merchant.version + 1)
    assert reads_logged(world.components) == []


def test_the_site_list_masks_contacts_and_a_full_read_is_logged(client: TestClient, world: World, staff: Staff) -> None:
    assert world.site is not None
    listed = client.get("/api/v1/sites", headers=staff.headers(Role.OPERATOR)).json()
    (site,) = listed["items"]
    assert site["contact_phone"] == "139****9000"
    assert site["contractor_uscc"] == uscc(2)[:4] + "*" * 10 + uscc(2)[-4:]
    assert reads_logged(world.components) == []

    full = client.get(f"/api/v1/sites/{world.site.id}", headers=staff.headers(Role.LEGAL_REVIEWER)).json()
    assert (full["contact_phone"], full["contractor_uscc"]) == ("13900139000", uscc(2))
    (read,) = reads_logged(world.components)
    assert (read.actor, read.record_type, read.record_id) == ("legal_reviewer1", "site", "PERMIT-1")
    assert set(read.fields.split(",")) == {"contact_phone", "contractor_uscc", "responsible_person"}


def test_merchants_are_searched_by_name_code_or_address(client: TestClient, world: World, admin: Headers) -> None:
    for n, (code, name, address) in enumerate(
        [("SHOP-2", "浦东茶馆", "商城路 610 号"), ("TEA-3", "静安茶铺", "南京西路 1 号")]
    ):
        body = {"code": code, "name": name, "address": address, "uscc": uscc(10 + n)}
        assert client.post("/api/v1/merchants", json=body, headers=admin).status_code == 201

    def found(q: str) -> list[str]:
        return [m["code"] for m in client.get("/api/v1/merchants", params={"q": q}, headers=admin).json()["items"]]

    assert found("茶") == ["SHOP-2", "TEA-3"]
    assert found("SHOP") == ["SHOP-1", "SHOP-2"]
    assert found("商城路") == ["SHOP-1", "SHOP-2"]
    assert found("无此店") == []


# ---- CSV import -------------------------------------------------------------------------------------------------
HEADER = "code,name,address,uscc,mobile,e_delivery_consent,consent_document_ref"


def merchant_row(n: int, name: str | None = None) -> str:
    consent = n % 3 == 0
    return ",".join(
        [
            f"M-{n:05d}",
            name or f"商户{n}",
            f"示范路 {n} 号",
            uscc(100 + n),
            f"138{n:08d}",
            "是" if consent else "否",
            f"同意书-{n}" if consent else "",
        ]
    )


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def upload(client: TestClient, headers: Headers, content: bytes, kind: str = "merchants", **params: Any) -> Any:
    files = {"file": ("shops.csv", content, "text/csv")}
    return client.post(f"/api/v1/imports/{kind}", files=files, params=params, headers=headers)


def stored_merchants(components: Components) -> dict[str, Any]:
    with components.engine.connect() as connection:
        return {row.code: row for row in connection.execute(select(tables.merchants))}


def test_a_good_file_of_500_merchants_is_imported(client: TestClient, world: World, admin: Headers) -> None:
    response = upload(client, admin, csv_file(*(merchant_row(n) for n in range(1, 501))))
    assert response.status_code == 200, response.text
    assert response.json() == {"kind": "merchants", "inserted": 500, "updated": 0, "written": True, "rejected": []}

    stored = stored_merchants(world.components)
    assert len(stored) == 501  # and SHOP-1
    m3 = stored["M-00003"]
    assert (m3.name, m3.address, m3.uscc, m3.mobile) == ("商户3", "示范路 3 号", uscc(103), "13800000003")
    assert (m3.e_delivery_consent, m3.consent_document_ref, m3.version) == (True, "同意书-3", 1)
    assert (stored["M-00004"].e_delivery_consent, stored["M-00004"].consent_document_ref) == (False, None)


def test_a_second_import_updates_known_codes_bumping_their_version_and_inserts_new_ones(
    client: TestClient, world: World, admin: Headers
) -> None:
    assert upload(client, admin, csv_file(*(merchant_row(n) for n in range(1, 501)))).status_code == 200

    changed = [merchant_row(n, name=f"商户{n}（更名）") for n in range(1, 101)]
    added = [merchant_row(n) for n in range(501, 511)]
    response = upload(client, admin, csv_file(*changed, *added))
    assert response.status_code == 200, response.text
    assert (response.json()["inserted"], response.json()["updated"], response.json()["rejected"]) == (10, 100, [])

    stored = stored_merchants(world.components)
    assert len(stored) == 511
    assert (stored["M-00001"].name, stored["M-00001"].version) == ("商户1（更名）", 2)
    assert (stored["M-00200"].name, stored["M-00200"].version) == ("商户200", 1)
    assert stored["M-00510"].version == 1

    shop = client.get("/api/v1/merchants?q=M-00001", headers=admin).json()["items"][0]
    assert (shop["name"], shop["version"]) == ("商户1（更名）", 2)


def test_an_import_may_update_only_the_columns_it_carries(client: TestClient, world: World, admin: Headers) -> None:
    response = upload(client, admin, csv_file("SHOP-1,浦东小面馆（新）,商城路 602 号", header="code,name,address"))
    assert response.status_code == 200, response.text
    shop = stored_merchants(world.components)["SHOP-1"]
    assert (shop.name, shop.uscc, shop.mobile, shop.version) == ("浦东小面馆（新）", uscc(1), "13800138000", 2)


BAD_ROWS = [
    ("M-90001,坏信用代码,示范路,91310115MA1K00000X,13800000001,否,", "uscc"),
    ("M-90002,坏手机,示范路,,1380000000,否,", "mobile"),
    ("M-90003,,示范路,,,否,", "name"),
    ("M 90004,空格代码,示范路,,,否,", "merchant code"),
    ("M-90005,无同意书,示范路,,,是,", "consent"),
    ("M-90006,布尔值,示范路,,,也许,", "yes/no"),
    ("M-00001,重复代码,示范路,,,否,", "appears twice"),
]


def test_a_file_with_one_bad_row_is_rejected_whole_naming_the_line_and_reason(
    client: TestClient, world: World, admin: Headers
) -> None:
    rows = [merchant_row(n) for n in range(1, 501)]
    rows.insert(250, "M-99999,坏手机号,示范路 1 号,,12345,否,")  # the file's line 252: header, then 250 good rows
    before = stored_merchants(world.components)

    response = upload(client, admin, csv_file(*rows))
    problem = refused(response, 422, "csv_rows_rejected")
    assert "nothing was imported" in problem["detail"]
    report = problem["report"]
    assert (report["inserted"], report["updated"], report["written"]) == (0, 0, False)
    (rejected,) = report["rejected"]
    assert (rejected["line"], rejected["key"]) == (252, "M-99999")
    assert "mobile" in rejected["error"]
    assert stored_merchants(world.components) == before


def test_every_bad_row_is_reported_with_its_line_and_reason(client: TestClient, world: World, admin: Headers) -> None:
    good = [merchant_row(n) for n in range(1, 4)]
    rows = [*good, *(row for row, _ in BAD_ROWS)]
    response = upload(client, admin, csv_file(*rows))
    report = refused(response, 422, "csv_rows_rejected")["report"]
    assert [r["line"] for r in report["rejected"]] == list(range(5, 5 + len(BAD_ROWS)))
    for rejected, (row, reason) in zip(report["rejected"], BAD_ROWS, strict=True):
        assert reason in rejected["error"], (row, rejected)
    assert set(stored_merchants(world.components)) == {"SHOP-1"}


def test_with_allow_partial_the_good_rows_are_written_and_the_bad_listed(
    client: TestClient, world: World, admin: Headers
) -> None:
    good = [merchant_row(n) for n in range(1, 101)]
    rows = [*good, *(row for row, _ in BAD_ROWS)]
    response = upload(client, admin, csv_file(*rows), allow_partial="true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["inserted"], report["updated"], report["written"]) == (100, 0, True)
    assert [r["line"] for r in report["rejected"]] == list(range(102, 102 + len(BAD_ROWS)))
    stored = stored_merchants(world.components)
    assert len(stored) == 101
    assert stored["M-00001"].name == "商户1"  # the first of a duplicated code wins; its repeat is reported
    assert not {"M-90001", "M-90002", "M-90005"} & set(stored)


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("code,name", "address"),
        ("code,name,address,phone", "phone"),
        ("编号,名称,地址", "code"),
        ("", "code"),
    ],
    ids=["missing-column", "unknown-column", "chinese-header", "empty-file"],
)
def test_a_file_with_a_bad_header_is_refused_whole(
    client: TestClient, world: World, admin: Headers, header: str, named: str
) -> None:
    content = csv_file("M-1,商户,示范路", header=header) if header else b""
    response = upload(client, admin, content)
    problem = refused(response, 422, "invalid_input")
    assert "header" in problem["detail"]
    assert named in problem["detail"]
    assert set(stored_merchants(world.components)) == {"SHOP-1"}


def test_a_file_that_is_not_utf8_is_refused(client: TestClient, world: World, admin: Headers) -> None:
    content = "code,name,address\nM-1,浦东小面馆,商城路\n".encode("gbk")
    problem = refused(upload(client, admin, content), 422, "invalid_input")
    assert "UTF-8" in problem["detail"]
    assert set(stored_merchants(world.components)) == {"SHOP-1"}


def test_a_utf8_file_with_a_byte_order_mark_is_read(client: TestClient, world: World, admin: Headers) -> None:
    content = "\ufeffcode,name,address\nM-1,浦东小面馆二店,商城路 700 号\n".encode()
    response = upload(client, admin, content)
    assert response.status_code == 200, response.text
    assert stored_merchants(world.components)["M-1"].name == "浦东小面馆二店"


def test_an_import_of_an_unknown_kind_is_refused(client: TestClient, world: World, admin: Headers) -> None:
    response = upload(client, admin, csv_file(merchant_row(1)), kind="vehicles")
    assert "kind" in refused(response, 422, "invalid_request")["detail"]  # the document lists the kinds
    assert set(stored_merchants(world.components)) == {"SHOP-1"}


def test_an_import_without_a_file_is_an_invalid_request(client: TestClient, admin: Headers) -> None:
    response = client.post("/api/v1/imports/merchants", headers=admin)
    problem = refused(response, 422, "invalid_request")
    assert "body.file" in [e["field"] for e in problem["errors"]]


def test_sites_are_imported_by_permit_number(client: TestClient, world: World, admin: Headers) -> None:
    header = "permit_number,name,address,contractor,contractor_uscc,responsible_person,contact_phone"
    rows = [f"PERMIT-{n},项目{n},大道 {n} 号,建工{n},{uscc(300 + n)},王工,1390000{n:04d}" for n in range(2, 12)]
    rows.append("PERMIT-1,前滩项目（二期）,前滩大道 200 号,上海建工示例有限公司,,赵工,13900139000")
    response = upload(client, admin, csv_file(*rows, header=header), kind="sites")
    assert response.status_code == 200, response.text
    assert (response.json()["inserted"], response.json()["updated"]) == (10, 1)
    assert count(world.components, tables.sites) == 11


@pytest.mark.parametrize(
    ("column", "value"),
    [("name", "长" * 201), ("address", "路" * 201), ("consent_document_ref", "x" * 101)],
    ids=["name-201-chars", "address-201-chars", "consent-ref-101-chars"],
)
def test_a_row_with_a_value_longer_than_the_registry_holds_is_rejected_by_line(
    client: TestClient, world: World, admin: Headers, column: str, value: str
) -> None:
    values = {
        "code": "M-LONG",
        "name": "商户",
        "address": "示范路",
        "e_delivery_consent": "是",
        "consent_document_ref": "同意书",
    }
    values[column] = value
    content = csv_file(",".join(values.values()), header=",".join(values))
    client_without_raise = TestClient(client.app, raise_server_exceptions=False)
    response = upload(client_without_raise, admin, content)
    report = refused(response, 422, "csv_rows_rejected")["report"]
    assert [(r["line"], r["key"]) for r in report["rejected"]] == [(2, "M-LONG")]
    assert column in report["rejected"][0]["error"]
    assert set(stored_merchants(world.components)) == {"SHOP-1"}
