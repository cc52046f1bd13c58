"""Request and response bodies, apart from the domain classes and the tables. Requests forbid unknown fields."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, ClassVar, Literal, Self

from fastapi import Path, Query
from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from cases.law.config import SubjectType
from cases.model.case import CaseStatus, DecisionKind, DeliveryMethod, NoPenaltyGround, PartyKind, RecheckOutcome
from cases.model.detection import DetectionStatus
from cases.model.detector_release import GateAction, ReleaseStatus
from cases.model.registry import CameraStatus, ZoneSubject, mask_identifier, mask_mobile
from cases.model.staff import Role
from cases.model.training_job import JobStage, JobStatus
from cases.persistence import tables
from cases.persistence.limits import (
    NO_NUL_PATTERN,
    REASON_MAX_CHARS,
    STATEMENT_MAX_CHARS,
    has_visible_character,
    limit_of,
)


def chars(column: Any) -> int:
    """The most characters a request may send for a column: the column's own limit (cases/persistence/limits.py)."""
    limit = limit_of(column)
    assert limit is not None, f"{column} has no documented maximum"
    return limit


CODE_MAX = chars(tables.cameras.c.device_id)
NAME_MAX = chars(tables.merchants.c.name)
SHORT_NAME_MAX = chars(tables.cameras.c.name)
REFERENCE_MAX = chars(tables.cameras.c.legal_review_ref)
PLACE_MAX = chars(tables.cameras.c.district)
MOBILE_MAX = chars(tables.merchants.c.mobile)
PASSWORD_MAX = 200  # a pass-phrase, not stored: only its hash is
CODE_PATTERN = rf"^[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{CODE_MAX - 1}}}$"
Code = Annotated[str, Field(pattern=CODE_PATTERN, max_length=CODE_MAX, description="identifier")]
# Free text holds no NUL character: said in the document, so a client learns it from there, not from a refusal
NO_NUL = NO_NUL_PATTERN
VISIBLE_TEXT = "at least one visible character (a letter, digit, punctuation mark or symbol)"


def _visible(value: str | None) -> str | None:
    """Text a person must read shows something: invisible characters alone are no reason, name or opinion."""
    if value is not None and not has_visible_character(value):
        raise PydanticCustomError("no_visible_text", "the text has no visible character")  # told from the catalogue
    return value


Visible = AfterValidator(_visible)


def _text(max_length: int) -> Any:
    return Field(min_length=1, max_length=max_length, pattern=NO_NUL, description=f"{VISIBLE_TEXT}; NUL excluded")


Text = Annotated[str, _text(REASON_MAX_CHARS), Visible]
OptionalText = Annotated[str | None, _text(REASON_MAX_CHARS), Visible]
Statement = Annotated[str, _text(STATEMENT_MAX_CHARS), Visible]
Name = Annotated[str, _text(NAME_MAX), Visible]
ShortName = Annotated[str, _text(SHORT_NAME_MAX), Visible]
Reference = Annotated[str | None, _text(REFERENCE_MAX), Visible]
Place = Annotated[str | None, _text(PLACE_MAX), Visible]
# the strings a client puts in a path or a query: an identifier's length, checked before any work
CodePath = Annotated[str, Path(max_length=CODE_MAX)]
CodeQuery = Annotated[str | None, Query(max_length=CODE_MAX)]
CURSOR_MAX = 200  # a cursor this service issued: base64 of a time and an id, far shorter


# Numbers in a JSON body are JSON numbers: "50000" or true is a mistake, not 50000 fen or 1 (a query's or a path's
# numbers arrive as text and are read leniently there: IdInPath, Query). 5.0 is an integer to JSON Schema: kept.
def _json_integer(value: Any) -> Any:
    if isinstance(value, str | bool):
        raise PydanticCustomError("int_type", "a whole number, not text or a boolean")  # told from the catalogue
    return value


def _json_number(value: Any) -> Any:
    if isinstance(value, str | bool):
        raise PydanticCustomError("float_type", "a number, not text or a boolean")  # told from the catalogue
    return value


def _distinct(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise PydanticCustomError("list_not_unique", "each value once")  # told from the catalogue
    return values


JsonInteger = BeforeValidator(_json_integer)
JsonNumber = BeforeValidator(_json_number)
Fen = Annotated[int, Field(ge=0, le=1_000_000_000, description="amount in fen (1/100 yuan)"), JsonInteger]
# A patch field that may be left out but never emptied: the document offers no null, and a null sent anyway is
# refused by the registry (422 "cannot be emptied")
NotNull = SkipJsonSchema[None]
USCC_PATTERN = r"^[0-9A-HJ-NP-RTUW-Y]{18}$"
Uscc = Annotated[
    str,
    Field(
        pattern=USCC_PATTERN,
        description="统一社会信用代码: 18 characters, the last a check character (GB 32100-2015)",
    ),
]
GBT28181_PATTERN = r"^[0-9]{20}$"
Gbt28181Id = Annotated[str, Field(pattern=GBT28181_PATTERN, description="the 20-digit GB/T 28181 device code")]
Longitude = Annotated[float, Field(ge=-180, le=180)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
MOBILE_PATTERN = r"^1[3-9][0-9]{9}$"
Mobile = Annotated[str, Field(pattern=MOBILE_PATTERN, description="an 11-digit mainland mobile number")]
ID_NUMBER_PATTERN = r"^([0-9]{17}[0-9X]|[0-9A-HJ-NP-RTUW-Y]{18})$"
# Record ids: what JSON carries exactly (2^53 - 1, as JavaScript's safe integers); a larger one names nothing
MAX_RECORD_ID = 2**53 - 1
RecordId = Annotated[int, Field(ge=1, le=MAX_RECORD_ID, description="a record's id"), JsonInteger]
IdInPath = Annotated[int, Path(ge=1, le=MAX_RECORD_ID, description="a record's id")]


# The moments this service speaks of: cameras, evidence and cases all come after the Unix epoch (a gateway signs with
# Unix seconds), and a deadline counted today ends long before 2200. A time outside is a mistake (a year typed
# wrong, a sentinel such as 0001-01-01 or 9999-12-31), and one near the calendar's ends cannot even be converted to
# UTC: refused here, naming the field, before any conversion.
EARLIEST_MOMENT = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
END_OF_MOMENTS = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)  # exclusive: 2199-12-31T23:59:59.999999Z is the last


def _iso_8601_only(value: Any) -> Any:
    """A time is ISO 8601 text with its offset: pydantic alone would also read a number as Unix seconds."""
    if isinstance(value, dt.datetime):
        return value
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise PydanticCustomError(  # told from the catalogue's invalid_request.iso_time
            "iso_time", "a time is ISO 8601 text with its UTC offset, e.g. 2026-03-02T10:00:00+08:00"
        ) from None


def within_service_years(moment: dt.datetime) -> bool:
    """Compared as instants (aware datetimes compare without converting, so the calendar's ends cannot overflow)."""
    return EARLIEST_MOMENT <= moment < END_OF_MOMENTS


def _within_service_years(value: dt.datetime) -> dt.datetime:
    if not within_service_years(value):
        raise PydanticCustomError(  # told from the catalogue's invalid_request.moment_out_of_range
            "moment_out_of_range", "a time lies from 1970-01-01T00:00:00Z up to, not including, 2200-01-01T00:00:00Z"
        )
    return value


def _not_blank(password: str) -> str:
    if not has_visible_character(password):
        raise PydanticCustomError("blank_password", "a password needs a visible character")  # told from the catalogue
    return password


NewPassword = Annotated[
    str,
    Field(min_length=12, max_length=PASSWORD_MAX, description="at least 12 characters, not all spaces"),
    AfterValidator(_not_blank),
]
# How far a page may start: the database counts rows in 32 bits at least
MAX_PAGE_OFFSET = 2**31 - 1
IsoTime = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_8601_only),
    AfterValidator(_within_service_years),
    Field(description="ISO 8601 with its UTC offset, from 1970-01-01T00:00:00Z up to 2200-01-01T00:00:00Z"),
]
# A pattern a refusal tells in words (the catalogue's invalid_request.<name>), never as the expression itself
PATTERN_IN_WORDS = {
    CODE_PATTERN: "code_pattern",
    USCC_PATTERN: "format.uscc",
    GBT28181_PATTERN: "format.gbt28181",
    MOBILE_PATTERN: "format.mobile",
    ID_NUMBER_PATTERN: "format.id_number",
    NO_NUL: "nul",
}
Version = Annotated[
    int, Field(ge=1, le=MAX_RECORD_ID, description="the version you read: a stale one gets 409"), JsonInteger
]
PackageId = Annotated[
    str, Field(pattern=r"^[0-9a-f]{64}$", description="an evidence package: its manifest's SHA-256, lowercase hex")
]
# The roles a staff account may hold: system and party are recorded on steps, never held by an account
StaffRole = Literal[Role.OPERATOR, Role.OFFICER, Role.LEGAL_REVIEWER, Role.SUPERVISOR, Role.ADMIN, Role.MODEL_STEWARD]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # JSON has no NaN; Python's reader takes one


class Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class WithPersonalData(Response):
    """A response carrying an identity number and a mobile: lists show them masked (规定第十六条)."""

    identity_field: ClassVar[str]
    mobile_field: ClassVar[str]

    def masked(self) -> Self:
        return self.model_copy(
            update={
                self.identity_field: mask_identifier(getattr(self, self.identity_field)),
                self.mobile_field: mask_mobile(getattr(self, self.mobile_field)),
            }
        )


# ---- auth and accounts ------------------------------------------------------------------------------------
class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: dt.datetime
    username: str
    role: Role


class UserIn(Request):
    username: Code
    display_name: ShortName
    role: StaffRole
    password: NewPassword


class UserActiveIn(Request):
    active: StrictBool


class UserOut(Response):
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    sign_in_locked_until: dt.datetime | None = Field(
        None, description="Until when sign-in is locked after wrong passwords; null when it is not."
    )


class GatewayIn(Request):
    device_id: Code
    name: ShortName


class GatewayOut(Response):
    device_id: str
    name: str
    key_version: int
    active: bool


class GatewaySecretOut(GatewayOut):
    secret: str = Field(description="shown once: configure it on the gateway; rotate to replace it")


# ---- registries -------------------------------------------------------------------------------------------
class CameraIn(Request):
    device_id: Code
    name: ShortName
    address: Name
    gbt28181_id: Gbt28181Id | None = None
    district: Place = Field(default=None, description="区: the camera wall is filtered by it")
    street: Place = Field(default=None, description="街道 or 镇 within the district")
    longitude: Longitude | None = None
    latitude: Latitude | None = None
    legal_review_date: dt.date | None = None
    legal_review_ref: Reference = None
    technical_review_date: dt.date | None = None
    technical_review_ref: Reference = None
    next_maintenance_due: dt.date | None = None
    published: StrictBool = False
    status: CameraStatus = CameraStatus.ACTIVE
    gateway_id: Code | None = None


class CameraPatch(Request):
    version: Version
    name: ShortName | NotNull = None
    address: Name | NotNull = None
    gbt28181_id: Gbt28181Id | None = None
    district: Place = None
    street: Place = None
    longitude: Longitude | None = None
    latitude: Latitude | None = None
    legal_review_date: dt.date | None = None
    legal_review_ref: Reference = None
    technical_review_date: dt.date | None = None
    technical_review_ref: Reference = None
    next_maintenance_due: dt.date | None = None
    published: StrictBool | NotNull = None
    status: CameraStatus | NotNull = None
    gateway_id: Code | None = None


class CameraOut(Response):
    id: int
    device_id: str
    name: str
    address: str
    gbt28181_id: str | None
    district: str | None
    street: str | None
    longitude: float | None
    latitude: float | None
    legal_review_date: dt.date | None
    legal_review_ref: str | None
    technical_review_date: dt.date | None
    technical_review_ref: str | None
    next_maintenance_due: dt.date | None
    published: bool
    status: CameraStatus
    gateway_id: str | None
    version: int
    certification_problems: list[str] = Field(
        description="why its evidence of today would not count, in the reader's language; empty if fine"
    )


class ZoneIn(Request):
    code: Code
    name: ShortName
    subject: ZoneSubject
    merchant_id: RecordId | None = None
    site_id: RecordId | None = None
    polygon: list[list[float]] | None = None


class ZoneOut(Response):
    id: int
    camera_id: int
    code: str
    name: str
    subject: ZoneSubject
    merchant_id: int | None
    site_id: int | None
    polygon: list[list[float]] | None


class MerchantIn(Request):
    code: Code
    name: Name
    address: Name
    uscc: Uscc | None = None
    mobile: Mobile | None = None
    e_delivery_consent: StrictBool = False
    consent_document_ref: Reference = None


class MerchantPatch(Request):
    version: Version
    name: Name | NotNull = None
    address: Name | NotNull = None
    uscc: Uscc | None = None
    mobile: Mobile | None = None
    e_delivery_consent: StrictBool | NotNull = None
    consent_document_ref: Reference = None


class MerchantOut(WithPersonalData):
    identity_field = "uscc"
    mobile_field = "mobile"

    id: int
    code: str
    name: str
    address: str
    uscc: str | None
    mobile: str | None
    e_delivery_consent: bool
    consent_document_ref: str | None
    version: int


class SiteIn(Request):
    permit_number: Code
    name: Name
    address: Name
    contractor: Name
    contractor_uscc: Uscc | None = None
    responsible_person: Annotated[
        str | None, Field(max_length=chars(tables.sites.c.responsible_person), pattern=NO_NUL)
    ] = None
    contact_phone: Mobile | None = None


class SitePatch(Request):
    version: Version
    name: Name | NotNull = None
    address: Name | NotNull = None
    contractor: Name | NotNull = None
    contractor_uscc: Uscc | None = None
    responsible_person: Annotated[
        str | None, Field(max_length=chars(tables.sites.c.responsible_person), pattern=NO_NUL)
    ] = None
    contact_phone: Mobile | None = None


class SiteOut(WithPersonalData):
    identity_field = "contractor_uscc"
    mobile_field = "contact_phone"

    id: int
    permit_number: str
    name: str
    address: str
    contractor: str
    contractor_uscc: str | None
    responsible_person: str | None
    contact_phone: str | None
    version: int


class PageOut(BaseModel):
    items: list[Any]
    total: int
    offset: int
    limit: int


class RejectedRowOut(Response):
    line: int
    key: str | None
    code: str = Field(description="why, as a stable catalogue key (e.g. invalid_input.mobile)")
    error: str = Field(description="why, in the reader's language (Accept-Language)")


class ImportReportOut(Response):
    kind: str
    inserted: int
    updated: int
    written: bool
    rejected: list[RejectedRowOut]


# ---- the law ----------------------------------------------------------------------------------------------
class PeriodOut(Response):
    count: int
    unit: str
    legal_source: str


class ViolationOut(Response):
    code: str
    name: str
    legal_basis: str
    penalty_basis: str
    fine_min_yuan: int
    fine_max_yuan: int
    listed_for_non_site: bool
    rectification: PeriodOut
    subject: SubjectType
    classify_on_review: Literal[False] = Field(False, description="a violation: confirmed as what it is")


class CandidateKindOut(Response):
    """A kind of detection that is not a violation itself (不明物体滞留): no legal basis, fine or time to correct of
    its own, never a case; the operator who confirms it classifies it as one of the catalogue's violations."""

    code: str
    name: str
    classify_on_review: Literal[True] = Field(
        True, description="a review candidate: confirmed only as the violation the reviewer classifies it as"
    )


# ---- detections -------------------------------------------------------------------------------------------
class SubjectIn(Request):
    kind: Literal["merchant", "site", "unknown"]
    ref: Code | None = None


class ViolationEventIn(Request):
    event_id: Code
    camera_id: Code
    zone_id: Code
    rule_id: Code
    violation_code: Code
    subject: SubjectIn
    first_seen: IsoTime
    last_seen: IsoTime
    evidence_package_id: PackageId
    confidence: Annotated[float, JsonNumber] = Field(1.0, ge=0, le=1)


class ChecklistIn(Request):
    authentic: StrictBool = Field(description="真实")
    clear: StrictBool = Field(description="清晰")
    complete: StrictBool = Field(description="完整")
    accurate: StrictBool = Field(description="准确")


class ReviewIn(Request):
    version: Version
    decision: Literal["confirm", "reject"]
    checklist: ChecklistIn
    reason: OptionalText = None
    classified_as: Code | None = Field(
        None,
        description="confirming a review candidate (a detection whose violation_code is a catalogue entry with "
        "classify_on_review, e.g. unknown_object 不明物体滞留): the code of the violation it is, one of the "
        "catalogue's violations; required for a candidate, refused for any other detection and with a rejection",
    )


class DetectionOut(Response):
    id: int
    event_id: str
    camera_id: int
    zone_id: int | None = Field(description="the registered zone; null while the camera's zone is not registered")
    rule_id: str
    violation_code: str
    subject_kind: str
    subject_ref: str | None
    first_seen: dt.datetime
    last_seen: dt.datetime
    dwell_seconds: float
    evidence_package_id: str
    confidence: float
    received_at: dt.datetime
    status: DetectionStatus
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    review_reason: str | None
    check_authentic: bool | None
    check_clear: bool | None
    check_complete: bool | None
    check_accurate: bool | None
    case_id: int | None
    certification_problems: list[str] | None = Field(
        description="as the camera stood at capture, in the reader's language; empty: it counts"
    )
    unregistered_zone: str | None = Field(
        description="the zone code the camera reported when the registry had no such zone (区域未登记): the "
        "detection is confirmed only once that zone is registered; null when the zone is registered"
    )
    classified_from: str | None = Field(
        description="the review candidate's kind the detection was raised as (e.g. unknown_object 不明物体滞留), once "
        "the reviewer confirmed it as violation_code; null for a detection its detector named, or not yet classified"
    )
    version: int


class DetectionPageOut(BaseModel):
    items: list[DetectionOut]
    next_cursor: str | None


class IntakeOut(BaseModel):
    detection: DetectionOut
    created: bool


# ---- cases ------------------------------------------------------------------------------------------------
class OpenCaseIn(Request):
    detection_ids: Annotated[
        list[RecordId],
        Field(min_length=1, max_length=100, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_distinct),
    ]


class StepIn(Request):
    version: Version


class PartyIn(StepIn):
    kind: PartyKind
    name: Name
    id_number: Annotated[
        str,
        Field(
            pattern=ID_NUMBER_PATTERN,
            description="an individual's ID card number or an organisation's 统一社会信用代码, check character last",
        ),
    ]
    contact: Mobile | None = None
    address: Annotated[str | None, Field(max_length=chars(tables.cases.c.party_address), pattern=NO_NUL)] = None
    merchant_id: RecordId | None = None
    site_id: RecordId | None = None
    e_delivery_consent: StrictBool = False
    consent_document_ref: Reference = None
    reason: OptionalText = None


class RecheckIn(StepIn):
    outcome: RecheckOutcome
    observed_on: dt.date | None = None
    detection_id: RecordId | None = None
    inspection_note: OptionalText = None


class NoPenaltyIn(StepIn):
    ground: NoPenaltyGround
    reason: Text


class NoticeIn(StepIn):
    method: DeliveryMethod = Field(description="how the notice was served; electronic needs the party's consent")
    served_on: dt.date | None = Field(None, description="the day it reached the party (default: today)")


class PenaltyNoticeIn(NoticeIn):
    proposed_fine_fen: Fen


class StatementIn(StepIn):
    text: Statement
    channel: Literal["online", "in_person", "written", "phone"] = "written"
    received_on: dt.date | None = Field(None, description="the day it was received or posted (default: today)")


class StatementAnswerIn(StepIn):
    adopted: StrictBool
    reply: Text
    revised_fine_fen: Fen | None = None


class FineIn(StepIn):
    fine_fen: Fen


class OpinionIn(StepIn):
    opinion: Text


class ReasonIn(StepIn):
    reason: Text


class DecisionExtensionIn(StepIn):
    """延长办案期限, approved by the agency's head: its length in calendar days and its reason."""

    days: Annotated[int, Field(ge=1, le=365, description="calendar days added to the decision's due date"), JsonInteger]
    reason: Text


class DeliveryIn(StepIn):
    method: DeliveryMethod
    delivered_on: dt.date


class PaymentIn(StepIn):
    amount_fen: Fen
    paid_on: dt.date


class CloseIn(StepIn):
    reason: OptionalText = None


class CaseEventOut(Response):
    seq: int
    at: dt.datetime
    actor: str
    role: str
    action: str
    from_status: str | None
    to_status: str
    reason: str | None
    payload: dict[str, Any]


class CaseOut(WithPersonalData):
    identity_field = "party_id_number"
    mobile_field = "party_contact"

    id: int
    number: str | None
    status: CaseStatus
    version: int
    violation_code: str
    camera_id: int
    zone_id: int
    subject_kind: str
    subject_ref: str | None
    officer: str
    created_at: dt.datetime
    party_kind: PartyKind | None
    party_name: str | None
    party_id_number: str | None
    party_contact: str | None
    party_address: str | None
    party_merchant_id: int | None
    party_site_id: int | None
    party_e_delivery_consent: bool
    violation_on: dt.date | None
    filed_on: dt.date | None
    decision_due: dt.date | None
    rectification_served_on: dt.date | None
    rectification_service_method: DeliveryMethod | None
    rectification_deadline: dt.date | None
    recheck_outcome: RecheckOutcome | None
    recheck_on: dt.date | None
    prior_violations: int | None
    fine_tier: str | None
    fine_band_min_fen: int | None
    fine_band_max_fen: int | None
    proposed_fine_fen: int | None
    penalty_notice_served_on: dt.date | None
    penalty_notice_service_method: DeliveryMethod | None
    fine_ceiling_fen: int | None
    statement_deadline: dt.date | None
    hearing_deadline: dt.date | None
    statement_text: str | None
    statement_adopted: bool | None
    review_fine_fen: int | None
    review_requested_by: str | None
    legal_reviewer: str | None
    decision_kind: DecisionKind | None
    no_penalty_ground: NoPenaltyGround | None
    fine_fen: int | None
    decided_on: dt.date | None
    decided_by: str | None
    delivery_due: dt.date | None
    delivered_on: dt.date | None
    delivery_method: DeliveryMethod | None
    payment_due: dt.date | None
    paid_on: dt.date | None
    amount_paid_fen: int | None
    surcharge_fen: int | None
    publication_due: dt.date | None
    published_on: dt.date | None
    closed_on: dt.date | None
    open_deadlines: dict[str, dt.date]


class CasePageOut(BaseModel):
    items: list[CaseOut]
    total: int
    offset: int
    limit: int


class DeadlineOut(Response):
    case_id: int
    number: str | None
    status: CaseStatus
    officer: str
    deadline: str
    due: dt.date
    overdue: bool


class AmountDueOut(BaseModel):
    paid_on: dt.date
    fine_fen: int
    surcharge_fen: int
    total_fen: int


# ---- health ---------------------------------------------------------------------------------------------
class ReadinessOut(BaseModel):
    status: Literal["ready", "unavailable"]
    reason: str | None = Field(None, description="why the service is not ready; absent when it is")
    calendar_missing_years: list[int] | None = Field(
        None, description="years a deadline counted today reaches whose holidays are missing; absent when none"
    )
    calendar: str | None = Field(None, description="what the missing years mean for deadlines; absent when none")


# ---- password change, gateway state -----------------------------------------------------------------------
class PasswordChangeIn(Request):
    current_password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]
    new_password: NewPassword


class GatewayActiveIn(Request):
    active: StrictBool


# -- the model registry (issue 15) ----------------------------------------------------------------------------------
Sha256Path = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[0-9a-f]+$")]


class ReleaseOut(Response):
    sha256: str
    name: str
    status: ReleaseStatus
    registered_by: str
    registered_at: dt.datetime
    activated_at: dt.datetime | None = Field(None, description="When it last became the active model.")
    status_by: str | None
    status_at: dt.datetime | None


class DecisionOut(Response):
    at: dt.datetime
    actor: str
    sha256: str
    action: GateAction
    replaced: str | None = Field(None, description="The model that was active before, when this one took its place.")
    reasons: list[str] = Field(description="The gate's reasons, in the reader's language.")


class RegistryOut(Response):
    releases: list[ReleaseOut]
    decisions: list[DecisionOut]
    golden_sets: list[str] = Field(description="The golden sets a promotion may be judged on (by folder name).")


class PromoteIn(Request):
    golden: Code = Field(description="A golden set's folder name (offsite model golden freeze … --out var/golden/NAME)")
    margin: float = Field(0.02, ge=0, le=0.5, description="How much worse a class may be")


class VerdictOut(Response):
    passed: bool
    release: ReleaseOut
    reasons: list[str]


class TrainingJobOut(Response):
    id: int
    recipe_name: str
    status: JobStatus
    stage: JobStage | None
    epoch: int = Field(description="Epochs finished.")
    epochs: int = Field(description="Epochs planned (0 before the training starts).")
    progress: float = Field(description="0 to 1, across the stages: dataset, training, export, registration.")
    figures: dict[str, float] | None = Field(None, description="The last epoch's losses and validation figures.")
    device: str | None = Field(None, description="cpu, or the CUDA device it trains on.")
    attempts: int = Field(description="Workers that took it: more than one when it was taken up after a stop.")
    requested_by: str
    requested_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    candidate_sha256: str | None = Field(None, description="The candidate it registered, once finished.")
    error: str | None = Field(None, description="Why it failed, in the worker's words.")
    cancelled_by: str | None
    log: list[str] = Field(default_factory=list, description="The end of its log (GET of one job only).")


class TrainingJobIn(Request):
    recipe: str = Field(min_length=1, max_length=128, description="A recipe's file name, as GET /models/recipes lists")


# ---- cameras at district scale (issue 16) -------------------------------------------------------------------------
class CameraConfigIn(Request):
    document: dict[str, Any] = Field(
        description="the camera as a cameras file holds it: source, zones (normalised polygons, shop-front lines), "
        "rules and their times; camera_id, when given, must be the path's"
    )
    reason: Text = Field(description="why it changed: kept in the camera's history")


class CameraConfigOut(Response):
    device_id: str
    version: int
    document: dict[str, Any]
    sha256: str = Field(description="SHA-256 of the document's canonical JSON")
    saved_by: str
    saved_at: dt.datetime
    reason: str


class CameraConfigSavedOut(Response):
    device_id: str
    version: int
    changed: bool = Field(description="false: the document was the current version's already; no version was made")


class WallEventOut(Response):
    id: int = Field(description="the detection")
    code: str
    name: str = Field(description="the violation's name")
    at: str = Field(description="when it was first seen, local time (MM-DD HH:MM:SS)")
    status: str


class WallTileOut(Response):
    device_id: str
    name: str
    district: str
    street: str | None
    state: Literal["online", "offline", "failed", "waiting", "elsewhere"] = Field(
        description="elsewhere: no pipeline of it runs in this process"
    )
    analysed: int | None
    dropped: int | None
    fps: float | None
    frame: str | None = Field(description="the newest recent frame's name")
    frame_at: str | None
    event: WallEventOut | None = Field(description="its last detection")


class TodayOut(Response):
    day: dt.date
    found: dict[str, int] = Field(description="detections by violation code")
    by_hour: dict[str, list[int]] = Field(description="violation code → detections in each of the 24 local hours")
    outcomes: dict[str, int] = Field(description="by review status")
    cases_opened: int
