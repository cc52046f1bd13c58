"""Builders shared by the unit tests: valid identifiers, parties, acts and variants of the shipped law.

The check characters are computed here from the published standards (GB 32100-2015 for the unified social credit
code, GB 11643-1999 for the ID card number), independently of ``cases.model.registry``, so that the tests check
the code against the standard rather than against itself.
"""

from __future__ import annotations

import datetime as dt

from cases.law import Law
from cases.law.config import LegalReviewRule
from cases.model.case import Party, PartyKind
from cases.model.staff import Act, Role
from tests.conftest import act_on

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # digits and the capitals without I, O, Z, S, V


def uscc(first17: str) -> str:
    """A unified social credit code: ``first17`` and its check character (weights 3^i mod 31)."""
    assert len(first17) == 17
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return first17 + USCC_ALPHABET[(31 - total % 31) % 31]


def id_card(first17: str) -> str:
    """An ID card number: ``first17`` digits and the ISO 7064 MOD 11-2 check character (weights 2^(17-i) mod 11)."""
    assert len(first17) == 17
    assert first17.isdigit()
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    return first17 + "10X98765432"[total % 11]


SHOP_USCC = uscc("92310101MA1H12345")  # 个体工商户, 黄浦区
CONTRACTOR_USCC = uscc("91310115MA1K4LP0A")  # a company, 浦东新区
VENDOR_ID = id_card("31010119900307123")

OFFICER = "officer1"  # the case officer
OTHER_OFFICER = "officer2"
REVIEWER = "reviewer1"  # a legal reviewer with nothing to do with the case


def shop(*, consent: bool = False) -> Party:
    return Party(
        kind=PartyKind.MERCHANT,
        name="老王面馆",
        id_number=SHOP_USCC,
        contact="13800138000",
        address="上海市黄浦区某路1号",
        merchant_id=7,
        e_delivery_consent=consent,
        consent_document_ref="电子送达确认书 2026-001" if consent else None,
    )


def vendor() -> Party:
    return Party(kind=PartyKind.INDIVIDUAL, name="张三", id_number=VENDOR_ID, contact="13912345678")


def contractor() -> Party:
    return Party(kind=PartyKind.SITE, name="某建设工程有限公司", id_number=CONTRACTOR_USCC, site_id=3)


def officer(day: dt.date, actor: str = OFFICER) -> Act:
    return act_on(day, actor, Role.OFFICER)


def reviewer(day: dt.date, actor: str = REVIEWER) -> Act:
    return act_on(day, actor, Role.LEGAL_REVIEWER)


def law_with_review_from(law: Law, min_fine_yuan: int) -> Law:
    """The shipped law, but legal review only for fines of at least ``min_fine_yuan`` (the shipped rule is 0)."""
    rule = LegalReviewRule(min_fine_yuan=min_fine_yuan, legal_source="测试用法制审核目录")
    return Law(law.config.model_copy(update={"legal_review": rule}))
