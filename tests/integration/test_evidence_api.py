"""GET /api/v1/evidence/{package_id}: the manifest, signature, inclusion proof and a verification made now."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cases.model.staff import Role
from evidence_store.store import ItemIn, Verification
from offsite.bootstrap import Components
from offsite.evidence import open_evidence
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_console import csrf, sign_in
from tests.unit.evidence.test_store import kill_a_seal_midway


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


@pytest.fixture
def case_material(components: Components, tmp_path: Path) -> str:
    """A package of a case's own, sealed for no camera: a party's statement attachments."""
    (tmp_path / "statement.pdf").write_bytes(b"%PDF-1.4 the party's statement")
    items = [ItemIn("statement.pdf", "application/pdf", tmp_path / "statement.pdf")]
    context = {"kind": "party_statement_attachments", "case_number": "沪城管非现〔2026〕000003号", "filed_by": "当事人"}
    return components.evidence().seal(items, context).package_id


def test_a_case_s_own_package_is_read_only_by_those_who_read_cases(
    client: TestClient, staff: Staff, package: str, case_material: str
) -> None:
    """An operator reviews a camera's evidence; a party's attachments and a case's documents are the case's, and
    name its party: the operator is refused them, naming the permission, while a camera's package stays open."""
    refused = client.get(f"/api/v1/evidence/{case_material}", headers=staff.headers(Role.OPERATOR))
    assert refused.status_code == 403
    assert "read_cases" in problem_of(refused)["detail"]
    assert client.get(f"/api/v1/evidence/{package}", headers=staff.headers(Role.OPERATOR)).status_code == 200
    for role in (Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR):
        assert client.get(f"/api/v1/evidence/{case_material}", headers=staff.headers(role)).status_code == 200


def test_the_console_shows_a_case_s_own_package_and_its_files_only_to_those_who_read_cases(
    client: TestClient, components: Components, case_material: str
) -> None:
    sign_in(client, components, Role.OPERATOR)
    assert client.get(f"/console/evidence/{case_material}").status_code == 403
    assert client.get(f"/console/evidence/{case_material}/items/statement.pdf").status_code == 403
    sign_in(client, components, Role.OFFICER)
    assert client.get(f"/console/evidence/{case_material}").status_code == 200
    item = client.get(f"/console/evidence/{case_material}/items/statement.pdf")
    assert (item.status_code, item.content) == (200, b"%PDF-1.4 the party's statement")


def open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_evidence_reads_in_a_process_that_does_not_seal_share_one_reader_and_leak_no_descriptor(
    client: TestClient, staff: Staff, components: Components, tmp_path: Path
) -> None:
    sealer = open_evidence(components.settings)  # the sealing process's store; this API process never seals
    try:
        (tmp_path / "a.jpg").write_bytes(b"\xff\xd8 first")
        first = sealer.seal([ItemIn("frame.jpg", "image/jpeg", tmp_path / "a.jpg")], {"camera_id": "cam-1"})
        headers = staff.headers(Role.OPERATOR)
        assert client.get(f"/api/v1/evidence/{first.package_id}", headers=headers).status_code == 200
        before = open_descriptors()

        for _ in range(200):
            response = client.get(f"/api/v1/evidence/{first.package_id}", headers=headers)
            assert response.json()["verification"]["ok"] is True

        assert open_descriptors() <= before + 2  # flat: not one descriptor per read
        (tmp_path / "b.jpg").write_bytes(b"\xff\xd8 second")
        second = sealer.seal([ItemIn("frame.jpg", "image/jpeg", tmp_path / "b.jpg")], {"camera_id": "cam-1"})
        body = client.get(f"/api/v1/evidence/{second.package_id}", headers=headers).json()
        assert body["verification"]["ok"] is True, body["verification"]  # the long-lived reader sees new seals
        assert body["tree_head"]["tree_size"] == 2
        assert components.evidence_reader() is components.evidence_reader()
    finally:
        sealer.close()


def test_a_package_whose_seal_was_killed_midway_reads_as_interrupted_not_tampered(
    client: TestClient, staff: Staff, components: Components
) -> None:
    """A reader between a killed seal and the next writer: the API and the page say the seal was interrupted
    (completed by the next writer), never that the package was altered."""
    kill_a_seal_midway(components.settings.evidence_dir, "heads/")
    (package_id,) = list(components.evidence_reader().package_ids())

    body = client.get(f"/api/v1/evidence/{package_id}", headers=staff.headers(Role.OFFICER)).json()
    verification = body["verification"]
    assert (verification["ok"], verification["outcome"], verification["problems"]) == (False, "interrupted", [])
    assert verification["interrupted"]

    sign_in(client, components, Role.OFFICER)  # (the package is sealed for no camera: a case's reader's)
    token = csrf(client.get(f"/console/evidence/{package_id}").text)
    page = client.post(f"/console/evidence/{package_id}/verify", data={"csrf": token})
    assert page.status_code == 200, page.text
    assert "封存未完成" in page.text
    assert "校验失败" not in page.text


@pytest.mark.parametrize(
    ("problems", "interrupted", "unavailable", "outcome"),
    [
        ([], [], [], "verified"),
        (["item a.jpg: SHA-256 differs"], ["x"], ["y"], "tampered"),
        ([], ["an interrupted seal"], ["y"], "interrupted"),
        ([], [], ["not checked, the store cannot be reached"], "unavailable"),
    ],
)
def test_a_verification_names_one_outcome_and_tampering_wins(
    problems: list[str], interrupted: list[str], unavailable: list[str], outcome: str
) -> None:
    report = Verification("0" * 64, problems=problems, interrupted=interrupted, unavailable=unavailable)
    assert report.outcome == outcome
    assert report.ok is (outcome == "verified")
