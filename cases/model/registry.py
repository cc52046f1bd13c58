"""Registries: the cameras (and their zones), merchants and construction sites the bureau knows."""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

from cases.errors import InvalidInput
from cases.messages import Term
from vision.zones import PolygonZone, ZoneError

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ID_CARD_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_MOBILE = re.compile(r"1[3-9]\d{9}")
_GBT28181 = re.compile(r"\d{20}")


def uscc_check_character(first17: str) -> str:
    """The 18th character of a 统一社会信用代码 (GB 32100-2015) over its first 17."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    if len(code) != 18 or any(c not in _USCC_ALPHABET for c in code):
        return False
    return uscc_check_character(code[:17]) == code[17]


def id_card_check_character(first17: str) -> str:
    """The 18th character of a 居民身份证号码 (GB 11643-1999) over its first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_CARD_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def is_valid_id_card(number: str) -> bool:
    if not re.fullmatch(r"\d{17}[\dX]", number):
        return False
    return id_card_check_character(number[:17]) == number[17]


def id_card_birth_date(number: str) -> dt.date | None:
    """The date of birth a valid ID card number holds (its 7th to 14th digits), or None where those digits are no
    calendar date from 1900 on (the numbers began in 1999; a 9999-12-31 or a 1900-02-29 is a typing error)."""
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None
    return born if born.year >= 1900 else None


_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


def require_code(value: str, what: str) -> str:
    """Identifiers (device ids, zone codes, 一店一码, permit numbers) are plain ASCII, at most 64 characters."""
    if not _CODE.fullmatch(value):
        raise InvalidInput(variant="code_chars", field=what, value=repr(value[:80]))
    return value


def require_mobile(value: str | None, what: str = "mobile") -> str | None:
    if value is not None and not _MOBILE.fullmatch(value):
        raise InvalidInput(variant="mobile", field=what, value=repr(value[:40]))
    return value


def mask_mobile(value: str | None) -> str | None:
    return None if value is None else value[:3] + "****" + value[-4:]


def mask_identifier(value: str | None) -> str | None:
    """USCC or ID number with its middle hidden, for lists and published records."""
    return None if value is None else value[:4] + "*" * (len(value) - 8) + value[-4:]


STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
STREAM_URL_MAX_LENGTH = 1024
SAMPLE_INTERVAL_BOUNDS_S = (0.04, 3600.0)
_SECRET_QUERY_KEY = re.compile(r"user|pass|pwd|token|secret|key|auth|sig", re.IGNORECASE)


def mask_stream_url(url: str | None) -> str | None:
    """A stream address fit to show or log: the user and password (``user:pass@``) replaced by ``***``, and so are
    query values that look like credentials (``password=``, ``token=``...)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"  # not even parseable: show nothing of it
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = "&".join(
        f"{key}=***" if sep and _SECRET_QUERY_KEY.search(key) else f"{key}{sep}{value}"
        for key, sep, value in (pair.partition("=") for pair in parts.query.split("&"))
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query if parts.query else "", parts.fragment))


def check_stream_url(url: str) -> None:
    """Refuses ``url`` as a camera's stream address, naming why (the message shows it masked)."""
    shown = repr(mask_stream_url(url))
    if len(url) > STREAM_URL_MAX_LENGTH:
        raise InvalidInput(variant="stream_url_long", limit=STREAM_URL_MAX_LENGTH)
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        raise InvalidInput(variant="stream_url_chars", url=shown)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (parsing the port is the check)
    except ValueError:
        raise InvalidInput(variant="stream_url_invalid", url=shown) from None
    if parts.scheme.lower() not in STREAM_SCHEMES:
        raise InvalidInput(variant="stream_url_scheme", scheme=repr(parts.scheme or "none"),
                           schemes=", ".join(STREAM_SCHEMES))  # fmt: skip
    if not parts.hostname:
        raise InvalidInput(variant="stream_url_no_host", url=shown)
    if _no_camera_there(parts.hostname):
        raise InvalidInput(variant="stream_url_host", url=shown, host=parts.hostname)


def _no_camera_there(host: str) -> bool:
    """An address no camera answers at, that the service would pull from itself or its machine's surroundings: a
    link-local one (a cloud's metadata service, 169.254.169.254), the unspecified, multicast or reserved ones.
    Cameras' private addresses (10.x, 192.168.x) and a relay on this machine (127.0.0.1) are allowed; a name is
    not resolved here (it is resolved when pulled)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_link_local or address.is_unspecified or address.is_multicast or address.is_reserved


class CameraStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


@dataclass
class Camera:
    device_id: str
    name: str
    address: str
    gbt28181_id: str | None = None
    district: str | None = None  # 区: the command centre's camera wall is filtered by it
    street: str | None = None  # 街道 or 镇 within the district
    longitude: float | None = None
    latitude: float | None = None
    legal_review_date: dt.date | None = None  # 法制审核
    legal_review_ref: str | None = None
    technical_review_date: dt.date | None = None  # 技术审核
    technical_review_ref: str | None = None
    next_maintenance_due: dt.date | None = None
    published: bool = False  # location published and signposted (规定第七条)
    status: CameraStatus = CameraStatus.ACTIVE
    gateway_id: str | None = None  # the gateway allowed to push for this camera
    stream_url: str | None = None  # where the service pulls the camera's video (rtsp/http); may hold credentials
    sample_interval_s: float | None = None  # seconds between the stream's frames the pipeline samples
    id: int | None = None
    version: int = field(default=0, compare=False)

    def validate(self) -> None:
        require_code(self.device_id, "device_id")
        if self.gbt28181_id is not None and not _GBT28181.fullmatch(self.gbt28181_id):
            raise InvalidInput(variant="gbt28181_id", value=repr(self.gbt28181_id))
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            raise InvalidInput(variant="longitude", value=self.longitude)
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            raise InvalidInput(variant="latitude", value=self.latitude)
        if (self.legal_review_date is None) != (self.legal_review_ref is None):
            raise InvalidInput(variant="legal_review_pair")
        if (self.technical_review_date is None) != (self.technical_review_ref is None):
            raise InvalidInput(variant="technical_review_pair")
        if self.stream_url is not None:
            check_stream_url(self.stream_url)
        if self.sample_interval_s is not None:
            low, high = SAMPLE_INTERVAL_BOUNDS_S
            if not (math.isfinite(self.sample_interval_s) and low <= self.sample_interval_s <= high):
                raise InvalidInput(variant="sample_interval", value=self.sample_interval_s, low=low, high=high)
            if self.stream_url is None:
                raise InvalidInput(variant="sample_needs_stream")

    def certification_problems(self, captured_on: dt.date) -> list[Term]:
        """Why evidence captured on this day may not be used (行政处罚法第四十一条), as catalogue entries
        (``certification.*``); empty when it may."""
        problems = []
        if self.legal_review_date is None:
            problems.append(Term("certification.no_legal_review"))
        elif self.legal_review_date > captured_on:
            problems.append(Term("certification.legal_review_late", {"date": self.legal_review_date.isoformat()}))
        if self.technical_review_date is None:
            problems.append(Term("certification.no_technical_review"))
        elif self.technical_review_date > captured_on:
            problems.append(
                Term("certification.technical_review_late", {"date": self.technical_review_date.isoformat()})
            )
        if self.next_maintenance_due is None:
            problems.append(Term("certification.no_maintenance"))
        elif self.next_maintenance_due < captured_on:
            problems.append(Term("certification.maintenance_lapsed", {"due": self.next_maintenance_due.isoformat()}))
        if not self.published:
            problems.append(Term("certification.unpublished"))
        if self.status is CameraStatus.SUSPENDED:
            problems.append(Term("certification.suspended"))
        return problems


# What the certification problems were called before the catalogue (kept so by detections recorded then).
_RECORDED_IN_ENGLISH = [
    (re.compile(r"no legal review \(法制审核\) recorded"), "certification.no_legal_review"),
    (re.compile(r"legal review dated (?P<date>\S+) is after the capture"), "certification.legal_review_late"),
    (re.compile(r"no technical review \(技术审核\) recorded"), "certification.no_technical_review"),
    (re.compile(r"technical review dated (?P<date>\S+) is after the capture"), "certification.technical_review_late"),
    (re.compile(r"no maintenance schedule recorded"), "certification.no_maintenance"),
    (re.compile(r"maintenance was due (?P<due>\S+): certification lapsed"), "certification.maintenance_lapsed"),
    (re.compile(r"location not published"), "certification.unpublished"),
    (re.compile(r"camera is suspended"), "certification.suspended"),
]


def certification_problem(recorded: object) -> Term:
    """A certification problem as a detection recorded it: ``{"key": …, "params": {…}}``, or, recorded before the
    catalogue, its English (read back into the entry it names; kept as it is when it names none)."""
    if isinstance(recorded, dict) and isinstance(recorded.get("key"), str):
        return Term(recorded["key"], dict(recorded.get("params") or {}))
    text = str(recorded)
    for pattern, key in _RECORDED_IN_ENGLISH:
        if match := pattern.fullmatch(text):
            return Term(key, match.groupdict())
    return Term("certification.recorded", {"text": text})


class ZoneSubject(StrEnum):
    MERCHANT = "merchant"
    SITE = "site"
    PUBLIC_SPACE = "public_space"  # a road or square: whoever stalls there is an unknown vendor


@dataclass
class Zone:
    """A polygon of one camera's view, watching a merchant's frontage, a site, or a public space."""

    camera_id: int
    code: str
    name: str
    subject: ZoneSubject
    merchant_id: int | None = None
    site_id: int | None = None
    polygon: list[list[float]] | None = None  # normalised [x, y] points of the image, for the vision rules
    id: int | None = None

    def validate(self) -> None:
        require_code(self.code, "zone code")
        expected = {
            ZoneSubject.MERCHANT: (True, False),
            ZoneSubject.SITE: (False, True),
            ZoneSubject.PUBLIC_SPACE: (False, False),
        }[self.subject]
        if ((self.merchant_id is not None), (self.site_id is not None)) != expected:
            raise InvalidInput(
                variant="zone_links_merchant"
                if self.subject is ZoneSubject.MERCHANT
                else "zone_links_site"
                if self.subject is ZoneSubject.SITE
                else "zone_links_public_space"
            )
        if self.polygon is not None:
            if len(self.polygon) < 3:
                raise InvalidInput(variant="polygon_points")
            if any(len(p) != 2 or not all(0.0 <= c <= 1.0 for c in p) for p in self.polygon):
                raise InvalidInput(variant="polygon_normalised")
            self._check_shape(self.polygon)

    def _check_shape(self, polygon: list[list[float]]) -> None:
        """The polygon is one the camera's rules can use: at most MAX_POLYGON_POINTS points, some area, no edge
        crossing another (the rules' own check, ``vision.zones.PolygonZone``)."""
        try:
            PolygonZone(self.code, tuple((p[0], p[1]) for p in polygon))
        except ZoneError as exc:
            raise InvalidInput(variant="polygon_shape", problem=Term(f"camera_config.{exc.key}", exc.params)) from None


@dataclass
class Merchant:
    """A street-front shop in the 一店一码 registry."""

    code: str  # 一店一码
    name: str
    address: str
    uscc: str | None = None  # 统一社会信用代码
    mobile: str | None = None
    e_delivery_consent: bool = False  # 电子送达 consent (规定第十三条)
    consent_document_ref: str | None = None  # the signed consent's reference
    id: int | None = None
    version: int = field(default=0, compare=False)

    def validate(self) -> None:
        require_code(self.code, "merchant code")
        if not self.name.strip():
            raise InvalidInput(variant="merchant_name_empty")
        if self.uscc is not None and not is_valid_uscc(self.uscc):
            raise InvalidInput(variant="uscc", field="uscc", value=repr(self.uscc))
        require_mobile(self.mobile)
        if self.e_delivery_consent and not self.consent_document_ref:
            raise InvalidInput(variant="consent_document")


@dataclass
class Site:
    """A registered construction site; its contractor answers for it."""

    permit_number: str  # 施工许可证号
    name: str
    address: str
    contractor: str
    contractor_uscc: str | None = None
    responsible_person: str | None = None
    contact_phone: str | None = None
    id: int | None = None
    version: int = field(default=0, compare=False)

    def validate(self) -> None:
        require_code(self.permit_number, "permit number")
        if not self.contractor.strip():
            raise InvalidInput(variant="contractor_empty")
        if self.contractor_uscc is not None and not is_valid_uscc(self.contractor_uscc):
            raise InvalidInput(variant="uscc", field="contractor_uscc", value=repr(self.contractor_uscc))
        require_mobile(self.contact_phone, "contact_phone")
