"""The registries' rules: identifiers with check characters, mobiles, camera certification (第四十一条; 规定第七、
十条), zones and parties."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from cases.errors import InvalidInput
from cases.messages import CHINESE, Term
from cases.model.case import Party, PartyKind
from cases.model.registry import (
    Camera,
    CameraStatus,
    Merchant,
    Site,
    Zone,
    ZoneSubject,
    certification_problem,
    id_card_check_character,
    is_valid_id_card,
    is_valid_uscc,
    mask_identifier,
    mask_mobile,
    require_code,
    require_mobile,
    uscc_check_character,
)
from tests.unit.helpers import CONTRACTOR_USCC, SHOP_USCC, VENDOR_ID, id_card, uscc

D = dt.date


# ---- 统一社会信用代码 (GB 32100-2015) --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the example published with the standard's guidance
        SHOP_USCC,
        CONTRACTOR_USCC,
        uscc("91310000MA1FL0000"),
        uscc("12100000400000624"),  # an institution (事业单位)
        uscc("Y1310115MA1K4LP0A"),  # registration authority Y (其他)
    ],
)
def test_a_uscc_with_the_right_check_character_is_valid(code: str) -> None:
    assert is_valid_uscc(code)


def test_the_helper_computes_the_published_example() -> None:
    assert uscc("91350100M000100Y4") == "91350100M000100Y43"


@pytest.mark.parametrize(
    "first17", ["91350100M000100Y4", "92310101MA1H12345", "12100000400000624", "Y1310115MA1K4LP0A"]
)
def test_the_registry_computes_the_uscc_check_character_of_the_standard(first17: str) -> None:
    assert uscc_check_character(first17) == uscc(first17)[17]


@pytest.mark.parametrize("first17", ["11010519491231002", "31010119900307123", "44030420000229003"])
def test_the_registry_computes_the_id_card_check_character_of_the_standard(first17: str) -> None:
    assert id_card_check_character(first17) == id_card(first17)[17]


def _swap_last(code: str) -> str:
    return code[:17] + ("1" if code[17] != "1" else "2")


@pytest.mark.parametrize(
    ("code", "why"),
    [
        (_swap_last(SHOP_USCC), "wrong check character"),
        (SHOP_USCC[:3] + ("8" if SHOP_USCC[3] != "8" else "7") + SHOP_USCC[4:], "a body character changed"),
        (SHOP_USCC[:5] + SHOP_USCC[6] + SHOP_USCC[5] + SHOP_USCC[7:], "two characters swapped"),
        (SHOP_USCC[:17], "17 characters"),
        (SHOP_USCC + "0", "19 characters"),
        (SHOP_USCC.lower(), "lower case"),
        (uscc("91310000MA1FL0000")[:8] + "I" + uscc("91310000MA1FL0000")[9:], "I is not in the alphabet"),
        ("91310000MA1FLOOOO" + "0", "O is not in the alphabet"),
        ("", "empty"),
    ],
)
def test_a_corrupted_uscc_is_invalid(code: str, why: str) -> None:
    assert not is_valid_uscc(code), why


# ---- 居民身份证号码 (GB 11643-1999) ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",  # the standard's own example, check character X
        VENDOR_ID,
        id_card("31011519850815001"),
        id_card("44030420000229003"),
    ],
)
def test_an_id_card_number_with_the_right_check_character_is_valid(number: str) -> None:
    assert is_valid_id_card(number)


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("110105194912310021", "wrong check character"),
        ("11010519491231002x", "lower-case x"),
        ("11010519491231003X", "a digit changed"),
        ("11010519491231002", "17 characters"),
        ("11010519491231002X0", "19 characters"),
        ("110105491231002", "the old 15-digit number"),
        ("1101051949123100AX", "a letter in the body"),
    ],
)
def test_a_corrupted_id_card_number_is_invalid(number: str, why: str) -> None:
    assert not is_valid_id_card(number), why


# ---- mobiles, codes, masking ---------------------------------------------------------------------------------
@pytest.mark.parametrize("mobile", [None, "13800138000", "15912345678", "19912345678"])
def test_a_mainland_mobile_is_accepted(mobile: str | None) -> None:
    assert require_mobile(mobile) == mobile


@pytest.mark.parametrize(
    "mobile",
    [
        "12345678901",
        "1380013800",
        "138001380000",
        "+8613800138000",
        "138 0013 8000",
        "021-12345678",
        "",
        "13800138000\n",
    ],
)
def test_anything_but_an_11_digit_mainland_mobile_is_refused(mobile: str) -> None:
    with pytest.raises(InvalidInput, match=r"party contact .* is not an 11-digit mainland mobile number"):
        require_mobile(mobile, "party contact")


@pytest.mark.parametrize("code", ["SHOP-0007", "a", "31010100001320000001:ch1", "x" * 64])
def test_a_plain_ascii_identifier_is_accepted(code: str) -> None:
    assert require_code(code, "zone code") == code


@pytest.mark.parametrize("code", ["", "-lead", "有中文", "with space", "x" * 65, "SHOP-0007\n"])
def test_an_identifier_that_is_not_plain_ascii_is_refused(code: str) -> None:
    with pytest.raises(InvalidInput, match="zone code"):
        require_code(code, "zone code")


@pytest.mark.parametrize(
    ("masked", "expected"),
    [
        (mask_mobile("13800138000"), "138****8000"),
        (mask_mobile(None), None),
        (mask_identifier("11010519491231002X"), "1101**********002X"),
        (mask_identifier(None), None),
    ],
)
def test_identifiers_are_masked_in_the_middle(masked: str | None, expected: str | None) -> None:
    assert masked == expected


# ---- camera certification (第四十一条; 规定第七、十条) ------------------------------------------------------------
CAPTURED_ON = D(2026, 3, 4)
CERTIFIED = Camera(
    device_id="cam-0001",
    name="南京东路1号",
    address="上海市黄浦区南京东路1号",
    legal_review_date=D(2026, 1, 10),
    legal_review_ref="法审〔2026〕1号",
    technical_review_date=D(2026, 1, 12),
    technical_review_ref="技审〔2026〕1号",
    next_maintenance_due=D(2026, 6, 30),
    published=True,
)


@pytest.mark.parametrize(
    ("changes", "problems"),
    [
        ({}, []),
        ({"legal_review_date": None, "legal_review_ref": None}, ["no legal review (法制审核) recorded"]),
        ({"technical_review_date": None, "technical_review_ref": None}, ["no technical review (技术审核) recorded"]),
        ({"legal_review_date": D(2026, 3, 5)}, ["legal review dated 2026-03-05 is after the capture"]),
        ({"legal_review_date": CAPTURED_ON}, []),  # reviewed the same day: in time
        ({"technical_review_date": D(2026, 3, 5)}, ["technical review dated 2026-03-05 is after the capture"]),
        ({"next_maintenance_due": None}, ["no maintenance schedule recorded"]),
        ({"next_maintenance_due": D(2026, 3, 3)}, ["maintenance was due 2026-03-03: certification lapsed"]),
        ({"next_maintenance_due": CAPTURED_ON}, []),  # due the day of capture: not yet lapsed
        ({"published": False}, ["location not published"]),
        ({"status": CameraStatus.SUSPENDED}, ["camera is suspended"]),
        (
            {"legal_review_date": None, "legal_review_ref": None, "published": False, "status": CameraStatus.SUSPENDED},
            ["no legal review (法制审核) recorded", "location not published", "camera is suspended"],
        ),
    ],
)
def test_evidence_may_be_used_only_from_a_certified_camera(changes: dict[str, object], problems: list[str]) -> None:
    told = [p.english for p in replace(CERTIFIED, **changes).certification_problems(CAPTURED_ON)]  # type: ignore[arg-type]
    assert told == problems


def test_certification_problems_are_stored_by_key_and_those_stored_in_english_read_back_into_their_entries() -> None:
    """A detection keeps its camera's certification problems as ``{"key", "params"}``; one recorded before the
    catalogue kept their English, which reads back into the same entries (so a Chinese reader sees Chinese)."""
    bare = replace(CERTIFIED, legal_review_date=D(2026, 3, 5), technical_review_date=None, technical_review_ref=None,
                   next_maintenance_due=D(2026, 3, 3), published=False, status=CameraStatus.SUSPENDED)  # fmt: skip
    problems = bare.certification_problems(CAPTURED_ON)
    assert len(problems) == 5
    for problem in problems:
        assert certification_problem(problem.as_json()) == problem
        assert certification_problem(problem.english) == problem
    assert [p.told(CHINESE) for p in problems] == [
        "法制审核日期 2026-03-05 晚于采集日期",
        "未记录技术审核",
        "应于 2026-03-03 进行维护，检定已失效",
        "设置地点未向社会公布",
        "摄像头已停用",
    ]
    unknown = certification_problem("calibration certificate expired")
    assert unknown == Term("certification.recorded", {"text": "calibration certificate expired"})


def test_a_certified_camera_validates() -> None:
    CERTIFIED.validate()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"device_id": "摄像头1"}, "device_id"),
        ({"gbt28181_id": "3101010000132000000"}, "not a 20-digit GB/T 28181 code"),
        pytest.param({"gbt28181_id": "31010100001320000001\n"}, "not a 20-digit GB/T 28181 code"),
        ({"longitude": 181.0}, "longitude 181.0 is outside"),
        ({"latitude": -91.0}, "latitude -91.0 is outside"),
        ({"legal_review_ref": None}, "legal review needs both its date and its reference"),
        ({"technical_review_date": None}, "technical review needs both its date and its reference"),
    ],
)
def test_a_malformed_camera_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        replace(CERTIFIED, **changes).validate()  # type: ignore[arg-type]


# ---- zones ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("subject", "merchant_id", "site_id", "message"),
    [
        (ZoneSubject.MERCHANT, 7, None, None),
        (ZoneSubject.MERCHANT, None, None, "a merchant zone links to exactly one merchant"),
        (ZoneSubject.MERCHANT, 7, 3, "a merchant zone links to exactly one merchant"),
        (ZoneSubject.MERCHANT, None, 3, "a merchant zone links to exactly one merchant"),
        (ZoneSubject.SITE, None, 3, None),
        (ZoneSubject.SITE, None, None, "a site zone links to exactly one site"),
        (ZoneSubject.SITE, 7, 3, "a site zone links to exactly one site"),
        (ZoneSubject.PUBLIC_SPACE, None, None, None),
        (ZoneSubject.PUBLIC_SPACE, 7, None, "a public_space zone links to no merchant or site"),
        (ZoneSubject.PUBLIC_SPACE, None, 3, "a public_space zone links to no merchant or site"),
    ],
)
def test_a_zone_links_to_the_subject_it_watches(
    subject: ZoneSubject, merchant_id: int | None, site_id: int | None, message: str | None
) -> None:
    zone = Zone(camera_id=1, code="Z-1", name="门前", subject=subject, merchant_id=merchant_id, site_id=site_id)
    if message is None:
        zone.validate()
    else:
        with pytest.raises(InvalidInput, match=message):
            zone.validate()


@pytest.mark.parametrize(
    ("polygon", "message"),
    [
        ([[0.1, 0.1], [0.9, 0.1], [0.5, 0.9]], None),
        ([[0.1, 0.1], [0.9, 0.1]], "at least 3 points"),
        ([[0.1, 0.1], [1.1, 0.1], [0.5, 0.9]], "normalised to 0..1"),
        ([[0.1, 0.1], [0.9, 0.1], [0.5]], "normalised to 0..1"),
    ],
)
def test_a_zone_polygon_is_at_least_a_triangle_inside_the_image(
    polygon: list[list[float]], message: str | None
) -> None:
    zone = Zone(camera_id=1, code="Z-1", name="广场", subject=ZoneSubject.PUBLIC_SPACE, polygon=polygon)
    if message is None:
        zone.validate()
    else:
        with pytest.raises(InvalidInput, match=message):
            zone.validate()


# ---- merchants and sites -------------------------------------------------------------------------------------
SHOP = Merchant(code="SHOP-0007", name="老王面馆", address="某路1号", uscc=SHOP_USCC, mobile="13800138000")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, None),
        ({"uscc": None, "mobile": None}, None),
        ({"name": " "}, "merchant name is empty"),
        ({"uscc": _swap_last(SHOP_USCC)}, "not a valid unified social credit code"),
        ({"mobile": "12345678901"}, "not an 11-digit mainland mobile number"),
        ({"e_delivery_consent": True}, "needs the signed consent document's reference"),
        ({"e_delivery_consent": True, "consent_document_ref": "确认书1"}, None),
    ],
)
def test_a_merchant_is_validated(changes: dict[str, object], message: str | None) -> None:
    merchant = replace(SHOP, **changes)  # type: ignore[arg-type]
    if message is None:
        merchant.validate()
    else:
        with pytest.raises(InvalidInput, match=message):
            merchant.validate()


SITE = Site(permit_number="3101152026001", name="某地块", address="某路2号", contractor="某建设公司")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({}, None),
        ({"contractor_uscc": CONTRACTOR_USCC, "contact_phone": "13912345678"}, None),
        ({"contractor": ""}, "site contractor is empty"),
        ({"contractor_uscc": _swap_last(CONTRACTOR_USCC)}, "contractor_uscc .* is not a valid"),
        ({"contact_phone": "021-1234"}, "contact_phone"),
        ({"permit_number": "沪施〔2026〕1号"}, "permit number"),
    ],
)
def test_a_site_is_validated(changes: dict[str, object], message: str | None) -> None:
    site = replace(SITE, **changes)  # type: ignore[arg-type]
    if message is None:
        site.validate()
    else:
        with pytest.raises(InvalidInput, match=message):
            site.validate()


# ---- parties (当事人) ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "id_number"),
    [
        (PartyKind.INDIVIDUAL, VENDOR_ID),
        (PartyKind.MERCHANT, SHOP_USCC),
        (PartyKind.SITE, CONTRACTOR_USCC),
        (PartyKind.ORGANISATION, CONTRACTOR_USCC),
    ],
)
def test_a_party_is_identified_by_the_number_its_kind_carries(kind: PartyKind, id_number: str) -> None:
    party = Party(kind=kind, name="当事人", id_number=id_number)
    assert party.is_individual is (kind is PartyKind.INDIVIDUAL)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": PartyKind.INDIVIDUAL, "id_number": SHOP_USCC}, "is not a valid ID card number"),
        ({"kind": PartyKind.INDIVIDUAL, "id_number": "110105194912310021"}, "is not a valid ID card number"),
        ({"kind": PartyKind.MERCHANT, "id_number": VENDOR_ID}, "is not a valid unified social credit code"),
        ({"kind": PartyKind.ORGANISATION, "id_number": _swap_last(CONTRACTOR_USCC)}, "unified social credit code"),
        ({"name": "  "}, "party name is empty"),
        ({"contact": "1380013800"}, "party contact '1380013800' is not an 11-digit"),
        ({"e_delivery_consent": True}, "needs the signed consent document's reference"),
    ],
)
def test_a_malformed_party_is_refused(fields: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"kind": PartyKind.MERCHANT, "name": "老王面馆", "id_number": SHOP_USCC, **fields}
    with pytest.raises(InvalidInput, match=message):
        Party(**values)  # type: ignore[arg-type]


def test_a_party_that_consented_to_e_delivery_names_the_signed_consent() -> None:
    party = Party(
        kind=PartyKind.MERCHANT,
        name="老王面馆",
        id_number=SHOP_USCC,
        e_delivery_consent=True,
        consent_document_ref="电子送达确认书 2026-001",
    )
    assert party.e_delivery_consent
