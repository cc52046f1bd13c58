"""The pages' own wording (headings, labels, buttons, hints) is written in Chinese where a page uses it and told
in the reader's language from the catalogue's ``page`` context: every text a template marks with ``_()`` and
every text the console's code marks with ``wording()``, ``Wording()`` or ``page_text()`` has its English, with the
same placeholders, and the catalogue keeps no wording that nothing uses. No template and no console module shows
Chinese outside these marks: a page cannot lose its English quietly."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_python
from jinja2.ext import babel_extract
from markupsafe import Markup

from api.console.web import TEMPLATES
from cases import messages

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "api" / "console"
TEMPLATE_FILES = sorted((CONSOLE / "templates").glob("*.html"))
CODE_FILES = sorted(CONSOLE.glob("*.py"))
# the console's modules, and any other that marks a page's wording where it lives (a report's stage names)
MARKING_FILES = sorted(
    path
    for package in ("api", "cases", "offsite")
    for path in (ROOT / package).rglob("*.py")
    if path.parent == CONSOLE or "wording(" in path.read_text(encoding="utf-8")
)
CODE_MARKERS = {"wording": None, "Wording": None, "page_text": (1,)}
CJK = re.compile(r"[\u4e00-\u9fff]")
PERCENT_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


Wording = tuple[str, str]  # (the catalogue's context, the Chinese): ("page", "案件"), ("page:column", "立案")


def template_wording() -> Iterator[tuple[str, Wording]]:
    """(where, wording) for every text a template marks with ``_``, ``gettext``, ``ngettext`` or, with its sense,
    ``pgettext``."""
    for path in TEMPLATE_FILES:
        with path.open("rb") as source:
            found = babel_extract(source, ("_", "gettext", "ngettext", "pgettext"), [], {})
            for line, function, marked, _comments in found:
                strings = marked if isinstance(marked, tuple) else (marked,)
                sense = strings[0] if function == "pgettext" else None
                for text in strings[1:] if function == "pgettext" else strings:
                    if isinstance(text, str):
                        yield f"{path.name}:{line}", (messages.page_context(sense), text)


def code_wording() -> Iterator[tuple[str, Wording]]:
    """(where, wording) for every literal text the code marks as a page's wording."""
    for path in MARKING_FILES:
        with path.open("rb") as source:
            for line, _function, marked, _comments in extract_python(source, CODE_MARKERS, [], {}):
                for text in marked if isinstance(marked, tuple) else (marked,):
                    if isinstance(text, str):
                        yield f"{path.name}:{line}", (messages.PAGE, text)


def marked_wording() -> list[tuple[str, Wording]]:
    return list(template_wording()) + list(code_wording())


def catalogue_wording(language: str) -> dict[Wording, str]:
    return {
        (str(message.context), str(message.id)): str(message.string)
        for message in messages.catalogue(language)
        if message.context and message.context.partition(":")[0] == messages.PAGE and message.id
    }


def placeholders(text: str) -> tuple[set[str], set[str]]:
    return set(PERCENT_PLACEHOLDER.findall(text)), messages.placeholders(PERCENT_PLACEHOLDER.sub("", text))


def test_every_wording_a_page_or_the_console_code_marks_has_its_english_with_the_same_placeholders() -> None:
    english = catalogue_wording(messages.ENGLISH)
    marked = marked_wording()
    assert len(marked) > 500
    missing = sorted({f"{where}: {key}" for where, key in marked if not english.get(key, "").strip()})
    assert not missing, "no English for:\n" + "\n".join(missing)
    unequal = sorted({f"{where}: {key}" for where, key in marked if placeholders(key[1]) != placeholders(english[key])})
    assert not unequal, "the English names other placeholders:\n" + "\n".join(unequal)


def test_the_catalogue_keeps_no_wording_that_nothing_uses() -> None:
    used = {key for _where, key in marked_wording()}
    stale = sorted(set(catalogue_wording(messages.ENGLISH)) - used)
    assert not stale, f"page wording no page or code uses: {stale}"


def test_the_english_of_a_page_is_english() -> None:
    chinese = sorted(key for key, told in catalogue_wording(messages.ENGLISH).items() if CJK.search(told))
    assert not chinese, f"English wording that still holds Chinese: {chinese}"


def test_a_page_tells_its_wording_in_the_readers_language_and_escapes_what_it_fills_in() -> None:
    template = TEMPLATES.env.from_string('<h1>{{ _("未找到：%(what)s", what=what) }}</h1><p>{{ _("退出") }}</p>')
    what = "<script>"
    assert template.render(language=messages.CHINESE, what=what) == "<h1>未找到：&lt;script&gt;</h1><p>退出</p>"
    assert template.render(language=messages.ENGLISH, what=what) == "<h1>Not found: &lt;script&gt;</h1><p>Sign out</p>"
    assert template.render(what=what) == "<h1>未找到：&lt;script&gt;</h1><p>退出</p>"  # no language: Chinese
    assert isinstance(TEMPLATES.env.from_string('{{ _("退出") }}').render(language="en"), str | Markup)


def test_wording_inside_a_message_is_told_in_the_readers_language() -> None:
    label = messages.Wording("用户名")
    assert label.told(messages.CHINESE) == "用户名"
    assert label.told(messages.ENGLISH) == "Username"


def untranslated_in_template(name: str, source: str, marked: set[str]) -> Iterator[str]:
    """Chinese a template shows outside ``_()``: in its text, or a string literal no ``_()`` marks."""
    for line, kind, value in TEMPLATES.env.lex(source):
        text = ast.literal_eval(value) if kind == "string" else value
        if CJK.search(text) and (kind == "data" or (kind == "string" and text not in marked)):
            yield f"{name}:{line}: {text.strip()[:60]}"


def untranslated_in_code(path: Path) -> Iterator[str]:
    """Chinese literals in the console's code that are neither a docstring nor marked as a page's wording."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    allowed: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            allowed.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Call) and node.args and _called(node) in CODE_MARKERS:
            allowed.add(id(node.args[0]))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and CJK.search(node.value)
            and id(node) not in allowed
        ):
            yield f"{path.name}:{node.lineno}: {node.value[:60]}"


def _called(call: ast.Call) -> str | None:
    return call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", None)


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=lambda path: path.name)
def test_no_template_shows_chinese_the_catalogue_cannot_translate(path: Path) -> None:
    marked = {text for _where, (_context, text) in template_wording()}
    found = list(untranslated_in_template(path.name, path.read_text(encoding="utf-8"), marked))
    assert not found, "Chinese outside _():\n" + "\n".join(found)


@pytest.mark.parametrize("path", CODE_FILES, ids=lambda path: path.name)
def test_no_console_code_writes_chinese_the_catalogue_cannot_translate(path: Path) -> None:
    found = list(untranslated_in_code(path))
    assert not found, "Chinese neither a docstring nor marked wording:\n" + "\n".join(found)


def test_the_checks_find_chinese_left_untranslated(tmp_path: Path) -> None:
    source = '<p>{{ _("退出") }} 案件</p>{% if x == "已确认" %}{% endif %}{# 注释 #}'
    assert list(untranslated_in_template("t.html", source, {"退出"})) == ["t.html:1: 案件</p>", "t.html:1: 已确认"]
    code = tmp_path / "code.py"
    code.write_text('"""说明"""\nLABEL = wording("案件")\nHEADING = "统计"\nDONE = f"已完成 {1}"\n', encoding="utf-8")
    assert list(untranslated_in_code(code)) == ["code.py:3: 统计", "code.py:4: 已完成 "]
