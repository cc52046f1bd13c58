"""The figures an annual 行政执法 report states (行政执法统计年报), by month and district, with CSV and XLSX export.

Which month each figure falls in (always the bureau's local calendar month, in the service clock's time zone):

- detections found: the month of ``first_seen`` (when the camera saw it);
- detections confirmed / rejected: the month of ``reviewed_at`` (when the review decided it), so a detection seen
  on 31 March and reviewed on 1 April is found in March and confirmed in April;
- cases filed (立案), in all and by violation type: the month of ``filed_on``;
- decisions: the month of ``decided_on``, penalty (处罚决定) or no-penalty (不予处罚); fines decided are the
  ``fine_fen`` of the penalty decisions of that month;
- fines paid: the month of ``paid_on``, summing ``amount_paid_fen`` less ``surcharge_fen``: the fine itself
  (加处罚款 is an enforcement measure, not a fine, and a report counts it apart);
- cases by stage: the cases created (``created_at``, the draft's opening) in the month, counted by the stage they
  stand in now. A snapshot of every case's stage at the end of each month would need the events replayed; what the
  report wants to know is what became of each month's intake, and that this answers.

A case or detection belongs to the district of its camera: ``district_of`` the camera's address.

How the counting is done. The dates that are already local calendar days (``filed_on``, ``decided_on``,
``paid_on``) are grouped in SQL by camera and day (``GROUP BY camera_id, filed_on, ...``) and the days folded
into months here: grouping by the date itself is portable, where extracting a month is not (``strftime`` on SQLite,
``date_trunc`` on PostgreSQL). The instants (``first_seen``, ``reviewed_at``, ``created_at``) are stored in UTC,
and their local month cannot be computed the same way on both databases (SQLite knows no time zones), so the few
columns needed are fetched (restricted in SQL to the year asked for, and to the district's cameras) and bucketed
here by ``Clock.local_date``: both databases then give identical figures, with the month boundary at local
midnight. One year of detections for a district is tens of thousands of small rows at most.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from cases.errors import InvalidInput
from cases.messages import DEFAULT_LANGUAGE, wording
from cases.model.case import CaseStatus, DecisionKind
from cases.model.detection import DetectionStatus
from cases.persistence import tables
from cases.services.base import Service

UNKNOWN_DISTRICT = "未知区域"
FIRST_YEAR, LAST_YEAR = 2000, 2100
SHEET_TITLE = "执法统计"
TOTAL_LABEL = "合计"

# Names of the stages as a report prints them; a caller may pass its own.
STAGE_NAMES: dict[str, str] = {
    CaseStatus.DRAFT.value: wording("待立案"),
    CaseStatus.FILED.value: wording("已立案"),
    CaseStatus.NOTICE_ISSUED.value: wording("责令改正中"),
    CaseStatus.CORRECTED.value: wording("已改正"),
    CaseStatus.PERSISTING.value: wording("逾期未改正"),
    CaseStatus.PENALTY_NOTICE_ISSUED.value: wording("已事先告知"),
    CaseStatus.STATEMENT_FILED.value: wording("已陈述申辩"),
    CaseStatus.STATEMENT_ANSWERED.value: wording("已复核陈述申辩"),
    CaseStatus.UNDER_LEGAL_REVIEW.value: wording("法制审核中"),
    CaseStatus.REVIEW_APPROVED.value: wording("法制审核通过"),
    CaseStatus.REVIEW_RETURNED.value: wording("法制审核退回"),
    CaseStatus.DECIDED.value: wording("已作出决定"),
    CaseStatus.DELIVERED.value: wording("已送达"),
    CaseStatus.ENFORCEMENT_REQUESTED.value: wording("已申请强制执行"),
    CaseStatus.PAID.value: wording("已缴纳罚款"),
    CaseStatus.CLOSED.value: wording("已结案"),
}

# An optional city before the district (上海市, 上海, or another xx市), then the district: the shortest run of
# Chinese characters ending in 区 or 县, at most six characters in all (浦东新区, 黄浦区, 崇明县). The length cap keeps
# "商城路602号小区" from being read as a district.
_DISTRICT = re.compile(r"(?:上海市?|[\u4e00-\u9fff]{2,3}市)?([\u4e00-\u9fff]{1,5}?[区县])")

C = tables.cases.c
D = tables.detections.c


def district_of(address: str, recorded: str | None = None) -> str:
    """A camera's district: the one recorded for it, else the leading administrative district of its address
    ("浦东新区商城路 600 弄口" → "浦东新区"), else 未知区域."""
    if recorded:
        return recorded
    found = _DISTRICT.match(address.strip())
    return found.group(1) if found else UNKNOWN_DISTRICT


def district_order(district: str) -> tuple[bool, str]:
    """Districts by name, the unknown one last."""
    return district == UNKNOWN_DISTRICT, district


@dataclass(frozen=True)
class StatisticsRow:
    month: str  # "2026-10", the local calendar month
    district: str
    detections_found: int = 0
    detections_confirmed: int = 0
    detections_rejected: int = 0
    cases_filed: int = 0
    cases_by_violation: dict[str, int] = field(default_factory=dict)  # violation code -> cases filed that month
    cases_by_stage: dict[str, int] = field(default_factory=dict)  # status value -> cases created that month, now
    no_penalty_decisions: int = 0
    penalty_decisions: int = 0
    fines_decided_fen: int = 0
    fines_paid_fen: int = 0


@dataclass
class _Tally:
    detections_found: int = 0
    detections_confirmed: int = 0
    detections_rejected: int = 0
    cases_by_violation: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    cases_by_stage: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    no_penalty_decisions: int = 0
    penalty_decisions: int = 0
    fines_decided_fen: int = 0
    fines_paid_fen: int = 0

    def row(self, month: str, district: str) -> StatisticsRow:
        return StatisticsRow(
            month=month,
            district=district,
            detections_found=self.detections_found,
            detections_confirmed=self.detections_confirmed,
            detections_rejected=self.detections_rejected,
            cases_filed=sum(self.cases_by_violation.values()),
            cases_by_violation=dict(sorted(self.cases_by_violation.items())),
            cases_by_stage=dict(sorted(self.cases_by_stage.items())),
            no_penalty_decisions=self.no_penalty_decisions,
            penalty_decisions=self.penalty_decisions,
            fines_decided_fen=self.fines_decided_fen,
            fines_paid_fen=self.fines_paid_fen,
        )


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class StatisticsService(Service):
    def districts(self) -> list[str]:
        """Every district that has a camera, by name, 未知区域 last when some address names none."""
        with self.transaction() as session:
            places = session.execute(select(tables.cameras.c.address, tables.cameras.c.district)).all()
        return sorted({district_of(address, recorded) for address, recorded in places}, key=district_order)

    def violation_names(self, language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
        """Violation code -> name in the reader's language, in the catalogue's order: the columns ``to_csv`` and
        ``to_xlsx`` take (in Chinese, the language of the bureau's reports)."""
        return {v.code: v.named(language) for v in self.law.config.catalogue.violations}

    def report(self, year: int | None = None, district: str | None = None) -> list[StatisticsRow]:
        """The figures per (month, district), sorted by month then district; only pairs with any figure."""
        if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
            raise InvalidInput(variant="year_range", year=year, first=FIRST_YEAR, last=LAST_YEAR)
        tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
        with self.transaction() as session:
            places = select(tables.cameras.c.id, tables.cameras.c.address, tables.cameras.c.district)
            camera_district = {
                ident: district_of(address, recorded) for ident, address, recorded in session.execute(places)
            }
            if district is not None:
                camera_district = {ident: name for ident, name in camera_district.items() if name == district}
                if not camera_district:
                    return []
            scope = _Scope(self.clock.tz, year, list(camera_district) if district is not None else None)
            self._count_detections(session, scope, camera_district, tallies)
            self._count_cases(session, scope, camera_district, tallies)
        rows = [tally.row(month, name) for (month, name), tally in tallies.items()]
        return sorted(rows, key=lambda row: (row.month, *district_order(row.district)))

    def _count_detections(
        self,
        session: Session,
        scope: _Scope,
        camera_district: dict[int, str],
        tallies: dict[tuple[str, str], _Tally],
    ) -> None:
        query = select(D.camera_id, D.first_seen, D.status, D.reviewed_at).where(
            *scope.cameras(D.camera_id), or_(*scope.instants(D.first_seen), *scope.instants(D.reviewed_at))
        )
        for camera_id, first_seen, status, reviewed_at in session.execute(query):
            district = camera_district.get(camera_id, UNKNOWN_DISTRICT)
            found_on = self.clock.local_date(first_seen)
            if scope.holds(found_on):
                tallies[_month(found_on), district].detections_found += 1
            if reviewed_at is None:
                continue
            reviewed_on = self.clock.local_date(reviewed_at)
            if not scope.holds(reviewed_on):
                continue
            if status is DetectionStatus.CONFIRMED:
                tallies[_month(reviewed_on), district].detections_confirmed += 1
            elif status is DetectionStatus.REJECTED:
                tallies[_month(reviewed_on), district].detections_rejected += 1

    def _count_cases(
        self,
        session: Session,
        scope: _Scope,
        camera_district: dict[int, str],
        tallies: dict[tuple[str, str], _Tally],
    ) -> None:
        def tally(camera_id: int, day: dt.date) -> _Tally:
            return tallies[_month(day), camera_district.get(camera_id, UNKNOWN_DISTRICT)]

        filed = (
            select(C.camera_id, C.filed_on, C.violation_code, func.count())
            .where(*scope.cameras(C.camera_id), *scope.days(C.filed_on))
            .group_by(C.camera_id, C.filed_on, C.violation_code)
        )
        for camera_id, filed_on, violation_code, count in session.execute(filed):
            tally(camera_id, filed_on).cases_by_violation[violation_code] += count

        decided = (
            select(C.camera_id, C.decided_on, C.decision_kind, func.count(), func.sum(C.fine_fen))
            .where(*scope.cameras(C.camera_id), *scope.days(C.decided_on), C.decision_kind.is_not(None))
            .group_by(C.camera_id, C.decided_on, C.decision_kind)
        )
        for camera_id, decided_on, kind, count, fines in session.execute(decided):
            target = tally(camera_id, decided_on)
            if kind is DecisionKind.PENALTY:
                target.penalty_decisions += count
                target.fines_decided_fen += int(fines or 0)  # PostgreSQL sums a BIGINT into a NUMERIC
            else:
                target.no_penalty_decisions += count

        paid = (
            select(C.camera_id, C.paid_on, func.sum(C.amount_paid_fen - func.coalesce(C.surcharge_fen, 0)))
            .where(*scope.cameras(C.camera_id), *scope.days(C.paid_on))
            .group_by(C.camera_id, C.paid_on)
        )
        for camera_id, paid_on, amount in session.execute(paid):
            tally(camera_id, paid_on).fines_paid_fen += int(amount or 0)

        created = select(C.camera_id, C.created_at, C.status).where(
            *scope.cameras(C.camera_id), *scope.instants(C.created_at)
        )
        for camera_id, created_at, status in session.execute(created):
            created_on = self.clock.local_date(created_at)
            if scope.holds(created_on):
                tally(camera_id, created_on).cases_by_stage[status.value] += 1


@dataclass(frozen=True)
class _Scope:
    """The year and the cameras a report covers, as SQL conditions and as a check on a local day."""

    tz: dt.tzinfo
    year: int | None
    camera_ids: list[int] | None  # None: every camera

    def cameras(self, column: Any) -> list[ColumnElement[bool]]:
        return [] if self.camera_ids is None else [column.in_(self.camera_ids)]

    def days(self, column: Any) -> list[ColumnElement[bool]]:
        if self.year is None:
            return [column.is_not(None)]
        return [column >= dt.date(self.year, 1, 1), column <= dt.date(self.year, 12, 31)]

    def instants(self, column: Any) -> list[ColumnElement[bool]]:
        """The instants that fall in the year's local days: from local midnight on 1 January to the next one."""
        if self.year is None:
            return [column.is_not(None)]
        start = dt.datetime(self.year, 1, 1, tzinfo=self.tz)
        end = dt.datetime(self.year + 1, 1, 1, tzinfo=self.tz)
        return [and_(column >= start, column < end)]

    def holds(self, day: dt.date) -> bool:
        return self.year is None or day.year == self.year


# ---- export ---------------------------------------------------------------------------------------------------
def _columns(rows: list[StatisticsRow], names: dict[str, str], attribute: str) -> list[tuple[str, str]]:
    """(code, header) for every named code, in the given order, then any code the rows hold that has no name."""
    seen = {code for row in rows for code in getattr(row, attribute)}
    return [*names.items(), *((code, code) for code in sorted(seen - set(names)))]


def _table(
    rows: list[StatisticsRow], violation_names: dict[str, str], stage_names: dict[str, str]
) -> tuple[list[str], list[list[str | int]], list[int]]:
    """The header, the body rows with amounts in fen (totals last), and the indexes of the amount columns."""
    violations = _columns(rows, violation_names, "cases_by_violation")
    stages = _columns(rows, stage_names, "cases_by_stage")
    header = [
        "月份",
        "区域",
        "发现",
        "确认",
        "驳回",
        "立案",
        *(name for _, name in violations),
        *(name for _, name in stages),
        "不予处罚",
        "处罚决定",
        "罚款决定金额(元)",
        "罚款缴纳金额(元)",
    ]

    def figures(row: StatisticsRow) -> list[int]:
        return [
            row.detections_found,
            row.detections_confirmed,
            row.detections_rejected,
            row.cases_filed,
            *(row.cases_by_violation.get(code, 0) for code, _ in violations),
            *(row.cases_by_stage.get(code, 0) for code, _ in stages),
            row.no_penalty_decisions,
            row.penalty_decisions,
            row.fines_decided_fen,
            row.fines_paid_fen,
        ]

    lines = [figures(row) for row in rows]
    body: list[list[str | int]] = [[row.month, row.district, *line] for row, line in zip(rows, lines, strict=True)]
    body.append([TOTAL_LABEL, "", *(sum(line[i] for line in lines) for i in range(len(header) - 2))])
    return header, body, [len(header) - 2, len(header) - 1]


def _yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def to_csv(rows: list[StatisticsRow], violation_names: dict[str, str], stage_names: dict[str, str]) -> str:
    """The table as CSV text (encode it as UTF-8; with a BOM, ``utf-8-sig``, for Excel): a header of Chinese column
    names, one line per row, amounts in yuan with two decimals, and a 合计 line of totals last."""
    header, body, amounts = _table(rows, violation_names, stage_names)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for line in body:
        writer.writerow(
            [f"{_yuan(value)}" if i in amounts and isinstance(value, int) else value for i, value in enumerate(line)]
        )
    return out.getvalue()


def to_xlsx(rows: list[StatisticsRow], violation_names: dict[str, str], stage_names: dict[str, str]) -> bytes:
    """The same table as an Excel workbook: one sheet 执法统计, bold header and totals, figures as numbers and
    amounts as numbers of yuan shown with two decimals."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    header, body, amounts = _table(rows, violation_names, stage_names)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_TITLE
    bold = Font(bold=True)
    sheet.append(header)
    for line in body:
        sheet.append(
            [_yuan(value) if i in amounts and isinstance(value, int) else value for i, value in enumerate(line)]
        )
    for cell in _cells(sheet[1], sheet[sheet.max_row]):
        cell.font = bold
    for column in amounts:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=column + 1, max_col=column + 1):
            cell.number_format = "#,##0.00"
    for index, title in enumerate(header, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(10, 2 * len(title) + 2)
    sheet.freeze_panes = "C2"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _cells(*lines: Iterable[Any]) -> Iterable[Any]:
    for line in lines:
        yield from line
