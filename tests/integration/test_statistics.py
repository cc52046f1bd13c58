"""The annual report's figures by month and district, walked through the real services on both databases, and
their CSV and XLSX exports."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from dataclasses import dataclass

import pytest
from openpyxl import load_workbook

from cases.clock import ManualClock
from cases.errors import InvalidInput
from cases.model.case import DeliveryMethod, NoPenaltyGround, RecheckOutcome
from cases.model.detection import Detection
from cases.model.registry import Camera, Zone, ZoneSubject
from cases.services.statistics import (
    STAGE_NAMES,
    UNKNOWN_DISTRICT,
    StatisticsRow,
    StatisticsService,
    district_of,
    to_csv,
    to_xlsx,
)
from tests.conftest import SHANGHAI
from tests.integration.world import ALL_PASS, LEGAL, OFFICER, OPERATOR, World
from vision.events import SubjectKind, SubjectRef, ViolationEvent

PUDONG, HUANGPU = "浦东新区", "黄浦区"
DUST_FINE = 50_000  # 500 元, inside the first-offence band of 300..1000 元


# ---- the district of an address ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "district"),
    [
        ("浦东新区商城路 600 弄口", "浦东新区"),
        ("黄浦区南京东路 100 号", "黄浦区"),
        ("上海市黄浦区南京东路 100 号", "黄浦区"),
        ("上海浦东新区世纪大道 9 号", "浦东新区"),
        ("  上海市徐汇区漕溪北路 1 号", "徐汇区"),
        ("崇明县城桥镇八一路 1 号", "崇明县"),
        ("苏州市吴中区东吴北路 1 号", "吴中区"),
        ("闵行区莘庄工业区申富路 1 号", "闵行区"),  # the shortest prefix: the district, not the park inside it
        ("商城路 602 号", UNKNOWN_DISTRICT),
        ("商城路602号小区", UNKNOWN_DISTRICT),  # a 小区 far into the address is no district
        ("市场路 1 号", UNKNOWN_DISTRICT),
        ("", UNKNOWN_DISTRICT),
        ("Century Avenue 9", UNKNOWN_DISTRICT),
    ],
)
def test_the_district_is_the_leading_district_of_the_address(address: str, district: str) -> None:
    assert district_of(address) == district


# ---- a small world: Pudong and Huangpu, March and April 2026 ---------------------------------------------------
def local(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class Built:
    world: World
    service: StatisticsService
    fine_paid_fen: int


class Builder:
    def __init__(self, world: World, clock: ManualClock) -> None:
        self.world, self.clock = world, clock
        self.c = world.components
        self.n = 0

    def at(self, instant: dt.datetime) -> None:
        assert instant >= self.clock.now(), "the story only moves forward"
        self.clock.set(instant.astimezone(dt.UTC))

    def seen(self, kind: str, first_seen: dt.datetime, camera: str = "cam-1", zone: str | None = None) -> Detection:
        """A detection seen at ``first_seen`` (local time), taken in now."""
        self.n += 1
        if camera == "cam-1":
            event = self.world.event(kind)
        else:
            assert zone is not None
            event = ViolationEvent(
                event_id=f"stats-{self.n}",
                camera_id=camera,
                zone_id=zone,
                rule_id=f"{kind}-dwell",
                violation_code=kind,
                subject=SubjectRef(SubjectKind.UNKNOWN),
                first_seen=first_seen,
                last_seen=first_seen,
                evidence_package_id=self.world.seal_package(),
                confidence=0.9,
            )
        event = dataclasses.replace(
            event,
            event_id=f"stats-{self.n}",
            first_seen=first_seen.astimezone(dt.UTC),
            last_seen=(first_seen + dt.timedelta(minutes=5)).astimezone(dt.UTC),
        )
        detection, created = self.c.detections.intake(event, self.c.registry)
        assert created
        return detection

    def review(self, detection: Detection, confirm: bool) -> Detection:
        assert detection.id is not None
        checklist = ALL_PASS if confirm else dataclasses.replace(ALL_PASS, clear=False)
        reason = None if confirm else "画面模糊"
        return self.c.detections.review(detection.id, OPERATOR, detection.version, confirm, checklist, reason)

    def case_of(self, detection: Detection) -> int:
        assert detection.id is not None
        case = self.c.cases.open_draft([detection.id], OFFICER)
        assert case.id is not None
        return case.id

    def version(self, case_id: int) -> int:
        return self.c.cases.get(case_id).version


def build(world: World, clock: ManualClock) -> Built:
    b = Builder(world, clock)
    cases = world.components.cases
    registry = world.components.registry
    today = clock.today()
    huangpu = registry.create_camera(
        Camera(
            "cam-2",
            "南京东路口",
            "上海市黄浦区南京东路 100 号",
            legal_review_date=today - dt.timedelta(days=100),
            legal_review_ref="法审 2",
            technical_review_date=today - dt.timedelta(days=100),
            technical_review_ref="技审 2",
            next_maintenance_due=today + dt.timedelta(days=200),
            published=True,
            gateway_id="gw-2",
        )
    )
    nowhere = registry.create_camera(Camera("cam-3", "无区县地址", "商城路 602 号", gateway_id="gw-2"))
    assert huangpu.id is not None
    assert nowhere.id is not None
    registry.create_zone(Zone(huangpu.id, "Z-HP", "南京东路步行街", ZoneSubject.PUBLIC_SPACE))
    registry.create_zone(Zone(nowhere.id, "Z-N", "路口", ZoneSubject.PUBLIC_SPACE))

    # Monday 2 March, 10:00 (the fixture's start)
    shop = b.review(b.seen("cross_door", local(3, 2, 9)), confirm=True)
    site = b.review(b.seen("dust", local(3, 2, 9, 10)), confirm=True)
    b.seen("stall", local(3, 2, 8))  # stays pending
    stall = b.review(b.seen("stall", local(3, 2, 8, 30)), confirm=True)
    b.review(b.seen("street_stall", local(3, 2, 7), camera="cam-2", zone="Z-HP"), confirm=True)
    b.review(b.seen("street_stall", local(3, 2, 7, 30), camera="cam-2", zone="Z-HP"), confirm=False)

    no_penalty = b.case_of(shop)  # 跨门经营, corrected at once: first offence, no penalty
    cases.file(no_penalty, OFFICER, b.version(no_penalty))
    cases.issue_rectification_notice(no_penalty, OFFICER, b.version(no_penalty), DeliveryMethod.DIRECT)
    cases.record_recheck(
        no_penalty, OFFICER, b.version(no_penalty), RecheckOutcome.CORRECTED, today, inspection_note="已收回"
    )
    cases.decide_no_penalty(
        no_penalty, OFFICER, b.version(no_penalty), NoPenaltyGround.FIRST_OFFENCE, "初次违法并及时改正"
    )

    penalty = b.case_of(site)  # 扬尘, still there after the deadline: fined in March, paid in April
    cases.file(penalty, OFFICER, b.version(penalty))
    cases.issue_rectification_notice(penalty, OFFICER, b.version(penalty), DeliveryMethod.DIRECT)
    b.case_of(stall)  # a draft never filed

    b.at(local(3, 6, 10))  # three working days later
    cases.record_recheck(
        penalty, OFFICER, b.version(penalty), RecheckOutcome.PERSISTING, clock.today(), inspection_note="仍在"
    )
    cases.issue_penalty_notice(penalty, OFFICER, b.version(penalty), DUST_FINE, DeliveryMethod.DIRECT)

    b.at(local(3, 30, 10))
    cases.request_legal_review(penalty, OFFICER, b.version(penalty), DUST_FINE)
    cases.approve_legal_review(penalty, LEGAL, b.version(penalty), "同意")
    cases.decide_penalty(penalty, OFFICER, b.version(penalty), DUST_FINE)

    # Around midnight at the end of March: in UTC all of this is still 31 March
    b.at(local(3, 31, 23, 50))
    late = b.seen("street_stall", local(3, 31, 23, 40), camera="cam-2", zone="Z-HP")
    b.at(local(4, 1, 0, 30))
    early = b.seen("street_stall", local(4, 1, 0, 10), camera="cam-2", zone="Z-HP")
    late = b.review(late, confirm=True)  # found in March, confirmed in April
    b.review(early, confirm=False)
    filed = b.case_of(late)
    cases.file(filed, OFFICER, b.version(filed))

    b.at(local(4, 1, 10))
    cases.record_delivery(penalty, OFFICER, b.version(penalty), DeliveryMethod.DIRECT, clock.today())
    fine, surcharge = cases.amount_due(penalty, clock.today())
    cases.record_payment(penalty, OFFICER, b.version(penalty), fine + surcharge, clock.today())
    b.seen("street_stall", local(4, 1, 9), camera="cam-3", zone="Z-N")  # pending, at an address without district

    service = StatisticsService(world.components.session_factory, world.components.law, world.components.clock)
    return Built(world, service, fine + surcharge)


@pytest.fixture
def built(world: World, clock: ManualClock) -> Built:
    return build(world, clock)


def expected(fine_paid_fen: int) -> list[StatisticsRow]:
    return [
        StatisticsRow(
            month="2026-03",
            district=PUDONG,
            detections_found=4,
            detections_confirmed=3,
            detections_rejected=0,
            cases_filed=2,
            cases_by_violation={"construction_dust": 1, "cross_door": 1},
            cases_by_stage={"decided": 1, "draft": 1, "paid": 1},
            no_penalty_decisions=1,
            penalty_decisions=1,
            fines_decided_fen=DUST_FINE,
            fines_paid_fen=0,
        ),
        StatisticsRow(
            month="2026-03",
            district=HUANGPU,
            detections_found=3,
            detections_confirmed=1,
            detections_rejected=1,
            cases_filed=0,
            cases_by_violation={},
            cases_by_stage={},
            no_penalty_decisions=0,
            penalty_decisions=0,
            fines_decided_fen=0,
            fines_paid_fen=0,
        ),
        StatisticsRow(
            month="2026-04",
            district=PUDONG,
            detections_found=0,
            detections_confirmed=0,
            detections_rejected=0,
            cases_filed=0,
            cases_by_violation={},
            cases_by_stage={},
            no_penalty_decisions=0,
            penalty_decisions=0,
            fines_decided_fen=0,
            fines_paid_fen=fine_paid_fen,
        ),
        StatisticsRow(
            month="2026-04",
            district=HUANGPU,
            detections_found=1,
            detections_confirmed=1,
            detections_rejected=1,
            cases_filed=1,
            cases_by_violation={"street_stall": 1},
            cases_by_stage={"filed": 1},
            no_penalty_decisions=0,
            penalty_decisions=0,
            fines_decided_fen=0,
            fines_paid_fen=0,
        ),
        StatisticsRow(
            month="2026-04",
            district=UNKNOWN_DISTRICT,
            detections_found=1,
            detections_confirmed=0,
            detections_rejected=0,
            cases_filed=0,
            cases_by_violation={},
            cases_by_stage={},
            no_penalty_decisions=0,
            penalty_decisions=0,
            fines_decided_fen=0,
            fines_paid_fen=0,
        ),
    ]


# ---- the figures -----------------------------------------------------------------------------------------------
def test_the_figures_per_month_and_district_count_each_by_its_own_local_date(built: Built) -> None:
    assert built.fine_paid_fen == DUST_FINE  # paid on time: no surcharge
    assert built.service.report() == expected(built.fine_paid_fen)


def test_the_year_filter_keeps_figures_of_that_year_only(built: Built) -> None:
    assert built.service.report(2026) == expected(built.fine_paid_fen)
    assert built.service.report(2025) == []
    assert built.service.report(2027) == []


def test_the_district_filter_keeps_that_district_only(built: Built) -> None:
    everything = expected(built.fine_paid_fen)
    assert built.service.report(district=HUANGPU) == [row for row in everything if row.district == HUANGPU]
    assert built.service.report(2026, PUDONG) == [row for row in everything if row.district == PUDONG]
    assert built.service.report(district=UNKNOWN_DISTRICT) == [everything[-1]]
    assert built.service.report(district="静安区") == []


def test_the_districts_are_those_of_the_cameras_unknown_last(built: Built) -> None:
    assert built.service.districts() == [PUDONG, HUANGPU, UNKNOWN_DISTRICT]


@pytest.mark.parametrize("year", [1999, 2101, -1, 0])
def test_a_year_out_of_range_is_refused_by_name(world: World, year: int) -> None:
    c = world.components
    service = StatisticsService(c.session_factory, c.law, c.clock)
    with pytest.raises(InvalidInput, match=f"year {year}"):
        service.report(year)


def test_an_empty_database_gives_no_rows(world: World) -> None:
    c = world.components
    service = StatisticsService(c.session_factory, c.law, c.clock)
    assert service.report() == []
    assert service.report(2026, PUDONG) == []


# ---- the exports -----------------------------------------------------------------------------------------------
FIXED_HEAD = ["月份", "区域", "发现", "确认", "驳回", "立案"]
FIXED_TAIL = ["不予处罚", "处罚决定", "罚款决定金额(元)", "罚款缴纳金额(元)"]


def header_of(service: StatisticsService) -> list[str]:
    return [*FIXED_HEAD, *service.violation_names().values(), *STAGE_NAMES.values(), *FIXED_TAIL]


def test_the_csv_has_chinese_headers_one_line_per_row_and_a_totals_line(built: Built) -> None:
    service = built.service
    names = service.violation_names()
    text = to_csv(service.report(), names, STAGE_NAMES)
    lines = list(csv.reader(io.StringIO(text)))
    header = lines[0]
    assert header == header_of(service)
    records = [dict(zip(header, line, strict=True)) for line in lines[1:]]
    assert [(r["月份"], r["区域"]) for r in records] == [
        ("2026-03", PUDONG),
        ("2026-03", HUANGPU),
        ("2026-04", PUDONG),
        ("2026-04", HUANGPU),
        ("2026-04", UNKNOWN_DISTRICT),
        ("合计", ""),
    ]
    march_pudong, total = records[0], records[-1]
    assert march_pudong[names["cross_door"]] == "1"
    assert march_pudong[names["construction_dust"]] == "1"
    assert march_pudong[names["street_stall"]] == "0"
    assert march_pudong[STAGE_NAMES["draft"]] == "1"
    assert (march_pudong["罚款决定金额(元)"], march_pudong["罚款缴纳金额(元)"]) == ("500.00", "0.00")
    assert {k: total[k] for k in ["发现", "确认", "驳回", "立案", "不予处罚", "处罚决定"]} == {
        "发现": "9",
        "确认": "5",
        "驳回": "2",
        "立案": "3",
        "不予处罚": "1",
        "处罚决定": "1",
    }
    assert total[names["street_stall"]] == "1"
    assert total[STAGE_NAMES["filed"]] == "1"
    assert total[STAGE_NAMES["closed"]] == "0"
    assert (total["罚款决定金额(元)"], total["罚款缴纳金额(元)"]) == ("500.00", "500.00")


def test_the_csv_of_no_rows_is_a_header_and_a_zero_total() -> None:
    lines = list(csv.reader(io.StringIO(to_csv([], {"street_stall": "无序设摊"}, {"filed": "已立案"}))))
    assert lines == [
        [*FIXED_HEAD, "无序设摊", "已立案", *FIXED_TAIL],
        ["合计", "", "0", "0", "0", "0", "0", "0", "0", "0", "0.00", "0.00"],
    ]


def test_codes_without_a_name_get_a_column_of_their_own() -> None:
    row = StatisticsRow("2026-05", PUDONG, 0, 0, 0, 2, {"a": 1, "b": 1}, {"filed": 2}, 0, 0, 0, 123)
    header, line, total = list(csv.reader(io.StringIO(to_csv([row], {"a": "甲"}, {}))))
    assert header == [*FIXED_HEAD, "甲", "b", "filed", *FIXED_TAIL]
    assert line == ["2026-05", PUDONG, "0", "0", "0", "2", "1", "1", "2", "0", "0", "0.00", "1.23"]
    assert total[0] == "合计"


def test_the_xlsx_holds_the_same_table_with_numbers_as_numbers(built: Built) -> None:
    service = built.service
    names = service.violation_names()
    rows = service.report()
    workbook = load_workbook(io.BytesIO(to_xlsx(rows, names, STAGE_NAMES)))
    assert workbook.sheetnames == ["执法统计"]
    sheet = workbook["执法统计"]
    values = [list(line) for line in sheet.iter_rows(values_only=True)]
    header = values[0]
    assert header == header_of(service)
    assert all(cell.font.bold for cell in sheet[1])
    assert all(cell.font.bold for cell in sheet[sheet.max_row])
    records = [dict(zip(header, line, strict=True)) for line in values[1:]]
    assert len(records) == len(rows) + 1
    for row, record in zip(rows, records, strict=False):
        assert (record["月份"], record["区域"]) == (row.month, row.district)
        assert (record["发现"], record["确认"], record["驳回"], record["立案"]) == (
            row.detections_found,
            row.detections_confirmed,
            row.detections_rejected,
            row.cases_filed,
        )
        assert {code: record[name] for code, name in names.items() if record[name]} == row.cases_by_violation
        assert {code: record[name] for code, name in STAGE_NAMES.items() if record[name]} == row.cases_by_stage
        assert (record["不予处罚"], record["处罚决定"]) == (row.no_penalty_decisions, row.penalty_decisions)
        assert round(record["罚款决定金额(元)"] * 100) == row.fines_decided_fen
        assert round(record["罚款缴纳金额(元)"] * 100) == row.fines_paid_fen
    total = records[-1]
    assert total["月份"] == "合计"
    assert (total["发现"], total["确认"], total["驳回"], total["立案"]) == (9, 5, 2, 3)
    assert isinstance(total["罚款决定金额(元)"], int | float)
    assert total["罚款决定金额(元)"] == total["罚款缴纳金额(元)"] == 500
    amount_column = header.index("罚款决定金额(元)") + 1
    assert sheet.cell(row=2, column=amount_column).number_format == "#,##0.00"


def test_the_year_ends_at_local_midnight_not_at_utc_midnight(world: World, clock: ManualClock) -> None:
    b = Builder(world, clock)
    b.at(dt.datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI))  # 2026-12-31 16:30 UTC
    b.seen("stall", dt.datetime(2026, 12, 31, 23, 50, tzinfo=SHANGHAI))
    b.review(b.seen("stall", dt.datetime(2027, 1, 1, 0, 10, tzinfo=SHANGHAI)), confirm=True)
    service = StatisticsService(world.components.session_factory, world.components.law, clock)
    [december] = service.report(2026)
    [january] = service.report(2027)
    assert (december.month, december.district, december.detections_found, december.detections_confirmed) == (
        "2026-12",
        PUDONG,
        1,
        0,
    )
    assert (january.month, january.detections_found, january.detections_confirmed) == ("2027-01", 1, 1)
    assert [row.month for row in service.report()] == ["2026-12", "2027-01"]
