"""Chinese first: problems and pages tell people what happened in Chinese from the message catalogue, in English
when the client asks (``Accept-Language: en``, or the console's language choice); an HTML page never shows raw JSON;
the fine form shows its permitted band before submitting and keeps what was typed after a refusal."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cases.clock import ManualClock
from cases.model.case import CaseStatus
from cases.model.detection import DetectionStatus
from cases.model.staff import Role
from offsite.bootstrap import Components
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_console import csrf, pending, sealed_package, sign_in, version
from tests.integration.test_gateway_api import event_body, push
from tests.integration.test_gateway_frames import jpeg, push_frame
from tests.integration.test_registry_api import csv_file, upload
from tests.integration.world import World

ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}


@pytest.fixture(autouse=True)
def _reader_without_a_language(client: TestClient) -> None:
    """A client that states no language, as a browser set to Chinese or a plain HTTP client: the default."""
    client.headers.pop("Accept-Language", None)


def _post(client: TestClient, headers: dict[str, str], case: dict[str, Any], path: str, **body: Any) -> Any:
    return client.post(f"/api/v1/cases/{case['id']}/{path}", json={"version": case["version"], **body}, headers=headers)


def _persisting(client: TestClient, world: World, staff: Staff, clock: ManualClock) -> dict[str, Any]:
    """A cross-door case found persisting at its re-check: its next step proposes the fine."""
    officer = staff.headers(Role.OFFICER)
    draft = world.draft("cross_door")
    case: dict[str, Any] = {"id": draft.id, "version": draft.version}
    for path, body in (("file", {}), ("rectification-notice", {"method": "direct"})):
        response = _post(client, officer, case, path, **body)
        assert response.status_code == 200, response.text
        case = response.json()
    clock.advance(dt.timedelta(days=2))
    observed = (clock.today()).isoformat()
    response = _post(client, officer, case, "recheck", outcome="persisting", observed_on=observed,
                     inspection_note="货架仍在")  # fmt: skip
    assert response.status_code == 200, response.text
    persisting: dict[str, Any] = response.json()
    assert persisting["status"] == CaseStatus.PERSISTING.value
    return persisting


def test_a_fine_outside_the_discretion_band_is_refused_in_chinese_and_in_english_when_asked(
    client: TestClient, world: World, staff: Staff, clock: ManualClock
) -> None:
    case = _persisting(client, world, staff, clock)
    officer = staff.headers(Role.OFFICER)
    body = {"method": "direct", "proposed_fine_fen": 500000}
    chinese = problem_of(_post(client, officer, case, "penalty-notice", **body))
    assert chinese["code"] == "fine_outside_range"
    assert chinese["detail"].startswith("拟罚款 5000.00 元 超出裁量基准“首次”档")
    english = problem_of(_post(client, officer | ENGLISH, case, "penalty-notice", **body))
    assert english["code"] == "fine_outside_range"
    assert english["detail"].startswith("proposed fine 5000.00 元 is outside the discretion band 首次")


def test_electronic_service_without_consent_is_refused_in_chinese(
    client: TestClient, world: World, staff: Staff
) -> None:
    officer = staff.headers(Role.OFFICER)
    draft = world.draft("cross_door")
    filed = _post(client, officer, {"id": draft.id, "version": draft.version}, "file").json()
    refused = problem_of(_post(client, officer, filed, "rectification-notice", method="electronic"))
    assert refused["code"] == "consent_required"
    assert refused["detail"] == "电子送达须经当事人签署同意（规定第十三条）"
    english = problem_of(_post(client, officer | ENGLISH, filed, "rectification-notice", method="electronic"))
    assert english["detail"] == "electronic service needs the party's signed consent (规定第十三条)"


def test_a_stale_version_is_refused_in_chinese_naming_the_record_and_both_versions(
    client: TestClient, world: World, staff: Staff
) -> None:
    officer = staff.headers(Role.OFFICER)
    draft = world.draft("cross_door")
    stale = {"id": draft.id, "version": draft.version + 1}  # another read than the case's
    refused = problem_of(_post(client, officer, stale, "file"))
    assert refused["code"] == "version_conflict"
    assert refused["detail"].startswith(f"案件 {draft.id} 已被他人修改（当前为第 {draft.version} 版")
    english = problem_of(_post(client, officer | ENGLISH, stale, "file"))
    assert english["detail"] == (
        f"case {draft.id} is at version {draft.version}, the request was based on version {draft.version + 1}"
    )


def test_an_unknown_case_is_told_in_chinese_by_default_and_in_english_when_asked(
    client: TestClient, staff: Staff
) -> None:
    officer = staff.headers(Role.OFFICER)
    chinese = problem_of(client.get("/api/v1/cases/9999", headers=officer))
    assert (chinese["status"], chinese["code"], chinese["detail"]) == (404, "not_found", "案件 9999 不存在")
    english = problem_of(client.get("/api/v1/cases/9999", headers=officer | ENGLISH))
    assert english["detail"] == "case 9999 does not exist"


def test_schema_findings_are_told_in_chinese_naming_the_field(client: TestClient, staff: Staff) -> None:
    response = client.post("/api/v1/cases", json={}, headers=staff.headers(Role.OFFICER))
    refused = problem_of(response)
    assert refused["code"] == "invalid_request"
    assert refused["errors"][0]["field"].endswith("detection_ids")
    assert refused["errors"][0]["message"] == "必填"


def test_an_unknown_console_address_is_a_chinese_page_not_json(client: TestClient, components: Components) -> None:
    sign_in(client, components, Role.OFFICER)
    response = client.get("/console/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "没有这个页面" in response.text
    public = client.get("/party/no-such-page")
    assert public.status_code == 404
    assert public.headers["content-type"].startswith("text/html")
    api = client.get("/api/v1/no-such-route")
    assert problem_of(api)["detail"] == "页面或接口不存在"


def test_an_over_long_console_field_is_a_chinese_page_naming_the_field(client: TestClient) -> None:
    response = client.post("/console/login", data={"username": "张" * 65, "password": "x"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
    assert "“用户名”：最多 64 个字符" in response.text
    assert "{" not in response.text.split("<main", 1)[-1].split("</main>", 1)[0]


def test_the_fine_form_shows_the_band_and_keeps_what_was_typed_after_a_refusal(
    client: TestClient, world: World, staff: Staff, clock: ManualClock, components: Components
) -> None:
    case = _persisting(client, world, staff, clock)
    sign_in(client, components, Role.OFFICER)
    page = client.get(f"/console/cases/{case['id']}").text
    band = re.search(r'data-fine-limits="issue_penalty_notice">([^<]*)<', page)
    assert band
    assert "裁量基准“首次”档" in band.group(1)
    assert "当事人此前同类违法 0 次" in band.group(1)
    typed = {"csrf": csrf(page), "version": version(page), "fine": "5000", "method": "postal", "served_on": ""}
    refused = client.post(f"/console/cases/{case['id']}/steps/issue_penalty_notice", data=typed)
    assert refused.status_code == 422
    assert "拟罚款 5000.00 元 超出裁量基准" in refused.text
    form = refused.text.split('data-step="issue_penalty_notice"', 1)[1].split("</form>", 1)[0]
    assert 'name="fine" value="5000"' in form
    assert '<option value="postal" selected>' in form
    assert components.cases.get(case["id"]).status is CaseStatus.PERSISTING


def test_a_refused_console_step_is_told_in_chinese_with_the_stage_and_the_step(
    client: TestClient, world: World, components: Components
) -> None:
    case = world.draft()
    sign_in(client, components, Role.OFFICER)
    page = client.get(f"/console/cases/{case.id}").text
    refused = client.post(f"/console/cases/{case.id}/steps/decide_penalty",
                          data={"csrf": csrf(page), "version": version(page), "fine": "150"})  # fmt: skip
    assert "案件当前处于“草稿（待立案）”阶段，不能进行“作出行政处罚决定”" in refused.text


def test_the_console_language_choice_tells_messages_in_english(
    client: TestClient, world: World, components: Components
) -> None:
    case = world.draft()
    sign_in(client, components, Role.OFFICER)
    client.get("/console/language/en")
    page = client.get(f"/console/cases/{case.id}").text
    refused = client.post(f"/console/cases/{case.id}/steps/decide_penalty",
                          data={"csrf": csrf(page), "version": version(page), "fine": "150"})  # fmt: skip
    assert "cannot decide penalty a case in stage draft" in refused.text
    client.get("/console/language/zh_CN")
    again = client.post(f"/console/cases/{case.id}/steps/decide_penalty",
                        data={"csrf": csrf(page), "version": version(page), "fine": "150"})  # fmt: skip
    assert "不能进行“作出行政处罚决定”" in again.text


def test_a_console_notice_is_told_in_the_language_of_the_page_that_shows_it(
    client: TestClient, world: World, components: Components, tmp_path: Path
) -> None:
    """A flash keeps its catalogue entry, not its text: the page after the redirect tells it in the language chosen
    by then, English when the reader chose English and Chinese otherwise. A refused review is the page shown again
    at once, in the language of the moment."""
    detection_id = pending(world, sealed_package(components, tmp_path))
    sign_in(client, components, Role.OPERATOR)
    here = f"/console/detections/{detection_id}"
    page = client.get(here).text
    nowhere = {"csrf": csrf(page), "frame": "nowhere", "boxes": "[]"}  # no such key frame: refused, nothing changes
    posted = client.post(f"{here}/labels", data=nowhere, follow_redirects=False)
    assert posted.status_code == 303
    # the language changes between the post and the page it redirects to (the switch itself draws no page)
    assert client.get("/console/language/en", follow_redirects=False).status_code == 303
    english = client.get(posted.headers["location"]).text
    assert re.search(r'<p class="flash error" role="alert">[^<]*nowhere[^<]* is not a key frame', english)
    assert "不是关键帧" not in english
    client.get("/console/language/zh_CN")
    undecided = {"csrf": csrf(page), "version": version(page)}  # no decision chosen: refused, nothing changes
    chinese = client.post(f"{here}/review", data=undecided).text
    assert '<p class="flash error" role="alert">请选择确认或驳回</p>' in chinese
    assert "choose confirm or reject" not in chinese
    client.get("/console/language/en")
    assert (
        '<p class="flash error" role="alert">choose confirm or reject</p>'
        in client.post(f"{here}/review", data=undecided).text
    )
    confirm = undecided | {"decision": "confirm", "authentic": "on", "clear": "on", "complete": "on", "accurate": "on"}
    done = client.post(f"{here}/review", data=confirm).text
    assert f'<p class="flash ok" role="status">detection {detection_id} confirmed</p>' in done
    assert components.detections.get(detection_id).status is DetectionStatus.CONFIRMED


def test_a_failed_sign_in_is_told_in_english_when_the_reader_chose_english(client: TestClient) -> None:
    client.get("/console/language/en")
    refused = client.post("/console/login", data={"username": "nobody", "password": "wrong-password"})
    assert refused.status_code == 401
    assert "wrong username or password, or the account is disabled" in refused.text
    assert "用户名或密码错误" not in refused.text


def test_the_sign_in_page_is_in_english_when_the_reader_chose_english(client: TestClient) -> None:
    chinese = client.get("/console/login").text
    assert '<html lang="zh-CN">' in chinese
    assert "<h1>工作人员登录</h1>" in chinese
    client.get("/console/language/en")
    english = client.get("/console/login").text
    assert '<html lang="en">' in english
    assert "<h1>Staff sign-in</h1>" in english
    assert ">Username <input" in english
    assert '<a href="/party">party lookup page</a>' in english
    assert not re.search(r"[\u4e00-\u9fff]", english.replace("中文", "")), "Chinese left on the English page"


def test_the_language_is_chosen_on_any_page_and_the_reader_returns_to_it(
    client: TestClient, world: World, components: Components
) -> None:
    sign_in(client, components, Role.OFFICER)
    chinese = client.get("/console/cases?status=filed").text
    switch = re.search(r'<a href="(/console/language/en\?back=[^"]+)" lang="en">English</a>', chinese)
    assert switch, "the Chinese page offers English"
    chosen = client.get(switch.group(1).replace("&amp;", "&"), follow_redirects=False)
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/console/cases?status=filed"
    english = client.get(chosen.headers["location"]).text
    assert ">Cases</a>" in english
    assert ">Sign out</button>" in english
    assert "<strong>English</strong> · " not in english  # Chinese comes first in the switch
    assert re.search(r'<a href="/console/language/zh_CN\?back=[^"]+" lang="zh-CN">中文</a> · <strong>English</strong>',
                     english)  # fmt: skip


def test_a_violation_is_named_in_the_readers_language_where_the_law_gives_its_english(
    client: TestClient, world: World, components: Components
) -> None:
    """The law's catalogue names each violation in Chinese (its legal name) and, for a reader of English, in English
    (``name_en``); the legal provisions it cites stay as the law words them."""
    case = world.draft("cross_door")
    sign_in(client, components, Role.OFFICER)
    chinese = client.get(f"/console/cases/{case.id}").text
    assert "<dd>跨门经营</dd>" in chinese
    client.get("/console/language/en")
    english = client.get(f"/console/cases/{case.id}").text
    assert "<dd>Cross-door operation</dd>" in english
    assert "跨门经营" not in english
    assert "上海市市容环境卫生管理条例 第二十五条第四款" in english
    assert "<td>Cross-door operation</td>" in client.get("/console/cases").text
    filters = client.get("/console/detections").text
    assert re.search(r'<option value="cross_door"\s*>Cross-door operation</option>', filters)


@pytest.mark.parametrize("back", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/api/v1/cases"])
def test_the_language_switch_returns_to_no_other_site_and_no_other_part(client: TestClient, back: str) -> None:
    chosen = client.get("/console/language/en", params={"back": back}, follow_redirects=False)
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/console/"


def test_the_verify_page_lists_its_checks_in_chinese(client: TestClient, world: World) -> None:
    response = client.get(f"/verify/{world.package_id}?now=1")
    assert response.status_code == 200
    checks = re.search(r'id="verification">(.*?)</div>', response.text, re.S)
    assert checks
    listed = checks.group(1)
    assert "校验通过" in listed
    assert "清单哈希与证据包编号一致" in listed
    assert "数字签名有效（密钥" in listed
    assert "已包含在日志树头" in listed
    assert "manifest hash" not in listed
    assert "signature by key" not in listed


def test_pages_stay_chinese_when_the_browser_asks_for_english(
    client: TestClient, world: World, components: Components
) -> None:
    case = world.draft()
    sign_in(client, components, Role.OFFICER)
    page = client.get(f"/console/cases/{case.id}").text
    refused = client.post(f"/console/cases/{case.id}/steps/decide_penalty", headers=ENGLISH,
                          data={"csrf": csrf(page), "version": version(page), "fine": "150"})  # fmt: skip
    assert "不能进行“作出行政处罚决定”" in refused.text


# ---- what gateways, registry managers and the verify page are told ---------------------------------------------
def test_a_pushed_frame_that_is_not_a_jpeg_is_refused_in_chinese_naming_the_fault(
    client: TestClient, world: World
) -> None:
    world.components.frames.open("cam-1", capacity=4)
    refused = problem_of(push_frame(client, world.components, b"not a jpeg"))
    assert (refused["status"], refused["code"]) == (422, "bad_frame")
    assert refused["detail"] == "摄像头 'cam-1' 推送的图像帧不是 JPEG 图像：未以图像起始标记 FF D8 开头"
    client.headers.update(ENGLISH)
    english = problem_of(push_frame(client, world.components, b"not a jpeg"))
    assert english["detail"].startswith("camera 'cam-1': the pushed frame is not a JPEG")


def test_a_camera_no_pipeline_takes_frames_of_is_told_in_chinese(client: TestClient, world: World) -> None:
    refused = problem_of(push_frame(client, world.components, jpeg(), device_id="cam-9"))
    assert (refused["status"], refused["code"]) == (409, "no_pipeline")
    assert refused["detail"].startswith("当前没有检测流程接收摄像头 'cam-9' 推送的图像帧")


def test_a_violation_event_without_its_subjects_reference_is_refused_in_chinese(
    client: TestClient, world: World
) -> None:
    body = event_body(world, "cross_door") | {"subject": {"kind": "merchant", "ref": None}}
    refused = problem_of(push(client, world.components, body))
    assert (refused["status"], refused["code"]) == (422, "invalid_input")
    assert refused["detail"] == "违法事件有误：对象类型 merchant 须注明对象编号"


def test_the_rows_a_csv_import_rejects_are_told_in_chinese_by_line_and_in_english_when_asked(
    client: TestClient, staff: Staff
) -> None:
    admin = staff.headers(Role.ADMIN)
    content = csv_file("M-90002,坏手机,示范路,,1380000000,否,", "M-90006,布尔值,示范路,,,也许,")
    report = problem_of(upload(client, admin, content))["report"]
    assert [(r["line"], r["code"], r["error"]) for r in report["rejected"]] == [
        (2, "invalid_input.mobile", "mobile '1380000000' 不是 11 位大陆手机号码"),
        (3, "invalid_input.csv_yes_no", "e_delivery_consent 列：'也许' 不是“是/否”"),
    ]
    english = problem_of(upload(client, admin | ENGLISH, content))["report"]
    assert [r["error"] for r in english["rejected"]] == [
        "mobile '1380000000' is not an 11-digit mainland mobile number",
        "e_delivery_consent: '也许' is not yes/no",
    ]


def test_the_console_import_report_tells_each_rejected_row_in_the_chosen_language(
    client: TestClient, components: Components
) -> None:
    sign_in(client, components, Role.ADMIN)
    content = "code,name,address,e_delivery_consent\nSHOP-7,鲜果铺,商城路 606 号,也许\n".encode()

    def imported() -> str:
        page = client.get("/console/registry/merchants")
        response = client.post("/console/registry/import", data={"csrf": csrf(page.text), "kind": "merchants"},
                               files={"file": ("shops.csv", content, "text/csv")})  # fmt: skip
        assert response.status_code == 422
        return response.text

    assert "e_delivery_consent 列：&#39;也许&#39; 不是“是/否”" in imported()
    client.get("/console/language/en")
    assert "e_delivery_consent: &#39;也许&#39; is not yes/no" in imported()


def test_a_cameras_certification_problems_are_told_in_chinese(client: TestClient, staff: Staff) -> None:
    bare = {"device_id": "cam-3", "name": "新点位", "address": "张江路 1 号"}
    camera = client.post("/api/v1/cameras", json=bare, headers=staff.headers(Role.ADMIN)).json()
    assert camera["certification_problems"] == [
        "未记录法制审核",
        "未记录技术审核",
        "未记录维护计划",
        "设置地点未向社会公布",
    ]


def test_a_tree_head_whose_signature_was_edited_is_named_on_the_verify_page_in_chinese(
    client: TestClient, world: World, components: Components
) -> None:
    package_id = world.package_id  # sealed on first use
    heads = components.settings.evidence_dir / "state" / "heads.jsonl"
    lines = heads.read_text().splitlines()
    last = json.loads(lines[-1])
    last["signature"] = ("0" if last["signature"][0] != "0" else "1") + last["signature"][1:]
    heads.write_text("\n".join([*lines[:-1], json.dumps(last)]) + "\n")
    response = client.get(f"/verify/{package_id}?now=1")
    checks = re.search(r'id="verification">(.*?)</div>', response.text, re.S)
    assert checks
    assert f"日志树头 {last['tree_size']} 的签名不符（已被改动）" in checks.group(1)
    assert "signature does not match" not in checks.group(1)
