"""A CSV import that updates known records: a row carrying only some columns is merged over the stored record
and the merged record validated, and an update is written only if the record is still as it was read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Insert, Select, event, select, update

from cases.clock import ManualClock
from cases.errors import ConcurrentModification
from cases.model.registry import Merchant
from cases.model.staff import Role
from cases.persistence import tables
from cases.services import csv_import
from offsite.bootstrap import Components
from tests.integration.conftest import Staff, problem_of
from tests.integration.world import World, uscc

Headers = dict[str, str]


@pytest.fixture
def admin(staff: Staff) -> Headers:
    return staff.headers(Role.ADMIN)


@pytest.fixture
def consenting(world: World) -> Merchant:
    """A shop that consented to electronic delivery, with its signed consent on file."""
    return world.components.registry.create_merchant(
        Merchant("SHOP-C", "同意送达小店", "商城路 610 号", uscc(7), "13700137000", True, "同意书-SHOP-C")
    )


def csv_file(header: str, *rows: str) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def upload(client: TestClient, headers: Headers, content: bytes, kind: str = "merchants", **params: Any) -> Any:
    files = {"file": (f"{kind}.csv", content, "text/csv")}
    return client.post(f"/api/v1/imports/{kind}", files=files, params=params, headers=headers)


def stored(components: Components, table: Any = tables.merchants, key: str = "code") -> dict[str, Any]:
    with components.engine.connect() as connection:
        return {row._mapping[key]: row for row in connection.execute(select(table))}


def rejected_rows(response: Any) -> list[tuple[int, str | None, str]]:
    assert response.status_code == 422, response.text
    body = problem_of(response)
    assert body["code"] == "csv_rows_rejected", body
    assert body["report"]["written"] is False
    return [(r["line"], r["key"], r["error"]) for r in body["report"]["rejected"]]


# ---- merged validation ----------------------------------------------------------------------------------------
def test_emptying_the_consent_document_of_a_consenting_merchant_is_rejected_by_line_and_nothing_written(
    client: TestClient, world: World, admin: Headers, consenting: Merchant
) -> None:
    before = stored(world.components)
    content = csv_file(
        "code,name,address,consent_document_ref",
        "M-NEW,新店,示范路 1 号,",
        "SHOP-C,同意送达小店,商城路 610 号,",  # the stored record consents: it may not lose its document
    )
    [(line, key, error)] = rejected_rows(upload(client, admin, content))
    assert (line, key) == (3, "SHOP-C")
    assert "consent" in error
    assert stored(world.components) == before  # not even the good new row

    shop = stored(world.components)["SHOP-C"]
    assert (shop.e_delivery_consent, shop.consent_document_ref, shop.version) == (True, "同意书-SHOP-C", 1)


def test_with_allow_partial_the_merged_record_that_fails_is_reported_and_the_rest_written(
    client: TestClient, world: World, admin: Headers, consenting: Merchant
) -> None:
    content = csv_file("code,name,address,consent_document_ref", "M-NEW,新店,示范路 1 号,", "SHOP-C,改名,新址,")
    response = upload(client, admin, content, allow_partial="true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["inserted"], report["updated"], report["written"]) == (1, 0, True)
    assert [(r["line"], r["key"]) for r in report["rejected"]] == [(3, "SHOP-C")]
    after = stored(world.components)
    assert after["M-NEW"].version == 1
    assert (after["SHOP-C"].name, after["SHOP-C"].consent_document_ref) == ("同意送达小店", "同意书-SHOP-C")


def test_a_partial_row_valid_only_with_the_stored_values_is_accepted(
    client: TestClient, world: World, admin: Headers, consenting: Merchant
) -> None:
    """Consent without a document column: the stored document makes the record whole."""
    content = csv_file("code,name,address,e_delivery_consent", "SHOP-C,同意送达小店（新）,商城路 610 号,是")
    response = upload(client, admin, content)
    assert response.status_code == 200, response.text
    assert (response.json()["inserted"], response.json()["updated"]) == (0, 1)
    shop = stored(world.components)["SHOP-C"]
    assert (shop.name, shop.e_delivery_consent, shop.consent_document_ref, shop.version) == (
        "同意送达小店（新）",
        True,
        "同意书-SHOP-C",
        2,
    )


def test_consent_given_by_csv_to_a_merchant_without_a_stored_document_is_rejected(
    client: TestClient, world: World, admin: Headers
) -> None:
    content = csv_file("code,name,address,e_delivery_consent", "SHOP-1,浦东小面馆,商城路 602 号,是")
    [(line, key, error)] = rejected_rows(upload(client, admin, content))
    assert (line, key) == (2, "SHOP-1")
    assert "consent" in error
    assert stored(world.components)["SHOP-1"].e_delivery_consent is False


def test_a_camera_row_emptying_half_of_a_stored_review_is_rejected(
    client: TestClient, world: World, admin: Headers
) -> None:
    content = csv_file("device_id,name,address,legal_review_ref", "cam-1,张杨路口,浦东新区张杨路 1 号,")
    [(line, key, error)] = rejected_rows(upload(client, admin, content, kind="cameras"))
    assert (line, key) == (2, "cam-1")
    assert "legal review" in error
    camera = stored(world.components, tables.cameras, "device_id")["cam-1"]
    assert (camera.legal_review_ref, camera.version) == ("法审 1", 1)


def test_a_camera_row_moving_only_the_review_date_keeps_the_stored_reference(
    client: TestClient, world: World, admin: Headers, clock: ManualClock
) -> None:
    reviewed = clock.today() - dt.timedelta(days=10)
    content = csv_file(
        "device_id,name,address,legal_review_date", f"cam-1,张杨路口,浦东新区张杨路 1 号,{reviewed.isoformat()}"
    )
    response = upload(client, admin, content, kind="cameras")
    assert response.status_code == 200, response.text
    camera = stored(world.components, tables.cameras, "device_id")["cam-1"]
    assert (camera.legal_review_date, camera.legal_review_ref, camera.version) == (reviewed, "法审 1", 2)


def test_a_site_row_with_a_bad_contact_phone_is_rejected_against_the_stored_site(
    client: TestClient, world: World, admin: Headers
) -> None:
    content = csv_file("permit_number,name,address,contractor,contact_phone", "PERMIT-1,前滩项目,前滩大道,建工,123")
    [(line, key, error)] = rejected_rows(upload(client, admin, content, kind="sites"))
    assert (line, key) == (2, "PERMIT-1")
    assert "contact_phone" in error
    assert stored(world.components, tables.sites, "permit_number")["PERMIT-1"].contact_phone == "13900139000"


def test_a_row_with_more_cells_than_the_header_is_rejected_not_shifted(
    client: TestClient, world: World, admin: Headers
) -> None:
    content = csv_file("code,name,address,mobile", "M-1,甲店,一号, 2 栋,13800138000")  # an unquoted comma
    [(line, key, error)] = rejected_rows(upload(client, admin, content))
    assert (line, key) == (2, "M-1")
    assert "5 cells" in error
    assert "M-1" not in stored(world.components)


@pytest.mark.parametrize(
    ("rows", "line"),
    [(["M-1,甲店,一号", 'M-2,"乙店,二号'], 3), (['M-1,"甲"店,一号', "M-2,乙店,二号"], 2)],
    ids=["a-quote-never-closed", "text-after-a-closing-quote"],
)
def test_a_file_whose_quotes_do_not_pair_is_refused_naming_the_line_and_nothing_is_written(
    client: TestClient, world: World, admin: Headers, rows: list[str], line: int
) -> None:
    """An unclosed quote would swallow the rest of the file into one value (a spreadsheet cut short, a stray
    quote): the file is refused, not read that way, whatever the allow_partial flag says."""
    for params in ({}, {"allow_partial": "true"}):
        response = upload(client, admin, csv_file("code,name,address", *rows), **params)
        assert (response.status_code, problem_of(response)["code"]) == (422, "invalid_input"), response.text
        assert f"line {line}: a quoted value is not closed" in problem_of(response)["detail"]
        assert not {"M-1", "M-2"} & set(stored(world.components))


# ---- the version read -----------------------------------------------------------------------------------------
def test_a_record_changed_during_the_import_aborts_it_and_nothing_is_written(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Someone renames SHOP-1 after the import read it and before it writes: the import's update, based on the
    version it read, matches no row, and the whole import rolls back, the new row included.

    On PostgreSQL the rename is committed by another connection in between. SQLite's import holds the write lock
    from BEGIN, so no other writer can come in between: there the rename is made inside the import's own
    transaction, which the abort rolls back with the rest."""
    components = world.components
    real_load = csv_import._load
    postgres = components.engine.dialect.name == "postgresql"
    rename = (
        update(tables.merchants)
        .where(tables.merchants.c.code == "SHOP-1")
        .values(name="别人改的名", version=tables.merchants.c.version + 1)
    )

    def load_then_someone_renames(session: Any, table: Any, column: Any, keys: Any, lock: bool = False) -> Any:
        found = real_load(session, table, column, keys, lock)
        if postgres:
            with components.engine.begin() as other:
                other.execute(rename)
        else:
            session.execute(rename)
        return found

    monkeypatch.setattr(csv_import, "_load", load_then_someone_renames)
    content = csv_file("code,name,address", "M-NEW,新店,示范路 1 号", "SHOP-1,浦东小面馆（新）,商城路 602 号")
    with pytest.raises(ConcurrentModification, match="SHOP-1"):
        components.imports.import_csv("merchants", content)

    after = stored(components)
    assert "M-NEW" not in after
    expected = ("别人改的名", 2) if postgres else ("浦东小面馆", 1)
    assert (after["SHOP-1"].name, after["SHOP-1"].version) == expected


def test_the_api_answers_a_concurrent_change_with_409(
    client: TestClient, world: World, admin: Headers, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = csv_import._load

    def load_with_a_stale_version(session: Any, table: Any, column: Any, keys: Any, lock: bool = False) -> Any:
        return [{**row, "version": row["version"] - 1} for row in real_load(session, table, column, keys, lock)]

    monkeypatch.setattr(csv_import, "_load", load_with_a_stale_version)
    response = upload(client, admin, csv_file("code,name,address", "SHOP-1,浦东小面馆（新）,商城路 602 号"))
    assert response.status_code == 409, response.text
    assert problem_of(response)["code"] == "version_conflict"
    assert stored(world.components)["SHOP-1"].name == "浦东小面馆"


# ---- the bulk path --------------------------------------------------------------------------------------------
def test_new_rows_go_in_with_one_insert_and_known_ones_are_read_in_chunks(
    client: TestClient, world: World, admin: Headers
) -> None:
    rows = [f"M-{n:05d},商户{n},示范路 {n} 号" for n in range(1, 6001)]
    statements: list[Any] = []

    def remember(_conn: Any, statement: Any, *_args: Any) -> None:
        statements.append(statement)

    event.listen(world.components.engine, "before_execute", remember)
    try:
        response = upload(client, admin, csv_file("code,name,address", *rows, "SHOP-1,浦东小面馆,商城路 602 号"))
    finally:
        event.remove(world.components.engine, "before_execute", remember)
    assert response.status_code == 200, response.text
    assert (response.json()["inserted"], response.json()["updated"]) == (6000, 1)
    on_merchants = [s for s in statements if tables.merchants in getattr(s, "get_final_froms", lambda: [])()]
    inserts = [s for s in statements if isinstance(s, Insert) and s.table is tables.merchants]
    assert len(inserts) == 1
    assert len([s for s in on_merchants if isinstance(s, Select)]) == 2  # 6,001 keys, 5,000 a chunk
    assert len(stored(world.components)) == 6001
