"""Zones by CSV: a district links thousands of shop fronts to the camera zones that watch them. A zone is keyed by
its camera's device id and its code; the camera, merchant (一店一码) and site (permit number) are named by their
natural keys, and a row naming one that is not registered is rejected by line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cases.model.registry import Merchant
from cases.model.staff import Role
from cases.persistence import tables
from offsite.bootstrap import Components
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_cli import run
from tests.integration.world import World

Headers = dict[str, str]
HEADER = "camera_device_id,code,name,subject,merchant_code,permit_number,polygon"
SQUARE = "[[0.1,0.1],[0.6,0.1],[0.6,0.8],[0.1,0.8]]"


@pytest.fixture
def admin(staff: Staff) -> Headers:
    return staff.headers(Role.ADMIN)


@pytest.fixture
def shops(world: World) -> list[Merchant]:
    """Ten more shops along the road cam-1 watches."""
    return [
        world.components.registry.create_merchant(Merchant(f"SHOP-{n}", f"小店{n}", f"商城路 {600 + n} 号"))
        for n in range(2, 12)
    ]


def csv_file(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def upload(client: TestClient, headers: Headers, content: bytes, **params: Any) -> Any:
    files = {"file": ("zones.csv", content, "text/csv")}
    return client.post("/api/v1/imports/zones", files=files, params=params, headers=headers)


def zones(components: Components) -> dict[tuple[str, str], Any]:
    query = select(tables.zones, tables.cameras.c.device_id).join(
        tables.cameras, tables.cameras.c.id == tables.zones.c.camera_id
    )
    with components.engine.connect() as connection:
        return {(row.device_id, row.code): row for row in connection.execute(query)}


def zone_count(components: Components) -> int:
    with components.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(tables.zones)).scalar_one())


def test_a_good_file_links_shops_sites_and_public_space_to_zones(
    client: TestClient, world: World, admin: Headers, shops: list[Merchant]
) -> None:
    rows = [f'cam-1,Z-SHOP-{n},小店{n}门前,merchant,SHOP-{n},,"{SQUARE}"' for n in range(2, 12)]
    rows += ["cam-9,Z-SITE-9,工地东门,site,,PERMIT-1,", "cam-9,Z-ROAD-9,人行道,public_space,,,"]
    response = upload(client, admin, csv_file(*rows))
    assert response.status_code == 200, response.text
    assert response.json() == {"kind": "zones", "inserted": 12, "updated": 0, "written": True, "rejected": []}

    stored = zones(world.components)
    assert len(stored) == 4 + 12  # the world's four, and the file's
    by_code = {merchant.code: merchant.id for merchant in shops}
    shop = stored["cam-1", "Z-SHOP-5"]
    assert (shop.name, shop.subject.value, shop.merchant_id, shop.site_id) == (
        "小店5门前",
        "merchant",
        by_code["SHOP-5"],
        None,
    )
    assert shop.polygon == json.loads(SQUARE)
    site = stored["cam-9", "Z-SITE-9"]
    assert world.site is not None
    assert (site.subject.value, site.merchant_id, site.site_id, site.polygon) == ("site", None, world.site.id, None)
    assert (stored["cam-9", "Z-ROAD-9"].merchant_id, stored["cam-9", "Z-ROAD-9"].site_id) == (None, None)

    listed = client.get(f"/api/v1/cameras/{world.cameras['main'].id}/zones", headers=admin).json()
    assert {z["code"] for z in listed} >= {f"Z-SHOP-{n}" for n in range(2, 12)}


def test_the_same_file_imported_again_updates_every_zone_and_inserts_none(
    client: TestClient, world: World, admin: Headers, shops: list[Merchant]
) -> None:
    first = [f"cam-1,Z-SHOP-{n},小店{n}门前,merchant,SHOP-{n},," for n in range(2, 12)]
    assert upload(client, admin, csv_file(*first)).status_code == 200
    again = [f'cam-1,Z-SHOP-{n},小店{n}门口,merchant,SHOP-{n},,"{SQUARE}"' for n in range(2, 12)]
    response = upload(client, admin, csv_file(*again))
    assert response.status_code == 200, response.text
    assert (response.json()["inserted"], response.json()["updated"]) == (0, 10)
    stored = zones(world.components)
    assert len(stored) == 14
    assert {
        (stored["cam-1", f"Z-SHOP-{n}"].name, str(stored["cam-1", f"Z-SHOP-{n}"].polygon)) for n in range(2, 12)
    } == {(f"小店{n}门口", str(json.loads(SQUARE))) for n in range(2, 12)}


def test_a_zone_code_is_unique_per_camera_not_across_cameras(client: TestClient, world: World, admin: Headers) -> None:
    response = upload(client, admin, csv_file("cam-9,Z-ROAD,另一个路口,public_space,,,"))
    assert response.status_code == 200, response.text
    assert (response.json()["inserted"], response.json()["updated"]) == (1, 0)
    assert zones(world.components)["cam-1", "Z-ROAD"].name == "路口禁止设摊区"


BAD_ROWS = [
    ("cam-404,Z-A,无此摄像头,public_space,,,", "cam-404/Z-A", "camera 'cam-404'"),
    ("cam-1,Z-B,无此商户,merchant,SHOP-404,,", "cam-1/Z-B", "merchant 'SHOP-404'"),
    ("cam-1,Z-C,无此工地,site,,PERMIT-404,", "cam-1/Z-C", "site 'PERMIT-404'"),
    ("cam-1,Z-D,商户区没有商户,merchant,,,", "cam-1/Z-D", "exactly one merchant"),
    ("cam-1,Z-E,公共区域挂了商户,public_space,SHOP-1,,", "cam-1/Z-E", "no merchant or site"),
    ("cam-1,Z-F,主体不明,shop,,,", "cam-1/Z-F", "subject 'shop'"),
    ('cam-1,Z-G,两点,public_space,,,"[[0.1,0.1],[0.2,0.2]]"', "cam-1/Z-G", "at least 3 points"),
    ('cam-1,Z-H,出界,public_space,,,"[[0.1,0.1],[0.2,0.2],[1.5,0.2]]"', "cam-1/Z-H", "normalised"),
    ("cam-1,Z-I,不是 JSON,public_space,,,[[0.1", "cam-1/Z-I", "polygon is not JSON"),
    ('cam-1,Z-J,不是点,public_space,,,"{""x"": 1}"', "cam-1/Z-J", "[x, y] points"),
    ("cam-1,Z K,空格代码,public_space,,,", "cam-1/Z K", "zone code"),
    ("cam-1,Z-OK,重复,public_space,,,", "cam-1/Z-OK", "appears twice"),
    (f"cam-1,Z-L,{'长' * 101},public_space,,,", "cam-1/Z-L", "at most 100"),
]


def test_rows_naming_unknown_cameras_merchants_or_sites_are_rejected_by_line_and_nothing_written(
    client: TestClient, world: World, admin: Headers
) -> None:
    before = zones(world.components)
    content = csv_file("cam-1,Z-OK,好的一行,public_space,,,", *(row for row, _, _ in BAD_ROWS))
    response = upload(client, admin, content)
    assert response.status_code == 422, response.text
    problem = problem_of(response)
    assert problem["code"] == "csv_rows_rejected"
    report = problem["report"]
    assert (report["inserted"], report["updated"], report["written"]) == (0, 0, False)
    assert [(r["line"], r["key"]) for r in report["rejected"]] == [
        (line, key) for line, (_, key, _) in enumerate(BAD_ROWS, start=3)
    ]
    for rejected, (_, _, reason) in zip(report["rejected"], BAD_ROWS, strict=True):
        assert reason in rejected["error"], rejected
    assert zones(world.components) == before


def test_with_allow_partial_the_good_zones_are_written(client: TestClient, world: World, admin: Headers) -> None:
    content = csv_file("cam-1,Z-OK,好的一行,public_space,,,", "cam-404,Z-A,无此摄像头,public_space,,,")
    response = upload(client, admin, content, allow_partial="true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["inserted"], report["written"]) == (1, True)
    assert [(r["line"], r["key"]) for r in report["rejected"]] == [(3, "cam-404/Z-A")]
    assert ("cam-1", "Z-OK") in zones(world.components)


def test_a_known_zone_is_updated_in_place(
    client: TestClient, world: World, admin: Headers, shops: list[Merchant]
) -> None:
    """The shop front changed hands: the zone now watches SHOP-2. Its id stays, so detections keep their zone."""
    before = zones(world.components)["cam-1", "Z-SHOP"]
    response = upload(client, admin, csv_file(f'cam-1,Z-SHOP,新店门前,merchant,SHOP-2,,"{SQUARE}"'))
    assert response.status_code == 200, response.text
    assert (response.json()["inserted"], response.json()["updated"]) == (0, 1)
    after = zones(world.components)["cam-1", "Z-SHOP"]
    assert after.id == before.id
    assert (after.name, after.merchant_id, after.polygon) == ("新店门前", shops[0].id, json.loads(SQUARE))
    assert zone_count(world.components) == 4


def test_an_update_without_a_column_keeps_its_stored_value_and_is_validated_merged(
    client: TestClient, world: World, admin: Headers
) -> None:
    renamed = upload(
        client, admin, csv_file("cam-1,Z-SHOP,小面馆门口,merchant", header="camera_device_id,code,name,subject")
    )
    assert renamed.status_code == 200, renamed.text
    shop = zones(world.components)["cam-1", "Z-SHOP"]
    assert world.merchant is not None
    assert (shop.name, shop.merchant_id) == ("小面馆门口", world.merchant.id)

    # a public space cannot keep the stored merchant: the merchant_code column must be there, and empty
    header = "camera_device_id,code,name,subject"
    refused = upload(client, admin, csv_file("cam-1,Z-SHOP,小面馆门口,public_space", header=header))
    assert refused.status_code == 422, refused.text
    [rejected] = problem_of(refused)["report"]["rejected"]
    assert (rejected["line"], rejected["key"]) == (2, "cam-1/Z-SHOP")
    assert "no merchant or site" in rejected["error"]
    assert zones(world.components)["cam-1", "Z-SHOP"].subject.value == "merchant"

    header = "camera_device_id,code,name,subject,merchant_code"
    cleared = upload(client, admin, csv_file("cam-1,Z-SHOP,小面馆门口,public_space,", header=header))
    assert cleared.status_code == 200, cleared.text
    shop = zones(world.components)["cam-1", "Z-SHOP"]
    assert (shop.subject.value, shop.merchant_id) == ("public_space", None)


def test_a_file_without_a_required_zone_column_is_refused_whole(
    client: TestClient, world: World, admin: Headers
) -> None:
    response = upload(client, admin, csv_file("cam-1,Z-X1,路口", header="camera_device_id,code,name"))
    problem = problem_of(response)
    assert (response.status_code, problem["code"]) == (422, "invalid_input")
    assert "subject" in problem["detail"]


def test_an_unknown_import_kind_names_zones_among_the_kinds(client: TestClient, world: World, admin: Headers) -> None:
    files = {"file": ("x.csv", b"a\n1\n", "text/csv")}
    response = client.post("/api/v1/imports/vehicles", files=files, headers=admin)
    assert "zones" in problem_of(response)["detail"]


def test_the_command_line_imports_zones(tmp_path: Path) -> None:
    env = {"OFFSITE_DATABASE_URL": f"sqlite:///{tmp_path}/z.db"}
    assert run("db", "upgrade", env=env).returncode == 0
    files = {
        "cameras": "device_id,name,address\ncam-1,张杨路口,张杨路 1 号\n",
        "merchants": "code,name,address\nS-1,甲店,一号\n",
        "zones": "\n".join(
            [
                HEADER,
                "cam-1,Z-1,甲店门前,merchant,S-1,,",
                "cam-1,Z-2,路口,public_space,,,",
                "cam-2,Z-3,无此,public_space,,,",
            ]
        )
        + "\n",
    }
    for kind, text in files.items():
        (tmp_path / f"{kind}.csv").write_text(text, encoding="utf-8")
    for kind in ("cameras", "merchants"):
        assert run("import", kind, str(tmp_path / f"{kind}.csv"), env=env).returncode == 0
    strict = run("import", "zones", str(tmp_path / "zones.csv"), env=env)
    assert strict.returncode == 1, strict.stderr
    assert "line 4 (cam-2/Z-3)" in strict.stderr
    partial = run("import", "zones", str(tmp_path / "zones.csv"), "--allow-partial", env=env)
    assert partial.returncode == 0, partial.stderr
    assert "zones: 2 inserted, 0 updated, 1 rejected" in partial.stdout
