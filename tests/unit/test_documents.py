"""The four enforcement documents, rendered from real cases walked to their stages, and read back with pypdf.

The case: 老王面馆 (a shop) doing 跨门经营, seen by a camera on Monday 2026-03-02 from 08:14 to 08:40 Shanghai
time, filed and ordered to correct the same day (deadline 03-03). Then either found persisting on 03-04 and told
of a 150 元 fine (statement until 03-09), reviewed and decided on 03-10, delivered 03-11 (payment due 03-26); or
found corrected on 03-03 and decided without penalty on 03-04 as a first offence.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from cases.documents import (
    DocumentFacts,
    DocumentKind,
    available,
    cite,
    document_number,
    mask_identifier,
    register_cjk_font,
    render,
)
from cases.errors import InvalidInput
from cases.law import Law
from cases.model.case import Case, DeliveryMethod, NoPenaltyGround, Party, RecheckOutcome
from offsite.settings import PROJECT_ROOT
from tests.unit.helpers import SHOP_USCC, VENDOR_ID, officer, reviewer, shop, vendor

D = dt.date
K = DocumentKind
NUMBER = "沪城管非现〔2026〕000123号"
FILED_ON = D(2026, 3, 2)
PERSISTING_ON = D(2026, 3, 4)
DECIDED_ON = D(2026, 3, 10)
DELIVERED_ON = D(2026, 3, 11)
FINE = 15_000  # 150 元, inside the 首次 band 50–200 元 of cross_door
PLACE = "浦东新区商城路 600 弄口（浦东小面馆门前人行道）"
FACTS = DocumentFacts(
    agency="上海市浦东新区城市管理行政执法局",
    place=PLACE,
    first_seen=dt.datetime(2026, 3, 2, 0, 14, 5, tzinfo=dt.UTC),  # 08:14 in Shanghai
    last_seen=dt.datetime(2026, 3, 2, 0, 40, 59, tzinfo=dt.UTC),
    camera="商城路600弄口球机 31011500001320000017",
    evidence_package_id="pkg-2026-000123",
    evidence_sha256="3f" * 32,
    verify_url="http://127.0.0.1:8000/verify/pkg-2026-000123",
    party_code="K7Q2-9XRM",
    party_url="http://127.0.0.1:8000/party",
)


# ---- cases at their stages ------------------------------------------------------------------------------------
def filed(law: Law, code: str = "cross_door", party: Party | None = None) -> Case:
    case = Case.open_draft(
        officer(FILED_ON),
        violation_code=code,
        camera_id=1,
        zone_id=2,
        subject_kind="merchant",
        subject_ref="SHOP-0007",
        detection_ids=[11],
        party=party or shop(),
        violation_on=FILED_ON,
    )
    case.file(officer(FILED_ON), law, NUMBER)
    return case


def notice_issued(law: Law, code: str = "cross_door", party: Party | None = None) -> Case:
    case = filed(law, code, party)
    case.issue_rectification_notice(officer(FILED_ON), law, DeliveryMethod.DIRECT)
    return case


def persisting(law: Law) -> Case:
    case = notice_issued(law)
    case.record_recheck(officer(PERSISTING_ON), RecheckOutcome.PERSISTING, PERSISTING_ON, "camera 1, zone 2")
    return case


def penalty_noticed(law: Law) -> Case:
    case = persisting(law)
    case.issue_penalty_notice(officer(PERSISTING_ON), law, FINE, 0, DeliveryMethod.DIRECT)
    return case


def decided(law: Law) -> Case:
    case = penalty_noticed(law)
    case.request_legal_review(officer(DECIDED_ON), law, FINE)
    case.approve_legal_review(reviewer(DECIDED_ON), "事实清楚，证据确凿，裁量适当")
    case.decide_penalty(officer(DECIDED_ON), law, FINE)
    return case


def delivered(law: Law) -> Case:
    case = decided(law)
    case.record_delivery(officer(DELIVERED_ON), law, DeliveryMethod.DIRECT, DELIVERED_ON)
    return case


def no_penalty_decided(law: Law) -> Case:
    case = notice_issued(law)
    assert case.rectification_deadline is not None
    case.record_recheck(
        officer(case.rectification_deadline), RecheckOutcome.CORRECTED, case.rectification_deadline, "camera 1"
    )
    case.decide_no_penalty(officer(PERSISTING_ON), law, NoPenaltyGround.FIRST_OFFENCE, "首次违法，已及时改正", 0)
    return case


# ---- reading a document back --------------------------------------------------------------------------------------
def text_of(pdf: bytes) -> str:
    """The PDF's text with all white space removed: line breaks fall wherever the lines wrap."""
    reader = PdfReader(io.BytesIO(pdf))
    return re.sub(r"\s+", "", "".join(page.extract_text() or "" for page in reader.pages))


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def documents(law: Law) -> dict[DocumentKind, tuple[bytes, str]]:
    """Each kind rendered once from its stage (the penalty notice with a hearing right), as (pdf, text)."""
    with_hearing = penalty_noticed(law)
    with_hearing.hearing_deadline = D(2026, 3, 11)
    cases = {
        K.RECTIFICATION_NOTICE: notice_issued(law),
        K.PENALTY_NOTICE: with_hearing,
        K.PENALTY_DECISION: delivered(law),
        K.NO_PENALTY_DECISION: no_penalty_decided(law),
    }
    rendered = {kind: render(kind, case, law, FACTS, D(2026, 3, 12)) for kind, case in cases.items()}
    return {kind: (pdf, text_of(pdf)) for kind, pdf in rendered.items()}


# ---- what every document says ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(DocumentKind))
def test_every_document_states_the_case_the_party_the_facts_and_the_evidence(
    documents: dict[DocumentKind, tuple[bytes, str]], kind: DocumentKind
) -> None:
    pdf, text = documents[kind]
    assert pdf.startswith(b"%PDF-")
    for expected in (
        FACTS.agency,
        kind.title,
        f"案件编号：{NUMBER}",
        f"文书编号：{document_number(kind, NUMBER)}",
        "当事人：老王面馆",
        f"统一社会信用代码：{SHOP_USCC[:6]}{'*' * 8}{SHOP_USCC[-4:]}",
        "上海市黄浦区某路1号",
        PLACE,
        "2026年3月2日08:14至2026年3月2日08:40",
        FACTS.camera,
        "跨门经营",
        "违反了《上海市市容环境卫生管理条例》第二十五条第四款（超出门窗和外墙经营）的规定",
        FACTS.evidence_package_id,
        FACTS.evidence_sha256,
        FACTS.verify_url,
        "2026年3月12日",
        "（印章）",
    ):
        assert squeeze(expected) in text, expected
    assert SHOP_USCC not in text


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_every_document_has_its_title_as_metadata_and_a_qr_code(
    documents: dict[DocumentKind, tuple[bytes, str]], kind: DocumentKind
) -> None:
    reader = PdfReader(io.BytesIO(documents[kind][0]))
    assert reader.metadata is not None
    assert reader.metadata.title == f"{kind.title} {document_number(kind, NUMBER)}"
    # the QR code is drawn as filled rectangles: many `re` operators in the content streams
    streams = [page.get_contents() for page in reader.pages]
    assert sum(stream.get_data().count(b" re ") for stream in streams if stream is not None) > 50


def test_the_rectification_notice_orders_correction_by_the_deadline(
    documents: dict[DocumentKind, tuple[bytes, str]],
) -> None:
    text = documents[K.RECTIFICATION_NOTICE][1]
    assert "于2026年3月3日前（含当日）改正上述违法行为" in text
    assert "第二十五条第四款（责令改正，可处五十元以上五百元以下罚款）" in text
    assert "当事人页面：http://127.0.0.1:8000/party" in text
    assert "查询码：K7Q2-9XRM" in text


def test_the_penalty_notice_states_the_proposed_fine_and_the_rights_with_their_deadlines(
    documents: dict[DocumentKind, tuple[bytes, str]],
) -> None:
    text = documents[K.PENALTY_NOTICE][1]
    assert "罚款人民币150.00元" in text
    assert "陈述、申辩" in text
    assert "2026年3月9日前（含当日）向本局提出陈述、申辩意见" in text
    assert "听证" in text
    assert "2026年3月11日前（含当日）向本局提出" in text
    assert "逾期未改正" in text  # the re-check on 03-04
    assert "查询码：K7Q2-9XRM" in text


def test_a_penalty_notice_without_a_hearing_right_says_nothing_of_a_hearing(law: Law) -> None:
    case = penalty_noticed(law)
    assert case.hearing_deadline is None
    text = text_of(render(K.PENALTY_NOTICE, case, law, FACTS, PERSISTING_ON))
    assert "听证" not in text


def test_the_penalty_decision_states_the_fine_the_payment_and_the_remedies(
    documents: dict[DocumentKind, tuple[bytes, str]],
) -> None:
    text = documents[K.PENALTY_DECISION][1]
    assert "决定对当事人处以罚款人民币150.00元" in text
    assert "收到本决定书之日起15日内（即2026年3月26日前）" in text
    assert "每日按罚款数额的3%加处罚款" in text
    assert "《行政处罚法》第七十二条第一款第一项" in text
    assert "六十日内依法申请行政复议" in text
    assert "六个月内依法向人民法院提起行政诉讼" in text
    assert "本案已经法制审核" in text
    assert "当事人页面" not in text  # the party page is printed on the notices only


def test_a_decision_names_the_payment_channel_the_review_body_and_the_court_when_configured(law: Law) -> None:
    named = DocumentFacts(**{**FACTS.__dict__, "payment_channel": "通过“一网通办”电子缴款",
                             "review_body": "上海市浦东新区人民政府", "court": "上海铁路运输法院"})  # fmt: skip
    case = decided(law)
    text = text_of(render(K.PENALTY_DECISION, case, law, named, case.decided_on or PERSISTING_ON))
    assert "缴款方式：通过“一网通办”电子缴款" in text
    assert "六十日内依法向上海市浦东新区人民政府申请行政复议" in text
    assert "六个月内依法向上海铁路运输法院提起行政诉讼" in text


def test_the_no_penalty_decision_states_its_ground_and_the_remedies(
    documents: dict[DocumentKind, tuple[bytes, str]],
) -> None:
    text = documents[K.NO_PENALTY_DECISION][1]
    assert "初次违法且危害后果轻微并及时改正" in text
    assert "《中华人民共和国行政处罚法》第三十三条第一款的规定，本局决定对当事人不予行政处罚" in text
    assert "首次违法，已及时改正" in text
    assert "已改正" in text
    assert "六十日内依法申请行政复议" in text
    assert "罚款人民币" not in text


def test_a_no_penalty_decision_for_facts_not_established_speaks_of_a_suspicion(law: Law) -> None:
    case = filed(law)
    case.decide_no_penalty(officer(FILED_ON), law, NoPenaltyGround.NOT_ESTABLISHED, "影像中经营者身份无法确认", 0)
    text = text_of(render(K.NO_PENALTY_DECISION, case, law, FACTS, FILED_ON))
    assert "当事人涉嫌跨门经营" in text
    assert "违法事实不能成立" in text
    assert "第五十七条第一款第三项" in text


def test_an_individual_party_is_named_with_the_id_card_number_masked(law: Law) -> None:
    case = notice_issued(law, "street_stall", vendor())
    text = text_of(render(K.RECTIFICATION_NOTICE, case, law, FACTS, FILED_ON))
    assert f"公民身份号码：{VENDOR_ID[:6]}********{VENDOR_ID[-4:]}" in text
    assert VENDOR_ID not in text
    assert "当事人：张三" in text
    assert "立即改正上述违法行为（改正期限：2026年3月2日）" in text  # street_stall: 责令立即改正


def test_markup_in_the_facts_is_printed_as_text(law: Law) -> None:
    facts = DocumentFacts(**{**FACTS.__dict__, "place": "商城路<600>弄 & 东侧"})
    text = text_of(render(K.RECTIFICATION_NOTICE, notice_issued(law), law, facts, FILED_ON))
    assert "商城路<600>弄&东侧" in text


# ---- which documents a case has, and refusals ----------------------------------------------------------------------
def test_the_documents_available_follow_the_stages(law: Law) -> None:
    assert available(filed(law)) == []
    assert available(notice_issued(law)) == [K.RECTIFICATION_NOTICE]
    assert available(persisting(law)) == [K.RECTIFICATION_NOTICE]
    assert available(penalty_noticed(law)) == [K.RECTIFICATION_NOTICE, K.PENALTY_NOTICE]
    assert available(decided(law)) == [K.RECTIFICATION_NOTICE, K.PENALTY_NOTICE, K.PENALTY_DECISION]
    assert available(no_penalty_decided(law)) == [K.RECTIFICATION_NOTICE, K.NO_PENALTY_DECISION]


@pytest.mark.parametrize("kind", [K.PENALTY_DECISION, K.NO_PENALTY_DECISION])
def test_a_decision_before_the_case_is_decided_is_refused(law: Law, kind: DocumentKind) -> None:
    with pytest.raises(InvalidInput, match="penalty_notice_issued"):
        render(kind, penalty_noticed(law), law, FACTS, PERSISTING_ON)


def test_a_decision_of_the_other_kind_is_refused(law: Law) -> None:
    with pytest.raises(InvalidInput, match=r"no administrative penalty decision \(penalty_decision\)"):
        render(K.PENALTY_DECISION, no_penalty_decided(law), law, FACTS, PERSISTING_ON)


def test_a_notice_before_it_is_issued_is_refused(law: Law) -> None:
    with pytest.raises(InvalidInput, match="rectification_notice"):
        render(K.RECTIFICATION_NOTICE, filed(law), law, FACTS, FILED_ON)


def test_a_case_without_a_number_has_no_documents_to_render(law: Law) -> None:
    case = notice_issued(law)
    case.number = None
    with pytest.raises(InvalidInput, match="案件编号"):
        render(K.RECTIFICATION_NOTICE, case, law, FACTS, FILED_ON)


def test_facts_need_aware_times_in_order() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        DocumentFacts(**{**FACTS.__dict__, "first_seen": dt.datetime(2026, 3, 2, 8, 14)})
    with pytest.raises(InvalidInput, match="before first_seen"):
        DocumentFacts(**{**FACTS.__dict__, "last_seen": FACTS.first_seen - dt.timedelta(minutes=1)})


def test_a_missing_font_says_which_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="fonts-wqy-zenhei"):
        register_cjk_font(tmp_path / "missing.ttc", name="WQY-missing")


# ---- the small rules -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (K.RECTIFICATION_NOTICE, "沪城管非现责改〔2026〕000123号"),
        (K.PENALTY_NOTICE, "沪城管非现罚告〔2026〕000123号"),
        (K.PENALTY_DECISION, "沪城管非现罚决〔2026〕000123号"),
        (K.NO_PENALTY_DECISION, "沪城管非现不罚〔2026〕000123号"),
    ],
)
def test_the_document_number_puts_the_documents_code_before_the_year(kind: DocumentKind, expected: str) -> None:
    assert document_number(kind, NUMBER) == expected


def test_a_case_number_of_another_shape_gets_the_code_appended() -> None:
    assert document_number(K.PENALTY_NOTICE, "A-17") == "A-17（罚告）"


def test_the_titles_are_the_documents_names() -> None:
    assert [kind.title for kind in DocumentKind] == [
        "责令改正通知书",
        "行政处罚事先告知书",
        "行政处罚决定书",
        "不予行政处罚决定书",
    ]
    assert DocumentKind("penalty_notice") is K.PENALTY_NOTICE


def test_identifiers_keep_their_first_six_and_last_four_characters() -> None:
    assert mask_identifier("310101199003071234") == "310101********1234"
    assert mask_identifier("1234567890") == "**********"


@pytest.mark.parametrize(
    ("source", "reference", "full"),
    [
        (
            "上海市市容环境卫生管理条例 第二十五条第二款（占道设摊经营）",
            "《上海市市容环境卫生管理条例》第二十五条第二款",
            "《上海市市容环境卫生管理条例》第二十五条第二款（占道设摊经营）",
        ),
        (
            "上海市市容环境卫生管理条例 第三十三条：责令改正，处三百元以上三千元以下罚款",
            "《上海市市容环境卫生管理条例》第三十三条",
            "《上海市市容环境卫生管理条例》第三十三条（责令改正，处三百元以上三千元以下罚款）",
        ),
        (
            "行政处罚法第七十二条第一款第一项（每日按罚款数额的百分之三加处罚款，不得超出罚款数额）",
            "《行政处罚法》第七十二条第一款第一项",
            "《行政处罚法》第七十二条第一款第一项（每日按罚款数额的百分之三加处罚款，不得超出罚款数额）",
        ),
        ("本局裁量基准", "本局裁量基准", "本局裁量基准"),
    ],
)
def test_legal_sources_are_cited_with_the_regulation_in_book_title_marks(
    source: str, reference: str, full: str
) -> None:
    citation = cite(source)
    assert citation.reference == reference
    assert citation.full == full


def test_the_party_s_code_has_one_name_on_the_notices_and_on_the_party_page(
    documents: dict[DocumentKind, tuple[bytes, str]],
) -> None:
    """The notices print 查询码, the word the party page asks for (not 查验码 on one and 查询码 on the other)."""
    lookup = (PROJECT_ROOT / "api" / "console" / "templates" / "party_lookup.html").read_text(encoding="utf-8")
    for kind in (K.RECTIFICATION_NOTICE, K.PENALTY_NOTICE):
        assert "查询码" in documents[kind][1]
        assert "查验码" not in documents[kind][1]
    assert "查询码" in lookup
    assert "查验码" not in lookup
