"""The message catalogue: every text a person is shown for a problem, in Chinese (the default) and English, keyed by
the problem's stable code.

The catalogue is gettext's: ``cases/locale/<language>/LC_MESSAGES/messages.po``, read with Babel's ``read_po`` on
first use (nothing generated is committed or built; a .po is the one source a translator edits). A message id is
a problem code (``fine_outside_range``: the code's general message) or a code and a variant
(``fine_outside_range.band``: one way of breaking that rule, with its parameters), and ``term.*`` entries name
things a message mentions (``term.case``: 案件 / case), and ``notice.*`` entries are what the console and the party
page say happened (``notice.case_drafted``: 已生成案件草稿 / case draft created). Placeholders are Python's ``{name}``.

An error is raised with a variant and its parameters (or with neither: its code's general message) and told from
the catalogue in the reader's language; it takes no free text. A parameter may itself be a ``Term`` (a catalogue
entry, with parameters of its own) or a list of them. Only a refusal that no exception of ours carries (Starlette's
own, with its English detail) is told by ``told`` with free text: in English as it is, in Chinese by its code's
general message, so that a reader of Chinese never sees English.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

CHINESE = "zh_CN"
ENGLISH = "en"
LANGUAGES = (CHINESE, ENGLISH)
DEFAULT_LANGUAGE = CHINESE
LANGUAGE_NAMES = {CHINESE: "中文", ENGLISH: "English"}  # each in itself, as a reader looks for it on a page
LOCALE_DIR = Path(__file__).parent / "locale"
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Term:
    """A catalogue entry named by a message or shown on its own (a record's kind, a stage; a camera's
    certification problem, a pushed frame's fault), with its own parameters: told in the reader's language."""

    key: str
    params: Mapping[str, object] = field(default_factory=dict, hash=False)

    def told(self, language: str) -> str:
        return render(self.key, self.params, language) or self.key

    @property
    def english(self) -> str:
        return self.told(ENGLISH)

    def as_json(self) -> dict[str, object]:
        return {"key": self.key, "params": {name: str(value) for name, value in self.params.items()}}


PAGE = "page"  # the catalogue's context for the pages' own wording, whose message id is the Chinese itself


def page_text(text: str, language: str, sense: str | None = None) -> str:
    """A page's own wording (a heading, a label, a button, written in Chinese where the page uses it) in the
    reader's language: the catalogue's entry in the ``page`` context whose message id is that Chinese; the Chinese
    itself for a reader of Chinese, or where the catalogue has no translation (a test holds it complete).

    ``sense`` tells apart one Chinese that another language says in two ways (立案: the button "File the case", the
    column "Filed"): its entry is in the context ``page:<sense>``."""
    if language == DEFAULT_LANGUAGE:
        return text
    message = catalogue(language).get(text, context=page_context(sense))
    if message is None or not isinstance(message.string, str) or not message.string:
        return text
    return message.string


def wording(text: str) -> str:
    """Marks a page's own wording written in code (a menu entry, a form's label, a report's column) for the
    catalogue, where Babel extracts it: a template tells it in the page's language with ``_``, code with
    ``page_text``. It changes nothing at run time."""
    return text


def page_context(sense: str | None) -> str:
    return PAGE if sense is None else f"{PAGE}:{sense}"


@dataclass(frozen=True)
class Wording(Term):
    """A page's own wording handed inside a message (a form field's label in a refusal of that field), told from
    the catalogue's ``page`` context; its parameters fill its ``{name}`` placeholders."""

    def told(self, language: str) -> str:
        text = page_text(self.key, language)
        return text.format_map({name: tell(value, language) for name, value in self.params.items()})


def detector_class(name: str) -> Term | str:
    """One of the detector's classes as people call it (stall: 摊位, in the reader's language), or the class's own
    name for a class the catalogue has no word for (a model trained with classes of its own)."""
    key = f"term.detector_class.{name}"
    return Term(key) if entry(key, DEFAULT_LANGUAGE) is not None else name


@functools.cache
def catalogue(language: str) -> Catalog:
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=language)


def entry(key: str, language: str) -> str | None:
    """The catalogue's text for a key in a language, or None when it has none (or only an empty translation)."""
    message = catalogue(language).get(key)
    if message is None or not isinstance(message.string, str) or not message.string:
        return None
    return message.string


def placeholders(text: str) -> set[str]:
    return {name for _literal, name, _spec, _conversion in string.Formatter().parse(text) if name}


def render(key: str, params: Mapping[str, object], language: str) -> str | None:
    """The entry with its parameters filled in, or None when the language has no entry for the key."""
    text = entry(key, language)
    if text is None:
        return None
    values = {name: tell(value, language) for name, value in params.items()}
    return text.format_map(values)


LIST_SEPARATOR = {CHINESE: "；", ENGLISH: "; "}
SERIES_SEPARATOR = {CHINESE: "、", ENGLISH: ", "}  # between names of like things: cameras、zones / cameras, zones


def tell(value: object, language: str) -> object:
    """A parameter as a message shows it: a ``Term`` told, a list of them joined; any other value as it is."""
    if isinstance(value, Term):
        return value.told(language)
    if isinstance(value, list | tuple) and value and all(isinstance(item, Term) for item in value):
        return LIST_SEPARATOR[language].join(item.told(language) for item in value)
    return value


def language_of(accept_language: str | None, chosen: str | None = None) -> str:
    """The reader's language: a choice they made (the console's cookie) first, then the best of Accept-Language
    that the catalogue has, else Chinese. ``en-US;q=0.9`` counts as English; ``zh``/``zh-CN``/``zh-Hans`` as
    Chinese."""
    if chosen in LANGUAGES:
        return chosen
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, rest = part.strip().partition(";")
        quality = 1.0
        if rest.strip().startswith("q="):
            try:
                quality = float(rest.strip()[2:])
            except ValueError:
                quality = 0.0
        known = _known(tag.strip())
        if known is not None and quality > 0:
            weighted.append((-quality, position, known))
    return min(weighted)[2] if weighted else DEFAULT_LANGUAGE


def _known(tag: str) -> str | None:
    primary = tag.replace("_", "-").split("-")[0].lower()
    return {"zh": CHINESE, "en": ENGLISH}.get(primary)


def told(codes: tuple[str, ...], key: str | None, params: Mapping[str, object], free_text: str, language: str) -> str:
    """A problem in the reader's language.

    ``codes`` is the problem's code then its more general ones (a class's ancestors); ``key`` the catalogue entry
    it was raised with, if any; ``free_text`` what it was raised with otherwise (English, or already Chinese).
    """
    if key is not None:
        rendered = render(key, params, language)
        if rendered is not None:
            return rendered
    if language == ENGLISH or _CJK.search(free_text):
        return free_text
    for code in codes:
        general = entry(code, language)
        if general is not None:
            return general
    return entry("offsite_error", language) or free_text


def codes_of(cls: type) -> tuple[str, ...]:
    """An error class's code and its ancestors' codes, most particular first: the general messages to fall back to."""
    return tuple(dict.fromkeys(code for klass in cls.__mro__ if isinstance(code := klass.__dict__.get("code"), str)))


class ToldProblem(Exception):
    """A problem told from the catalogue: raised with a variant of its ``code`` and that variant's parameters, or
    with neither (the code's general message); never with free text. ``message`` is the English: logs, the CLI
    and ``str()`` read it. The base of the domain's errors and of the API's own."""

    code: ClassVar[str]

    def __init__(self, *, variant: str | None = None, **params: object) -> None:
        self.key = self.code if variant is None else f"{self.code}.{variant}"
        self.params = params
        self.message = render(self.key, params, ENGLISH) or self.key
        super().__init__(self.message)

    @property
    def term(self) -> Term:
        """The problem as a catalogue entry: told later (a page after a redirect), or inside another message."""
        return Term(self.key, self.params)

    def told(self, language: str) -> str:
        """The message in the reader's language (zh_CN or en)."""
        return told(codes_of(type(self)), self.key, self.params, self.message, language)
