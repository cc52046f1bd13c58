"""The officer's and the legal reviewer's case page, read as they read it: the fine under review, the party's
statement attachments, the automatic re-check and its frames, the deadlines and who handles the case. On SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re

from fastapi.testclient import TestClient

from cases.clock import ManualClock
from cases.model.case import Case, DeliveryMethod, RecheckOutcome
from cases.model.staff import Role
from offsite.bootstrap import Components
from tests.integration.conftest import Staff
from tests.integration.test_console import sign_in
from tests.integration.world import OFFICER, World


def dust_case_at_its_penalty_notice(world: World, clock: ManualClock, proposed_fen: int) -> Case:
    """A construction-dust case whose party has been told of a fine of ``proposed_fen``: its statement period runs."""
    c = world.components
    case = world.draft("dust")
    case = c.cases.file(case.id or 0, OFFICER, case.version)
    case = c.cases.issue_rectification_notice(case.id or 0, OFFICER, case.version, DeliveryMethod.DIRECT)
    clock.advance(dt.timedelta(days=7))
    case = c.cases.record_recheck(case.id or 0, OFFICER, case.version, RecheckOutcome.PERSISTING,
                                  c.clock.today(), None, "仍有扬尘")  # fmt: skip
    return c.cases.issue_penalty_notice(case.id or 0, OFFICER, case.version, proposed_fen, DeliveryMethod.DIRECT)


def dust_case_at_its_statement(world: World, clock: ManualClock, proposed_fen: int) -> Case:
    """A construction-dust case told of a fine of ``proposed_fen``, whose party has filed a statement."""
    c = world.components
    case = dust_case_at_its_penalty_notice(world, clock, proposed_fen)
    party = c.party.party_actor(case)
    return c.cases.record_statement(case.id or 0, party, case.version, "已洒水降尘，请从轻处罚", "online")


def test_the_legal_reviewer_sees_the_fine_under_review_not_the_one_first_proposed(
    client: TestClient, world: World, components: Components, clock: ManualClock
) -> None:
    c = components
    case = dust_case_at_its_statement(world, clock, 100000)
    case = c.cases.answer_statement(case.id or 0, OFFICER, case.version, True, "已及时降尘，从轻", 80000)
    case = c.cases.request_legal_review(case.id or 0, OFFICER, case.version, 80000)
    sign_in(client, components, Role.LEGAL_REVIEWER)
    page = client.get(f"/console/cases/{case.id}").text
    assert re.search(r'<dt>送审罚款</dt><dd id="review-fine">800\.00 元</dd>', page)
    assert "<dt>拟罚款</dt>" not in page  # the notice's 1000.00 is labelled as what the party was told
    assert re.search(r"<dt>告知书拟罚款</dt><dd>1000\.00 元</dd>", page)
    queue = client.get("/console/legal").text
    assert re.search(r'<td class="review-fine">800\.00 元</td>', queue)


def test_the_officer_s_recheck_note_is_in_the_timeline(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    officer = staff.headers(Role.OFFICER)
    c = world.components
    case = world.draft("cross_door")
    case = c.cases.file(case.id or 0, OFFICER, case.version)
    case = c.cases.issue_rectification_notice(case.id or 0, OFFICER, case.version, DeliveryMethod.DIRECT)
    clock.advance(dt.timedelta(days=2))
    body = {"version": case.version, "outcome": "persisting", "observed_on": c.clock.today().isoformat(),
            "inspection_note": "现场查看：货架仍摆放在店外"}  # fmt: skip
    assert client.post(f"/api/v1/cases/{case.id}/recheck", json=body, headers=officer).status_code == 200
    event = client.get(f"/api/v1/cases/{case.id}/timeline", headers=officer).json()[-1]
    assert (event["action"], event["reason"]) == ("record_recheck", "现场查看：货架仍摆放在店外")
    sign_in(client, c, Role.OFFICER)
    assert "现场查看：货架仍摆放在店外" in client.get(f"/console/cases/{case.id}").text.split("办案记录")[1]


def test_the_case_officer_is_shown_by_display_name_and_the_overdue_banner_names_the_deadline(
    client: TestClient, world: World, clock: ManualClock
) -> None:
    c = world.components
    c.accounts.create_user(OFFICER.username, "办案人员 李强", Role.OFFICER, "password-1234")
    case = world.draft("cross_door")
    case = c.cases.file(case.id or 0, OFFICER, case.version)
    case = c.cases.issue_rectification_notice(case.id or 0, OFFICER, case.version, DeliveryMethod.DIRECT)
    clock.advance(dt.timedelta(days=2))  # the rectification deadline 03-03 has passed
    sign_in(client, c, Role.OFFICER)
    page = client.get(f"/console/cases/{case.id}").text
    assert '<dt>承办人</dt><dd id="officer">办案人员 李强</dd>' in page
    listing = client.get("/console/cases").text
    assert re.search(rf'data-href="/console/cases/{case.id}">.*?<td>办案人员 李强</td>', listing, re.S)
    banner = re.search(r'<p class="flash error">超期提醒：(.*?)</p>', listing)
    assert banner
    assert f"案件 #{case.id}（改正期限 2026-03-03 已超期）" in banner.group(1)


def test_the_decision_steps_say_they_wait_for_the_statement_period_before_anything_is_typed(
    client: TestClient, world: World, components: Components, clock: ManualClock
) -> None:
    """While the party's statement period runs, the page offers the decision and the legal review as the stage
    allows, but says beside each that the law makes it wait, until when, with its button off; once the period is
    over they may be taken."""
    c = components
    case = dust_case_at_its_penalty_notice(world, clock, 100000)
    assert case.statement_deadline is not None
    sign_in(client, components, Role.OFFICER)
    page = client.get(f"/console/cases/{case.id}").text
    for step in ("decide_penalty", "request_legal_review"):
        form = re.search(rf'<form class="step"[^>]*data-step="{step}">(.*?)</form>', page, re.S)
        assert form, step
        waits = re.search(rf'<p class="hint waits" data-waits="{step}">(.*?)</p>', form.group(1))
        assert waits, step
        assert f"当事人可在 {case.statement_deadline.isoformat()} 前陈述申辩" in waits.group(1)
        assert re.search(r'<button type="submit" class="primary" disabled>', form.group(1))
    record = re.search(r'<form class="step"[^>]*data-step="record_statement">(.*?)</form>', page, re.S)
    assert record
    assert "disabled" not in record.group(1)  # the statement itself is what the period is for

    clock.advance(dt.timedelta(days=(case.statement_deadline - c.clock.today()).days + 1))
    sign_in(client, components, Role.OFFICER)  # the session of days before has ended
    page = client.get(f"/console/cases/{case.id}").text
    assert "data-waits" not in page
    form = re.search(r'<form class="step"[^>]*data-step="decide_penalty">(.*?)</form>', page, re.S)
    assert form
    assert "disabled" not in form.group(1)
