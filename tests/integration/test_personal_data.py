"""规定第十六条: a party's identity number and mobile are read in full only through the one logged path
(``GET /cases/{id}`` for roles that may read personal data, each read written to ``personal_data_reads``);
the timeline, lists, pages and exports show them masked. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from cases.model.registry import mask_identifier, mask_mobile
from cases.model.staff import Role
from cases.persistence import tables
from tests.integration.conftest import Staff
from tests.integration.test_console import sign_in
from tests.integration.world import World, id_card

VENDOR = {"kind": "individual", "name": "刘某某", "id_number": id_card(7), "contact": "13700137000"}
CORRECTED = {"kind": "individual", "name": "刘某某", "id_number": id_card(8), "contact": "13700137001"}


def _step(client: TestClient, headers: dict[str, str], case: dict[str, Any], path: str, **body: Any) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/cases/{case['id']}/{path}", json={"version": case["version"], **body}, headers=headers
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _vendor_case(client: TestClient, world: World, officer: dict[str, str]) -> dict[str, Any]:
    """A street vendor's case whose party was confirmed, then corrected: two confirm_party events."""
    detection = world.detection("stall")
    case = client.post("/api/v1/cases", json={"detection_ids": [detection.id]}, headers=officer).json()
    case = _step(client, officer, case, "file")
    case = _step(client, officer, case, "party", **VENDOR, reason="现场核实")
    return _step(client, officer, case, "party", **CORRECTED, reason="身份证号更正")


def _reads(world: World, case_id: int) -> list[Any]:
    query = select(tables.personal_data_reads).where(tables.personal_data_reads.c.record_id == str(case_id))
    with world.components.engine.connect() as connection:
        return list(connection.execute(query))


def _full_values() -> list[str]:
    return [VENDOR["id_number"], VENDOR["contact"], CORRECTED["id_number"], CORRECTED["contact"]]


def test_the_timeline_masks_identity_numbers_and_mobiles_in_event_payloads_and_logs_no_read(
    client: TestClient, world: World, staff: Staff
) -> None:
    officer = staff.headers(Role.OFFICER)
    case = _vendor_case(client, world, officer)
    reads_before = _reads(world, case["id"])

    response = client.get(f"/api/v1/cases/{case['id']}/timeline", headers=officer)

    assert response.status_code == 200, response.text
    for full in _full_values():
        assert full not in response.text
    confirmed = [event for event in response.json() if event["action"] == "confirm_party"]
    assert [event["payload"]["party"]["id_number"] for event in confirmed] == [
        mask_identifier(VENDOR["id_number"]),
        mask_identifier(CORRECTED["id_number"]),
    ]
    assert confirmed[1]["payload"]["previous"]["contact"] == mask_mobile(VENDOR["contact"])
    assert confirmed[1]["payload"]["party"]["name"] == "刘某某"  # only the identifiers are hidden
    assert _reads(world, case["id"]) == reads_before


def test_no_list_page_or_export_shows_the_full_identity_number_or_mobile(
    client: TestClient, world: World, staff: Staff
) -> None:
    officer = staff.headers(Role.OFFICER)
    case = _vendor_case(client, world, officer)
    api_lists = [f"/api/v1/cases/{case['id']}/timeline", "/api/v1/cases", "/api/v1/cases/deadlines?within_days=365"]
    shown = {path: client.get(path, headers=officer) for path in api_lists}
    sign_in(client, world.components, Role.OFFICER)
    pages = [f"/console/cases/{case['id']}", "/console/cases", "/console/statistics", "/console/statistics.csv"]
    shown |= {path: client.get(path) for path in pages}

    for path, response in shown.items():
        assert response.status_code == 200, (path, response.text[:300])
        for full in _full_values():
            assert full not in response.text, f"{path} shows {full}"


def test_the_logged_read_still_returns_the_full_identity_and_records_who_read_it(
    client: TestClient, world: World, staff: Staff
) -> None:
    officer = staff.headers(Role.OFFICER)
    case = _vendor_case(client, world, officer)
    reads_before = len(_reads(world, case["id"]))

    full = client.get(f"/api/v1/cases/{case['id']}", headers=officer).json()

    assert (full["party_id_number"], full["party_contact"]) == (CORRECTED["id_number"], CORRECTED["contact"])
    reads = _reads(world, case["id"])
    assert len(reads) == reads_before + 1
    latest = reads[-1]
    assert (latest.actor, latest.record_type) == ("officer1", "case_party")
    assert latest.fields == "party_id_number,party_contact"
