"""A small district to test in: certified cameras, zones watching a public road, a shop front and a site, and
helpers that push violation events and review them as an operator would."""

from __future__ import annotations

import datetime as dt
import itertools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

from cases.model.case import Case
from cases.model.detection import Detection, ReviewChecklist
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
from evidence_store.store import ItemIn
from offsite.bootstrap import Components
from vision.events import SubjectKind, SubjectRef, ViolationEvent
from vision.frames import Image

ALL_PASS = ReviewChecklist(authentic=True, clear=True, complete=True, accurate=True)
OPERATOR = Actor("operator1", Role.OPERATOR)
OFFICER = Actor("officer1", Role.OFFICER)
LEGAL = Actor("legal_reviewer1", Role.LEGAL_REVIEWER)


def uscc(n: int) -> str:
    first17 = f"91310115MA1K{n:05d}"
    return first17 + uscc_check_character(first17)


def id_card(n: int) -> str:
    first17 = f"31011519900101{n:03d}"
    return first17 + id_card_check_character(first17)


# (violation code, zone key, subject) for each kind of event the world can produce
KINDS = {
    "stall": ("street_stall", "road"),
    "cross_door": ("cross_door", "shop"),
    "dust": ("construction_dust", "site"),
    "bare_soil": ("bare_soil_uncovered", "site"),
    "unknown_object": ("unknown_object", "road"),  # a review candidate: classified as a violation on review
}


@dataclass
class World:
    components: Components
    cameras: dict[str, Camera] = field(default_factory=dict)
    zones: dict[str, Zone] = field(default_factory=dict)
    merchant: Merchant | None = None
    site: Site | None = None
    _package_id: str | None = None
    _first_package_cited: bool = False
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _seals: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def build(self) -> World:
        c = self.components
        today = c.clock.today()
        c.accounts.register_gateway("gw-1", "gateway one")
        c.accounts.register_gateway("gw-2", "gateway two")
        self.cameras["main"] = c.registry.create_camera(
            Camera(
                "cam-1",
                "张杨路口",
                "浦东新区张杨路 1 号",
                legal_review_date=today - dt.timedelta(days=100),
                legal_review_ref="法审 1",
                technical_review_date=today - dt.timedelta(days=100),
                technical_review_ref="技审 1",
                next_maintenance_due=today + dt.timedelta(days=200),
                published=True,
                gateway_id="gw-1",
            )
        )
        self.cameras["uncertified"] = c.registry.create_camera(
            Camera("cam-9", "未审核点位", "浦东新区世纪大道 9 号", gateway_id="gw-1")
        )
        self.merchant = c.registry.create_merchant(
            Merchant("SHOP-1", "浦东小面馆", "商城路 602 号", uscc(1), "13800138000", False)
        )
        self.site = c.registry.create_site(
            Site("PERMIT-1", "前滩项目", "前滩大道 200 号", "上海建工示例有限公司", uscc(2), "赵工", "13900139000")
        )
        main, other = self.cameras["main"].id, self.cameras["uncertified"].id
        assert main is not None
        assert other is not None
        for key, zone in {
            "road": Zone(main, "Z-ROAD", "路口禁止设摊区", ZoneSubject.PUBLIC_SPACE),
            "shop": Zone(main, "Z-SHOP", "小面馆门前", ZoneSubject.MERCHANT, merchant_id=self.merchant.id),
            "site": Zone(main, "Z-SITE", "工地门口", ZoneSubject.SITE, site_id=self.site.id),
            "uncertified": Zone(other, "Z-X", "未审核区域", ZoneSubject.PUBLIC_SPACE),
        }.items():
            self.zones[key] = c.registry.create_zone(zone)
        return self

    @property
    def package_id(self) -> str:
        """Real evidence of the world's, sealed when first asked for: the first event cites it, and a test may seal
        it before a fault so that the events it makes meanwhile stand on evidence sealed before."""
        if self._package_id is None:
            self._package_id = self.seal_package()
        return self._package_id

    def seal_package(self) -> str:
        """A new package of key frames: one package backs one detection, so each event cites its own."""
        image = np.full((48, 64, 3), 120, np.uint8)
        with tempfile.TemporaryDirectory() as folder:
            items = key_frame_items(Path(folder), image)
            context = {"camera_id": "cam-1", "purpose": "test world", "seal": next(self._seals)}  # no two alike
            sealed = self.components.evidence().seal(items, context)
        return sealed.package_id

    def _package_for_event(self) -> str:
        """The world's first package for its first event, then a new one for each."""
        if not self._first_package_cited:
            self._first_package_cited = True
            return self.package_id
        return self.seal_package()

    def event(self, kind: str = "stall", hours_ago: float = 1.0, zone: str | None = None) -> ViolationEvent:
        code, zone_key = KINDS[kind]
        zone_key = zone or zone_key
        camera = "cam-9" if zone_key == "uncertified" else "cam-1"
        subject = {
            "road": SubjectRef(SubjectKind.UNKNOWN),
            "uncertified": SubjectRef(SubjectKind.UNKNOWN),
            "shop": SubjectRef(SubjectKind.MERCHANT, "SHOP-1"),
            "site": SubjectRef(SubjectKind.SITE, "PERMIT-1"),
        }[zone_key]
        first_seen = self.components.clock.now() - dt.timedelta(hours=hours_ago)
        return ViolationEvent(
            event_id=f"evt-{next(self._ids)}",
            camera_id=camera,
            zone_id=self.zones[zone_key].code,
            rule_id=f"{code}-dwell",
            violation_code=code,
            subject=subject,
            first_seen=first_seen,
            last_seen=first_seen + dt.timedelta(minutes=10),
            evidence_package_id=self._package_for_event(),
            confidence=0.9,
        )

    def detection(self, kind: str = "stall", confirmed: bool = True, **event_args: object) -> Detection:
        detection, _ = self.components.detections.intake(self.event(kind, **event_args), self.components.registry)  # type: ignore[arg-type]
        if confirmed:
            assert detection.id is not None
            detection = self.components.detections.review(
                detection.id, OPERATOR, detection.version, True, ALL_PASS, None
            )
        return detection

    def draft(self, kind: str = "cross_door") -> Case:
        detection = self.detection(kind)
        assert detection.id is not None
        return self.components.cases.open_draft([detection.id], OFFICER)


@pytest.fixture
def world(components: Components) -> World:
    return World(components).build()


def key_frame_items(folder: Path, image: Image) -> list[ItemIn]:
    """The raw and annotated key frames of a package as the pipeline seals one, all showing ``image``."""
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    items = []
    for role in ("first", "middle", "confirming"):
        for prefix in ("frame", "annotated"):
            path = folder / f"{prefix}-{role}.jpg"
            path.write_bytes(jpeg)
            items.append(ItemIn(path.name, "image/jpeg", path))
    return items
