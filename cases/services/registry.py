"""Registries: cameras and their zones, merchants, sites. Reads of personal data are logged (规定第十六条)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from sqlalchemy import func, insert, literal, or_, select
from sqlalchemy.orm import Session

from cases.errors import AlreadyExists, InvalidInput, NotFound
from cases.messages import Term
from cases.model.registry import Camera, Merchant, Site, Zone, mask_stream_url
from cases.persistence import tables
from cases.services.base import Actor, Service, check_version, get_or_404

R = TypeVar("R", Camera, Merchant, Site)
log = logging.getLogger("offsite.registry")


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int


def log_personal_data_read(
    session: Session,
    reader: Actor,
    at: dt.datetime,
    record_type: str,
    record_id: str,
    fields: list[str],
    purpose: str,
) -> None:
    """个人信息查询日志: who read which personal fields of which record, when and why."""
    session.execute(
        insert(tables.personal_data_reads).values(
            at=at,
            actor=reader.username,
            role=reader.role.value,
            record_type=record_type,
            record_id=record_id,
            fields=",".join(fields),
            purpose=purpose[:200],
        )
    )


class RegistryService(Service):
    # ---- cameras ----------------------------------------------------------------------------------------
    def create_camera(self, camera: Camera) -> Camera:
        camera.validate()
        with self.transaction() as session:
            self._require_gateway(session, camera.gateway_id)
            if _taken(session, tables.cameras.c.device_id == camera.device_id):
                raise AlreadyExists(variant="camera_device_id", device_id=camera.device_id)
            if camera.gbt28181_id is not None and _taken(session, tables.cameras.c.gbt28181_id == camera.gbt28181_id):
                raise AlreadyExists(variant="camera_gbt28181", gbt28181_id=camera.gbt28181_id)
            session.add(camera)
        return camera

    def update_camera(self, camera_id: int, expected_version: int, changes: dict[str, Any]) -> Camera:
        def gateway_exists(session: Session) -> None:
            self._require_gateway(session, changes.get("gateway_id"))

        return self._update(Camera, camera_id, expected_version, changes, "camera", gateway_exists)

    @staticmethod
    def _require_gateway(session: Session, gateway_id: str | None) -> None:
        if gateway_id is None:
            return
        query = select(tables.gateways.c.device_id).where(tables.gateways.c.device_id == gateway_id)
        if session.execute(query).one_or_none() is None:
            raise NotFound(variant="gateway", device_id=repr(gateway_id))

    def set_camera_stream(
        self,
        device_id: str,
        stream_url: str,
        sample_interval_s: float | None,
        expected_version: int | None = None,
    ) -> Camera:
        """Where the service pulls the camera's video from, and how often it samples it (as the camera's gateway
        registers them). Validated with the whole record; the URL may hold credentials, so only its masked form
        is ever logged."""
        with self.transaction() as session:
            camera = self.camera_by_device(session, device_id)
            check_version("camera", device_id, camera.version, expected_version)
            replace(camera, stream_url=stream_url, sample_interval_s=sample_interval_s).validate()
            camera.stream_url, camera.sample_interval_s = stream_url, sample_interval_s
        log.info(
            "camera %s streams from %s",
            device_id,
            mask_stream_url(stream_url),
            extra={"camera": device_id, "sample_interval_s": sample_interval_s},
        )
        return camera

    def get_camera(self, camera_id: int) -> Camera:
        with self.transaction() as session:
            return get_or_404(session, Camera, camera_id, "camera")

    def camera_by_device(self, session: Session, device_id: str) -> Camera:
        camera = session.scalars(select(Camera).where(tables.cameras.c.device_id == device_id)).one_or_none()
        if camera is None:
            raise NotFound(variant="camera", device_id=repr(device_id))
        return camera

    def find_camera(self, device_id: str) -> Camera:
        with self.transaction() as session:
            return self.camera_by_device(session, device_id)

    def list_cameras(self, offset: int = 0, limit: int = 50) -> Page:
        return self._page(Camera, tables.cameras.c.id, offset, limit)

    # ---- zones ------------------------------------------------------------------------------------------
    def create_zone(self, zone: Zone) -> Zone:
        zone.validate()
        with self.transaction() as session:
            get_or_404(session, Camera, zone.camera_id, "camera")
            if zone.merchant_id is not None:
                get_or_404(session, Merchant, zone.merchant_id, "merchant")
            if zone.site_id is not None:
                get_or_404(session, Site, zone.site_id, "site")
            if _taken(session, tables.zones.c.camera_id == zone.camera_id, tables.zones.c.code == zone.code):
                raise AlreadyExists(variant="zone_code", code=zone.code)
            session.add(zone)
        return zone

    def get_zone(self, zone_id: int) -> Zone:
        with self.transaction() as session:
            return get_or_404(session, Zone, zone_id, "zone")

    def list_zones(self, camera_id: int) -> list[Zone]:
        with self.transaction() as session:
            get_or_404(session, Camera, camera_id, "camera")
            return list(
                session.scalars(select(Zone).where(tables.zones.c.camera_id == camera_id).order_by(tables.zones.c.id))
            )

    # ---- merchants and sites ------------------------------------------------------------------------------
    def require_records(self, merchant_id: int | None, site_id: int | None) -> None:
        """The merchant and the site a record links to exist (404 naming the one that does not)."""
        with self.transaction() as session:
            if merchant_id is not None:
                get_or_404(session, Merchant, merchant_id, "merchant")
            if site_id is not None:
                get_or_404(session, Site, site_id, "site")

    def create_merchant(self, merchant: Merchant) -> Merchant:
        merchant.validate()
        with self.transaction() as session:
            if _taken(session, tables.merchants.c.code == merchant.code):
                raise AlreadyExists(variant="merchant_code", code=merchant.code)
            session.add(merchant)
        return merchant

    def update_merchant(self, merchant_id: int, expected_version: int, changes: dict[str, Any]) -> Merchant:
        return self._update(Merchant, merchant_id, expected_version, changes, "merchant")

    def read_merchant(self, merchant_id: int, reader: Actor, purpose: str) -> Merchant:
        """The full record, mobile and credit code included: the read is logged."""
        with self.transaction() as session:
            merchant = get_or_404(session, Merchant, merchant_id, "merchant")
            log_personal_data_read(
                session, reader, self.clock.now(), "merchant", merchant.code, ["mobile", "uscc"], purpose
            )
            return merchant

    def search_merchants(self, query: str | None, offset: int = 0, limit: int = 50) -> Page:
        condition = None
        if query:
            pattern = f"%{literal_like(query)}%"
            condition = or_(
                tables.merchants.c.name.like(pattern, escape=LIKE_ESCAPE),
                tables.merchants.c.code.like(pattern, escape=LIKE_ESCAPE),
                tables.merchants.c.address.like(pattern, escape=LIKE_ESCAPE),
            )
        return self._page(Merchant, tables.merchants.c.id, offset, limit, condition)

    def create_site(self, site: Site) -> Site:
        site.validate()
        with self.transaction() as session:
            if _taken(session, tables.sites.c.permit_number == site.permit_number):
                raise AlreadyExists(variant="site_permit", permit_number=site.permit_number)
            session.add(site)
        return site

    def update_site(self, site_id: int, expected_version: int, changes: dict[str, Any]) -> Site:
        return self._update(Site, site_id, expected_version, changes, "site")

    def read_site(self, site_id: int, reader: Actor, purpose: str) -> Site:
        with self.transaction() as session:
            site = get_or_404(session, Site, site_id, "site")
            log_personal_data_read(
                session,
                reader,
                self.clock.now(),
                "site",
                site.permit_number,
                ["contact_phone", "contractor_uscc", "responsible_person"],
                purpose,
            )
            return site

    def list_sites(self, offset: int = 0, limit: int = 50) -> Page:
        return self._page(Site, tables.sites.c.id, offset, limit)

    # ---- shared -----------------------------------------------------------------------------------------
    def _update(
        self,
        cls: type[R],
        ident: int,
        expected_version: int,
        changes: dict[str, Any],
        what: str,
        check: Callable[[Session], None] | None = None,
    ) -> R:
        """Apply ``changes`` to a versioned record, validated as a whole; ``check`` runs first, in the same
        transaction (references that must exist)."""
        editable = {f.name: f for f in fields(cls) if f.name not in ("id", "version")}
        unknown = sorted(set(changes) - set(editable))
        if unknown:
            raise InvalidInput(variant="not_editable", what=Term(f"term.{what}"), fields=", ".join(unknown))
        cleared = sorted(
            name for name, value in changes.items() if value is None and "None" not in str(editable[name].type)
        )
        if cleared:
            raise InvalidInput(variant="not_emptiable", what=Term(f"term.{what}"), fields=", ".join(cleared))
        with self.transaction() as session:
            if check is not None:
                check(session)
            record = get_or_404(session, cls, ident, what)
            check_version(what, ident, record.version, expected_version)
            candidate = replace(record, **changes)
            candidate.validate()
            for name, value in changes.items():
                setattr(record, name, value)
        return record

    def _page(self, cls: type[Any], order: Any, offset: int, limit: int, condition: Any = None) -> Page:
        if not 1 <= limit <= 500 or offset < 0:
            raise InvalidInput(variant="page_bounds", max_limit=500)
        with self.transaction() as session:
            query = select(cls)
            count = select(func.count()).select_from(cls)
            if condition is not None:
                query, count = query.where(condition), count.where(condition)
            items = list(session.scalars(query.order_by(order).offset(offset).limit(limit)))
            return Page(items=items, total=session.scalar(count) or 0)


def _taken(session: Session, *conditions: Any) -> bool:
    """A unique value already held: refused in the domain's words before the database would refuse it in its own
    (a concurrent insert still meets the database's constraint: the general already_exists)."""
    return session.execute(select(literal(1)).where(*conditions).limit(1)).first() is not None


LIKE_ESCAPE = "\\"


def literal_like(text: str) -> str:
    """Text searched for as it is: LIKE's wildcards (% and _) and the escape character itself escaped."""
    return text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_")
