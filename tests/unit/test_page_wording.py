"""The pages' own wording (headings, labels, buttons, hints) is written in Chinese where a page uses it and told
in the reader's language from the catalogue's ``page`` context: every text a template marks with ``_()`` and
every text the console's code marks with ``wording()``, ``Wording()`` or ``page_text()`` has its English, with the
same placeholders, and the catalogue keeps no wording that nothing uses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from babel.messages.extract import extract_python
from jinja2.ext import babel_extract
from markupsafe import Markup

from api.console.web import TEMPLATES
from cases import messages

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "api" / "console"
TEMPLATE_FILES = sorted((CONSOLE / "templates").glob("*.html"))
CODE_FILES = sorted(CONSOLE.glob("*.py"))
CODE_MARKERS = {"wording": None, "Wording": None, "page_text": (1,)}
CJK = re.compile(r"[\u4e00-\u9fff]")
PERCENT_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def template_wording() -> Iterator[tuple[str, str]]:
    """(where, text) for every text a template marks with ``_``, ``gettext`` or ``ngettext``."""
    for path in TEMPLATE_FILES:
        with path.open("rb") as source:
            found = babel_extract(source, ("_", "gettext", "ngettext"), [], {})
            for line, _function, marked, _comments in found:
                for text in marked if isinstance(marked, tuple) else (marked,):
                    if isinstance(text, str):
                        yield f"{path.name}:{line}", text


def code_wording() -> Iterator[tuple[str, str]]:
    """(where, text) for every literal text the console's code marks as a page's wording."""
    for path in CODE_FILES:
        with path.open("rb") as source:
            for line, _function, marked, _comments in extract_python(source, CODE_MARKERS, [], {}):
                for text in marked if isinstance(marked, tuple) else (marked,):
                    if isinstance(text, str):
                        yield f"{path.name}:{line}", text


def catalogue_wording(language: str) -> dict[str, str]:
    return {
        str(message.id): str(message.string)
        for message in messages.catalogue(language)
        if message.context == messages.PAGE and message.id
    }


def placeholders(text: str) -> tuple[set[str], set[str]]:
    return set(PERCENT_PLACEHOLDER.findall(text)), messages.placeholders(PERCENT_PLACEHOLDER.sub("", text))


def test_every_wording_a_page_or_the_console_code_marks_has_its_english_with_the_same_placeholders() -> None:
    english = catalogue_wording(messages.ENGLISH)
    marked = list(template_wording()) + list(code_wording())
    assert len(marked) > 20
    missing = sorted({f"{where}: {text}" for where, text in marked if not english.get(text, "").strip()})
    assert not missing, "no English for:\n" + "\n".join(missing)
    unequal = sorted(
        {f"{where}: {text}" for where, text in marked if placeholders(text) != placeholders(english[text])}
    )
    assert not unequal, "the English names other placeholders:\n" + "\n".join(unequal)


def test_the_catalogue_keeps_no_wording_that_nothing_uses() -> None:
    used = {text for _where, text in list(template_wording()) + list(code_wording())}
    stale = sorted(set(catalogue_wording(messages.ENGLISH)) - used)
    assert not stale, f"page wording no page or code uses: {stale}"


def test_the_english_of_a_page_is_english() -> None:
    chinese = sorted(text for text, told in catalogue_wording(messages.ENGLISH).items() if CJK.search(told))
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
