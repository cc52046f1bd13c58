"""Pages survive the longest text each field allows (cases/persistence/limits.py): a review reason, a party's name
and address, a re-check note, a statement, each as long as allowed and without a single space to break at, stored
and then shown on the detection page, the case list, the case page and the party page. No element makes a page
wider than the window, at a desktop's width and, for the party page, a phone's. Screenshots in
test-artifacts/browser/longest-*.png."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from cases.model.case import Case, DeliveryMethod, Party, PartyKind, RecheckOutcome
from cases.model.detection import ReviewChecklist
from cases.model.registry import id_card_check_character
from cases.model.staff import Role
from cases.persistence import tables
from cases.persistence.limits import REASON_MAX_CHARS, STATEMENT_MAX_CHARS, limit_of
from cases.services.base import Actor
from cases.services.detections import QueueFilter
from offsite.issued import party_access_code
from tests.browser.conftest import Served, sign_in

OPERATOR, OFFICER = Actor("operator1", Role.OPERATOR), Actor("officer1", Role.OFFICER)
ALL_PASS = ReviewChecklist(authentic=True, clear=True, complete=True, accurate=True)
VENDOR_ID = "31011519920315007"
VENDOR_ID += id_card_check_character(VENDOR_ID)
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def unbroken(limit: int | None) -> str:
    """The widest text of that length: one wide Latin letter repeated, with nowhere to break a line."""
    assert limit is not None
    return "W" * limit


def longest_case(served: Served) -> tuple[int, Case]:
    """A stall detection confirmed with the longest reason, and its case carried to a statement as long as
    allowed, its party's name, address, confirming reason and re-check note as long as allowed."""
    c = served.components
    pending = c.detections.queue(QueueFilter(violation_code="street_stall"), limit=1).items[0]
    assert pending.id is not None
    c.detections.review(pending.id, OPERATOR, pending.version, True, ALL_PASS, unbroken(REASON_MAX_CHARS))
    case = c.cases.open_draft([pending.id], OFFICER)
    party = Party(PartyKind.INDIVIDUAL, unbroken(limit_of(tables.cases.c.party_name)), VENDOR_ID, "13700137000",
                  unbroken(limit_of(tables.cases.c.party_address)))  # fmt: skip
    case = c.cases.confirm_party(case.id or 0, OFFICER, case.version, party, unbroken(REASON_MAX_CHARS))
    case = c.cases.file(case.id or 0, OFFICER, case.version)
    case = c.cases.issue_rectification_notice(case.id or 0, OFFICER, case.version, DeliveryMethod.DIRECT)
    if case.rectification_deadline is not None:
        c.clock.advance(case.rectification_deadline - c.clock.today() + dt.timedelta(days=1))  # type: ignore[attr-defined]
    case = c.cases.record_recheck(case.id or 0, OFFICER, case.version, RecheckOutcome.PERSISTING, c.clock.today(),
                                  None, unbroken(REASON_MAX_CHARS))  # fmt: skip
    fine = case.fine_band_min_fen if case.fine_band_min_fen is not None else 5000
    case = c.cases.issue_penalty_notice(case.id or 0, OFFICER, case.version, fine, DeliveryMethod.DIRECT)
    case = c.party.file_statement(case.id or 0, unbroken(STATEMENT_MAX_CHARS), None)
    return pending.id, case


def fits(page: Any) -> tuple[int, int]:
    """(the page's width, the window's): the first no more than the second when nothing overflows."""
    widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    return int(widths[0]), int(widths[1])


def test_no_page_is_wider_than_the_window_with_the_longest_allowed_texts(
    browser: Any, served: Served, artefacts: Path
) -> None:
    detection_id, case = longest_case(served)
    name, reason = unbroken(limit_of(tables.cases.c.party_name)), unbroken(REASON_MAX_CHARS)
    shown = {
        "detection": (
            sign_in(browser, served.base, "operator1", viewport=DESKTOP),
            f"/console/detections/{detection_id}",
            reason,
        ),
        "case-list": (sign_in(browser, served.base, "officer1", viewport=DESKTOP), "/console/cases", name),
        "case": (
            sign_in(browser, served.base, "officer1", viewport=DESKTOP),
            f"/console/cases/{case.id}",
            unbroken(STATEMENT_MAX_CHARS),
        ),
    }
    for label, (page, path, text) in shown.items():
        page.goto(f"{served.base}{path}")
        page.wait_for_load_state()
        assert text in page.content(), f"{label}: the longest text is not shown whole"
        page.screenshot(path=str(artefacts / f"longest-{label}.png"), full_page=True)
        assert fits(page)[0] <= fits(page)[1], f"{label} is wider than the window: {fits(page)}"

    assert case.number is not None
    for device, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        party = browser.new_context(locale="zh-CN", viewport=viewport).new_page()
        party.goto(f"{served.base}/party")
        party.fill("input[name=case_number]", case.number)
        party.fill("input[name=code]", party_access_code(served.components, case.number))
        with party.expect_navigation():
            party.click("button[type=submit]")
        assert name in party.content(), "the party page does not show the party's name whole"
        party.screenshot(path=str(artefacts / f"longest-party-{device}.png"), full_page=True)
        assert fits(party)[0] <= fits(party)[1], f"the party page ({device}) is wider than the window: {fits(party)}"
