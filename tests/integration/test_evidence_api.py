"""GET /api/v1/evidence/{package_id}: the manifest, signature, inclusion proof and a verification made now."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cases.model.staff import Role
from evidence_store.store import ItemIn
from offsite.bootstrap import Components
from tests.integration.conftest import Staff, problem_of


@pytest.fixture
def package(components: Components, tmp_path: Path) -> str:
    (tmp_path / "frame.jpg").write_bytes(b"\xff\xd8 a frame")
    (tmp_path / "clip.mp4").write_bytes(b"a clip" * 1000)
    items = [
        ItemIn("frame-first.jpg", "image/jpeg", tmp_path / "frame.jpg"),
        ItemIn("clip.mp4", "video/mp4", tmp_path / "clip.mp4"),
    ]
    return components.evidence().seal(items, {"camera_id": "cam-1"}).package_id


def test_a_reviewer_sees_the_package_its_proof_and_that_it_verifies(
    client: TestClient, staff: Staff, package: str
) -> None:
    response = client.get(f"/api/v1/evidence/{package}", headers=staff.headers(Role.OPERATOR))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["package_id"] == package
    assert {item["name"] for item in body["manifest"]["items"]} == {"frame-first.jpg", "clip.mp4"}
    assert body["signature"]["algorithm"] == "Ed25519"
    assert body["inclusion_proof"]["leaf_index"] == 0
    assert body["tree_head"]["tree_size"] == 1
    assert body["verification"]["ok"] is True
    assert body["verification"]["problems"] == []


def test_an_altered_item_shows_in_the_verification(
    client: TestClient, staff: Staff, components: Components, package: str
) -> None:
    store = components.evidence()
    clip = next(i for i in store.manifest(package)["items"] if i["name"] == "clip.mp4")
    path = components.settings.evidence_dir / "objects" / "items" / clip["sha256"]
    os.chmod(path, 0o644)
    path.write_bytes(b"a clip, edited")
    body = client.get(f"/api/v1/evidence/{package}", headers=staff.headers(Role.OFFICER)).json()
    assert body["verification"]["ok"] is False
    assert body["verification"]["problems"][0].startswith("item clip.mp4: SHA-256")


@pytest.mark.parametrize(
    ("package_id", "status", "code"), [("0" * 64, 404, "not_found"), ("nope", 422, "invalid_request")]
)
def test_an_unknown_or_malformed_package_id_is_named(
    client: TestClient, staff: Staff, package_id: str, status: int, code: str
) -> None:
    response = client.get(f"/api/v1/evidence/{package_id}", headers=staff.headers(Role.OPERATOR))
    assert response.status_code == status
    assert problem_of(response)["code"] == code


def test_only_those_who_read_detections_read_evidence(client: TestClient, staff: Staff, package: str) -> None:
    assert client.get(f"/api/v1/evidence/{package}", headers=staff.headers(Role.ADMIN)).status_code == 403
    assert client.get(f"/api/v1/evidence/{package}").status_code == 401
