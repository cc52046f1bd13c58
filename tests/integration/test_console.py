"""The web console through HTTP, as a browser sends it (cookies, forms): sign-in, the operators' review, the
officers' steps, evidence pages, documents, statistics and the registry import, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader

from cases.model.case import CaseStatus, DeliveryMethod
from cases.model.detection import DetectionStatus
from cases.model.staff import Role
from evidence_store.store import ItemIn
from offsite.bootstrap import Components
from tests.integration.conftest import Staff
from tests.integration.world import ALL_PASS, OFFICER, OPERATOR, World, key_frame_items

PASSWORD = "password-1234"
SEALS = itertools.count(1)  # told apart in each package's context: the store names a package by what it seals


def sign_in(client: TestClient, components: Components, role: Role) -> None:
    username = f"{role.value}1"
    if components.accounts.find_user(username) is None:
        components.accounts.create_user(username, f"{role.value} {username}", role, PASSWORD)
    client.cookies.clear()
    response = client.post("/console/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303, response.text


def csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{32})"', html)
    assert found, "the page has no form token"
    return found.group(1)


def version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found, "the page has no version field"
    return found.group(1)


def sealed_package(components: Components, tmp_path: Path) -> str:
    """A real package as the pipeline seals one: key frames, quality figures."""
    image = np.full((90, 160, 3), 120, np.uint8)
    cv2.rectangle(image, (40, 20), (100, 70), (0, 0, 255), -1)
    items = key_frame_items(tmp_path, image)
    quality = tmp_path / "quality.json"
    figures = {"sharpness": 812.5, "brightness": 120.0, "underexposed": 0.0, "overexposed": 0.0, "width": 160}
    quality.write_text(json.dumps({"confirming": figures | {"height": 90}, "clip_error": None}))
    items.append(ItemIn("quality.json", "application/json", quality))
    context = {"camera_id": "cam-1", "zone_id": "Z-ROAD", "violation_code": "street_stall", "seal": next(SEALS)}
    return components.evidence().seal(items, context).package_id  # no two alike: each backs its own detection


@pytest.fixture
def package(components: Components, tmp_path: Path) -> str:
    return sealed_package(components, tmp_path)


def pending(world: World, package: str, kind: str = "stall") -> int:
    event = world.event(kind)
    event = type(event)(**{**event.__dict__, "evidence_package_id": package})
    detection, _ = world.components.detections.intake(event, world.components.registry)
    assert detection.id is not None
    return detection.id


# ---- signing in --------------------------------------------------------------------------------------------------
def test_pages_send_a_visitor_to_sign_in_and_back(client: TestClient, components: Components, world: World) -> None:
    response = client.get("/console/review?status=pending_review", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login?next=/console/review%3Fstatus%3Dpending_review"
    components.accounts.create_user("operator1", "值班员", Role.OPERATOR, PASSWORD)
    signed = client.post("/console/login", data={"username": "operator1", "password": PASSWORD,
                                                 "next": "/console/review?status=pending_review"},
                         follow_redirects=False)  # fmt: skip
    assert signed.headers["location"] == "/console/review?status=pending_review"
    assert "审核队列" in client.get("/console/review").text


def test_a_wrong_password_is_refused_and_no_session_is_made(client: TestClient, components: Components) -> None:
    components.accounts.create_user("officer1", "办案人员", Role.OFFICER, PASSWORD)
    response = client.post("/console/login", data={"username": "officer1", "password": "wrong-password"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert "offsite_console" not in response.cookies


def test_a_wrong_password_shows_the_sign_in_page_again_with_the_username_kept_and_never_the_password(
    client: TestClient, components: Components
) -> None:
    components.accounts.create_user("officer1", "办案人员", Role.OFFICER, PASSWORD)
    refused = client.post("/console/login", data={"username": "officer1", "password": "wrong-<password>"})
    assert refused.status_code == 401
    username = re.search(r'<input name="username"[^>]*>', refused.text)
    password = re.search(r'<input name="password"[^>]*>', refused.text)
    assert username
    assert password
    assert 'value="officer1"' in username.group(0)
    assert "value=" not in password.group(0)
    assert "wrong-" not in refused.text
    assert "autofocus" in password.group(0)  # the password is what is typed again


def test_sign_in_never_redirects_to_another_site(client: TestClient, components: Components) -> None:
    components.accounts.create_user("officer1", "办案人员", Role.OFFICER, PASSWORD)
    for target in ("https://evil.example/", "//evil.example/console/", "/api/v1/users"):
        response = client.post("/console/login", data={"username": "officer1", "password": PASSWORD, "next": target},
                               follow_redirects=False)  # fmt: skip
        assert response.headers["location"] == "/console/cases"


def test_a_role_sees_a_refusal_page_for_what_it_may_not_open(
    client: TestClient, components: Components, world: World
) -> None:
    sign_in(client, components, Role.OPERATOR)
    response = client.get("/console/cases")
    assert response.status_code == 403
    assert "无权访问此页面" in response.text


# ---- the operators' review -----------------------------------------------------------------------------------------
def test_an_operator_confirms_a_detection_with_the_four_checks(
    client: TestClient, components: Components, world: World, package: str
) -> None:
    detection_id = pending(world, package)
    sign_in(client, components, Role.OPERATOR)
    queue = client.get("/console/review")
    assert f"/console/detections/{detection_id}" in queue.text
    assert "812.5 / 120.0" in queue.text  # sharpness and brightness of the confirming frame, in the queue
    detail = client.get(f"/console/detections/{detection_id}")
    assert "annotated-confirming.jpg" in detail.text
    assert "812.5" in detail.text  # the sharpness figure of the confirming frame
    image = client.get(f"/console/evidence/{package}/items/annotated-confirming.jpg")
    assert image.headers["content-type"] == "image/jpeg"
    form = {"csrf": csrf(detail.text), "version": version(detail.text), "decision": "confirm", "reason": "核查通过",
            "authentic": "on", "clear": "on", "complete": "on", "accurate": "on"}  # fmt: skip
    response = client.post(f"/console/detections/{detection_id}/review", data=form, follow_redirects=False)
    assert response.status_code == 303
    assert components.detections.get(detection_id).status is DetectionStatus.CONFIRMED


def test_a_confirmation_with_a_failing_check_is_refused_and_changes_nothing(
    client: TestClient, components: Components, world: World, package: str
) -> None:
    detection_id = pending(world, package)
    sign_in(client, components, Role.OPERATOR)
    detail = client.get(f"/console/detections/{detection_id}")
    form = {
        "csrf": csrf(detail.text),
        "version": version(detail.text),
        "decision": "confirm",
        "authentic": "on",
        "clear": "on",
    }
    response = client.post(f"/console/detections/{detection_id}/review", data=form)
    assert "不能确认：证据未通过" in response.text
    assert components.detections.get(detection_id).status is DetectionStatus.PENDING_REVIEW


def _review_form(page: str) -> str:
    form = re.search(r'<form id="review-form".*?</form>', page, re.S)
    assert form, "the review form is not on the page"
    return form.group(0)


def _ticked(form: str) -> set[str]:
    return set(re.findall(r'<input type="checkbox" name="(\w+)"[^>]*\bchecked\b', form))


def test_a_refused_confirmation_shows_the_page_again_with_the_boxes_ticked_and_the_opinion_as_typed(
    client: TestClient, components: Components, world: World, package: str
) -> None:
    detection_id = pending(world, package)
    sign_in(client, components, Role.OPERATOR)
    detail = client.get(f"/console/detections/{detection_id}")
    assert _ticked(_review_form(detail.text)) == set()
    form = {"csrf": csrf(detail.text), "version": version(detail.text), "decision": "confirm",
            "authentic": "on", "complete": "on", "reason": "画面<偏暗>但可辨认"}  # fmt: skip
    refused = client.post(f"/console/detections/{detection_id}/review", data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert "不能确认：证据未通过" in refused.text
    shown = _review_form(refused.text)
    assert _ticked(shown) == {"authentic", "complete"}
    assert "画面&lt;偏暗&gt;但可辨认</textarea>" in shown
    assert components.detections.get(detection_id).status is DetectionStatus.PENDING_REVIEW


def test_a_rejection_without_a_reason_shows_the_page_again_with_the_boxes_ticked(
    client: TestClient, components: Components, world: World, package: str
) -> None:
    detection_id = pending(world, package)
    sign_in(client, components, Role.OPERATOR)
    detail = client.get(f"/console/detections/{detection_id}")
    form = {"csrf": csrf(detail.text), "version": version(detail.text), "decision": "reject", "clear": "on",
            "reason": "   "}  # fmt: skip
    refused = client.post(f"/console/detections/{detection_id}/review", data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert re.search(r'<p class="flash error" role="alert">[^<]*理由', refused.text), refused.text[-3000:]
    assert _ticked(_review_form(refused.text)) == {"clear"}
    assert components.detections.get(detection_id).status is DetectionStatus.PENDING_REVIEW


def test_a_review_without_a_decision_shows_the_page_again_with_what_was_typed(
    client: TestClient, components: Components, world: World, package: str
) -> None:
    detection_id = pending(world, package)
    sign_in(client, components, Role.OPERATOR)
    detail = client.get(f"/console/detections/{detection_id}")
    form = {"csrf": csrf(detail.text), "version": version(detail.text), "accurate": "on", "reason": "待定"}
    refused = client.post(f"/console/detections/{detection_id}/review", data=form, follow_redirects=False)
    assert refused.status_code == 422
    assert "请选择确认或驳回" in refused.text
    assert _ticked(_review_form(refused.text)) == {"accurate"}
    assert "待定</textarea>" in _review_form(refused.text)


def test_a_rejected_detection_stays_searchable(
    client: TestClient, components: Components, world: World, package: str
) -> None:
    detection_id = pending(world, package)
    sign_in(client, components, Role.OPERATOR)
    detail = client.get(f"/console/detections/{detection_id}")
    form = {"csrf": csrf(detail.text), "version": version(detail.text), "decision": "reject", "reason": "行人短暂停留"}
    client.post(f"/console/detections/{detection_id}/review", data=form)
    assert components.detections.get(detection_id).status is DetectionStatus.REJECTED
    assert f"/console/detections/{detection_id}" not in client.get("/console/review").text
    found = client.get("/console/detections?status=rejected&violation=street_stall")
    assert f"/console/detections/{detection_id}" in found.text
    assert f"/console/detections/{detection_id}" not in client.get("/console/detections?camera=cam-9").text


def test_a_form_without_the_session_token_is_refused(
    client: TestClient, components: Components, world: World, package: str
) -> None:
    detection_id = pending(world, package)
    sign_in(client, components, Role.OPERATOR)
    detail = client.get(f"/console/detections/{detection_id}")
    form = {"csrf": "0" * 32, "version": version(detail.text), "decision": "reject", "reason": "x"}
    response = client.post(f"/console/detections/{detection_id}/review", data=form)
    assert response.status_code == 403
    assert components.detections.get(detection_id).status is DetectionStatus.PENDING_REVIEW


# ---- the officers' steps, evidence and documents -------------------------------------------------------------------
def test_an_officer_opens_files_and_notifies_a_case_from_the_console(
    client: TestClient, components: Components, world: World, package: str
) -> None:
    detection_id = pending(world, package, "cross_door")
    detection = components.detections.get(detection_id)
    components.detections.review(detection_id, OPERATOR, detection.version, True, ALL_PASS, None)
    sign_in(client, components, Role.OFFICER)
    detail = client.get(f"/console/detections/{detection_id}")
    opened = client.post("/console/cases", data={"csrf": csrf(detail.text), "detection_id": str(detection_id)},
                         follow_redirects=False)  # fmt: skip
    case_id = int(opened.headers["location"].split("/")[-1].split("?")[0])
    page = client.get(f"/console/cases/{case_id}")
    assert 'data-step="file"' in page.text
    client.post(f"/console/cases/{case_id}/steps/file", data={"csrf": csrf(page.text), "version": version(page.text)})
    page = client.get(f"/console/cases/{case_id}")
    assert components.cases.get(case_id).status is CaseStatus.FILED
    step = {"csrf": csrf(page.text), "version": version(page.text), "method": DeliveryMethod.DIRECT.value}
    client.post(f"/console/cases/{case_id}/steps/issue_rectification_notice", data=step)
    case = components.cases.get(case_id)
    assert case.status is CaseStatus.NOTICE_ISSUED
    page = client.get(f"/console/cases/{case_id}")
    assert "校验通过" in page.text  # the evidence of the case verified as the page was drawn
    pdf = client.get(f"/console/cases/{case_id}/documents/rectification_notice.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).replace(" ", "")
    assert "责令改正通知书" in text
    assert (case.number or "?") in text
    again = client.get(f"/console/cases/{case_id}/documents/rectification_notice.pdf")
    assert again.headers["X-Evidence-Package"] == pdf.headers["X-Evidence-Package"]  # sealed once, as issued
    assert components.evidence().verify(pdf.headers["X-Evidence-Package"]).ok


def test_a_step_the_stage_does_not_allow_comes_back_with_the_reason(
    client: TestClient, components: Components, world: World
) -> None:
    case = world.draft()
    sign_in(client, components, Role.OFFICER)
    page = client.get(f"/console/cases/{case.id}")
    response = client.post(f"/console/cases/{case.id}/steps/decide_penalty",
                           data={"csrf": csrf(page.text), "version": str(case.version), "fine": "150"})  # fmt: skip
    assert "不能进行“作出行政处罚决定”" in response.text
    assert components.cases.get(case.id or 0).status is CaseStatus.DRAFT
    bad_amount = client.post(f"/console/cases/{case.id}/steps/issue_penalty_notice",
                             data={"csrf": csrf(page.text), "version": str(case.version), "fine": "一百",
                                   "method": "direct"})  # fmt: skip
    assert "“拟罚款”：&#39;一百&#39; 不是金额（以元为单位" in bad_amount.text  # the page escapes the quotes


def test_the_evidence_page_verifies_now_and_the_public_page_shows_no_pictures(
    client: TestClient, components: Components, world: World, package: str
) -> None:
    sign_in(client, components, Role.OFFICER)
    page = client.get(f"/console/evidence/{package}")
    assert "annotated-first.jpg" in page.text
    assert "Ed25519" in page.text
    verified = client.post(f"/console/evidence/{package}/verify", data={"csrf": csrf(page.text)})
    assert "校验通过" in verified.text
    client.cookies.clear()
    public = client.get(f"/verify/{package}?now=1")
    assert "校验通过" in public.text
    assert "包含证明" in public.text
    # the verdict first, above the hashes: on a phone it is what the reader came for, not below a long table
    assert public.text.index('id="verification"') < public.text.index('<dl class="facts">')
    assert client.get(f"/console/evidence/{package}/items/frame-first.jpg", follow_redirects=False).status_code == 303


# ---- statistics and the registry -----------------------------------------------------------------------------------
def test_statistics_export_as_csv_and_xlsx(client: TestClient, components: Components, world: World) -> None:
    world.detection("stall")
    sign_in(client, components, Role.SUPERVISOR)
    assert "执法统计" in client.get("/console/statistics").text
    table = list(csv.reader(io.StringIO(client.get("/console/statistics.csv").content.decode("utf-8-sig"))))
    assert table[0][:3] == ["月份", "区域", "发现"]
    assert table[1][1] == "浦东新区"
    assert table[1][2] == "1"
    book = load_workbook(io.BytesIO(client.get("/console/statistics.xlsx").content))
    assert book.active is not None
    assert book.active.cell(2, 3).value == 1
    assert client.get("/console/statistics?year=1999").status_code == 422


def test_a_csv_import_reports_each_rejected_row_and_writes_nothing(
    client: TestClient, components: Components, world: World
) -> None:
    sign_in(client, components, Role.ADMIN)
    page = client.get("/console/registry/merchants")
    content = "code,name,address\nSHOP-7,鲜果铺,商城路 606 号\n,无编号,商城路 608 号\n".encode()
    response = client.post("/console/registry/import", data={"csrf": csrf(page.text), "kind": "merchants"},
                           files={"file": ("shops.csv", content, "text/csv")})  # fmt: skip
    assert response.status_code == 422
    assert "未写入任何数据" in response.text
    assert "<td>3</td>" in response.text
    assert "鲜果铺" not in client.get("/console/registry/merchants").text


def test_the_registry_statistics_and_accounts_pages_read_in_english(
    client: TestClient, components: Components, world: World
) -> None:
    def reads_in_english(html: str, english: tuple[str, ...], chinese: tuple[str, ...]) -> None:
        for text in english:
            assert text in html, text
        for text in chinese:
            assert text not in html, text

    world.detection("stall")
    sign_in(client, components, Role.ADMIN)
    client.get("/console/language/en")
    cameras = client.get("/console/registry/cameras").text
    reads_in_english(cameras, ("Camera registry", "Legal review, technical review and publication", "Device ID",
                               "Next maintenance", "CSV import", "Allow a partial import", "Monitored zone"),
                     ("摄像头登记", "设备编号", "下次维护", "认证有效", "不可用于取证", "CSV 导入", "允许部分导入"))  # fmt: skip
    assert "Certification valid" in cameras or "Not usable as evidence" in cameras
    merchants = client.get("/console/registry/merchants").text
    reads_in_english(merchants, ("Merchant registry", "Unified social credit code"), ("商户登记", "统一社会信用代码"))
    sites = client.get("/console/registry/sites").text
    reads_in_english(sites, ("Construction site registry", "Construction permit number"), ("工地登记", "施工许可证号"))

    content = "code,name,address\nSHOP-7,鲜果铺,商城路 606 号\n,无编号,商城路 608 号\n".encode()
    report = client.post("/console/registry/import", data={"csrf": csrf(cameras), "kind": "merchants"},
                         files={"file": ("shops.csv", content, "text/csv")}).text  # fmt: skip
    reads_in_english(report, ("CSV import result · merchants", "0 added, 0 updated, 1 rejected.",
                              "Nothing was written.", "<th>Line</th>", "Back to the registry"),
                     ("未写入任何数据", "返回登记库", "行号"))  # fmt: skip

    accounts = client.get("/console/users").text
    reads_in_english(accounts, ("Staff accounts", "No locked accounts", "Sign-in lock", "System administrator",
                                "Enabled"), ("工作人员账号", "系统管理员", "启用", "登录锁定"))  # fmt: skip

    sign_in(client, components, Role.SUPERVISOR)
    client.get("/console/language/en")
    statistics = client.get("/console/statistics").text
    reads_in_english(statistics, ("Enforcement statistics", "By month and district", "Export CSV",
                                  "Fines decided (yuan)", "Cases by stage"), ("执法统计", "各阶段案件", "罚款决定"))  # fmt: skip


def test_an_unknown_or_malformed_package_is_a_page_saying_so(client: TestClient, components: Components) -> None:
    for package_id in ("0" * 64, "not-a-package"):
        response = client.get(f"/verify/{package_id}?now=1")
        assert response.status_code == 404
        assert "未找到" in response.text


def test_a_notice_issued_through_the_api_is_sealed_at_once(
    client: TestClient, components: Components, world: World, package: str, staff: Staff
) -> None:
    detection_id = pending(world, package, "cross_door")
    detection = components.detections.get(detection_id)
    components.detections.review(detection_id, OPERATOR, detection.version, True, ALL_PASS, None)
    case = components.cases.open_draft([detection_id], OFFICER)
    case = components.cases.file(case.id or 0, OFFICER, case.version)
    response = client.post(f"/api/v1/cases/{case.id}/rectification-notice",
                           json={"version": case.version, "method": "direct"},
                           headers=staff.headers(Role.OFFICER))  # fmt: skip
    assert response.status_code == 200, response.text
    (record,) = components.documents.of_case(case.id or 0)
    assert record.kind == "rectification_notice"
    assert components.evidence().verify(record.package_id).ok


def test_a_form_token_that_is_not_ascii_is_refused_not_crashed_on(
    client: TestClient, components: Components, world: World, package: str
) -> None:
    detection_id = pending(world, package)
    sign_in(client, components, Role.OPERATOR)
    response = client.post(f"/console/detections/{detection_id}/review",
                           data={"csrf": "令牌", "version": "1", "decision": "reject", "reason": "x"})  # fmt: skip
    assert response.status_code == 403
    assert components.detections.get(detection_id).status is DetectionStatus.PENDING_REVIEW


# ---- the review, detection and evidence pages in English -----------------------------------------------------------
def _reads(html: str, english: tuple[str, ...], chinese: tuple[str, ...]) -> None:
    for text in english:
        assert text in html, text
    for text in chinese:
        assert text not in html, text


def test_the_review_detection_evidence_and_missed_pages_read_in_english(
    client: TestClient, components: Components, world: World, package: str
) -> None:
    detection_id = pending(world, package)
    sign_in(client, components, Role.OPERATOR)
    client.get("/console/language/en")
    queue = client.get("/console/review").text
    _reads(queue, ("Review queue", "(authentic, clear, complete, accurate)", "<th>Confidence</th>",
                   "Image (sharpness / brightness)", "Pending review", "<button type=\"submit\">Filter</button>",
                   "Shortcuts: on a detection's page press 1–4"),
           ("审核队列", "真实、清晰", "置信度", "待审核", "筛选", "快捷键", "首次发现"))  # fmt: skip
    search = client.get("/console/detections?status=rejected").text
    _reads(search, ("Detections", "(rejected ones included)", "No detections match"),
           ("检测记录", "含已驳回", "没有符合条件的检测记录", "已驳回"))  # fmt: skip

    detail = client.get(f"/console/detections/{detection_id}").text
    _reads(detail, (f"Detection #{detection_id}", "What was found", "<h3>Image quality</h3>", "Confirming frame",
                    "Video clip and key frames", "Checks (all must hold to confirm)", "1. Authentic", "4. Accurate",
                    "Comments or reason for rejection", "Confirm (C)", "Reject (R)"),
           ("发现情况", "画面质量", "确认帧", "核查项", "真实", "准确", "意见或驳回理由", "确认（C）", "驳回（R）"))  # fmt: skip
    # a refusal names the field by the page's own English
    too_long = {"csrf": csrf(detail), "version": version(detail), "decision": "reject", "reason": "x" * 5000}
    refused = client.post(f"/console/detections/{detection_id}/review", data=too_long, follow_redirects=False)
    assert refused.status_code == 422
    assert "“Comments or reason for rejection” holds at most" in refused.text

    evidence = client.get(f"/console/evidence/{package}").text
    _reads(evidence, ("<h1>Evidence package</h1>", "Evidence package ID", "Signature", "Inclusion proof", "Verify now"),
           ("证据包编号", "签名", "包含证明", "立即校验"))  # fmt: skip
    verified = client.post(f"/console/evidence/{package}/verify", data={"csrf": csrf(evidence)}).text
    _reads(verified, ("<h3>Verified</h3>",), ("校验通过",))
    missing = client.get("/console/evidence/" + "0" * 64)
    assert missing.status_code == 404
    _reads(missing.text, ("evidence package 0000", "The evidence store holds no such evidence package"),
           ("证据存储中没有", "证据包 0000"))  # fmt: skip
    public = client.get(f"/verify/{package}?now=1").text  # the public page follows the reader's choice too
    _reads(public, ("Electronic evidence verification", "<h3>Verified</h3>", "it shows none of the pictures"),
           ("电子证据校验", "校验通过", "不显示图像内容"))  # fmt: skip

    recent = client.get("/console/recent").text
    _reads(recent, ("Missed findings", "Labelled missed frames", "No camera has recent frames kept yet"),
           ("漏报标注", "已标注漏报帧", "尚无摄像头保留的最近画面"))  # fmt: skip
