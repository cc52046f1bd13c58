"""The demo: the whole loop on embedded defaults (SQLite, a local evidence folder).

Generated street videos from three cameras (a road junction, a row of shops, a construction site) run through the
camera pipeline with the shipped ONNX model; every violation's evidence is sealed and arrives as a detection
pending review. Operators' reviews and officers' cases are then walked through the law's stages on a simulated
calendar, and when the dust notice's rectification deadline has passed the service re-checks the site camera on
its own. What the pipeline found is compared with the videos' ground truth.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import shutil
import time
from collections import Counter
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
from offsite import camera_configs, missed
from offsite.bootstrap import Components, build, prepare_database
from offsite.cameras import build_runner, registry_certification
from offsite.demo_learning import LearningSummary, walk_learning_loop
from offsite.footage import Footage, matches
from offsite.issued import IssuedDocument, issue_all, party_access_code
from offsite.rechecks import AutomaticRecheck, run_due_rechecks
from offsite.settings import PROJECT_ROOT, SHIPPED_MODEL, Settings
from vision.capture import CapturedEvidence
from vision.config import CameraSpec
from vision.detector import DetectorConfig, OnnxDetector
from vision.events import ViolationEvent

log = logging.getLogger("offsite.demo")

DEMO_PASSWORD = "demo-pass-2026"
DEMO_ACCOUNTS = {
    Role.OPERATOR: ("operator1", "指挥中心值班员 王敏"),
    Role.OFFICER: ("officer1", "办案人员 李强"),
    Role.LEGAL_REVIEWER: ("legal1", "法制审核 陈静"),
    Role.SUPERVISOR: ("supervisor1", "科室负责人 张伟"),
}
PASS_ALL = ReviewChecklist(authentic=True, clear=True, complete=True, accurate=True)
FOOTAGE_CACHE = PROJECT_ROOT / "var" / "footage"

ROAD, SHOPS, SITE = "cam-zhangyang-01", "cam-shangcheng-02", "cam-site-03"
# Seeds whose scenes hold each violation long enough for the rules, and where the shipped model finds every one
# and nothing else (at goods seed 5012 it takes a street lamp against a shop front for goods; at dust seed 5031 it
# loses the bare pile once the plume rises over it; see models/offsite-street.md); forty days ago, and today.
WATCHES = {ROAD: ("no_vending",), SHOPS: ("shop_strip",), SITE: ("site",)}
EARLIER = tuple(
    Footage(camera, scenario, seed, watches=WATCHES[camera])
    for camera, scenario, seed in ((ROAD, "stall", 5004), (SHOPS, "goods", 5014), (SITE, "dust", 5032))
)
TODAY = tuple(
    Footage(camera, scenario, seed, watches=WATCHES[camera])
    for camera, scenario, seed in ((ROAD, "stall", 5002), (SHOPS, "goods", 5013), (SITE, "dust", 5028))
)
FOOTAGE_SECONDS = max(item.seconds for item in TODAY)
# Today's story: the operators review today's detections two hours before the demo is run, the cameras having
# watched today's videos from an hour and a half before that.
REVIEWS_AGO = dt.timedelta(hours=2)
FOOTAGE_BEFORE_REVIEWS = dt.timedelta(hours=1, minutes=30)
WHOLE_STORY = REVIEWS_AGO + FOOTAGE_BEFORE_REVIEWS + dt.timedelta(minutes=1)  # from just after midnight
# The least of today that holds the story squeezed: its footage still ends, with a minute to spare, before the
# reviews (about five minutes).
SHORTEST_DAY = WHOLE_STORY * ((FOOTAGE_SECONDS + 60) / FOOTAGE_BEFORE_REVIEWS.total_seconds())


def todays_times(now: dt.datetime, tz: dt.tzinfo) -> tuple[dt.datetime, dt.timedelta]:
    """When today's reviews happen, and how long before them today's footage begins. Early in the bureau's day
    (before 03:31) the story is squeezed, in its proportions, into the part of the day that has passed, so that
    today's detections are today's on the dashboard, which counts from local midnight. In its first minutes
    (``SHORTEST_DAY``) there is no room, and they fall on the day before."""
    local = now.astimezone(tz)
    passed = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    share = 1.0 if passed >= WHOLE_STORY or passed < SHORTEST_DAY else passed / WHOLE_STORY
    return now - REVIEWS_AGO * share, FOOTAGE_BEFORE_REVIEWS * share


MERCHANTS = {  # the generated row of shops, by zone code
    "S1": ("SH-PD-000101", "浦东小面馆", "浦东新区商城路 602 号", "13800138001", "电子送达确认书 2026-001"),
    "S2": ("SH-PD-000102", "鲜果铺", "浦东新区商城路 606 号", "13800138002", None),
    "S3": ("SH-PD-000103", "便民五金店", "浦东新区商城路 610 号", "13800138003", None),
    "S4": ("SH-PD-000104", "老街烟纸店", "浦东新区商城路 614 号", "13800138004", None),
}


def demo_settings(folder: Path | None = None) -> Settings:
    folder = folder or PROJECT_ROOT / "var" / "demo"
    return Settings(
        environment="development",
        database_url=f"sqlite:///{folder / 'offsite-demo.db'}",
        evidence_dir=folder / "evidence",
        model_store=folder / "models",
        golden_store=folder / "golden",
        dataset_store=folder / "datasets",
        training_store=folder / "training",
        recent_frames_dir=folder / "recent-frames",
        training_frames_dir=folder / "training-frames",
    )


@dataclass
class DemoSummary:
    events: dict[str, int] = field(default_factory=dict)  # by violation code, from the pipeline
    ground_truth: dict[str, int] = field(default_factory=dict)  # the videos' true violations, by code
    events_matching_truth: int = 0
    true_violations_found: int = 0
    detections: int = 0
    pending_review: int = 0
    packages_sealed: int = 0
    verify_ok: bool = False
    cases: dict[str, int] = field(default_factory=dict)
    case_events: int = 0
    automatic_rechecks: list[dict[str, Any]] = field(default_factory=list)
    documents_sealed: int = 0
    party_logins: list[dict[str, str]] = field(default_factory=list)  # case number and code, for the party page
    notifications_sent: int = 0
    learning: LearningSummary | None = None  # the learning loop, when the demo walked it
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "detections": self.detections,
            "packages_sealed": self.packages_sealed,
            "verify_ok": self.verify_ok,
            "seconds": round(self.seconds, 3),
            "ground_truth": self.ground_truth,
            "events_matching_truth": self.events_matching_truth,
            "true_violations_found": self.true_violations_found,
            "pending_review": self.pending_review,
            "cases": self.cases,
            "case_events": self.case_events,
            "automatic_rechecks": self.automatic_rechecks,
            "documents_sealed": self.documents_sealed,
            "party_logins": self.party_logins,
            "notifications_sent": self.notifications_sent,
            "learning": None if self.learning is None else self.learning.as_json(),
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


def run_demo(
    folder: Path | None = None, now: dt.datetime | None = None, learning: bool = True
) -> tuple[Components, DemoSummary]:
    """Build a fresh demo database and evidence folder, run the cameras and walk cases through it, and (``learning``)
    the learning loop: the reviews into a short training and its candidate before the gate; returns the wired
    components (on the real clock again) and what was done."""
    started = time.perf_counter()
    settings = demo_settings(folder)
    _clear(settings)
    real_now = now or dt.datetime.now(dt.UTC)
    told_from = time.monotonic()  # the story takes real time (minutes): the clock catches up with it at the end
    clock = ManualClock(settings.tz, real_now - dt.timedelta(days=40))
    components = build(settings, clock=clock)
    prepare_database(components)
    story = _DemoStory(components, clock, OnnxDetector(DetectorConfig(SHIPPED_MODEL)))
    story.seed_registry_and_accounts()
    story.run_cameras(EARLIER, ago=dt.timedelta(hours=3))
    story.walk_cases()
    reviewed, footage_ago = todays_times(real_now, settings.tz)
    clock.set(reviewed)
    story.run_cameras(TODAY, ago=footage_ago)
    story.save_camera_configs()
    story.review_todays_detections()
    clock.set(real_now)
    story.run_automatic_rechecks()
    story.issue_documents()
    summary = story.summary()
    # The story's last steps happened "now", at real_now; by the time they are done the wall clock has moved on
    # by as long as the story took. Set the clock to where the wall clock is, then let it tick: sessions expire
    # and deadlines come as in service, and the console shows the time of day it is.
    clock.set(real_now + dt.timedelta(seconds=time.monotonic() - told_from))
    clock.run()
    if learning:  # on the running clock: the training worker's records are on the wall clock too
        summary.learning = walk_learning_loop(components, Actor("admin", Role.ADMIN))
    summary.seconds = time.perf_counter() - started
    return components, summary


def _clear(settings: Settings) -> None:
    """Remove what an earlier demo left in its folder: the database, the evidence and the cameras' work files."""
    database = Path(settings.database_url.removeprefix("sqlite:///"))
    for stale in database.parent.glob(database.name + "*"):
        stale.unlink()
    owned_folders = (settings.evidence_dir, settings.evidence_dir.parent / "work", settings.model_store,
                     settings.golden_store, settings.dataset_store, settings.training_store,
                     settings.recent_frames_dir, settings.training_frames_dir)  # fmt: skip
    for owned in owned_folders:
        shutil.rmtree(owned, ignore_errors=True)


@dataclass
class _Found:
    """What one camera run produced: the event and the detection it became."""

    footage: Footage
    event: ViolationEvent
    detection_id: int
    matches_truth: bool


class _DemoStory:
    def __init__(self, components: Components, clock: ManualClock, detector: OnnxDetector) -> None:
        self.c = components
        self.clock = clock
        self.detector = detector
        self.actors = {role: Actor(username, role) for role, (username, _name) in DEMO_ACCOUNTS.items()}
        self.found: list[_Found] = []
        self.truth: list[dict[str, Any]] = []
        self.truth_found: set[tuple[str, int, int]] = set()
        self.specs: dict[str, CameraSpec] = {}  # each camera as it runs now: the automatic re-check looks here
        self.rechecks: list[AutomaticRecheck] = []
        self.documents: list[IssuedDocument] = []
        self.party_logins: list[dict[str, str]] = []

    # ---- registry -------------------------------------------------------------------------------------------
    def seed_registry_and_accounts(self) -> None:
        for role, (username, name) in DEMO_ACCOUNTS.items():
            self.c.accounts.create_user(username, name, role, DEMO_PASSWORD)
        self.c.accounts.register_gateway("gw-pudong-01", "浦东新区视频网关 01")
        road = self.c.registry.create_camera(
            self._certified_camera(
                ROAD, "张杨路东方路口", "浦东新区张杨路东方路口", 1, 121.5271, 31.2292, "潍坊新村街道"
            )
        )
        shops = self.c.registry.create_camera(
            self._certified_camera(
                SHOPS, "商城路沿街商铺", "浦东新区商城路 600 弄口", 2, 121.5235, 31.2311, "潍坊新村街道"
            )
        )
        site_camera = self.c.registry.create_camera(
            self._certified_camera(SITE, "前滩工地东门", "浦东新区前滩大道 200 号工地", 3, 121.4632, 31.1558, "三林镇")
        )
        self.c.registry.create_camera(Camera("cam-uncertified-04", "临时布控点（未审核）", "浦东新区世纪大道 100 号",
                                             district="浦东新区", street="陆家嘴街道"))  # fmt: skip
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
        cameras = {ROAD: road, SHOPS: shops, SITE: site_camera}
        zones: dict[tuple[str, str], dict[str, Any]] = {}
        for footage in (*EARLIER, *TODAY):
            for zone in footage.sidecar(FOOTAGE_CACHE)["zones"]:
                zones.setdefault((footage.camera_id, zone["id"]), zone)
        for (camera_id, code), zone in sorted(zones.items()):
            camera_db_id = _id(cameras[camera_id])
            polygon = [list(point) for point in zone["polygon"]]
            if zone["kind"] == "no_vending":
                record = Zone(camera_db_id, code, "路口东北角禁止设摊区", ZoneSubject.PUBLIC_SPACE, polygon=polygon)
            elif zone["kind"] == "shop_strip":
                merchant = self._merchant(code)
                record = Zone(camera_db_id, code, f"{merchant.name}门前人行道", ZoneSubject.MERCHANT,
                              merchant_id=_id(merchant), polygon=polygon)  # fmt: skip
            else:
                record = Zone(camera_db_id, code, "工地围挡内及东门", ZoneSubject.SITE, site_id=_id(site),
                              polygon=polygon)  # fmt: skip
            self.c.registry.create_zone(record)

    def _merchant(self, zone_code: str) -> Merchant:
        licence, name, address, mobile, consent = MERCHANTS.get(
            zone_code, (f"SH-PD-9{zone_code}", f"沿街商铺 {zone_code}", "浦东新区商城路", None, None)
        )
        return self.c.registry.create_merchant(
            Merchant(licence, name, address, _uscc(name), mobile, consent is not None, consent)
        )

    def _certified_camera(
        self, device_id: str, name: str, address: str, n: int, lon: float, lat: float, street: str
    ) -> Camera:
        reviewed = self.clock.today() - dt.timedelta(days=200)
        return Camera(
            device_id=device_id,
            name=name,
            address=address,
            district="浦东新区",
            street=street,
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

    # ---- the cameras ----------------------------------------------------------------------------------------
    def run_cameras(self, footage: tuple[Footage, ...], ago: dt.timedelta) -> None:
        """Run the cameras over their videos, captured from ``ago`` before now: events are sealed and become
        detections pending review."""
        start = self.clock.now() - ago
        by_camera = {item.camera_id: item for item in footage}
        specs = [item.camera(FOOTAGE_CACHE, start, self.detector.class_names) for item in footage]
        self.specs.update({spec.camera_id: spec for spec in specs})
        for item in footage:
            self.truth.extend(v | {"camera_id": item.camera_id, "start": start} for v in item.true_violations(
                FOOTAGE_CACHE))  # fmt: skip

        def emit(event: ViolationEvent, _evidence: CapturedEvidence) -> None:
            detection, _created = self.c.detections.intake(event, self.c.registry)
            assert detection.id is not None
            self.found.append(_Found(by_camera[event.camera_id], event, detection.id, self._matches(event, start)))

        runner = build_runner(
            specs,
            self.detector,
            self.c.evidence(),
            emit,
            self.c.settings.evidence_dir.parent / "work",
            certification=registry_certification(self.c.registry.find_camera),
            caption_tz=self.c.settings.tz,
            recent=missed.keeper(self.c.settings),
        )
        runner.start()
        runner.wait()

    def save_camera_configs(self) -> None:
        """What each camera watched today, saved as its first configuration version: the console's camera pages
        show it on the camera's picture, ready to be drawn on."""
        documents = {camera_id: camera_configs.document_of(spec) for camera_id, spec in sorted(self.specs.items())}
        self.c.camera_configs.save_all(documents, Actor("admin", Role.ADMIN), "演示摄像头的初始配置", self.c.registry)

    def _matches(self, event: ViolationEvent, start: dt.datetime) -> bool:
        begin = (event.first_seen - start).total_seconds()
        end = (event.last_seen - start).total_seconds()
        hit = False
        for truth in self.truth:
            if (
                truth["camera_id"] == event.camera_id
                and truth["start"] == start
                and matches(truth, event.zone_id, event.violation_code, begin, end)
            ):
                self.truth_found.add((event.camera_id, int(start.timestamp()), truth["object"]))
                hit = True
        return hit

    def _detection(self, camera_id: str, zone: str, code: str, since: dt.datetime) -> int | None:
        """The first detection of this camera, zone and violation captured after ``since``."""
        for found in self.found:
            event = found.event
            if (event.camera_id, event.zone_id, event.violation_code) == (camera_id, zone, code) and (
                event.first_seen >= since
            ):
                return found.detection_id
        log.warning("the cameras found no %s in %s/%s: that part of the story is left out", code, camera_id, zone)
        return None

    # ---- reviews and cases ----------------------------------------------------------------------------------
    def _confirm(self, detection_id: int) -> None:
        detection = self.c.detections.get(detection_id)
        self.c.detections.review(detection_id, self.actors[Role.OPERATOR], detection.version, True, PASS_ALL,
                                 "四项核查通过")  # fmt: skip

    def walk_cases(self) -> None:
        since = self.clock.now() - dt.timedelta(days=1)
        noodle = self._detection(SHOPS, "S1", "cross_door", since)
        stall = self._detection(ROAD, "A", "street_stall", since)
        dust = self._detection(SITE, "site-1", "construction_dust", since)
        fruit = self._detection(SHOPS, "S2", "cross_door", since)
        pile = self._detection(SITE, "site-1", "bare_soil_uncovered", since)
        for detection_id in (noodle, stall, dust, fruit, pile):
            if detection_id is not None:
                self._confirm(detection_id)
        if noodle is not None:
            self._penalty_path(noodle)
        if stall is not None:
            self._no_penalty_path(stall)
        if dust is not None:  # notice issued; the re-check comes after the deadline
            officer = self.actors[Role.OFFICER]
            case = self.c.cases.open_draft([dust], officer)
            case = self._step(self.c.cases.file, case, officer)
            self._step(self.c.cases.issue_rectification_notice, case, officer, DeliveryMethod.POSTAL)
        if fruit is not None:  # a draft for the officer to file
            self.c.cases.open_draft([fruit], self.actors[Role.OFFICER])
        # the bare pile stays a confirmed detection, for the officer to open a case from

    def _penalty_path(self, detection_id: int) -> None:
        """跨门经营, persisting after the notice: the whole penalty path, paid, published and closed."""
        officer, legal, cases = self.actors[Role.OFFICER], self.actors[Role.LEGAL_REVIEWER], self.c.cases
        case = cases.open_draft([detection_id], officer)
        case = self._step(cases.file, case, officer)
        case = self._step(cases.issue_rectification_notice, case, officer, DeliveryMethod.ELECTRONIC)
        self._advance_past(case.rectification_deadline)
        case = self._step(cases.record_recheck, case, officer, RecheckOutcome.PERSISTING, self.clock.today(), None,
                          "复查时货架仍摆放在人行道上")  # fmt: skip
        case = self._step(cases.issue_penalty_notice, case, officer, 15000, DeliveryMethod.ELECTRONIC)
        self._advance_days(1)
        case = self._step(cases.record_statement, case, officer, "店内空间狭小，已于次日收回货架，请求从轻处罚。",
                          "online")  # fmt: skip
        case = self._step(cases.answer_statement, case, officer, True, "当事人已改正，采纳，罚款减为一百元。", 10000)
        case = self._step(cases.request_legal_review, case, officer, 10000)
        case = self._step(cases.approve_legal_review, case, legal, "事实清楚，证据确凿，适用依据正确，程序合法。")
        case = self._step(cases.decide_penalty, case, officer, 10000)
        case = self._step(cases.record_delivery, case, officer, DeliveryMethod.ELECTRONIC, self.clock.today())
        case = self._step(cases.publish, case, officer)
        self._advance_days(3)
        case = self._step(cases.record_payment, case, officer, 10000, self.clock.today())
        self._step(cases.close, case, officer, "罚款已缴纳")

    def _no_penalty_path(self, detection_id: int) -> None:
        """无序设摊 by an unknown vendor: identified, corrected in time, first offence: no penalty."""
        officer, cases = self.actors[Role.OFFICER], self.c.cases
        case = cases.open_draft([detection_id], officer)
        vendor = Party(PartyKind.INDIVIDUAL, "刘某某", _id_card(17), "13700137004", "浦东新区张杨路 1 号")
        case = self._step(cases.confirm_party, case, officer, vendor, "现场走访，经辨认确认摊主身份")
        case = self._step(cases.file, case, officer)
        case = self._step(cases.issue_rectification_notice, case, officer, DeliveryMethod.DIRECT)
        case = self._step(cases.record_recheck, case, officer, RecheckOutcome.CORRECTED, self.clock.today(), None,
                          "当日复查，摊位已撤离")  # fmt: skip
        case = self._step(cases.decide_no_penalty, case, officer, NoPenaltyGround.FIRST_OFFENCE,
                          "初次违法，危害后果轻微并及时改正")  # fmt: skip
        case = self._step(cases.record_delivery, case, officer, DeliveryMethod.DIRECT, self.clock.today())
        self._step(cases.close, case, officer, "不予处罚决定已送达")

    def review_todays_detections(self) -> None:
        """Today's detections wait in the operators' queue; one has already been turned down, and stays findable."""
        pile = self._detection(SITE, "site-1", "bare_soil_uncovered", self.clock.now() - dt.timedelta(hours=3))
        if pile is None:
            return
        detection = self.c.detections.get(pile)
        checklist = ReviewChecklist(authentic=True, clear=True, complete=True, accurate=False)
        self.c.detections.review(pile, self.actors[Role.OPERATOR], detection.version, False, checklist,
                                 "现场核实：土方已按要求覆盖防尘网，画面为覆盖前的短暂作业")  # fmt: skip

    def run_automatic_rechecks(self) -> None:
        """The dust notice's deadline has passed: the service looks at the site camera again on its own."""
        self.rechecks = run_due_rechecks(self.c, self.detector, self.specs.get)

    def issue_documents(self) -> None:
        """Every document the cases' stages have produced, rendered and sealed as evidence."""
        found, _total = self.c.cases.find(limit=200)
        self.documents = [doc for case in found if case.number for doc in issue_all(self.c, case.id or 0)]
        self.party_logins = [
            {"case_number": case.number, "code": party_access_code(self.c, case.number), "party": case.party_name or ""}
            for case in sorted(found, key=lambda case: case.id or 0)
            if case.number and case.party_name and case.status.value != "closed"
        ]

    def _advance_days(self, days: int) -> None:
        self.clock.advance(dt.timedelta(days=days))

    def _advance_past(self, deadline: dt.date | None) -> None:
        """To the day after a deadline. Its distance depends on the calendar: a period whose last day is a rest day
        runs to the next working day, so a notice served on a Friday runs past the weekend."""
        if deadline is None:
            raise ValueError("the case has no deadline to wait for")
        self._advance_days(max(1, (deadline - self.clock.today()).days + 1))

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
        store = self.c.evidence()
        packages = list(store.package_ids())
        return DemoSummary(
            events=dict(sorted(Counter(f.event.violation_code for f in self.found).items())),
            ground_truth=dict(sorted(Counter(t["violation_code"] for t in self.truth).items())),
            events_matching_truth=sum(f.matches_truth for f in self.found),
            true_violations_found=len(self.truth_found),
            detections=len(everything),
            pending_review=len(pending),
            packages_sealed=len(packages),
            verify_ok=bool(packages) and all(store.verify(package_id).ok for package_id in packages),
            cases=dict(sorted(Counter(case.status.value for case in found).items())),
            case_events=sum(len(case.events) for case in found),
            documents_sealed=len(self.documents),
            party_logins=self.party_logins,
            automatic_rechecks=[
                {"case_id": r.case_id, "camera_id": r.camera_id, "zone_id": r.zone_id, "present": r.present}
                for r in self.rechecks
            ],
            notifications_sent=sent,
        )
