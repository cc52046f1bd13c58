"""The party's statement form in a real browser: the attachment input says what the server would refuse (too
many files, one too large, a kind other than JPEG, PNG or PDF) before anything is sent, and a statement the server
refuses anyway comes back with its text as typed and the refusal asking for the attachments again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import cv2

from cases.model.case import Case, DeliveryMethod, Party, PartyKind, RecheckOutcome
from cases.services.detections import QueueFilter
from offsite.issued import party_access_code
from tests.browser.conftest import Served
from tests.browser.test_longest_text import ALL_PASS, OFFICER, OPERATOR, VENDOR_ID
from vision.synthetic import render_still

TYPED = "摊位当日已撤离，系初次经营，请求从轻处理。"


def penalty_notice_case(served: Served) -> Case:
    """A stall detection confirmed and its case carried to the pre-penalty notice: the statement period runs."""
    c = served.components
    pending = c.detections.queue(QueueFilter(violation_code="street_stall"), limit=1).items[0]
    assert pending.id is not None
    c.detections.review(pending.id, OPERATOR, pending.version, True, ALL_PASS, "核查通过")
    case = c.cases.open_draft([pending.id], OFFICER)
    party = Party(PartyKind.INDIVIDUAL, "张三", VENDOR_ID, "13700137000", "上海市浦东新区某路 1 号")
    case = c.cases.confirm_party(case.id or 0, OFFICER, case.version, party, "现场询问确认")
    case = c.cases.file(case.id or 0, OFFICER, case.version)
    case = c.cases.issue_rectification_notice(case.id or 0, OFFICER, case.version, DeliveryMethod.DIRECT)
    if case.rectification_deadline is not None:
        c.clock.advance(case.rectification_deadline - c.clock.today() + dt.timedelta(days=1))  # type: ignore[attr-defined]
    case = c.cases.record_recheck(case.id or 0, OFFICER, case.version, RecheckOutcome.PERSISTING, c.clock.today(),
                                  None, "摊位仍在")  # fmt: skip
    fine = case.fine_band_min_fen if case.fine_band_min_fen is not None else 5000
    return c.cases.issue_penalty_notice(case.id or 0, OFFICER, case.version, fine, DeliveryMethod.DIRECT)


def opened(browser: Any, served: Served, case: Case) -> Any:
    assert case.number is not None
    party = browser.new_context(locale="zh-CN").new_page()
    party.goto(f"{served.base}/party")
    party.fill("input[name=case_number]", case.number.replace("〔", "(").replace("〕", ")"))
    party.fill("input[name=code]", " ".join(party_access_code(served.components, case.number)))
    with party.expect_navigation():
        party.click("button[type=submit]")
    assert case.number in party.locator("h1").inner_text()
    return party


def test_the_attachment_input_warns_before_sending_and_a_refusal_keeps_the_text(
    served: Served, browser: Any, tmp_path: Path
) -> None:
    case = penalty_notice_case(served)
    party = opened(browser, served, case)
    attachments = "#statement input[name=attachments]"
    photo = tmp_path / "photo.png"
    photo.write_bytes(cv2.imencode(".png", render_still(11, 320, 180).image)[1].tobytes())
    notes, large = tmp_path / "notes.txt", tmp_path / "large.pdf"
    notes.write_text("plain text")
    large.write_bytes(b"%PDF" + b"0" * (5 * 1024 * 1024))
    copies = [tmp_path / f"photo-{n}.png" for n in range(4)]
    for copy in copies:
        copy.write_bytes(photo.read_bytes())

    def warning(*files: Path) -> str:
        party.set_input_files(attachments, [str(f) for f in files])
        return str(party.eval_on_selector(attachments, "input => input.validationMessage"))

    assert warning(*copies) == "最多上传 3 个附件"
    assert warning(notes) == "附件 notes.txt 不是 JPEG、PNG 或 PDF 文件"
    assert warning(large) == "附件 large.pdf 超过 5 MB"
    assert warning(photo) == ""

    # named .png but not a picture: the browser cannot tell, the server can
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"not a picture")
    party.fill("#statement textarea[name=text]", TYPED)
    party.set_input_files(attachments, str(fake))
    with party.expect_navigation():
        party.click("#statement button[type=submit]")
    error = party.locator(".flash.error").inner_text()
    assert "附件 fake.png 不是 JPEG、PNG 或 PDF 文件" in error
    assert "请重新选择附件" in error
    assert party.input_value("#statement textarea[name=text]") == TYPED
    assert served.components.cases.get(case.id or 0).statement_text is None
