"""The party's page, as the party's browser uses it: opening the case with its number and code, the lock-out on
wrong codes, the evidence with faces and plates hidden, the statement with attachments, the consent to electronic
delivery, the amount due; every view logged. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path
from typing import Any

import cv2
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import insert, select

from cases.clock import ManualClock
from cases.documents import DocumentKind
from cases.errors import InvalidInput, TooManyAttempts
from cases.model.case import Case, CaseStatus, DeliveryMethod, RecheckOutcome
from cases.model.staff import Role
from cases.persistence import tables
from cases.services.party import MAX_FAILURES_PER_CASE, MAX_FAILURES_PER_CASE_ALL_CLIENTS, STATEMENT_FILING_TIMEOUT
from offsite.bootstrap import Components
from offsite.issued import document, party_access_code
from tests.integration.test_console import sign_in
from tests.integration.world import ALL_PASS, LEGAL, OFFICER, OPERATOR, World, key_frame_items
from vision.synthetic import render_still

PNG = cv2.imencode(".png", render_still(7, 64, 48).image)[1].tobytes()


def street_package(components: Components, tmp_path: Path) -> str:
    """A package whose key frames show people and vehicles (a generated street scene)."""
    items = key_frame_items(tmp_path, render_still(9_100_003, 960, 540).image)
    return components.evidence().seal(items, {"camera_id": "cam-1", "violation_code": "cross_door"}).package_id


def penalty_notice_case(world: World, package: str, clock: ManualClock) -> Case:
    """A cross-door case of the registered shop at its pre-penalty notice, the statement period running."""
    c = world.components
    event = world.event("cross_door")
    event = type(event)(**{**event.__dict__, "evidence_package_id": package})
    detection, _ = c.detections.intake(event, c.registry)
    assert detection.id is not None
    c.detections.review(detection.id, OPERATOR, detection.version, True, ALL_PASS, None)
    case = c.cases.open_draft([detection.id], OFFICER)
    case = c.cases.file(case.id or 0, OFFICER, case.version)
    case = c.cases.issue_rectification_notice(case.id or 0, OFFICER, case.version, DeliveryMethod.DIRECT)
    clock.advance(dt.timedelta(days=2))
    case = c.cases.record_recheck(case.id or 0, OFFICER, case.version, RecheckOutcome.PERSISTING,
                                  c.clock.today(), None, "货架仍在")  # fmt: skip
    return c.cases.issue_penalty_notice(case.id or 0, OFFICER, case.version, 15000, DeliveryMethod.DIRECT)


@pytest.fixture
def case(world: World, components: Components, clock: ManualClock, tmp_path: Path) -> Case:
    return penalty_notice_case(world, street_package(components, tmp_path), clock)


def open_case(client: TestClient, components: Components, case: Case) -> str:
    assert case.number is not None
    response = client.post("/party", data={"case_number": case.number, "code": party_access_code(components,
                                                                                                 case.number)},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text
    page = client.get("/party/case").text
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert found
    return found.group(1)


def test_the_party_opens_the_case_with_its_code_and_the_view_is_logged(
    client: TestClient, components: Components, case: Case
) -> None:
    open_case(client, components, case)
    page = client.get("/party/case")
    assert case.number in page.text
    assert "浦东小面馆" in page.text
    assert "150.00" in page.text  # the proposed fine
    assert "陈述、申辩" in page.text  # the statement period runs
    assert [v.what for v in components.party.views(case.id or 0)] == ["case", "case"]


def test_wrong_codes_lock_the_case_number_out_and_an_unknown_number_looks_the_same(
    client: TestClient, components: Components, case: Case
) -> None:
    unknown = client.post("/party", data={"case_number": "沪城管非现〔2026〕999999号", "code": "12345678"})
    assert unknown.status_code == 422
    for _ in range(MAX_FAILURES_PER_CASE):
        wrong = client.post("/party", data={"case_number": case.number, "code": "00000000"})
        assert wrong.status_code == 422
        assert "案件编号或查询码不正确" in wrong.text
        assert unknown.text.count("不正确") == wrong.text.count("不正确")
    right = party_access_code(components, case.number or "")
    locked = client.post("/party", data={"case_number": case.number, "code": right}, follow_redirects=False)
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "900"
    assert "offsite_party" not in locked.cookies
    assert client.get("/party/case", follow_redirects=False).status_code == 303  # nothing opened


def test_a_party_session_ends_after_thirty_minutes(
    client: TestClient, components: Components, case: Case, clock: ManualClock
) -> None:
    open_case(client, components, case)
    clock.advance(dt.timedelta(minutes=31))
    assert client.get("/party/case", follow_redirects=False).headers["location"] == "/party"


def test_signing_out_ends_the_session_a_copy_of_its_cookie_opens_nothing_and_another_session_goes_on(
    client: TestClient, components: Components, case: Case, clock: ManualClock
) -> None:
    """A party on a shared terminal signs out: the cookie that browser held (kept by whoever copied it) no longer
    opens the case, though its signature and time still hold. Two sign-ins are two sessions, even within one
    second: signing out of one leaves the other (the party's phone) open."""
    open_case(client, components, case)
    terminal = client.cookies["offsite_party"]
    with TestClient(client.app) as phone:
        open_case(phone, components, case)
        assert phone.cookies["offsite_party"] != terminal  # the same second, another session
        assert client.post("/party/logout", follow_redirects=False).headers["location"] == "/party"
        client.cookies.set("offsite_party", terminal, path="/party")  # the copy, replayed
        assert client.get("/party/case", follow_redirects=False).headers["location"] == "/party"
        assert client.post("/party/statement", data={"text": "冒名申辩"}, follow_redirects=False).status_code == 303
        assert components.cases.get(case.id or 0).status is CaseStatus.PENALTY_NOTICE_ISSUED
        assert phone.get("/party/case").status_code == 200  # the other session goes on
    clock.advance(dt.timedelta(minutes=31))  # the list forgets a session once its cookie has expired anyway
    open_case(client, components, case)
    assert client.post("/party/logout", follow_redirects=False).status_code == 303
    with components.engine.connect() as connection:
        assert len(connection.execute(select(tables.party_sign_outs)).all()) == 1


def test_the_lock_out_ends_after_its_time(
    client: TestClient, components: Components, case: Case, clock: ManualClock
) -> None:
    for _ in range(MAX_FAILURES_PER_CASE):
        client.post("/party", data={"case_number": case.number, "code": "00000000"})
    clock.advance(dt.timedelta(minutes=16))
    open_case(client, components, case)


def test_the_evidence_shown_to_the_party_hides_faces_and_plates(
    client: TestClient, components: Components, case: Case
) -> None:
    open_case(client, components, case)
    (detection,) = components.cases.detections_of(case.id or 0)
    picture = client.get(f"/party/evidence/{detection.evidence_package_id}/confirming.jpg")
    assert picture.headers["content-type"] == "image/jpeg"
    assert int(picture.headers["X-Faces-Hidden"]) + int(picture.headers["X-Plates-Hidden"]) > 0
    _type, raw = components.evidence().item(detection.evidence_package_id, "annotated-confirming.jpg")
    assert picture.content != raw
    assert client.get(f"/party/evidence/{'ab' * 32}/confirming.jpg").status_code == 404  # not this case's
    assert client.get("/console/evidence/" + detection.evidence_package_id, follow_redirects=False).status_code == 303
    assert any(v.what.startswith("evidence ") for v in components.party.views(case.id or 0))


def test_the_party_files_a_defence_with_attachments_sealed_as_evidence(
    client: TestClient, components: Components, case: Case
) -> None:
    token = open_case(client, components, case)
    response = client.post("/party/statement", data={"csrf": token, "text": "货架已于次日收回，请求从轻处罚。"},
                           files=[("attachments", ("after.png", PNG, "image/png"))], follow_redirects=False)  # fmt: skip
    assert response.status_code == 303
    stored = components.cases.get(case.id or 0)
    assert stored.status is CaseStatus.STATEMENT_FILED
    event = stored.events[-1]
    assert (event.action, event.role, event.actor) == ("record_statement", "party", f"party:{case.id}")
    assert event.payload["channel"] == "online"
    package = event.payload["attachments_package_id"]
    assert components.evidence().verify(package).ok
    assert components.evidence().item(package, "attachment-1.png")[1] == PNG

    # the party's receipt: the page shows what was filed, when, its attachments, and that it awaits review
    receipt = re.search(
        r'<section class="card" id="statement-receipt">(.*?)</section>', client.get("/party/case").text, re.S
    )
    assert receipt
    assert "货架已于次日收回，请求从轻处罚。" in receipt.group(1)
    assert "after.png" in receipt.group(1)
    assert "（网上提交）" in receipt.group(1)
    assert "承办人员将对您提出的事实、理由和证据进行复核" in receipt.group(1)
    answered = components.cases.answer_statement(case.id or 0, OFFICER, stored.version, False, "理由不成立", None)
    assert answered.statement_adopted is False
    assert "经复核，您的陈述申辩未被采纳。" in client.get("/party/case").text


def test_the_officer_s_case_page_links_each_statement_attachment_to_its_sealed_item(
    client: TestClient, components: Components, case: Case
) -> None:
    token = open_case(client, components, case)
    client.post("/party/statement", data={"csrf": token, "text": "货架已于次日收回，请求从轻处罚。"},
                files=[("attachments", ("整改后照片.png", PNG, "image/png"))])  # fmt: skip
    package = components.cases.get(case.id or 0).events[-1].payload["attachments_package_id"]
    link = f"/console/evidence/{package}/items/attachment-1.png"
    assert client.get(link, follow_redirects=False).status_code == 303  # the party's session is not staff's
    sign_in(client, components, Role.OFFICER)
    page = client.get(f"/console/cases/{case.id}").text
    listed = re.search(r'id="statement-attachments">(.*?)</ul>', page)
    assert listed
    assert f'<a href="{link}" target="_blank">整改后照片.png</a>' in listed.group(1)
    assert f'href="/console/evidence/{package}"' in listed.group(1)
    attachment = client.get(link)
    assert (attachment.status_code, attachment.content) == (200, PNG)
    # the record names the party by the case's party name, not by its record key (party:<case id>)
    timeline = re.search(r'<ol class="timeline">(.*?)</ol>', page, re.S)
    assert timeline
    stored = components.cases.get(case.id or 0)
    assert stored.party_name
    assert f"{stored.party_name}（当事人）" in timeline.group(1)
    assert f"party:{case.id}" not in timeline.group(1)


def test_a_refused_defence_seals_no_attachment(client: TestClient, components: Components, case: Case) -> None:
    token = open_case(client, components, case)
    before = set(components.evidence().package_ids())
    response = client.post("/party/statement", data={"csrf": token, "text": "  "},
                           files=[("attachments", ("after.png", PNG, "image/png"))])  # fmt: skip
    assert "陈述申辩内容为空" in response.text
    assert set(components.evidence().package_ids()) == before
    assert components.cases.get(case.id or 0).status is CaseStatus.PENALTY_NOTICE_ISSUED


def test_a_defence_sent_twice_at_once_is_filed_once_and_its_attachments_sealed_once(
    client: TestClient, components: Components, case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A double click sends the form twice. The second send arrives while the first seals its attachments: it is
    refused before it seals anything (the case's statement is being filed), not after, which would leave a sealed
    package no case cites. Sent once more after the first is filed, it is answered as filed, and nothing is sealed
    or recorded again."""
    token = open_case(client, components, case)
    body = {"csrf": token, "text": "货架已于次日收回，请求从轻处罚。"}
    files = [("attachments", ("after.png", PNG, "image/png"))]
    before = set(components.evidence().package_ids())
    sealing, second_answered = threading.Event(), threading.Event()
    store = components.evidence()
    seal = store.seal

    def slow_seal(*args: Any, **kwargs: Any) -> Any:
        sealing.set()
        second_answered.wait(10)  # the second send is answered while this one holds the filing
        return seal(*args, **kwargs)

    monkeypatch.setattr(store, "seal", slow_seal)
    first: dict[str, Any] = {}
    sending = threading.Thread(target=lambda: first.update(r=client.post("/party/statement", data=body, files=files,
                                                                         follow_redirects=False)))  # fmt: skip
    sending.start()
    assert sealing.wait(10)
    second = client.post("/party/statement", data=body, files=files, follow_redirects=False)
    second_answered.set()
    sending.join(10)
    assert "本案的陈述申辩正在提交中，请稍后刷新本页查看" in second.text
    assert first["r"].status_code == 303
    stored = components.cases.get(case.id or 0)
    assert stored.status is CaseStatus.STATEMENT_FILED
    assert [e.action for e in stored.events].count("record_statement") == 1
    assert set(components.evidence().package_ids()) - before == {stored.events[-1].payload["attachments_package_id"]}

    again = client.post("/party/statement", data=body, files=files, follow_redirects=False)
    assert again.status_code == 303
    assert "陈述申辩已提交" in client.get(again.headers["location"]).text
    assert len(set(components.evidence().package_ids()) - before) == 1
    assert components.cases.get(case.id or 0).version == stored.version
    other = client.post("/party/statement", data=body | {"text": "另一份申辩"}, follow_redirects=False)
    assert "本案当前阶段不接受陈述申辩" in other.text  # a different statement is not a re-send


def test_a_filing_that_died_holding_the_case_s_statement_does_not_block_the_next_one(
    client: TestClient, components: Components, case: Case, clock: ManualClock
) -> None:
    """A filing whose process died while it sealed leaves its claim behind; after STATEMENT_FILING_TIMEOUT the
    party's next send files the statement."""
    with components.engine.begin() as connection:
        connection.execute(insert(tables.statement_filings).values(case_id=case.id, started_at=clock.now()))
    token = open_case(client, components, case)
    body = {"csrf": token, "text": "货架已于次日收回。"}
    assert "正在提交中" in client.post("/party/statement", data=body).text
    clock.advance(STATEMENT_FILING_TIMEOUT)
    assert client.post("/party/statement", data=body, follow_redirects=False).status_code == 303
    assert components.cases.get(case.id or 0).status is CaseStatus.STATEMENT_FILED
    with components.engine.connect() as connection:
        assert connection.execute(select(tables.statement_filings)).all() == []


def test_a_bad_attachment_is_refused_and_nothing_is_filed(
    client: TestClient, components: Components, case: Case
) -> None:
    token = open_case(client, components, case)
    response = client.post("/party/statement", data={"csrf": token, "text": "申辩"},
                           files=[("attachments", ("notes.txt", b"plain text", "text/plain"))])  # fmt: skip
    assert "不是 JPEG、PNG 或 PDF 文件" in response.text
    assert components.cases.get(case.id or 0).status is CaseStatus.PENALTY_NOTICE_ISSUED
    forged = client.post("/party/statement", data={"csrf": "0" * 64, "text": "申辩"})
    assert "表单已过期" in forged.text
    assert components.cases.get(case.id or 0).status is CaseStatus.PENALTY_NOTICE_ISSUED


def test_a_defence_after_the_deadline_is_refused(
    client: TestClient, components: Components, case: Case, clock: ManualClock
) -> None:
    assert case.statement_deadline is not None
    clock.advance(dt.timedelta(days=(case.statement_deadline - components.clock.today()).days + 1))
    token = open_case(client, components, case)  # a session lasts 30 minutes: opened again days later
    assert "陈述、申辩</h2>" not in client.get("/party/case").text  # the form is gone
    response = client.post("/party/statement", data={"csrf": token, "text": "申辩"})
    assert "陈述申辩期限已于" in response.text
    assert components.cases.get(case.id or 0).status is CaseStatus.PENALTY_NOTICE_ISSUED


def test_the_party_consents_to_electronic_delivery(client: TestClient, components: Components, case: Case) -> None:
    token = open_case(client, components, case)
    unconfirmed = client.post("/party/consent", data={"csrf": token})
    assert "请先确认送达方式和地址" in unconfirmed.text
    assert not components.cases.get(case.id or 0).party_e_delivery_consent
    client.post("/party/consent", data={"csrf": token, "confirm": "on"})
    stored = components.cases.get(case.id or 0)
    assert stored.party_e_delivery_consent
    assert (stored.party_consent_document_ref or "").startswith("当事人页面确认")
    assert "送达手机 138****8000" in (stored.party_consent_document_ref or "")


def test_the_consent_the_party_gave_on_the_page_stands_at_the_decision_s_delivery(
    client: TestClient, world: World, components: Components, clock: ManualClock
) -> None:
    """The shop's registry record says no consent; the case's own consent, given on the party page, stands."""
    c = components
    assert world.merchant is not None
    assert world.merchant.e_delivery_consent is False
    detection = world.detection("cross_door")
    case = c.cases.open_draft([detection.id or 0], OFFICER)
    case = c.cases.file(case.id or 0, OFFICER, case.version)
    case = c.cases.issue_rectification_notice(case.id or 0, OFFICER, case.version, DeliveryMethod.DIRECT)
    token = open_case(client, components, case)
    client.post("/party/consent", data={"csrf": token, "confirm": "on"})
    case = c.cases.get(case.id or 0)
    assert case.party_e_delivery_consent
    clock.advance(dt.timedelta(days=2))
    case = c.cases.record_recheck(case.id or 0, OFFICER, case.version, RecheckOutcome.PERSISTING,
                                  c.clock.today(), None, "货架仍在")  # fmt: skip
    case = c.cases.issue_penalty_notice(case.id or 0, OFFICER, case.version, 15000, DeliveryMethod.ELECTRONIC)
    clock.advance(dt.timedelta(days=10))  # the statement period is over
    case = c.cases.request_legal_review(case.id or 0, OFFICER, case.version, 15000)
    case = c.cases.approve_legal_review(case.id or 0, LEGAL, case.version, "同意")
    case = c.cases.decide_penalty(case.id or 0, OFFICER, case.version, 15000)
    delivered = c.cases.record_delivery(case.id or 0, OFFICER, case.version, DeliveryMethod.ELECTRONIC, c.clock.today())
    assert delivered.payment_due is not None
    assert (delivered.party_consent_document_ref or "").startswith("当事人页面确认")


def test_the_amount_due_grows_by_the_surcharge_once_payment_is_late(
    client: TestClient, components: Components, case: Case, clock: ManualClock
) -> None:
    c, legal = components, LEGAL
    clock.advance(dt.timedelta(days=10))  # the statement period is over
    stored = c.cases.request_legal_review(case.id or 0, OFFICER, case.version, 15000)
    stored = c.cases.approve_legal_review(stored.id or 0, legal, stored.version, "同意")
    stored = c.cases.decide_penalty(stored.id or 0, OFFICER, stored.version, 15000)
    stored = c.cases.record_delivery(stored.id or 0, OFFICER, stored.version, DeliveryMethod.DIRECT, c.clock.today())
    assert stored.payment_due is not None
    open_case(client, components, stored)
    assert "150.00" in client.get("/party/case").text
    clock.advance(dt.timedelta(days=(stored.payment_due - c.clock.today()).days + 2))  # two days late: 3% a day
    open_case(client, components, stored)
    page = client.get("/party/case").text
    assert re.search(r'id="amount-due">159\.00<', page)
    pdf = client.get("/party/documents/penalty_decision.pdf")
    assert pdf.headers["content-type"] == "application/pdf"


def test_a_strangers_wrong_codes_do_not_lock_the_party_out(components: Components, case: Case) -> None:
    number = case.number or ""
    code = party_access_code(components, number)
    for _ in range(MAX_FAILURES_PER_CASE):
        with pytest.raises(InvalidInput):
            components.party.open_case(number, "00000000", "203.0.113.9", lambda n: party_access_code(components, n))
    with pytest.raises(TooManyAttempts):  # the stranger is locked out of this case
        components.party.open_case(number, code, "203.0.113.9", lambda n: party_access_code(components, n))
    opened = components.party.open_case(number, code, "198.51.100.7", lambda n: party_access_code(components, n))
    assert opened.id == case.id


def test_a_guess_spread_over_many_addresses_locks_the_case_number(components: Components, case: Case) -> None:
    number = case.number or ""
    for n in range(MAX_FAILURES_PER_CASE_ALL_CLIENTS):
        with pytest.raises(InvalidInput):
            components.party.open_case(number, "00000000", f"10.0.{n // 200}.{n % 200}", lambda c: "11111111")
    with pytest.raises(TooManyAttempts):
        components.party.open_case(number, party_access_code(components, number), "198.51.100.7",
                                   lambda n: party_access_code(components, n))  # fmt: skip


def test_a_document_once_issued_never_changes(components: Components, case: Case, clock: ManualClock) -> None:
    """The notice to correct, issued before the re-check, is served as issued after it (the re-check is recorded
    on the case since, and a fresh rendering would state it)."""
    first = document(components, case.id or 0, DocumentKind.RECTIFICATION_NOTICE)
    clock.advance(dt.timedelta(days=1))
    again = document(components, case.id or 0, DocumentKind.RECTIFICATION_NOTICE)
    assert (again.pdf, again.package_id) == (first.pdf, first.package_id)
    issued = [record.kind for record in components.documents.of_case(case.id or 0)]
    assert issued == ["rectification_notice", "penalty_notice"]  # each sealed once, by its own step


def test_codes_and_tokens_that_are_not_ascii_and_forged_cookies_are_refused_not_crashed_on(
    client: TestClient, components: Components, case: Case
) -> None:
    wrong = client.post("/party", data={"case_number": case.number, "code": "一二三四五六七八"})
    assert wrong.status_code == 422
    token = open_case(client, components, case)
    assert token
    forged = client.post("/party/statement", data={"csrf": "令牌", "text": "申辩"})
    assert "表单已过期" in forged.text
    client.cookies.clear()
    client.cookies.set("offsite_party", "1.9999999999.not-a-signature")
    assert client.get("/party/case", follow_redirects=False).status_code == 303
    # control characters typed (or sent) are not shown back: the page offers the number again without them
    nul = client.post("/party", data={"case_number": f"{case.number}\x00\x1b", "code": "\x00"})
    assert nul.status_code == 422
    assert "\x00" not in nul.text
    assert "\x1b" not in nul.text
    assert f'value="{case.number}"' in nul.text


def _statement_form(page: str) -> str:
    form = re.search(r'<section class="card" id="statement">(.*?)</section>', page, re.S)
    assert form, "the statement form is not on the page"
    return form.group(1)


TYPED = "货架已于次日收回，<请求>从轻处罚。"
TOO_LARGE = PNG + b"\x00" * (5 * 1024 * 1024)


@pytest.mark.parametrize(
    ("text", "attachments", "told"),
    [
        (TYPED, [("notes.txt", b"plain text", "text/plain")], "附件 notes.txt 不是 JPEG、PNG 或 PDF 文件"),
        (TYPED, [(f"p{n}.png", PNG, "image/png") for n in range(4)], "最多上传 3 个附件"),
        (TYPED, [("big.png", TOO_LARGE, "image/png")], "附件 big.png 超过 5 MB"),
        (TYPED + "\x00", [("after.png", PNG, "image/png")], "“陈述申辩内容”含有空字符"),
    ],
    ids=["not-jpeg-png-pdf", "four-attachments", "over-5-mb", "nul-in-text"],
)
def test_a_refused_defence_shows_the_page_again_with_the_text_as_typed_and_asks_for_the_attachments_again(
    client: TestClient, components: Components, case: Case, text: str, attachments: list[tuple[str, bytes, str]],
    told: str,
) -> None:  # fmt: skip
    token = open_case(client, components, case)
    before = set(components.evidence().package_ids())
    files = [("attachments", attachment) for attachment in attachments]
    refused = client.post("/party/statement", data={"csrf": token, "text": text}, files=files, follow_redirects=False)
    assert refused.status_code == 422, refused.text[:300]
    error = re.search(r'<p class="flash error" role="alert">(.*?)</p>', refused.text, re.S)
    assert error, "the refusal is not shown"
    assert told in error.group(1)
    assert "请重新选择附件" in error.group(1)  # a browser cannot keep the files chosen
    assert f"{escape(text)}</textarea>" in _statement_form(refused.text)  # as typed, NUL and all
    assert set(components.evidence().package_ids()) == before
    assert components.cases.get(case.id or 0).status is CaseStatus.PENALTY_NOTICE_ISSUED


def test_a_refused_defence_without_attachments_keeps_the_text_and_asks_for_none(
    client: TestClient, components: Components, case: Case
) -> None:
    open_case(client, components, case)
    stale = client.post("/party/statement", data={"csrf": "0" * 64, "text": TYPED}, follow_redirects=False)
    assert stale.status_code == 422
    assert "表单已过期" in stale.text
    assert "请重新选择附件" not in stale.text
    assert "&lt;请求&gt;从轻处罚。</textarea>" in _statement_form(stale.text)
    assert components.cases.get(case.id or 0).status is CaseStatus.PENALTY_NOTICE_ISSUED


def test_the_attachment_input_tells_the_browser_the_allowed_kinds_count_and_size(
    client: TestClient, components: Components, case: Case
) -> None:
    open_case(client, components, case)
    form = _statement_form(client.get("/party/case").text)
    file_input = re.search(r'<input type="file"[^>]*>', form)
    assert file_input
    assert 'accept="image/jpeg,image/png,application/pdf,.jpg,.jpeg,.png,.pdf"' in file_input.group(0)
    assert 'data-max-count="3"' in file_input.group(0)
    assert f'data-max-bytes="{5 * 1024 * 1024}"' in file_input.group(0)


FULL_WIDTH_DIGITS = str.maketrans("0123456789", "０１２３４５６７８９")


def _brackets(number: str, opening: str, closing: str) -> str:
    return number.replace("〔", opening).replace("〕", closing)


@pytest.mark.parametrize(
    ("typed_number", "typed_code"),
    [
        (lambda n: _brackets(n, "[", "]"), lambda c: c),
        (lambda n: _brackets(n, "(", ")"), lambda c: c),
        (lambda n: _brackets(n, "（", "）"), lambda c: c),
        (lambda n: _brackets(n, "【", "】"), lambda c: c),
        (lambda n: _brackets(n, "［", "］"), lambda c: c),
        (lambda n: n.translate(FULL_WIDTH_DIGITS), lambda c: c.translate(FULL_WIDTH_DIGITS)),
        (lambda n: f" {n}\u3000", lambda c: f"{c[:4]} {c[4:]}"),
        (lambda n: n, lambda c: f"{c[:2]}\u3000{c[2:5]}  {c[5:]}"),
    ],
    ids=["square", "round", "full-width-round", "lenticular", "full-width-square", "full-width-digits",
         "spaces", "spaces-in-code"],
)  # fmt: skip
def test_the_case_number_and_code_open_the_case_however_the_brackets_digits_and_spaces_are_typed(
    client: TestClient, components: Components, case: Case, typed_number: Any, typed_code: Any
) -> None:
    number = case.number or ""
    assert "〔" in number
    assert "〕" in number
    code = party_access_code(components, number)
    response = client.post("/party", data={"case_number": typed_number(number), "code": typed_code(code)},
                           follow_redirects=False)  # fmt: skip
    assert response.status_code == 303, response.text[-2000:]
    assert number in client.get("/party/case").text


def test_a_wrong_code_typed_in_another_way_still_counts_towards_the_lock_out(
    client: TestClient, components: Components, case: Case
) -> None:
    number = case.number or ""
    for n in range(MAX_FAILURES_PER_CASE):
        typed = _brackets(number, "(", ")") if n % 2 else number.translate(FULL_WIDTH_DIGITS)
        wrong = client.post("/party", data={"case_number": typed, "code": "0000 0000"})
        assert wrong.status_code == 422
        assert "案件编号或查询码不正确" in wrong.text
    right = party_access_code(components, number)
    locked = client.post("/party", data={"case_number": number, "code": right}, follow_redirects=False)
    assert locked.status_code == 429


def test_a_party_who_chooses_english_reads_the_lookup_and_the_case_page_in_english(
    client: TestClient, components: Components, case: Case
) -> None:
    """The party chooses English with the switch every page has; the case's own data (names, places) stays as it
    was recorded."""
    client.get("/console/language/en", params={"back": "/party"})
    lookup = client.get("/party").text
    for english in ("Case lookup for parties", "Lookup code", "Look up", "advance notice of administrative penalty"):
        assert english in lookup
    assert "当事人案件查询" not in lookup
    assert "查询码" not in lookup

    token = open_case(client, components, case)
    page = client.get("/party/case").text
    for english in ("Facts of the violation", "Provision violated", "Proposed fine", "150.00 yuan", "First seen",
                    "Evidence package", "faces and the number plates", "No fine is due.", "Statement and defence",
                    "Submit statement and defence", "Agree to electronic delivery", "Penalty notice issued"):  # fmt: skip
        assert english in page, english
    assert "浦东小面馆" in page  # the party's name, as recorded
    for chinese in ("违法事实", "拟罚款", "陈述、申辩", "提交陈述申辩", "同意电子送达", "为保护他人个人信息", "首次发现"):  # fmt: skip
        assert chinese not in page, chinese

    nul = client.post("/party/statement", data={"csrf": token, "text": "a\x00b"}, follow_redirects=False)
    assert nul.status_code == 422
    assert "“Statement and defence” holds a NUL character" in nul.text  # the field's label told in English

    client.post("/party/statement", data={"csrf": token, "text": "The stall was gone the next day."},
                files=[("attachments", ("after.png", PNG, "image/png"))])  # fmt: skip
    receipt = client.get("/party/case").text
    assert "Your statement and defence" in receipt
    assert "(submitted online)" in receipt
    assert "Attachments: after.png (sealed as evidence)" in receipt
    assert "The officer in charge will review" in receipt
    assert client.get(f"/party/evidence/{'ab' * 32}/confirming.jpg").text == "Not evidence of this case"
