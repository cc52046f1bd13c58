"""A step that issues a document stands only with its document sealed: when the evidence store cannot be written
(the fault made for real: its items folder made immutable with chattr, which binds root too), the notice is not
recorded as served, nothing of the step remains, and the answer says why; once the store can be written again the
same step succeeds with its document. Through the JSON API and the console, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from cases.clock import ManualClock
from cases.model.case import Case, CaseStatus, DeliveryMethod, RecheckOutcome
from cases.model.staff import Role
from cases.persistence import tables
from offsite.bootstrap import Components
from offsite.settings import Settings
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_console import csrf, sign_in, version
from tests.integration.world import LEGAL, OFFICER, World


@pytest.fixture
def unwritable_store(settings: Settings, world: World) -> Iterator[Path]:
    """The local evidence store's items folder made immutable: no new object can be written into it."""
    assert world.package_id  # the world's evidence, sealed before the fault: the case's detection cites it
    items = settings.evidence_dir / "objects" / "items"
    assert items.is_dir()
    subprocess.run(["chattr", "+i", str(items)], check=True, timeout=10)
    try:
        with pytest.raises(PermissionError):
            (items / "probe").write_bytes(b"x")  # the fault holds, even for root
        yield items
    finally:
        subprocess.run(["chattr", "-i", str(items)], check=True, timeout=10)


def allow_writes(items: Path) -> None:
    subprocess.run(["chattr", "-i", str(items)], check=True, timeout=10)


def trace(components: Components, case_id: int) -> tuple[int, int, int]:
    """What a step leaves behind: the case's events, its documents, its messages to the party."""
    with components.engine.connect() as connection:
        return tuple(  # type: ignore[return-value]
            connection.scalar(select(func.count()).select_from(table).where(table.c.case_id == case_id)) or 0
            for table in (tables.case_events, tables.case_documents, tables.notifications)
        )


def filed(world: World) -> Case:
    case = world.draft("cross_door")
    return world.components.cases.file(case.id or 0, OFFICER, case.version)


def test_a_notice_whose_pdf_cannot_be_sealed_is_not_recorded_as_served_through_the_api(
    client: TestClient, world: World, staff: Staff, components: Components, unwritable_store: Path
) -> None:
    case = filed(world)
    before = trace(components, case.id or 0)
    body = {"version": case.version, "method": "direct"}
    url = f"/api/v1/cases/{case.id}/rectification-notice"
    refused = client.post(url, json=body, headers=staff.headers(Role.OFFICER))
    problem = problem_of(refused)
    assert (refused.status_code, problem["code"]) == (503, "document_not_issued")
    assert "the rectification notice could not be issued" in problem["detail"]
    assert "issue rectification notice was not recorded" in problem["detail"]
    stored = components.cases.get(case.id or 0)
    assert (stored.status, stored.version, stored.rectification_served_on) == (CaseStatus.FILED, case.version, None)
    assert trace(components, case.id or 0) == before
    allow_writes(unwritable_store)
    served = client.post(url, json=body, headers=staff.headers(Role.OFFICER))
    assert served.status_code == 200, served.text
    (record,) = components.documents.of_case(case.id or 0)
    assert record.kind == "rectification_notice"
    assert components.evidence().verify(record.package_id).ok


def test_a_decision_whose_pdf_cannot_be_sealed_is_not_recorded_through_the_api(
    client: TestClient, world: World, staff: Staff, components: Components, clock: ManualClock, settings: Settings
) -> None:
    c = components
    case = filed(world)
    case = c.cases.issue_rectification_notice(case.id or 0, OFFICER, case.version, DeliveryMethod.DIRECT)
    clock.advance(dt.timedelta(days=2))
    case = c.cases.record_recheck(case.id or 0, OFFICER, case.version, RecheckOutcome.PERSISTING,
                                  c.clock.today(), None, "仍在")  # fmt: skip
    case = c.cases.issue_penalty_notice(case.id or 0, OFFICER, case.version, 10000, DeliveryMethod.DIRECT)
    clock.advance(dt.timedelta(days=10))
    case = c.cases.request_legal_review(case.id or 0, OFFICER, case.version, 10000)
    case = c.cases.approve_legal_review(case.id or 0, LEGAL, case.version, "同意")
    items = settings.evidence_dir / "objects" / "items"
    subprocess.run(["chattr", "+i", str(items)], check=True, timeout=10)
    try:
        refused = client.post(f"/api/v1/cases/{case.id}/penalty-decision",
                              json={"version": case.version, "fine_fen": 10000},
                              headers=staff.headers(Role.OFFICER))  # fmt: skip
    finally:
        allow_writes(items)
    assert (refused.status_code, problem_of(refused)["code"]) == (503, "document_not_issued")
    stored = c.cases.get(case.id or 0)
    assert (stored.status, stored.decided_on, stored.fine_fen) == (CaseStatus.REVIEW_APPROVED, None, None)
    assert [d.kind for d in c.documents.of_case(case.id or 0)] == ["rectification_notice", "penalty_notice"]


def test_a_notice_whose_pdf_cannot_be_sealed_is_not_recorded_as_served_from_the_console(
    client: TestClient, world: World, components: Components, unwritable_store: Path
) -> None:
    case = filed(world)
    before = trace(components, case.id or 0)
    sign_in(client, components, Role.OFFICER)
    page = client.get(f"/console/cases/{case.id}").text
    step = {"csrf": csrf(page), "version": version(page), "method": "direct"}
    refused = client.post(f"/console/cases/{case.id}/steps/issue_rectification_notice", data=step)
    assert "文书未能签发，“发出责令改正通知书”未生效" in refused.text
    stored = components.cases.get(case.id or 0)
    assert (stored.status, stored.version) == (CaseStatus.FILED, case.version)
    assert trace(components, case.id or 0) == before
    allow_writes(unwritable_store)
    done = client.post(f"/console/cases/{case.id}/steps/issue_rectification_notice", data=step)
    assert "已签发并封存责令改正通知书" in done.text
    assert components.cases.get(case.id or 0).status is CaseStatus.NOTICE_ISSUED
    assert [d.kind for d in components.documents.of_case(case.id or 0)] == ["rectification_notice"]
