"""The message catalogue is complete: every problem code, every variant raised anywhere, every term, every evidence
check and every console notice a page tells has its Chinese and its English, and each raise gives the parameters its
messages name; no page's notice is a Chinese text written in the code."""

from __future__ import annotations

import ast
import inspect
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

import api.console.web
import api.errors
import cases.errors
from api import schemas
from api.console.web import FLASH_MAX_BYTES, notice
from cases import messages
from cases.documents import DocumentKind
from cases.model.case import ALLOWED_FROM, CaseStatus, NoPenaltyGround
from cases.model.detection import DetectionStatus
from cases.model.staff import Role

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    path
    for package in ("api", "cases", "offsite", "evidence_store", "vision")
    for path in (ROOT / package).rglob("*.py")
]
# Problems raised where the catalogue cannot be imported (vision): each names its catalogue entry by a key among its
# arguments (the argument's position, and the entry's prefix), and its parameters by keyword.
RELAYED_FRAME_PROBLEMS = "vision/pushed.py:"
KEYED = {
    "PushedFrameError": (1, "frame"),
    "InvalidEvent": (0, "event"),
    "Distrust": (0, "verify"),  # why a signing key is not trusted
    "passed": (1, "verify"),  # the evidence store's checks (report.passed(text, key, **params))
    "failed": (1, "verify"),
    "could_not": (2, "verify"),
    "notice": (0, "notice"),
    "MixError": (
        0,
        "term.recipe",
    ),  # a training recipe that cannot be followed (vision.training_mix)  # what a console page says happened: notice("case_drafted") is notice.case_drafted
}


def _error_classes() -> dict[str, type]:
    """Every problem told from the catalogue, by class name: the domain's, the API's and the console's."""
    classes: dict[str, type] = {}
    for module in (cases.errors, api.errors, api.console.web):
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, messages.ToldProblem) and value is not messages.ToldProblem:
                classes[name] = value
    return classes


ERRORS = _error_classes()


def _constants(node: ast.expr) -> list[str]:
    """The strings an argument can be: a literal, or either branch of ``a if … else b``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _constants(node.body) + _constants(node.orelse)
    return []


def _calls() -> Iterator[tuple[Path, ast.Call]]:
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                yield path, node


def _name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _literal_params(term: ast.Call) -> set[str] | None:
    """The parameters a ``Term(key, {...})`` gives, when they are written out (None when they come from elsewhere)."""
    if len(term.args) < 2:
        return set()
    given = term.args[1]
    if isinstance(given, ast.Dict) and all(isinstance(k, ast.Constant) for k in given.keys):
        return {str(k.value) for k in given.keys if isinstance(k, ast.Constant)}
    return None


def raised() -> dict[str, list[tuple[str, set[str]]]]:
    """Every ``code.variant`` an error is raised with anywhere in the project, and every keyed problem of vision's
    (``frame.<key>``): where, and the parameters given."""
    found: dict[str, list[tuple[str, set[str]]]] = {}
    for path, call in _calls():
        if (spec := KEYED.get(_name(call))) is not None and len(call.args) > spec[0]:
            where = f"{path.relative_to(ROOT)}:{call.lineno}"
            keys = _constants(call.args[spec[0]])
            # a check's key may come from elsewhere (a Distrust's key, checked where the Distrust is made); a frame's
            # problem relayed from the worker that holds the camera was raised there with a literal key, and is
            # raised again (vision.pushed.outcome_of) only when the catalogue tells it (tests/integration/
            # test_cluster_frames.py)
            relayed = where.startswith(RELAYED_FRAME_PROBLEMS)
            assert keys or spec[1] == "verify" or relayed, (
                f"{where}: the problem's key must be a literal the catalogue has"
            )
            given = {k.arg for k in call.keywords if k.arg not in (None, "too_large")}
            for key in keys:
                found.setdefault(f"{spec[1]}.{key}", []).append((where, given))
        if _name(call) == "Term" and call.args and (given_in := _literal_params(call)) is not None:
            for key in _constants(call.args[0]):
                found.setdefault(key, []).append((f"{path.relative_to(ROOT)}:{call.lineno}", given_in))
        cls = ERRORS.get(_name(call))
        for keyword in call.keywords if cls is not None else ():
            if keyword.arg == "variant":
                variants = _constants(keyword.value)
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                assert variants, f"{where}: a variant must be a literal the catalogue can be checked for"
                given = {k.arg for k in call.keywords if k.arg not in (None, "variant", "headers")}
                for variant in variants:
                    found.setdefault(f"{cls.code}.{variant}", []).append((where, given))  # type: ignore[attr-defined]
    return found


def literal_keys() -> set[str]:
    """Problem codes and catalogue keys given as literals: ``problem(status, "code", …)``, ``told(…, "key")`` and
    ``Term("key", …)``."""
    keys = set()
    for path, call in _calls():
        name = _name(call)
        if (name == "problem" and len(call.args) >= 2) or (
            name == "told" and len(call.args) >= 2 and path.name != "messages.py"
        ):
            keys |= set(_constants(call.args[1]))
        elif name == "Term" and call.args:
            keys |= set(_constants(call.args[0]))
    return keys


def term_keys() -> set[str]:
    """What messages name through ``Term``: record kinds, stages, steps, grounds, review states, roles."""
    kinds = {"case", "detection", "camera", "zone", "merchant", "site"}
    return (
        {f"term.{kind}" for kind in kinds}
        | {f"term.stage.{status.value}" for status in CaseStatus}
        | {f"term.action.{action}" for action in ALLOWED_FROM}
        | {f"term.ground.{ground.value}" for ground in NoPenaltyGround}
        | {f"term.detection.{status.value}" for status in DetectionStatus}
        | {f"term.role.{role.value}" for role in Role}
        | {f"term.document.{kind.value}" for kind in DocumentKind}
    )


def test_every_problem_code_has_a_general_message_in_both_languages_without_placeholders() -> None:
    for cls in ERRORS.values():
        for language in messages.LANGUAGES:
            text = messages.entry(cls.code, language)  # type: ignore[attr-defined]
            assert text, f"{cls.__name__} ({cls.code}) has no {language} message"  # type: ignore[attr-defined]
            assert not messages.placeholders(text), f"{cls.code}: the general message is the fallback: no {{…}}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("language", messages.LANGUAGES)
def test_every_key_raised_or_named_anywhere_has_a_message(language: str) -> None:
    keys = set(raised()) | literal_keys() | term_keys()
    assert {"fine_outside_range.band", "consent_required.service", "version_conflict.record", "frame.aspect"} <= keys
    missing = sorted(key for key in keys if messages.entry(key, language) is None)
    assert not missing, f"no {language} message for {missing}"


def test_both_languages_hold_the_same_keys() -> None:
    """Keyed entries only: the pages' own wording (contexts ``page``, ``page:<sense>``) is keyed by its Chinese, so
    it has English alone."""
    chinese = {m.id for m in messages.catalogue(messages.CHINESE) if m.id and not m.context}
    english = {m.id for m in messages.catalogue(messages.ENGLISH) if m.id and not m.context}
    assert chinese == english


@pytest.mark.parametrize("language", messages.LANGUAGES)
def test_every_raise_gives_each_parameter_its_message_names(language: str) -> None:
    for key, sites in raised().items():
        text = messages.entry(key, language) or ""
        for where, given in sites:
            assert messages.placeholders(text) <= given, (
                f"{where}: {key} in {language} needs {messages.placeholders(text)}"
            )


def test_no_problem_is_raised_with_free_text_anywhere() -> None:
    """A problem is raised with a variant and its parameters, all keywords: a message of its own (English or
    Chinese, positional or ``message=``) is a text the other language cannot tell."""
    free = [
        f"{path.relative_to(ROOT)}:{call.lineno}: {ast.unparse(call)[:100]}"
        for path, call in _calls()
        if path.relative_to(ROOT).parts[0] != "vision"  # vision's own exceptions (NoPipeline) share names
        and _name(call) in ERRORS
        and (call.args or any(k.arg == "message" for k in call.keywords))
    ]
    assert not free, "raised with free text instead of a catalogue variant:\n" + "\n".join(free)


def test_a_problem_takes_no_free_text() -> None:
    with pytest.raises(TypeError):
        cases.errors.InvalidInput("a value does not fit its field: cameras.address")  # type: ignore[misc]


def test_a_chinese_reader_never_gets_the_english_of_a_refusal_told_with_free_text() -> None:
    """Starlette's own refusals carry English text: told as it is in English, by the code's entry in Chinese."""
    english = "Method Not Allowed"
    assert messages.told(("method_not_allowed",), None, {}, english, messages.CHINESE) == "不支持此请求方法"
    assert messages.told(("method_not_allowed",), None, {}, english, messages.ENGLISH) == english
    assert (
        messages.told(("invalid_input",), None, {}, "请输入案件编号和查询码", messages.CHINESE)
        == "请输入案件编号和查询码"
    )


def test_a_term_with_parameters_is_told_inside_a_message_and_a_list_of_them_joined() -> None:
    problems = [messages.Term("certification.no_legal_review"), messages.Term("certification.suspended")]
    refused = cases.errors.CameraNotCertified(variant="at_capture", device_id="cam-1", captured_on="2026-03-02",
                                              problems=problems)  # fmt: skip
    assert (
        refused.told(messages.CHINESE)
        == "摄像头 cam-1 在 2026-03-02 采集的记录不能作为证据：未记录法制审核；摄像头已停用"
    )
    assert refused.message.endswith(": no legal review (法制审核) recorded; camera is suspended")


def test_a_variant_is_told_with_its_parameters_and_its_english_stays_the_message() -> None:
    refused = cases.errors.FineOutsideRange(variant="band", fine="5000.00 元", tier="首次", band_min="50.00 元",
                                            band_max="200.00 元", prior=0)  # fmt: skip
    assert (
        refused.told(messages.CHINESE)
        == "拟罚款 5000.00 元 超出裁量基准“首次”档（50.00 元–200.00 元，当事人此前同类违法 0 次）"
    )
    assert str(refused) == refused.message
    assert refused.message.startswith("proposed fine 5000.00 元 is outside the discretion band 首次")


@pytest.mark.parametrize(
    ("header", "chosen", "language"),
    [
        (None, None, "zh_CN"),
        ("en", None, "en"),
        ("en-US,en;q=0.9", None, "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", None, "zh_CN"),
        ("fr-FR, en;q=0.5", None, "en"),
        ("en;q=0.2, zh-Hans;q=0.8", None, "zh_CN"),
        ("de", None, "zh_CN"),
        ("en", "zh_CN", "zh_CN"),
        (None, "en", "en"),
        ("en", "xx", "en"),
    ],
)
def test_the_reader_language_is_the_choice_then_accept_language_then_chinese(
    header: str | None, chosen: str | None, language: str
) -> None:
    assert messages.language_of(header, chosen) == language


EVENT = {"event_id": "e-1", "camera_id": "cam-1", "zone_id": "Z-1", "rule_id": "r", "violation_code": "cross_door",
         "subject": {"kind": "unknown"}, "first_seen": "2026-03-02T10:00:00+08:00",
         "last_seen": "2026-03-02T10:05:00+08:00", "evidence_package_id": "0" * 64}  # fmt: skip


@pytest.mark.parametrize(
    ("model", "body", "kind"),
    [
        (schemas.ViolationEventIn, EVENT | {"first_seen": "yesterday"}, "iso_time"),
        (schemas.ViolationEventIn, EVENT | {"first_seen": "2026-03-02T10:00:00"}, "timezone_aware"),
        (schemas.ViolationEventIn, EVENT | {"confidence": "high"}, "float_type"),
        (schemas.ViolationEventIn, EVENT | {"subject": "vendor"}, "model_type"),
        (schemas.ViolationEventIn, EVENT | {"subject": {"kind": "vendor"}}, "literal_error"),
        (schemas.ViolationEventIn, EVENT | {"camera_id": 7}, "string_type"),
        (schemas.ViolationEventIn, EVENT | {"colour": "red"}, "extra_forbidden"),
        (schemas.ChecklistIn, {"authentic": "yes", "clear": True, "complete": True, "accurate": True}, "bool_type"),
        (schemas.OpenCaseIn, {"detection_ids": []}, "too_short"),
        (schemas.OpenCaseIn, {"detection_ids": "1,2"}, "list_type"),
        (schemas.OpenCaseIn, {"detection_ids": [1.5]}, "int_from_float"),
        (schemas.OpenCaseIn, {"detection_ids": ["1"]}, "int_type"),
        (schemas.UserActiveIn, {}, "missing"),
    ],
)
def test_a_schema_finding_is_told_in_chinese_from_its_own_entry(
    model: type[BaseModel], body: object, kind: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(body)
    (finding,) = refused.value.errors()
    assert finding["type"] == kind
    chinese = api.errors.field_problem(finding, messages.CHINESE)
    context = dict(finding.get("ctx") or {})
    if "expected" in context:  # choices are listed as plain values
        context["expected"] = api.errors.plain_choices(context["expected"], messages.CHINESE)
    assert chinese == messages.render(f"invalid_request.{kind}", context, messages.CHINESE)
    assert chinese != messages.entry("invalid_request", messages.CHINESE)
    assert re.search(r"[\u4e00-\u9fff]", chinese), chinese


def test_a_documents_name_in_chinese_is_its_title() -> None:
    for kind in DocumentKind:
        assert messages.entry(f"term.document.{kind.value}", messages.CHINESE) == kind.title


CJK = re.compile(r"[\u4e00-\u9fff]")
NOTICE_NAMES = ("message", "error", "done")  # how the console names what a page says happened


def _chinese(node: ast.AST) -> bool:
    """A Chinese text written in the code: a literal, part of an f-string, or either branch of ``a if … else b``."""
    return any(isinstance(n, ast.Constant) and isinstance(n.value, str) and CJK.search(n.value) for n in ast.walk(node))


def chinese_notices(source: str) -> list[int]:
    """Lines where a page is handed a notice written in Chinese: ``back(…, message="…")``, ``page(…, error=f"…")``,
    or ``error = "…"`` kept to be handed on."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            found += [node.lineno for k in node.keywords if k.arg in NOTICE_NAMES and _chinese(k.value)]
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None and _chinese(node.value):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found += [node.lineno for t in targets if isinstance(t, ast.Name) and t.id in NOTICE_NAMES]
    return found


def test_no_console_notice_is_written_in_chinese_in_the_code() -> None:
    """A notice the console or the party page shows is a catalogue entry (``notice(key, **params)``) or a refusal,
    told in the page's language: a Chinese text written in the code stays Chinese for a reader of English."""
    written = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "api" / "console").glob("*.py"))
        for line in chinese_notices(path.read_text(encoding="utf-8"))
    ]
    assert not written, "a notice written in Chinese instead of a catalogue entry:\n" + "\n".join(written)


@pytest.mark.parametrize(
    "source",
    [
        'back(request, "/console/cases", error="请选择要立案的检测记录")',
        'back(request, here, message=f"检测 {detection_id} {done}")',
        'page(request, "login.html", status_code=401, error="用户名或密码错误" if locked else "账号已停用")',
        'error = "表单中的选项无效，请刷新页面后重试"',
        'done = f"已完成：{step.label}"',
    ],
)
def test_the_check_finds_a_notice_written_in_chinese(source: str) -> None:
    assert chinese_notices(source) == [1]
    assert chinese_notices('back(request, here, error=notice("choose_decision"), message=None)') == []


def test_a_notice_is_told_in_either_language_with_its_parameters() -> None:
    unlocked = notice("sign_in_unlocked", username="li", name="办案人员 李强")
    assert unlocked.told(messages.CHINESE) == "已解除账号 li（办案人员 李强）的登录锁定"
    assert unlocked.told(messages.ENGLISH) == "the sign-in lock of account li (办案人员 李强) is lifted"
    done = notice("step_done_issued", step=messages.Term("term.action.issue_rectification_notice"),
                  document=messages.Term(f"term.document.{DocumentKind.RECTIFICATION_NOTICE.value}"))  # fmt: skip
    assert done.told(messages.CHINESE) == "已完成：发出责令改正通知书，已签发并封存责令改正通知书"
    assert (
        done.told(messages.ENGLISH)
        == "done: issue rectification notice; the rectification notice was issued and sealed"
    )


def test_a_flash_keeps_the_entry_and_its_parameters_and_fits_a_cookie() -> None:
    """The flash holds the key and parameters (nested terms as terms), told when the page is drawn; a parameter too
    long for a cookie is cut, never the entry."""
    refused = cases.errors.NotFound(variant="record", what=messages.Term("term.case"), ident=7)
    stored = api.console.web._fitted(refused.term)
    assert stored == {"key": "not_found.record", "params": {"what": {"key": "term.case", "params": {}}, "ident": "7"}}
    for language in messages.LANGUAGES:
        back_again = api.console.web._term_of(stored, language)
        assert back_again is not None
        assert back_again.told(language) == refused.told(language)
    huge = notice("sign_in_unlocked", username="张" * 5000, name="李" * 5000)
    fitted = api.console.web._fitted(huge)
    assert len(json.dumps(fitted)) <= FLASH_MAX_BYTES
    assert fitted["key"] == "notice.sign_in_unlocked"
    assert fitted["params"]["username"].startswith("张" * 40)


def test_a_flash_the_catalogue_cannot_tell_shows_nothing() -> None:
    """A flash left by another version of the service (an entry gone, a parameter missing) is not shown half-told."""
    for stored in (
        {"key": "notice.no_such_notice", "params": {}},
        {"key": "notice.sign_in_unlocked", "params": {"username": "li"}},
        {"key": "notice.step_done", "params": {"step": {"key": "term.action.no_such_step", "params": {}}}},
        "已确认同意电子送达",
        {"key": "notice.step_done", "params": {"step": 7}},
    ):
        assert api.console.web._term_of(stored, messages.CHINESE) is None


@pytest.mark.parametrize(
    ("class_name", "chinese", "english"), [("dust", "扬尘", "dust plume"), ("cart", "cart", "cart")]
)
def test_a_gate_reason_names_the_class_as_people_call_it(class_name: str, chinese: str, english: str) -> None:
    """The gate's reasons name a class by the catalogue's word for it (dust: 扬尘), not by the model's; a class the
    catalogue has no word for (a model trained with classes of its own) keeps its own name."""
    from offsite.model_registry import told
    from vision.model_gate import Reason

    params = {"exam": "golden", "class_name": class_name, "measure": "AP50", "candidate": "0.500", "active": "0.600",
              "margin": "0.02"}  # fmt: skip
    reason = told(Reason("term.gate.class_worse", params))
    assert f"{chinese} 的 AP50 为 0.500" in reason.told("zh_CN")
    assert f": {english} AP50 0.500" in reason.english
    assert "term." not in reason.told("zh_CN") + reason.english
