"""Chinese first: problems and pages tell people what happened in Chinese from the message catalogue, in English
when the client asks (``Accept-Language: en``, or the console's language choice); an HTML page never shows raw JSON;
the fine form shows its permitted band before submitting and keeps what was typed after a refusal."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cases.clock import ManualClock
from cases.model.case import CaseStatus
from cases.model.staff import Role
from offsite.bootstrap import Components
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_console import csrf, sign_in, version
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
