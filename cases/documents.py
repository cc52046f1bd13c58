"""The enforcement documents (执法文书) of a case, rendered as Chinese PDFs.

Four documents, each produced by a stage of the case:

    责令改正通知书      rectification_notice   once the notice to correct is served (issue_rectification_notice)
    行政处罚事先告知书  penalty_notice         once a fine is proposed (issue_penalty_notice, 行政处罚法第四十四条)
    行政处罚决定书      penalty_decision       once a penalty is decided (第五十九条)
    不予行政处罚决定书  no_penalty_decision    once no penalty is decided (第三十三条, 第五十七条)

Each carries the agency, the title, its document number (文书编号), the case number, the party with the
identifier masked, the facts with time and place as the camera recorded them, the legal basis, what the stage
decides and the party's rights with their deadlines, the evidence package with its SHA-256 and a QR code of the
public verification page, the issue date and the place of the seal.

The document number is the case number with the document's code (文书代字) put before the year:
沪城管非现〔2026〕000123号 gives 沪城管非现责改〔2026〕000123号 (责改, 罚告, 罚决, 不罚). A case number without
a year in 〔〕 gets the code appended in brackets: ``A-17`` gives ``A-17（责改）``.

Text is set in WenQuanYi Zen Hei (Debian package fonts-wqy-zenhei), embedded as a TrueType subset, so that the
text can be extracted and searched.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cases.errors import InvalidInput
from cases.law import Law, Violation
from cases.messages import Term
from cases.model.case import Case, DecisionKind, NoPenaltyGround, Party, RecheckOutcome

FONT_NAME = "WQY"
FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
SHANGHAI = ZoneInfo("Asia/Shanghai")
ADMINISTRATIVE_PENALTY_LAW = "中华人民共和国行政处罚法"


class DocumentKind(StrEnum):
    RECTIFICATION_NOTICE = "rectification_notice"
    PENALTY_NOTICE = "penalty_notice"
    PENALTY_DECISION = "penalty_decision"
    NO_PENALTY_DECISION = "no_penalty_decision"

    @property
    def title(self) -> str:  # type: ignore[override]  # str.title() gives way to the document's Chinese title
        return _TITLES[self]

    @property
    def code(self) -> str:
        """文书代字, put into the document number."""
        return _CODES[self]


_TITLES = {
    DocumentKind.RECTIFICATION_NOTICE: "责令改正通知书",
    DocumentKind.PENALTY_NOTICE: "行政处罚事先告知书",
    DocumentKind.PENALTY_DECISION: "行政处罚决定书",
    DocumentKind.NO_PENALTY_DECISION: "不予行政处罚决定书",
}
_CODES = {
    DocumentKind.RECTIFICATION_NOTICE: "责改",
    DocumentKind.PENALTY_NOTICE: "罚告",
    DocumentKind.PENALTY_DECISION: "罚决",
    DocumentKind.NO_PENALTY_DECISION: "不罚",
}
_NOTICES = frozenset({DocumentKind.RECTIFICATION_NOTICE, DocumentKind.PENALTY_NOTICE})


@dataclass(frozen=True)
class DocumentFacts:
    """What the documents say that the case itself does not hold: the agency, the place, the evidence."""

    agency: str  # e.g. 上海市浦东新区城市管理行政执法局
    place: str  # camera address and zone name
    first_seen: dt.datetime  # aware; printed in Shanghai local time
    last_seen: dt.datetime
    camera: str  # the camera's name and its GB/T 28181 id
    evidence_package_id: str
    evidence_sha256: str  # the package manifest's SHA-256 (hex)
    verify_url: str  # the package's public verification page
    party_code: str | None = None  # the verification code the party uses on the party page (notices only)
    party_url: str | None = None  # the party page
    payment_channel: str | None = None  # how the fine is paid (第六十七条: the designated bank or e-payment)
    review_body: str | None = None  # the 行政复议 body (复议机关)
    court: str | None = None  # the court for 行政诉讼

    def __post_init__(self) -> None:
        for name in ("first_seen", "last_seen"):
            if getattr(self, name).tzinfo is None:
                raise InvalidInput(variant="document_fact_naive", field=name)
        if self.last_seen < self.first_seen:
            raise InvalidInput(variant="document_fact_order", first_seen=self.first_seen, last_seen=self.last_seen)
        for name in ("agency", "place", "camera", "evidence_package_id", "evidence_sha256", "verify_url"):
            if not getattr(self, name).strip():
                raise InvalidInput(variant="document_fact_empty", field=name)


# ---- which documents a case has ---------------------------------------------------------------------------------
def available(case: Case) -> list[DocumentKind]:
    """The documents the case's recorded stages have produced so far, in the order of the procedure."""
    kinds: list[DocumentKind] = []
    if case.rectification_served_on is not None or _has_event(case, "issue_rectification_notice"):
        kinds.append(DocumentKind.RECTIFICATION_NOTICE)
    if case.proposed_fine_fen is not None:
        kinds.append(DocumentKind.PENALTY_NOTICE)
    if case.decision_kind is DecisionKind.PENALTY:
        kinds.append(DocumentKind.PENALTY_DECISION)
    elif case.decision_kind is DecisionKind.NO_PENALTY:
        kinds.append(DocumentKind.NO_PENALTY_DECISION)
    return kinds


def _has_event(case: Case, action: str) -> bool:
    return any(event.action == action for event in case.events)


def document_number(kind: DocumentKind, case_number: str) -> str:
    """文书编号: the case number with the document's code before the year (see the module's docstring)."""
    match = re.fullmatch(r"(?P<prefix>.*?)(?P<rest>〔\d{4}〕.*)", case_number)
    if match is None:
        return f"{case_number}（{kind.code}）"
    return f"{match['prefix']}{kind.code}{match['rest']}"


# ---- rendering -------------------------------------------------------------------------------------------------
def render(kind: DocumentKind, case: Case, law: Law, facts: DocumentFacts, issued_on: dt.date) -> bytes:
    """The document as a PDF. InvalidInput when the case has no number or party, or its stage has not produced
    this document."""
    party = _renderable_party(kind, case)
    register_cjk_font()
    document = _Document(kind, case, law, law.violation(case.violation_code), facts, party)
    story = [
        *_heading(document),
        *_party_section(document),
        *_BODIES[kind](document),
        *_evidence_section(document),
        *_party_access(document),
        *_signature(document, issued_on),
    ]
    return _build_pdf(document, story)


@dataclass(frozen=True)
class _Document:
    kind: DocumentKind
    case: Case
    law: Law
    violation: Violation
    facts: DocumentFacts
    party: Party

    @property
    def case_number(self) -> str:
        assert self.case.number is not None
        return self.case.number

    @property
    def number(self) -> str:
        return document_number(self.kind, self.case_number)


def _renderable_party(kind: DocumentKind, case: Case) -> Party:
    """The party, once the case is numbered and its stage has produced the document."""
    if not case.number:
        raise InvalidInput(variant="document_unnumbered", title=Term(f"term.document.{kind.value}"), kind=kind.value)
    if kind not in available(case):
        produced = ", ".join(k.value for k in available(case)) or "none"
        raise InvalidInput(
            variant="document_not_yet",
            number=case.number,
            stage=Term(f"term.stage.{case.status.value}"),
            title=Term(f"term.document.{kind.value}"),
            kind=kind.value,
            produced=produced,
        )
    party = case.party
    if party is None:
        raise InvalidInput(variant="document_no_party", number=case.number)
    return party


def _build_pdf(document: _Document, story: list[Any]) -> bytes:
    buffer = io.BytesIO()
    pdf = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=f"{document.kind.title} {document.number}",
        author=document.facts.agency,
        subject=f"案件编号 {document.case_number}",
        creator="offsite",
        lang="zh-CN",
    )
    footer = _footer(document)
    pdf.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _footer(document: _Document) -> Callable[[Any, Any], None]:
    """Each page's foot: the document number and the page number, so that a loose page can be placed."""
    number = document.number

    def draw(canvas: Any, pdf: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT_NAME, 8)
        canvas.drawCentredString(A4[0] / 2, 12 * mm, f"{number}  第{pdf.page}页")
        canvas.restoreState()

    return draw


def register_cjk_font(path: Path = FONT_PATH, name: str = FONT_NAME) -> str:
    """Register the CJK font with reportlab, once; returns its name."""
    if name in pdfmetrics.getRegisteredFontNames():
        return name
    if not path.is_file():
        raise RuntimeError(
            f"the CJK font {path} is missing: install the Debian package fonts-wqy-zenhei "
            "(apt-get install fonts-wqy-zenhei) to render documents"
        )
    pdfmetrics.registerFont(TTFont(name, str(path), subfontIndex=0))
    return name


# ---- styles and small pieces -------------------------------------------------------------------------------------
def _style(
    name: str, size: float, alignment: int = TA_LEFT, indent: float = 0, space_after: float = 4
) -> ParagraphStyle:
    return ParagraphStyle(
        name,
        fontName=FONT_NAME,
        fontSize=size,
        leading=size * 1.5,
        alignment=alignment,
        firstLineIndent=indent,
        spaceAfter=space_after,
        wordWrap="CJK",
    )


AGENCY = _style("agency", 16, TA_CENTER, space_after=2)
TITLE = _style("title", 20, TA_CENTER, space_after=6)
NUMBER = _style("number", 11, TA_CENTER, space_after=12)
SECTION = _style("section", 12, space_after=2)
BODY = _style("body", 11, indent=22)
PLAIN = _style("plain", 11)
SMALL = _style("small", 9, space_after=2)
RIGHT = _style("right", 11, TA_RIGHT, space_after=2)


def _p(text: str, style: ParagraphStyle = BODY) -> Paragraph:
    """A paragraph of plain text (escaped: names and places may hold < or &)."""
    return Paragraph(escape(text), style)


def _date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _time(at: dt.datetime) -> str:
    local = at.astimezone(SHANGHAI)
    return f"{_date(local.date())} {local:%H:%M}"


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def mask_identifier(identifier: str) -> str:
    """The first 6 and last 4 characters; the rest as '*'. Short identifiers are masked whole."""
    if len(identifier) <= 10:
        return "*" * len(identifier)
    return identifier[:6] + "*" * (len(identifier) - 10) + identifier[-4:]


@dataclass(frozen=True)
class Citation:
    """A legal source split into the regulation, the article and any note: 《条例》第二十五条第二款（note）."""

    regulation: str | None
    article: str | None
    note: str | None
    text: str

    @property
    def reference(self) -> str:
        if self.regulation is None or self.article is None:
            return self.text
        return f"《{self.regulation}》{self.article}"

    @property
    def full(self) -> str:
        return self.reference if self.note is None else f"{self.reference}（{self.note}）"


_NUMERAL = "[零一二三四五六七八九十百千0-9]+"
_CITATION = re.compile(
    rf"(?P<regulation>[^\s《》]+?)\s*(?P<article>第{_NUMERAL}条(?:第{_NUMERAL}款)?(?:第{_NUMERAL}项)?)(?P<note>.*)"
)


def cite(source: str) -> Citation:
    """Read a configured legal source such as ``上海市市容环境卫生管理条例 第二十五条第二款（占道设摊经营）`` or
    ``行政处罚法第七十二条第一款第一项（…）``. Sources already in 《》 or of another shape are kept as written."""
    text = source.strip()
    match = _CITATION.fullmatch(text)
    if match is None:
        return Citation(None, None, None, text)
    note = match["note"].strip().lstrip("：:").strip()
    if note.startswith("（") and note.endswith("）") and note.count("（") == 1:
        note = note[1:-1]
    return Citation(match["regulation"], match["article"], note or None, text)


# ---- the sections --------------------------------------------------------------------------------------------------
def _heading(document: _Document) -> list[Any]:
    return [
        _p(document.facts.agency, AGENCY),
        _p(document.kind.title, TITLE),
        _p(f"文书编号：{document.number}", NUMBER),
        _p(f"案件编号：{document.case_number}", PLAIN),
    ]


def _party_section(document: _Document) -> list[Any]:
    party = document.party
    label = "公民身份号码" if party.is_individual else "统一社会信用代码"
    lines = [f"当事人：{party.name}", f"{label}：{mask_identifier(party.id_number)}"]
    if party.address:
        lines.append(f"地址：{party.address}")
    return [_p(line, PLAIN) for line in lines] + [Spacer(1, 4)]


def _facts(document: _Document) -> Paragraph:
    facts, violation = document.facts, document.violation
    suspected = document.case.no_penalty_ground is NoPenaltyGround.NOT_ESTABLISHED
    conduct = f"涉嫌{violation.name}" if suspected else f"存在{violation.name}的行为"
    return _p(
        f"经非现场执法设备（{facts.camera}）于{_time(facts.first_seen)}至{_time(facts.last_seen)}在{facts.place}记录，"
        f"当事人{conduct}，{'涉嫌违反' if suspected else '违反了'}{cite(violation.legal_basis).full}的规定。"
    )


def _recheck(case: Case) -> list[Any]:
    if case.recheck_outcome is None or case.recheck_on is None:
        return []
    if case.recheck_outcome is RecheckOutcome.CORRECTED:
        return [_p(f"经{_date(case.recheck_on)}复查，当事人已改正上述违法行为。")]
    return [_p(f"经{_date(case.recheck_on)}复查，当事人逾期未改正上述违法行为。")]


def _rectification_body(document: _Document) -> list[Any]:
    case = document.case
    assert case.rectification_deadline is not None
    deadline = _date(case.rectification_deadline)
    if document.violation.rectification.count == 0:
        order = f"立即改正上述违法行为（改正期限：{deadline}）"
    else:
        order = f"于{deadline}前（含当日）改正上述违法行为"
    return [
        _p("一、违法事实", SECTION),
        _facts(document),
        _p("二、责令改正", SECTION),
        _p(f"依据《{ADMINISTRATIVE_PENALTY_LAW}》第二十八条第一款的规定，本局责令当事人{order}。"),
        _p(
            "期限届满后，本局将通过原非现场执法设备对同一地点进行复查。逾期不改正的，本局将依据"
            f"{cite(document.violation.penalty_basis).full}的规定依法予以处罚。"
        ),
    ]


def _penalty_notice_body(document: _Document) -> list[Any]:
    case = document.case
    assert case.proposed_fine_fen is not None
    assert case.statement_deadline is not None
    return [
        _p("一、违法事实", SECTION),
        _facts(document),
        *_recheck(case),
        _p("二、拟作出的行政处罚", SECTION),
        _p(
            f"依据{cite(document.violation.penalty_basis).full}的规定，本局拟对当事人作出罚款人民币"
            f"{_yuan(case.proposed_fine_fen)}元的行政处罚。"
        ),
        _p("三、当事人的权利", SECTION),
        _p(
            f"依据《{ADMINISTRATIVE_PENALTY_LAW}》第四十四条、第四十五条的规定，当事人有权进行陈述、申辩。"
            f"当事人可于{_date(case.statement_deadline)}前（含当日）向本局提出陈述、申辩意见；"
            "逾期未提出的，视为放弃陈述、申辩的权利。本局不因当事人陈述、申辩而给予更重的处罚。"
        ),
        *_hearing_right(case),
    ]


def _hearing_right(case: Case) -> list[Any]:
    if case.hearing_deadline is None:
        return []
    return [
        _p(
            f"依据《{ADMINISTRATIVE_PENALTY_LAW}》第六十三条、第六十四条的规定，当事人有权要求听证。"
            f"当事人要求听证的，应当于{_date(case.hearing_deadline)}前（含当日）向本局提出；逾期未提出的，视为放弃听证权利。"
        )
    ]


def _statement_outcome(case: Case) -> list[Any]:
    if case.statement_text is None:
        return [_p("当事人在规定期限内未提出陈述、申辩意见。")]
    adopted = "予以采纳" if case.statement_adopted else "不予采纳"
    return [_p(f"当事人在规定期限内提出了陈述、申辩意见，经本局复核，{adopted}。")]


def _penalty_decision_body(document: _Document) -> list[Any]:
    case = document.case
    assert case.fine_fen is not None
    reviewed = [_p("本案已经法制审核。")] if case.legal_reviewer else []
    return [
        _p("一、违法事实", SECTION),
        _facts(document),
        *_recheck(case),
        _p("二、陈述、申辩及审核", SECTION),
        *_statement_outcome(case),
        *reviewed,
        _p("三、处罚决定", SECTION),
        _p(
            f"依据{cite(document.violation.penalty_basis).full}的规定，本局决定对当事人处以罚款人民币"
            f"{_yuan(case.fine_fen)}元。"
        ),
        _p("四、履行方式和期限", SECTION),
        *_payment(document),
        _p("五、救济途径", SECTION),
        *_remedies(document),
    ]


def _payment(document: _Document) -> list[Any]:
    case, deadlines = document.case, document.law.config.deadlines
    by_date = f"（即{_date(case.payment_due)}前）" if case.payment_due else ""
    surcharge = deadlines.late_surcharge
    cap = "，加处罚款的数额不超出罚款的数额" if surcharge.capped_at_fine else ""
    return [
        _p(
            f"当事人应当自收到本决定书之日起{deadlines.payment.count}日内{by_date}，"
            f"依据{cite(deadlines.payment.legal_source).reference}的规定缴纳罚款。"
        ),
        *([_p(f"缴款方式：{escape(document.facts.payment_channel)}。")] if document.facts.payment_channel else []),
        _p(
            f"到期不缴纳罚款的，依据{cite(surcharge.legal_source).reference}的规定，每日按罚款数额的"
            f"{surcharge.percent_per_day}%加处罚款{cap}；本局并可依法申请人民法院强制执行。"
        ),
    ]


def _remedies(document: _Document) -> list[Any]:
    review_body = f"向{escape(document.facts.review_body)}" if document.facts.review_body else ""
    court = escape(document.facts.court) if document.facts.court else "人民法院"
    remedies = [
        _p(
            f"当事人如不服本决定，可以自收到本决定书之日起六十日内依法{review_body}申请行政复议，"
            f"或者自收到本决定书之日起六个月内依法向{court}提起行政诉讼。"
        )
    ]
    if document.kind is DocumentKind.PENALTY_DECISION:
        remedies.append(
            _p(
                f"依据《{ADMINISTRATIVE_PENALTY_LAW}》第七十三条的规定，当事人申请行政复议或者提起行政诉讼的，"
                "行政处罚不停止执行，法律另有规定的除外。"
            )
        )
    return remedies


_GROUNDS = {
    NoPenaltyGround.FIRST_OFFENCE: ("初次违法且危害后果轻微并及时改正", "第三十三条第一款"),
    NoPenaltyGround.MINOR_CORRECTED: ("违法行为轻微并及时改正，没有造成危害后果", "第三十三条第一款"),
    NoPenaltyGround.NOT_ESTABLISHED: ("违法事实不能成立", "第五十七条第一款第三项"),
}


def no_penalty_ground(ground: NoPenaltyGround) -> str:
    """The ground in the law's words, with its article: 初次违法且危害后果轻微并及时改正（第三十三条第一款）."""
    words, article = _GROUNDS[ground]
    return f"{words}（《{ADMINISTRATIVE_PENALTY_LAW}》{article}）"


def _no_penalty_body(document: _Document) -> list[Any]:
    case = document.case
    assert case.no_penalty_ground is not None
    words, article = _GROUNDS[case.no_penalty_ground]
    reason = _decision_reason(case)
    return [
        _p("一、违法事实", SECTION),
        _facts(document),
        *_recheck(case),
        _p("二、不予行政处罚的理由和依据", SECTION),
        _p(f"经查，当事人{words}。" + (f"理由：{reason}。" if reason else "")),
        _p(
            f"依据《{ADMINISTRATIVE_PENALTY_LAW}》{article}的规定，本局决定对当事人不予行政处罚。"
            + (
                "当事人应当继续遵守相关规定，不得再次违法。"
                if case.no_penalty_ground is not NoPenaltyGround.NOT_ESTABLISHED
                else ""
            )
        ),
        _p("三、救济途径", SECTION),
        *_remedies(document),
    ]


def _decision_reason(case: Case) -> str | None:
    for event in reversed(case.events):
        if event.action == "decide_no_penalty":
            return (event.reason or "").strip().rstrip("。") or None
    return None


_BODIES: dict[DocumentKind, Callable[[_Document], list[Any]]] = {
    DocumentKind.RECTIFICATION_NOTICE: _rectification_body,
    DocumentKind.PENALTY_NOTICE: _penalty_notice_body,
    DocumentKind.PENALTY_DECISION: _penalty_decision_body,
    DocumentKind.NO_PENALTY_DECISION: _no_penalty_body,
}


def _evidence_section(document: _Document) -> list[Any]:
    """The package and its fingerprint beside the QR code of its verification page, the page's address under it."""
    facts = document.facts
    described = [
        _p(f"非现场执法证据包：{facts.evidence_package_id}", PLAIN),
        _p(f"证据包清单 SHA-256：{facts.evidence_sha256}", SMALL),
        _p("扫描二维码或访问下方地址，可核验证据包是否完整、未被篡改。", SMALL),
    ]
    table = Table([[_qr_code(facts.verify_url), described]], colWidths=[QR_SIZE + 4 * mm, None], hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), ("LEFTPADDING", (0, 0), (0, 0), 0)]))
    return [KeepTogether([_p("证据", SECTION), table, _p(f"核验地址：{facts.verify_url}", SMALL)])]


QR_SIZE = 28 * mm


def _qr_code(value: str, size: float = QR_SIZE) -> Drawing:
    widget = QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    return drawing


def _party_access(document: _Document) -> list[Any]:
    facts = document.facts
    if document.kind not in _NOTICES or not (facts.party_url or facts.party_code):
        return []
    action = "查看证据" if document.kind is DocumentKind.RECTIFICATION_NOTICE else "查看证据、提交陈述申辩意见"
    lines = [_p(f"当事人可登录当事人页面{action}：", PLAIN)]
    if facts.party_url:
        lines.append(_p(f"当事人页面：{facts.party_url}", PLAIN))
    if facts.party_code:
        lines.append(_p(f"查询码：{facts.party_code}", PLAIN))  # the word the party page asks for
    return [Spacer(1, 4), *lines]


def _signature(document: _Document, issued_on: dt.date) -> list[Any]:
    return [
        Spacer(1, 16),
        KeepTogether(
            [
                _p(document.facts.agency, RIGHT),
                _p("（印章）", RIGHT),
                _p(_date(issued_on), RIGHT),
            ]
        ),
        Spacer(1, 8),
        _p("本文书一式两份，一份送达当事人，一份归档。", SMALL),
    ]
