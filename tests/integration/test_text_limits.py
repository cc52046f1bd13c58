"""Every text a person or a client sends has a documented maximum (cases/persistence/limits.py): the maximum is
accepted and stored whole, one character more is refused with the field and the limit named and nothing changed:
through the API (422 before any work), the console's and the party's forms (a Chinese message, the form shown
again as typed), and code that writes directly (the check before every flush). On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.schemas import NAME_MAX, chars
from cases.clock import ManualClock
from cases.errors import InvalidInput
from cases.model.case import Case
from cases.model.detection import Detection
from cases.model.staff import Role
from cases.persistence import tables
from cases.persistence.limits import ATTACHMENT_NAME_MAX_CHARS, REASON_MAX_CHARS, STATEMENT_MAX_CHARS
from offsite.bootstrap import Components
from offsite.issued import party_access_code
from tests.integration.conftest import Staff, problem_of
from tests.integration.test_bad_input import case_state, counts, detection_state
from tests.integration.test_console import PASSWORD, csrf, sign_in, version
from tests.integration.test_party_page import PNG, penalty_notice_case
from tests.integration.world import ALL_PASS, OFFICER, OPERATOR, World, id_card

ADDRESS_MAX = chars(tables.cases.c.party_address)
CHECKLIST = {"authentic": True, "clear": True, "complete": True, "accurate": True}


@dataclass
class Targets:
    """What the bounded texts are sent to: a detection waiting for review, a stall's draft case, a case whose
    statement period runs."""

    detection: Detection
    draft: Case
    noticed: Case


@pytest.fixture
def targets(world: World, clock: ManualClock) -> Targets:
    return Targets(
        world.detection("stall", confirmed=False), world.draft("stall"), penalty_notice_case(world, world.seal_package(),
                                                                                             clock)
    )  # fmt: skip


def state(components: Components, targets: Targets) -> tuple[Any, ...]:
    """Everything a refused text could have changed."""
    return (
        counts(components),
        detection_state(components, targets.detection.id),
        case_state(components, targets.draft.id),
        case_state(components, targets.noticed.id),
    )


# ---- the JSON API -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiText:
    field: str  # as the problem names it
    limit: int
    role: Role
    path: Callable[[Targets], str]
    body: Callable[[str], dict[str, Any]]  # the request with this text, less the version
    stored: Callable[[Components, Targets], str | None]  # where an accepted text lies


def _case_of(targets: Targets, which: str) -> Case:
    case: Case = getattr(targets, which)
    return case


def _last_reason(components: Components, case: Case) -> str | None:
    return components.cases.get(case.id or 0).events[-1].reason


API_TEXTS = {
    "review-reason": ApiText(
        "body.reason",
        REASON_MAX_CHARS,
        Role.OPERATOR,
        lambda t: f"/api/v1/detections/{t.detection.id}/review",
        lambda text: {"decision": "reject", "checklist": CHECKLIST, "reason": text},
        lambda c, t: c.detections.get(t.detection.id or 0).review_reason,
    ),
    "withdraw-reason": ApiText(
        "body.reason",
        REASON_MAX_CHARS,
        Role.OFFICER,
        lambda t: f"/api/v1/cases/{t.draft.id}/withdraw",
        lambda text: {"reason": text},
        lambda c, t: _last_reason(c, t.draft),
    ),
    "party-name": ApiText(
        "body.name",
        NAME_MAX,
        Role.OFFICER,
        lambda t: f"/api/v1/cases/{t.draft.id}/party",
        lambda text: {"kind": "individual", "name": text, "id_number": id_card(3), "reason": "现场核实"},
        lambda c, t: c.cases.get(t.draft.id or 0).party_name,
    ),
    "party-address": ApiText(
        "body.address",
        ADDRESS_MAX,
        Role.OFFICER,
        lambda t: f"/api/v1/cases/{t.draft.id}/party",
        lambda text: {
            "kind": "individual",
            "name": "刘某某",
            "id_number": id_card(3),
            "address": text,
            "reason": "现场核实",
        },
        lambda c, t: c.cases.get(t.draft.id or 0).party_address,
    ),
    "statement-text": ApiText(
        "body.text",
        STATEMENT_MAX_CHARS,
        Role.OFFICER,
        lambda t: f"/api/v1/cases/{t.noticed.id}/statement",
        lambda text: {"text": text},
        lambda c, t: c.cases.get(t.noticed.id or 0).statement_text,
    ),
}


def _version(client: TestClient, headers: dict[str, str], path: str) -> int:
    record = path.rsplit("/", 1)[0]
    found: int = client.get(record, headers=headers).json()["version"]
    return found


@pytest.mark.parametrize("name", API_TEXTS)
def test_the_api_accepts_the_longest_allowed_text_and_refuses_one_character_more_changing_nothing(
    client: TestClient, components: Components, staff: Staff, targets: Targets, name: str
) -> None:
    text = API_TEXTS[name]
    headers = staff.headers(text.role)
    path = text.path(targets)
    before = state(components, targets)
    body = {"version": _version(client, headers, path), **text.body("长" * (text.limit + 1))}
    refused = client.post(path, json=body, headers=headers)
    assert refused.status_code == 422, refused.text
    problem = problem_of(refused)
    assert problem["code"] == "invalid_request"
    assert f"{text.field}: String should have at most {text.limit} characters" in problem["detail"]
    assert state(components, targets) == before

    body = {"version": _version(client, headers, path), **text.body("长" * text.limit)}
    accepted = client.post(path, json=body, headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert text.stored(components, targets) == "长" * text.limit


# ---- code that writes without the API: the check before every flush --------------------------------------------
def _review(c: Components, t: Targets, reason: str) -> object:
    d = c.detections.get(t.detection.id or 0)
    return c.detections.review(d.id or 0, OPERATOR, d.version, False, ALL_PASS, reason)


def _withdraw(c: Components, t: Targets, reason: str) -> object:
    return c.cases.withdraw(t.draft.id or 0, OFFICER, c.cases.get(t.draft.id or 0).version, reason)


def _statement(c: Components, t: Targets, text: str) -> object:
    case = c.cases.get(t.noticed.id or 0)
    return c.cases.record_statement(case.id or 0, OFFICER, case.version, text, "written", None)


@pytest.mark.parametrize(
    ("write", "column", "limit"),
    [
        (_review, "detections.review_reason", REASON_MAX_CHARS),
        (_withdraw, "case_events.reason", REASON_MAX_CHARS),
        (_statement, "cases.statement_text", STATEMENT_MAX_CHARS),
    ],
    ids=["review-reason", "event-reason", "statement"],
)
def test_free_text_written_by_code_is_bounded_by_its_column_s_documented_maximum(
    components: Components,
    targets: Targets,
    write: Callable[[Components, Targets, str], object],
    column: str,
    limit: int,
) -> None:
    before = state(components, targets)
    with pytest.raises(InvalidInput, match=f"{re.escape(column)} holds at most {limit} characters, got {limit + 1}"):
        write(components, targets, "x" * (limit + 1))
    assert state(components, targets) == before
    write(components, targets, "x" * limit)


# ---- the console's and the party's forms ------------------------------------------------------------------------
def _posted_reason(client: TestClient, components: Components, targets: Targets, text: str) -> Any:
    sign_in(client, components, Role.OPERATOR)
    detail = client.get(f"/console/detections/{targets.detection.id}").text
    assert f'<textarea name="reason" rows="2" maxlength="{REASON_MAX_CHARS}">' in detail
    form = {"csrf": csrf(detail), "version": version(detail), "decision": "reject", "reason": text} | dict.fromkeys(
        CHECKLIST, "on"
    )
    return client.post(f"/console/detections/{targets.detection.id}/review", data=form, follow_redirects=False)


def _posted_step(action: str, field: str, extra: dict[str, str]) -> Callable[..., Any]:
    def post(client: TestClient, components: Components, targets: Targets, text: str) -> Any:
        sign_in(client, components, Role.OFFICER)
        page = client.get(f"/console/cases/{targets.draft.id}").text
        assert re.search(rf'action="/console/cases/{targets.draft.id}/steps/{action}".*?name="{field}"[^>]*maxlength="',
                         page, re.S)  # fmt: skip
        form = {"csrf": csrf(page), "version": version(page), field: text, **extra}
        return client.post(f"/console/cases/{targets.draft.id}/steps/{action}", data=form, follow_redirects=False)

    return post


def _posted_statement(client: TestClient, components: Components, targets: Targets, text: str) -> Any:
    number = targets.noticed.number or ""
    client.post("/party", data={"case_number": number, "code": party_access_code(components, number)})
    page = client.get("/party/case").text
    assert f'maxlength="{STATEMENT_MAX_CHARS}"' in page
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page)
    assert token
    return client.post("/party/statement", data={"csrf": token.group(1), "text": text}, follow_redirects=False)


PARTY = {"kind": "individual", "id_number": id_card(3), "reason": "现场核实"}
FORM_TEXTS = {
    "review-reason": (_posted_reason, "意见或驳回理由", REASON_MAX_CHARS,
                      lambda c, t: c.detections.get(t.detection.id or 0).review_reason),
    "withdraw-reason": (_posted_step("withdraw", "reason", {}), "理由", REASON_MAX_CHARS,
                        lambda c, t: _last_reason(c, t.draft)),
    "party-name": (_posted_step("confirm_party", "name", PARTY), "姓名或名称", NAME_MAX,
                   lambda c, t: c.cases.get(t.draft.id or 0).party_name),
    "party-address": (_posted_step("confirm_party", "address", PARTY | {"name": "刘某某"}), "地址", ADDRESS_MAX,
                      lambda c, t: c.cases.get(t.draft.id or 0).party_address),
    "party-statement": (_posted_statement, "陈述申辩内容", STATEMENT_MAX_CHARS,
                        lambda c, t: c.cases.get(t.noticed.id or 0).statement_text),
}  # fmt: skip


@pytest.mark.parametrize("name", FORM_TEXTS)
def test_a_form_refuses_a_crafted_over_long_text_in_chinese_keeping_what_was_typed_and_takes_the_longest(
    client: TestClient, components: Components, targets: Targets, name: str
) -> None:
    post, label, limit, stored = FORM_TEXTS[name]
    for role in (Role.OPERATOR, Role.OFFICER):  # the staff's accounts exist before the count
        components.accounts.create_user(f"{role.value}1", role.value, role, PASSWORD)
    before = state(components, targets)
    typed = "长" * (limit + 1)
    refused = post(client, components, targets, typed)
    assert refused.status_code == 422, refused.text[:500]
    assert f"“{label}”最多 {limit} 个字符，提交了 {limit + 1} 个" in refused.text
    assert typed in refused.text  # shown again as typed, not lost
    assert state(components, targets) == before

    accepted = post(client, components, targets, "长" * limit)
    assert accepted.status_code == 303, accepted.text[:500]
    assert stored(components, targets) == "长" * limit


def test_a_statement_attachment_with_an_over_long_name_is_refused_naming_the_limit(
    client: TestClient, components: Components, targets: Targets
) -> None:
    number = targets.noticed.number or ""
    client.post("/party", data={"case_number": number, "code": party_access_code(components, number)})
    token = re.search(r'name="csrf" value="([0-9a-f]{64})"', client.get("/party/case").text)
    assert token
    before = state(components, targets)
    name = "照" * (ATTACHMENT_NAME_MAX_CHARS - 4) + "x.png"
    response = client.post("/party/statement", data={"csrf": token.group(1), "text": "申辩"},
                           files=[("attachments", (name, PNG, "image/png"))], follow_redirects=False)  # fmt: skip
    assert response.status_code == 422
    assert f"“附件文件名”最多 {ATTACHMENT_NAME_MAX_CHARS} 个字符" in response.text
    assert "申辩" in response.text
    assert state(components, targets) == before


# ---- the OpenAPI document ---------------------------------------------------------------------------------------
BOUNDED_FORMATS = {"date", "date-time", "binary"}  # a date fixes its length; an upload is bounded in bytes
UNBOUNDED_QUANTIFIER = re.compile(r"[*+]|\{\d+,\}")


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        *_, name = schema["$ref"].split("/")
        schema = document["components"]["schemas"][name]
    return schema


def _unbounded_strings(document: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    """The string properties under this schema a client may send at any length."""
    schema = _resolve(document, schema)
    found: list[str] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for index, branch in enumerate(schema.get(key, [])):
            found += _unbounded_strings(document, branch, where if len(schema[key]) == 1 else f"{where}[{index}]")
    if "items" in schema:
        found += _unbounded_strings(document, schema["items"], f"{where}[]")
    for name, child in schema.get("properties", {}).items():
        found += _unbounded_strings(document, child, f"{where}.{name}")
    fixed = "enum" in schema or "const" in schema or schema.get("format") in BOUNDED_FORMATS
    fixed = fixed or "contentMediaType" in schema  # an uploaded file: bounded in bytes (max_upload_bytes)
    pattern = schema.get("pattern")
    fixed = fixed or (pattern is not None and not UNBOUNDED_QUANTIFIER.search(pattern))
    if schema.get("type") == "string" and "maxLength" not in schema and not fixed:
        found.append(where)
    return found


def test_every_string_a_client_sends_declares_its_maximum_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    unbounded: list[str] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                if parameter["in"] in ("path", "query"):
                    unbounded += _unbounded_strings(document, parameter["schema"], f"{where} {parameter['name']}")
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                unbounded += _unbounded_strings(document, content["schema"], f"{where} {media}")
    assert unbounded == []


def test_the_limits_on_the_api_page_are_the_columns_limits(client: TestClient) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["ReviewIn"]["properties"]["reason"]["anyOf"][0]["maxLength"] == REASON_MAX_CHARS
    assert schemas["StatementIn"]["properties"]["text"]["maxLength"] == STATEMENT_MAX_CHARS
    assert schemas["PartyIn"]["properties"]["name"]["maxLength"] == NAME_MAX
