"""The whole loop through the UI, in Chromium: the operator confirms a stall detection the cameras found; the
officer files the case and issues a notice; after the deadline the service's re-check and the officer find it
persisting; the pre-penalty notice; the party files a defence on the party page; the legal reviewer approves; the
decision is issued and its PDF opens; the payment is recorded; the case is closed. Screenshots of each step are
saved in test-artifacts/browser/."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from cases.model.case import CaseStatus
from cases.model.registry import id_card_check_character
from offsite.demo import FOOTAGE_CACHE, TODAY
from offsite.issued import party_access_code
from offsite.rechecks import run_due_rechecks
from offsite.settings import SHIPPED_MODEL
from tests.browser.conftest import Served, sign_in
from vision.detector import DetectorConfig, OnnxDetector
from vision.synthetic import render_still

VENDOR_ID = "31011519920315007"
VENDOR_ID += id_card_check_character(VENDOR_ID)


class Steps:
    """One signed-in browser page per role, and a numbered screenshot after each step."""

    def __init__(self, browser: Any, served: Served, artefacts: Path) -> None:
        self.browser, self.served, self.artefacts = browser, served, artefacts
        self.shots = 0

    def sign_in(self, username: str) -> Any:
        return sign_in(self.browser, self.served.base, username)

    def shot(self, page: Any, name: str) -> None:
        self.shots += 1
        page.screenshot(path=str(self.artefacts / f"{self.shots:02d}-{name}.png"), full_page=True)

    @staticmethod
    def step(page: Any, action: str, **fields: str) -> None:
        form = page.locator(f"form[data-step={action}]")
        for name, value in fields.items():
            field = form.locator(f"[name={name}]")
            if field.evaluate("e => e.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        assert page.locator(".flash.error").count() == 0, page.locator(".flash.error").inner_text()

    @staticmethod
    def stage(page: Any) -> str:
        return str(page.locator("#stage").inner_text())


def test_the_demo_clock_reads_the_wall_clock_when_the_demo_is_served(served: Served) -> None:
    """Once its story is told, the demo's clock reads the wall clock: the console it serves shows today's times, not
    times as far behind as the demo took to build (it took about 140 s once, and every page ran that far behind).
    Checked on the clock run_demo returned (the session's demo, see conftest) and on the copy served here, before
    the loop below moves it on."""
    assert served.summary.seconds > 5, "the demo ran too fast to show a lag"
    assert abs(served.clock_behind_s) < 2, f"the demo's clock was {served.clock_behind_s:.0f} s behind"
    behind = dt.datetime.now(dt.UTC) - served.components.clock.now()
    assert abs(behind.total_seconds()) < 2, f"the served clock is {behind.total_seconds():.0f} s behind"


def test_the_whole_loop_through_the_console_and_the_party_page(
    browser: Any, served: Served, artefacts: Path, tmp_path: Path
) -> None:
    steps = Steps(browser, served, artefacts)
    components, clock = served.components, served.components.clock

    # 1. the operator confirms today's stall detection, with the four checks, by keyboard
    operator = steps.sign_in("operator1")
    operator.goto(f"{served.base}/console/review?violation=street_stall")
    steps.shot(operator, "review-queue")
    with operator.expect_navigation():
        operator.locator("table.list tbody tr.row a").first.click()
    detection_id = int(re.search(r"/console/detections/(\d+)", operator.url).group(1))  # type: ignore[union-attr]
    assert operator.locator("video#clip").count() == 1
    assert operator.locator("img[alt='确认关键帧']").evaluate("img => img.naturalWidth") > 0
    # on the first key frame the operator boxes what the detector missed, a display of goods, and saves it as a label
    editor = operator.locator("form.label-editor").first
    canvas = editor.locator("canvas")
    operator.wait_for_function("c => c.width > 0", arg=canvas.element_handle())
    canvas.scroll_into_view_if_needed()  # the mouse acts in the window's coordinates
    frame = canvas.bounding_box()
    before = len(json.loads(editor.locator("input[name=boxes]").input_value()))
    editor.locator("select[name=class]").select_option("goods")
    operator.mouse.move(frame["x"] + frame["width"] - 50, frame["y"] + 6)
    operator.mouse.down()
    operator.mouse.move(frame["x"] + frame["width"] - 8, frame["y"] + 40, steps=6)
    operator.mouse.up()
    steps.shot(operator, "label-drawn")
    with operator.expect_navigation():
        editor.locator("button[type=submit]").click()
    assert "已保存首帧" in operator.locator(".flash.ok").inner_text()
    drawn = components.detections.labels_of(detection_id)["first"]
    assert drawn.labelled_by == "operator1"
    assert len(drawn.boxes) == before + 1
    assert drawn.boxes[-1]["class"] == "goods"
    for key in "1234":
        operator.keyboard.press(key)
    steps.shot(operator, "detection-checked")
    with operator.expect_navigation():
        operator.keyboard.press("c")
    assert "已确认" in operator.locator(".flash.ok").inner_text()
    assert components.detections.get(detection_id).status.value == "confirmed"

    # 2. the officer opens a case from it, confirms who the vendor is, files it and issues the notice
    officer = steps.sign_in("officer1")
    officer.goto(f"{served.base}/console/detections/{detection_id}")
    with officer.expect_navigation():
        officer.click("text=据此生成案件草稿")
    case_id = int(re.search(r"/console/cases/(\d+)", officer.url).group(1))  # type: ignore[union-attr]
    steps.step(officer, "confirm_party", kind="individual", name="王某某", id_number=VENDOR_ID,
               contact="13700137009", reason="现场走访，经辨认确认摊主身份")  # fmt: skip
    steps.step(officer, "file")
    steps.step(officer, "issue_rectification_notice", method="direct")
    assert steps.stage(officer) == "已责令改正"
    steps.shot(officer, "notice-issued")

    # 3. the deadline passes: the service looks at the camera again, then the officer records what was found
    clock.advance(dt.timedelta(days=1))  # type: ignore[attr-defined]
    detector = OnnxDetector(DetectorConfig(SHIPPED_MODEL, threads=1))
    cameras = {f.camera_id: f.camera(FOOTAGE_CACHE, clock.now(), detector.class_names) for f in TODAY}
    (looked,) = [r for r in run_due_rechecks(components, detector, cameras.get) if r.case_id == case_id]
    assert looked.problem is None, looked
    officer = steps.sign_in("officer1")  # the next day: yesterday's session has expired
    officer.goto(f"{served.base}/console/cases/{case_id}")
    card = officer.locator("#automatic-recheck").inner_text()
    assert ("违法行为仍存在" if looked.present else "未再发现违法行为") in card
    steps.step(officer, "record_recheck", outcome="persisting", note="复查时摊位仍在原处经营")
    assert steps.stage(officer) == "复查未改正"
    steps.shot(officer, "recheck-persisting")

    # 4. the pre-penalty notice
    steps.step(officer, "issue_penalty_notice", fine="100", method="direct")
    assert steps.stage(officer) == "已事先告知"
    case = components.cases.get(case_id)
    assert case.number is not None
    steps.shot(officer, "penalty-notice")

    # 5. the party opens the case with the notice's code and files a defence with a photo
    party = browser.new_context(locale="zh-CN").new_page()
    party.goto(f"{served.base}/party")
    party.fill("input[name=case_number]", case.number)
    party.fill("input[name=code]", party_access_code(components, case.number))
    with party.expect_navigation():
        party.click("button[type=submit]")
    assert case.number in party.locator("h1").inner_text()
    assert party.locator("#evidence, .frames img").first.evaluate("img => img.naturalWidth") > 0
    photo = tmp_path / "moved-away.png"
    import cv2

    photo.write_bytes(cv2.imencode(".png", render_still(11, 320, 180).image)[1].tobytes())
    party.fill("#statement textarea[name=text]", "摊位当日已撤离，系初次经营，请求从轻处理。")
    party.set_input_files("#statement input[name=attachments]", str(photo))
    steps.shot(party, "party-defence")
    with party.expect_navigation():
        party.click("#statement button[type=submit]")
    assert "陈述申辩已提交" in party.locator(".flash.ok").inner_text()
    assert components.cases.get(case_id).status is CaseStatus.STATEMENT_FILED

    # 6. the officer answers the defence and asks for legal review
    officer.reload()
    steps.step(officer, "answer_statement", reply="经复核，当事人逾期未改正，申辩理由不成立，维持拟处罚。")
    steps.step(officer, "request_legal_review", fine="100")
    assert steps.stage(officer) == "法制审核中"

    # 7. the legal reviewer approves from the review queue
    legal = steps.sign_in("legal1")
    legal.goto(f"{served.base}/console/legal")
    steps.shot(legal, "legal-queue")
    with legal.expect_navigation():
        legal.click(f"a[href='/console/cases/{case_id}']")
    steps.step(legal, "approve_legal_review", opinion="事实清楚，证据确凿，适用依据正确，程序合法。")
    assert steps.stage(legal) == "法制审核通过"
    steps.shot(legal, "legal-approved")

    # 8. the decision, its PDF, delivery, payment and closing
    officer.reload()
    steps.step(officer, "decide_penalty", fine="100")
    assert steps.stage(officer) == "已作出决定"
    link = officer.locator("a.document", has_text="行政处罚决定书")
    pdf = officer.context.request.get(served.base + str(link.get_attribute("href")))
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages).replace(" ", "").replace("\n", "")
    assert "行政处罚决定书" in text
    assert "王某某" in text
    assert "无序设摊" in text
    assert components.evidence().verify(pdf.headers["x-evidence-package"]).ok
    steps.shot(officer, "decided")
    steps.step(officer, "record_delivery", method="direct")
    steps.step(officer, "record_payment", amount="100")
    assert steps.stage(officer) == "已缴纳罚款"
    steps.step(officer, "close", reason="罚款已缴纳")
    assert steps.stage(officer) == "已结案"
    steps.shot(officer, "closed")
    assert components.cases.get(case_id).status is CaseStatus.CLOSED
    assert len(list(artefacts.glob("*.png"))) == steps.shots
