"""行政处罚法第六十条 in the flow: past the decision period a decision is refused until the agency's head approves
an extension (reason and length, recorded with who approved); cases near the limit are surfaced to officers in
the API and the console. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi.testclient import TestClient

from cases.clock import ManualClock
from cases.model.case import Case, CaseStatus, DeliveryMethod, RecheckOutcome
from cases.model.staff import Role
from offsite.bootstrap import Components
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_console import csrf, sign_in, version
from tests.integration.world import LEGAL, OFFICER, World

FILED_ON = dt.date(2026, 3, 2)  # the integration clock's Monday
DECISION_DUE = dt.date(2026, 6, 1)  # 90 days, ending on Sunday 05-31 → Monday


def review_approved(world: World, clock: ManualClock) -> Case:
    """A cross-door case filed on 03-02, its 100 元 fine approved by legal review."""
    c = world.components
    case = world.draft("cross_door")
    case = c.cases.file(case.id or 0, OFFICER, case.version)
    case = c.cases.issue_rectification_notice(case.id or 0, OFFICER, case.version, DeliveryMethod.DIRECT)
    clock.advance(dt.timedelta(days=2))
    case = c.cases.record_recheck(case.id or 0, OFFICER, case.version, RecheckOutcome.PERSISTING,
                                  c.clock.today(), None, "仍在")  # fmt: skip
    case = c.cases.issue_penalty_notice(case.id or 0, OFFICER, case.version, 10000, DeliveryMethod.DIRECT)
    clock.advance(dt.timedelta(days=10))
    case = c.cases.request_legal_review(case.id or 0, OFFICER, case.version, 10000)
    return c.cases.approve_legal_review(case.id or 0, LEGAL, case.version, "同意")


def move_to(clock: ManualClock, day: dt.date) -> None:
    clock.set(dt.datetime.combine(day, dt.time(2), tzinfo=dt.UTC))  # 10:00 in Shanghai


def post(client: TestClient, headers: dict[str, str], case_id: int, path: str, **body: Any) -> Any:
    current = client.get(f"/api/v1/cases/{case_id}", headers=headers).json()["version"]
    return client.post(f"/api/v1/cases/{case_id}/{path}", json={"version": current, **body}, headers=headers)


def test_a_decision_95_days_after_filing_is_refused_until_the_head_approves_an_extension(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    officer, head = staff.headers(Role.OFFICER), staff.headers(Role.SUPERVISOR)
    case = review_approved(world, clock)
    assert case.filed_on == FILED_ON
    move_to(clock, FILED_ON + dt.timedelta(days=95))
    refused = post(client, officer, case.id or 0, "penalty-decision", fine_fen=10000)
    problem = problem_of(refused)
    assert (refused.status_code, problem["code"]) == (422, "decision_period_expired")
    assert "ended on 2026-06-01" in problem["detail"]
    assert "负责人批准" in problem["detail"]
    assert world.components.cases.get(case.id or 0).status is CaseStatus.REVIEW_APPROVED
    by_officer = post(client, officer, case.id or 0, "decision-extension", days=30, reason="案情复杂")
    assert by_officer.status_code == 403
    extended = post(client, head, case.id or 0, "decision-extension", days=30, reason="案情复杂，需补充调查")
    assert extended.status_code == 200, extended.text
    assert extended.json()["decision_due"] == "2026-07-01"
    timeline = client.get(f"/api/v1/cases/{case.id}/timeline", headers=officer).json()
    extension = timeline[-1]
    assert (extension["action"], extension["actor"], extension["role"], extension["reason"]) == (
        "extend_decision_period", "supervisor1", "supervisor", "案情复杂，需补充调查",
    )  # fmt: skip
    assert extension["payload"]["days"] == 30
    assert extension["payload"]["approved_by"] == "supervisor1"
    decided = post(client, officer, case.id or 0, "penalty-decision", fine_fen=10000)
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "decided"


def test_an_extension_without_a_reason_or_beyond_the_rule_is_refused_and_changes_nothing(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    head = staff.headers(Role.SUPERVISOR)
    case = review_approved(world, clock)
    too_long = post(client, head, case.id or 0, "decision-extension", days=31, reason="案情复杂")
    assert (too_long.status_code, problem_of(too_long)["code"]) == (422, "invalid_input")
    assert "1 to 30 days" in problem_of(too_long)["detail"]
    blank = post(client, head, case.id or 0, "decision-extension", days=10, reason=" ")
    assert (blank.status_code, problem_of(blank)["code"]) == (422, "invalid_request")  # no visible character
    assert "reason" in str(problem_of(blank)["errors"])
    assert world.components.cases.get(case.id or 0).decision_due == DECISION_DUE


def test_cases_whose_decision_period_ends_within_the_warning_are_listed_for_officers(
    client: TestClient, world: World, staff: Staff, clock: ManualClock, components: Components
) -> None:
    officer = staff.headers(Role.OFFICER)
    near = review_approved(world, clock)
    move_to(clock, DECISION_DUE - dt.timedelta(days=10))  # 05-22: ten days left, the configured warning
    far = world.components.cases.file(world.draft("cross_door").id or 0, OFFICER, 1)  # filed today: 90 days left
    listed = client.get("/api/v1/cases/decision-period", headers=officer).json()
    assert [(d["case_id"], d["deadline"], d["due"], d["overdue"]) for d in listed] == [
        (near.id, "decision", "2026-06-01", False)
    ]
    assert far.id not in [d["case_id"] for d in listed]
    wider = client.get("/api/v1/cases/decision-period?within_days=90", headers=officer).json()
    assert [d["case_id"] for d in wider] == [near.id, far.id]
    move_to(clock, DECISION_DUE - dt.timedelta(days=11))
    assert client.get("/api/v1/cases/decision-period", headers=officer).json() == []


def test_the_console_names_the_decision_deadline_and_the_head_extends_it_there(
    client: TestClient, world: World, components: Components, clock: ManualClock
) -> None:
    case = review_approved(world, clock)
    move_to(clock, DECISION_DUE - dt.timedelta(days=3))
    sign_in(client, components, Role.OFFICER)
    listing = client.get("/console/cases").text
    assert 'id="decision-period-ending"' in listing
    near = client.get("/console/cases?near=decision").text
    assert f'href="/console/cases/{case.id}"' in near
    page = client.get(f"/console/cases/{case.id}").text
    banner = re.search(r'id="decision-period-banner">([^<]*)<', page)
    assert banner
    assert "2026-06-01 届满，还有 3 天" in banner.group(1)
    assert "第六十条" in banner.group(1)
    move_to(clock, DECISION_DUE + dt.timedelta(days=4))
    sign_in(client, components, Role.OFFICER)  # a new day, a new sign-in
    page = client.get(f"/console/cases/{case.id}").text
    refused = client.post(f"/console/cases/{case.id}/steps/decide_penalty",
                          data={"csrf": csrf(page), "version": version(page), "fine": "100"})  # fmt: skip
    assert "decision period" in refused.text or "办案期限" in refused.text
    assert components.cases.get(case.id or 0).status is CaseStatus.REVIEW_APPROVED
    banner = re.search(r'id="decision-period-banner">([^<]*)<', refused.text)
    assert banner
    assert "已于 2026-06-01 届满（超期 4 天）" in banner.group(1)
    assert 'data-step="extend_decision_period"' not in refused.text  # an officer does not approve it
    sign_in(client, components, Role.SUPERVISOR)
    page = client.get(f"/console/cases/{case.id}").text
    assert 'data-step="extend_decision_period"' in page
    client.post(f"/console/cases/{case.id}/steps/extend_decision_period",
                data={"csrf": csrf(page), "version": version(page), "days": "20", "reason": "补充调查"})  # fmt: skip
    extended = components.cases.get(case.id or 0)
    assert extended.decision_due == dt.date(2026, 6, 22)  # 06-21 is a Sunday
    page = client.get(f"/console/cases/{case.id}").text
    assert "负责人批准延长办案期限" in page  # in the timeline
    assert "补充调查" in page
