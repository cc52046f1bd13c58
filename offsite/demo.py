"""The demo: a fresh SQLite database seeded with a district's worth of examples, and cases walked through the
law's stages on a simulated calendar, so that every screen and route has something real to show.

Until the vision pipeline lands, the detections come from violation events written here (as a camera gateway
would push them); everything after the intake runs through the real services.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cases.clock import ManualClock
from cases.model.case import Case, DeliveryMethod, NoPenaltyGround, Party, PartyKind, RecheckOutcome
from cases.model.detection import ReviewChecklist
from cases.model.registry import (
    Camera,
    Merchant,
    Site,
    Zone,
    ZoneSubject,
    id_card_check_character,
    uscc_check_character,
)
from cases.model.staff import Role
from cases.services.base import Actor
from offsite.bootstrap import Components, build, prepare_database
from offsite.settings import PROJECT_ROOT, Settings
from vision.events import SubjectKind, SubjectRef, ViolationEvent

DEMO_PASSWORD = "demo-pass-2026"
DEMO_ACCOUNTS = {
    Role.OPERATOR: ("operator1", "指挥中心值班员 王敏"),
    Role.OFFICER: ("officer1", "办案人员 李强"),
    Role.LEGAL_REVIEWER: ("legal1", "法制审核 陈静"),
    Role.SUPERVISOR: ("supervisor1", "科室负责人 张伟"),
}
PASS_ALL = ReviewChecklist(authentic=True, clear=True, complete=True, accurate=True)


def demo_settings(folder: Path | None = None) -> Settings:
    folder = folder or PROJECT_ROOT / "var" / "demo"
    return Settings(
        environment="development",
        database_url=f"sqlite:///{folder / 'offsite-demo.db'}",
        evidence_dir=folder / "evidence",
    )


@dataclass
class DemoSummary:
    detections: int = 0
    pending_review: int = 0
    cases: dict[str, int] = field(default_factory=dict)
    case_events: int = 0
    notifications_sent: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "detections": self.detections,
            "pending_review": self.pending_review,
            "cases": self.cases,
            "case_events": self.case_events,
            "notifications_sent": self.notifications_sent,
            "seconds": round(self.seconds, 3),
        }


def _uscc(seed: str) -> str:
    first17 = "91310115" + hashlib.sha256(seed.encode()).hexdigest().upper()[:9].translate(
        str.maketrans("IOSVZ", "12345")
    )
    return first17 + uscc_check_character(first17)


def _id_card(seed: int) -> str:
    first17 = f"31011519850101{seed:03d}"
    return first17 + id_card_check_character(first17)


def _id(record: Camera | Merchant | Site) -> int:
    if record.id is None:
        raise RuntimeError(f"{record} was not saved")
    return record.id


def run_demo(folder: Path | None = None, now: dt.datetime | None = None) -> tuple[Components, DemoSummary]:
    """Build a fresh demo database and walk cases through it; returns the wired components (on the real clock
    again) and what was done."""
    started = time.perf_counter()
    settings = demo_settings(folder)
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    for stale in database.parent.glob(database.name + "*"):
        stale.unlink()
    real_now = now or dt.datetime.now(dt.UTC)
    clock = ManualClock(settings.tz, real_now - dt.timedelta(days=40))
    components = build(settings, clock=clock)
    prepare_database(components)
    story = _DemoStory(components, clock)
    story.seed_registry_and_accounts()
    story.receive_detections()
    story.walk_cases()
    clock.set(real_now)
    summary = story.summary()
    summary.seconds = time.perf_counter() - started
    return components, summary


class _DemoStory:
    def __init__(self, components: Components, clock: ManualClock) -> None:
        self.c = components
        self.clock = clock
        self.actors = {role: Actor(username, role) for role, (username, _name) in DEMO_ACCOUNTS.items()}
        self.zones: dict[str, Zone] = {}
        self.detection_ids: dict[str, int] = {}

    # ---- registry -------------------------------------------------------------------------------------------
    def seed_registry_and_accounts(self) -> None:
        for role, (username, name) in DEMO_ACCOUNTS.items():
            self.c.accounts.create_user(username, name, role, DEMO_PASSWORD)
        self.c.accounts.register_gateway("gw-pudong-01", "浦东新区视频网关 01")
        road = self.c.registry.create_camera(
            self._certified_camera("cam-zhangyang-01", "张杨路东方路口", "浦东新区张杨路东方路口", 1, 121.5271, 31.2292)
        )
        street = self.c.registry.create_camera(
            self._certified_camera(
                "cam-shangcheng-02", "商城路沿街商铺", "浦东新区商城路 600 弄口", 2, 121.5235, 31.2311
            )
        )
        site_cam = self.c.registry.create_camera(
            self._certified_camera("cam-site-03", "前滩工地东门", "浦东新区前滩大道 200 号工地", 3, 121.4632, 31.1558)
        )
        self.c.registry.create_camera(Camera("cam-uncertified-04", "临时布控点（未审核）", "浦东新区世纪大道 100 号"))
        noodle = self.c.registry.create_merchant(
            Merchant(
                "SH-PD-000101",
                "浦东小面馆",
                "浦东新区商城路 602 号",
                _uscc("noodle"),
                "13800138001",
                True,
                "电子送达确认书 2026-001",
            )
        )
        fruit = self.c.registry.create_merchant(
            Merchant("SH-PD-000102", "鲜果铺", "浦东新区商城路 606 号", _uscc("fruit"), "13800138002")
        )
        site = self.c.registry.create_site(
            Site(
                "310115202601010101",
                "前滩商办项目",
                "浦东新区前滩大道 200 号",
                "上海建工示例有限公司",
                _uscc("contractor"),
                "赵工",
                "13900139003",
            )
        )
        for key, zone in {
            "road": Zone(_id(road), "Z1", "路口东北角禁止设摊区", ZoneSubject.PUBLIC_SPACE),
            "noodle": Zone(_id(street), "Z-602", "浦东小面馆门前人行道", ZoneSubject.MERCHANT, merchant_id=_id(noodle)),
            "fruit": Zone(_id(street), "Z-606", "鲜果铺门前人行道", ZoneSubject.MERCHANT, merchant_id=_id(fruit)),
            "site": Zone(_id(site_cam), "Z-GATE", "工地东门及围挡外", ZoneSubject.SITE, site_id=_id(site)),
        }.items():
            self.zones[key] = self.c.registry.create_zone(zone)

    def _certified_camera(self, device_id: str, name: str, address: str, n: int, lon: float, lat: float) -> Camera:
        reviewed = self.clock.today() - dt.timedelta(days=200)
        return Camera(
            device_id=device_id,
            name=name,
            address=address,
            gbt28181_id=f"3101150000132{n:07d}",
            longitude=lon,
            latitude=lat,
            legal_review_date=reviewed,
            legal_review_ref="浦城管法审〔2026〕12号",
            technical_review_date=reviewed,
            technical_review_ref="浦城管技审〔2026〕08号",
            next_maintenance_due=self.clock.today() + dt.timedelta(days=150),
            published=True,
            gateway_id="gw-pudong-01",
        )

    # ---- detections -------------------------------------------------------------------------------------------
    def _event(
        self, key: str, camera: str, zone: str, code: str, subject: SubjectRef, minutes: int, ago: dt.timedelta
    ) -> int:
        first_seen = self.clock.now() - ago
        event = ViolationEvent(
            event_id=f"evt-{key}",
            camera_id=camera,
            zone_id=zone,
            rule_id=f"{code}-dwell",
            violation_code=code,
            subject=subject,
            first_seen=first_seen,
            last_seen=first_seen + dt.timedelta(minutes=minutes),
            evidence_package_id=f"pkg-{hashlib.sha256(key.encode()).hexdigest()[:24]}",
            confidence=0.91,
        )
        detection, _created = self.c.detections.intake(event, self.c.registry)
        assert detection.id is not None
        self.detection_ids[key] = detection.id
        return detection.id

    def receive_detections(self) -> None:
        hour = dt.timedelta(hours=1)
        unknown = SubjectRef(SubjectKind.UNKNOWN)
        self._event("stall-1", "cam-zhangyang-01", "Z1", "street_stall", unknown, 12, 2 * hour)
        self._event(
            "noodle-1",
            "cam-shangcheng-02",
            "Z-602",
            "cross_door",
            SubjectRef(SubjectKind.MERCHANT, "SH-PD-000101"),
            45,
            3 * hour,
        )
        self._event(
            "fruit-1",
            "cam-shangcheng-02",
            "Z-606",
            "cross_door",
            SubjectRef(SubjectKind.MERCHANT, "SH-PD-000102"),
            30,
            4 * hour,
        )
        self._event(
            "dust-1",
            "cam-site-03",
            "Z-GATE",
            "construction_dust",
            SubjectRef(SubjectKind.SITE, "310115202601010101"),
            20,
            5 * hour,
        )
        self._event("stall-false", "cam-zhangyang-01", "Z1", "street_stall", unknown, 6, 6 * hour)

    # ---- cases ------------------------------------------------------------------------------------------------
    def _advance_days(self, days: int) -> None:
        self.clock.advance(dt.timedelta(days=days))

    def _confirm(self, key: str) -> None:
        operator = self.actors[Role.OPERATOR]
        detection = self.c.detections.get(self.detection_ids[key])
        self.c.detections.review(detection.id or 0, operator, detection.version, True, PASS_ALL, "四项核查通过")

    def walk_cases(self) -> None:
        officer, legal = self.actors[Role.OFFICER], self.actors[Role.LEGAL_REVIEWER]
        cases = self.c.cases
        for key in ("stall-1", "noodle-1", "fruit-1", "dust-1"):
            self._confirm(key)
        false_alarm = self.c.detections.get(self.detection_ids["stall-false"])
        self.c.detections.review(
            false_alarm.id or 0, self.actors[Role.OPERATOR], false_alarm.version, False,
            ReviewChecklist(authentic=True, clear=False, complete=True, accurate=False), "行人短暂停留，非设摊",
        )  # fmt: skip

        # 跨门经营, persisting after the notice: the whole penalty path, paid and published.
        noodle = cases.open_draft([self.detection_ids["noodle-1"]], officer)
        noodle = self._step(cases.file, noodle, officer)
        noodle = self._step(cases.issue_rectification_notice, noodle, officer, DeliveryMethod.ELECTRONIC)
        self._advance_days(2)
        noodle = self._step(
            cases.record_recheck,
            noodle,
            officer,
            RecheckOutcome.PERSISTING,
            self.clock.today(),
            None,
            "复查时货架仍摆放在人行道上",
        )
        noodle = self._step(cases.issue_penalty_notice, noodle, officer, 15000, DeliveryMethod.ELECTRONIC)
        self._advance_days(1)
        noodle = self._step(
            cases.record_statement, noodle, officer, "店内空间狭小，已于次日收回货架，请求从轻处罚。", "online"
        )
        noodle = self._step(
            cases.answer_statement, noodle, officer, True, "当事人已改正，采纳，罚款减为一百元。", 10000
        )
        noodle = self._step(cases.request_legal_review, noodle, officer, 10000)
        noodle = self._step(cases.approve_legal_review, noodle, legal, "事实清楚，证据确凿，适用依据正确，程序合法。")
        noodle = self._step(cases.decide_penalty, noodle, officer, 10000)
        noodle = self._step(cases.record_delivery, noodle, officer, DeliveryMethod.ELECTRONIC, self.clock.today())
        noodle = self._step(cases.publish, noodle, officer)
        self._advance_days(3)
        noodle = self._step(cases.record_payment, noodle, officer, 10000, self.clock.today())
        self._step(cases.close, noodle, officer, "罚款已缴纳")

        # 无序设摊 by an unknown vendor: identified, corrected in time, first offence: no penalty.
        stall = cases.open_draft([self.detection_ids["stall-1"]], officer)
        vendor = Party(PartyKind.INDIVIDUAL, "刘某某", _id_card(17), "13700137004", "浦东新区张杨路 1 号")
        stall = self._step(cases.confirm_party, stall, officer, vendor, "现场走访，经辨认确认摊主身份")
        stall = self._step(cases.file, stall, officer)
        stall = self._step(cases.issue_rectification_notice, stall, officer, DeliveryMethod.DIRECT)
        stall = self._step(
            cases.record_recheck,
            stall,
            officer,
            RecheckOutcome.CORRECTED,
            self.clock.today(),
            None,
            "当日复查，摊位已撤离",
        )
        stall = self._step(
            cases.decide_no_penalty, stall, officer, NoPenaltyGround.FIRST_OFFENCE, "初次违法，危害后果轻微并及时改正"
        )
        stall = self._step(cases.record_delivery, stall, officer, DeliveryMethod.DIRECT, self.clock.today())
        self._step(cases.close, stall, officer, "不予处罚决定已送达")

        # Construction dust: notice issued, waiting for the re-check after the deadline.
        dust = cases.open_draft([self.detection_ids["dust-1"]], officer)
        dust = self._step(cases.file, dust, officer)
        self._step(cases.issue_rectification_notice, dust, officer, DeliveryMethod.POSTAL)
        # 鲜果铺 stays a draft for the officer to file; the fruit detection is in it.
        cases.open_draft([self.detection_ids["fruit-1"]], officer)
        self._receive_fresh_detections()

    def _receive_fresh_detections(self) -> None:
        """Detections of today, left in the operators' queue."""
        minute = dt.timedelta(minutes=1)
        unknown = SubjectRef(SubjectKind.UNKNOWN)
        self.clock.advance(dt.timedelta(days=30))
        self._event("stall-today-1", "cam-zhangyang-01", "Z1", "street_stall", unknown, 9, 90 * minute)
        self._event("stall-today-2", "cam-zhangyang-01", "Z1", "street_stall", unknown, 15, 50 * minute)
        self._event(
            "noodle-today",
            "cam-shangcheng-02",
            "Z-602",
            "cross_door",
            SubjectRef(SubjectKind.MERCHANT, "SH-PD-000101"),
            25,
            30 * minute,
        )
        self._event(
            "dust-today",
            "cam-site-03",
            "Z-GATE",
            "construction_dust",
            SubjectRef(SubjectKind.SITE, "310115202601010101"),
            18,
            20 * minute,
        )

    @staticmethod
    def _step(method: Any, case: Case, actor: Actor, *args: Any) -> Case:
        result: Case = method(case.id, actor, case.version, *args)
        return result

    def summary(self) -> DemoSummary:
        from cases.services import notifications
        from cases.services.detections import QueueFilter

        sent, _failed = notifications.dispatch(self.c.session_factory, self.c.channels, self.clock.now())
        pending = self.c.detections.queue(QueueFilter(), limit=200).items
        everything = self.c.detections.queue(QueueFilter(status=None), limit=200).items
        found, _total = self.c.cases.find(limit=200)
        by_status: dict[str, int] = {}
        for case in found:
            by_status[case.status.value] = by_status.get(case.status.value, 0) + 1
        return DemoSummary(
            detections=len(everything),
            pending_review=len(pending),
            cases=by_status,
            case_events=sum(len(case.events) for case in found),
            notifications_sent=sent,
        )
