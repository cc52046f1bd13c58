"""A reader who chooses English on the page reads every console page in English, in Chromium: the switch at the top
returns to the page it was chosen on, and no page's own wording (its headings, labels, buttons, and the words its
scripts draw) is left in Chinese. What was recorded (names of cameras, places, parties) stays as entered.
Screenshots of each page are saved in test-artifacts/browser/test_english_pages/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cases import messages
from offsite.demo import DEMO_ACCOUNTS
from tests.browser.conftest import Served, sign_in

# A run of Chinese on a page: characters and the full-width punctuation between them.
CHINESE_RUN = re.compile(r"[\u4e00-\u9fff][\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]*")
# The English messages name the law's own terms in Chinese, in brackets: "no legal review (法制审核) recorded".
LEGAL_GLOSS = re.compile(r"\([^()]*[\u4e00-\u9fff][^()]*\)")


def page_wording() -> set[str]:
    """Every Chinese text the catalogue holds as a page's own wording, cut into its runs of Chinese."""
    return {
        run
        for message in messages.catalogue(messages.ENGLISH)
        if message.context and str(message.context).startswith(messages.PAGE) and isinstance(message.id, str)
        for run in CHINESE_RUN.findall(re.sub(r"<[^>]+>|%\(\w+\)s|\{\w+\}", " ", message.id))
    }


def left_in_chinese(page: Any, wording: set[str]) -> list[str]:
    """The runs of Chinese the page shows that are a page's wording, not recorded data (the staff's names, which
    the demo writes with their posts: 办案人员 李强, and the signed-in account's own)."""
    shown = (
        page.locator("body").inner_text()
        + " "
        + " ".join(
            page.eval_on_selector_all(
                "[placeholder], [title], img[alt]", "els => els.map(e => e.placeholder || e.title || e.alt)"
            )
        )
    )
    signed_in = page.evaluate("document.querySelector('header .who span')?.textContent.split(' · ')[1] || ''")
    for name in [signed_in, *(name for _username, name in DEMO_ACCOUNTS.values())]:
        shown = shown.replace(name, " ") if name else shown
    shown = LEGAL_GLOSS.sub(" ", shown)
    return sorted({run for run in CHINESE_RUN.findall(shown) if run in wording})


def test_every_console_page_reads_in_english_once_the_reader_chooses_it(
    browser: Any, served: Served, artefacts: Path
) -> None:
    wording = page_wording()
    assert {"案件", "退出", "审核队列"} <= wording
    admin_password = served.components.settings.admin_password.get_secret_value()
    readers = {
        "officer1": ["/console/cases", "/console/legal", "/console/statistics"],
        "operator1": ["/console/review", "/console/detections", "/console/recent", "/console/wall", "/console/dashboard"],
        "admin": ["/console/cameras", "/console/registry/cameras", "/console/registry/merchants", "/console/users", "/console/models"],
    }  # fmt: skip
    shots = 0
    for username, paths in readers.items():
        page = (
            sign_in(browser, served.base, username, admin_password)
            if username == "admin"
            else sign_in(browser, served.base, username)
        )
        page.goto(f"{served.base}{paths[0]}")
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        with page.expect_navigation():
            page.locator("#languages a[lang=en]").click()
        assert page.url == f"{served.base}{paths[0]}", "the switch returns to the page it was chosen on"
        first_link = page.locator("table a[href^='/console/cases/'], table a[href^='/console/detections/'], "
                                  "table a[href^='/console/cameras/']").first  # fmt: skip
        deeper = [first_link.get_attribute("href")] if first_link.count() else []
        for path in paths + deeper:
            page.goto(f"{served.base}{path}")
            page.wait_for_load_state("networkidle")
            shots += 1
            page.screenshot(
                path=str(artefacts / f"{shots:02d}-{path.strip('/').replace('/', '-')}.png"), full_page=True
            )
            assert page.evaluate("document.documentElement.lang") == "en", path
            assert left_in_chinese(page, wording) == [], path
        page.context.close()
    party = browser.new_context(locale="zh-CN").new_page()
    party.goto(f"{served.base}/party")
    with party.expect_navigation():
        party.locator("#languages a[lang=en]").click()
    assert party.url == f"{served.base}/party"
    party.screenshot(path=str(artefacts / "party-lookup.png"), full_page=True)
    assert left_in_chinese(party, wording) == []
    party.context.close()
