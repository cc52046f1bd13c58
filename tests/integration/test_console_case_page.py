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


def test_the_case_pages_read_in_english_with_the_data_as_recorded(
    client: TestClient, world: World, components: Components, clock: ManualClock
) -> None:
    """A reader who chose English reads the case list, the case with its facts, deadlines, steps, fine limits and
    timeline, and the legal-review queue in English; what was recorded (the camera's address, the zone) stays as
    it was recorded."""
    c = components
    case = dust_case_at_its_penalty_notice(world, clock, 100000)
    sign_in(client, c, Role.OFFICER)
    client.get("/console/language/en")
    page = client.get(f"/console/cases/{case.id}").text
    for english in (
        f"Case #{case.id}",
        "Penalty notice issued",  # the stage
        "<h2>Case details</h2>",
        "<dt>Violation</dt>",
        "<dt>Fine proposed in the advance notice</dt><dd>1000.00 yuan</dd>",
        "<h3>Deadlines</h3>",
        "<h2>Evidence</h2>",
        "<h3>Documents</h3>",
        "Advance notice of administrative penalty (PDF)</a>",
        "<h2>Case steps</h2>",
        "<h3>Record a statement and defence</h3>",
        "Statement and defence <textarea",
        '<option value="in_person">In person</option>',
        "No more than the 1000.00 yuan in the advance notice (Article 45 of the Administrative Penalty Law)",
        "Statutory range",
        "<h2>Case record</h2>",
        "Issue the advance notice of administrative penalty",  # the timeline's step
    ):
        assert english in page, english
    for chinese in (
        "案件信息",
        "办案操作",
        "办案记录",
        "登记陈述申辩",
        "不得高于事先告知的",
        "法定幅度",
        "还有",
        "（PDF）",
    ):
        assert chinese not in page, chinese
    camera = c.registry.get_camera(case.camera_id)
    assert camera.address in page  # the data as recorded

    listing = client.get("/console/cases").text
    for english in ("<h1>Cases <small>", "<th>Case number</th>", "<th>Officer in charge</th>", ">Filter</button>"):
        assert english in listing, english
    for chinese in ("筛选", "承办人", "阶段", "共 "):
        assert chinese not in listing, chinese

    sign_in(client, c, Role.LEGAL_REVIEWER)
    client.get("/console/language/en")
    queue = client.get("/console/legal").text
    assert "<h1>Legal review <small>Penalty decisions awaiting review</small></h1>" in queue
    assert "No cases" in queue
    assert "法制审核" not in queue
    assert "没有案件" not in queue


def test_a_refused_step_names_its_fields_in_english(
    client: TestClient, world: World, components: Components, clock: ManualClock
) -> None:
    """The fields a refusal names (what is missing, an amount that is not one) are the page's own labels, told in
    the reader's language; the same refusal reads in Chinese as before."""
    c = components
    case = dust_case_at_its_penalty_notice(world, clock, 100000)
    sign_in(client, c, Role.OFFICER)
    client.get("/console/language/en")
    page = client.get(f"/console/cases/{case.id}").text
    token = re.search(r'name="csrf" value="([0-9a-f]{32})"', page)
    assert token
    form = {"csrf": token.group(1), "version": str(case.version)}
    missing = client.post(f"/console/cases/{case.id}/steps/record_statement", data=form | {"channel": "post"})
    assert missing.status_code == 422
    assert "fill in: Statement and defence" in missing.text
    not_yuan = client.post(
        f"/console/cases/{case.id}/steps/answer_statement", data=form | {"reply": "ok", "fine": "abc"}
    )
    assert not_yuan.status_code == 422
    assert "Adjusted fine: &#39;abc&#39; is not an amount in yuan" in not_yuan.text
    client.get("/console/language/zh_CN")
    chinese = client.post(f"/console/cases/{case.id}/steps/record_statement", data=form | {"channel": "post"})
    assert "请填写：陈述申辩内容" in chinese.text
