"""Detections: intake of violation events, the review queue, and the review itself."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.orm import Session

from cases.errors import (
    AlreadyExists,
    ClassificationRefused,
    Conflict,
    EvidencePackageInvalid,
    EvidencePackageMissing,
    EvidencePackageOtherCamera,
    EvidencePackageOtherFinding,
    EvidencePackageTaken,
    EvidencePackageTimeMismatch,
    InvalidCursor,
    InvalidInput,
    NotFound,
)
from cases.messages import Term
from cases.model.detection import Detection, DetectionStatus, ReviewChecklist
from cases.model.registry import Merchant, Site, Zone
from cases.persistence import tables
from cases.persistence.database import take_turns
from cases.services.base import Actor, Service, check_version, get_or_404
from cases.services.registry import RegistryService, log_personal_data_read
from vision.events import SubjectKind, ViolationEvent

D = tables.detections.c
FL = tables.frame_labels.c
CLOCK_TOLERANCE = dt.timedelta(minutes=5)  # a camera's clock may run this far ahead of ours
# An event's times may differ this much from those sealed in its package (a gateway that rounds to the second).
EVIDENCE_TIME_TOLERANCE = dt.timedelta(seconds=2)


@dataclass(frozen=True)
class SealedEvidence:
    """What the evidence store vouches for about a package an event cites, as verified just now."""

    package_id: str
    problems: tuple[Term, ...]  # what verification found wrong (hashes, signature, Merkle log); empty when it holds
    camera_id: str | None  # the camera it was sealed for; None for a package of no camera (a document)
    first_seen: dt.datetime | None  # the occurrence's times sealed with it
    last_seen: dt.datetime | None
    finding: dict[str, str] = field(default_factory=dict)  # what it names of its finding: FINDING_FIELDS it holds


class EvidenceLookup(Protocol):
    """The evidence store as the intake needs it (wired by the composition root; cases never opens the store)."""

    def sealed(self, package_id: str) -> SealedEvidence | None:
        """The package as sealed, verified now; None when the store does not hold it."""
        ...


# What a camera's package names of the finding it holds, beside its camera and times: the event may not say otherwise.
FINDING_FIELDS = ("event_id", "zone_id", "violation_code")


def check_evidence(event: ViolationEvent, sealed: SealedEvidence | None) -> None:
    """An event stands on its evidence: the package exists, verifies, was sealed for the event's camera and for
    this finding of it (its event, zone and violation, as far as the package names them), and the event's first and
    last sighting lie within the times sealed with it. Raises the ``EvidenceRefused`` that says which does not
    hold."""
    package = event.evidence_package_id
    if sealed is None:
        raise EvidencePackageMissing(variant="package", package=repr(package))
    if sealed.problems:
        raise EvidencePackageInvalid(variant="package", package=package, problems=list(sealed.problems))
    if sealed.camera_id != event.camera_id:
        if sealed.camera_id is None:
            raise EvidencePackageOtherCamera(variant="no_camera", package=package, camera=repr(event.camera_id))
        raise EvidencePackageOtherCamera(
            variant="package", package=package, sealed_for=repr(sealed.camera_id), camera=repr(event.camera_id)
        )
    _same_finding(event, sealed.finding, package)
    if sealed.first_seen is None or sealed.last_seen is None:
        raise EvidencePackageTimeMismatch(variant="no_times", package=package)
    starts_before = event.first_seen < sealed.first_seen - EVIDENCE_TIME_TOLERANCE
    ends_after = event.last_seen > sealed.last_seen + EVIDENCE_TIME_TOLERANCE
    if starts_before or ends_after:
        raise EvidencePackageTimeMismatch(
            variant="times",
            event_from=utc(event.first_seen),
            event_to=utc(event.last_seen),
            package=package,
            sealed_from=utc(sealed.first_seen),
            sealed_to=utc(sealed.last_seen),
            tolerance=f"{EVIDENCE_TIME_TOLERANCE.total_seconds():g}",
        )


def _same_finding(event: ViolationEvent, sealed: dict[str, str], package: str) -> None:
    """The event is the finding the package was sealed for, in each of ``FINDING_FIELDS`` the package names."""
    if sealed.get("event_id", event.event_id) != event.event_id:
        raise EvidencePackageOtherFinding(
            variant="event_id", package=package, sealed=repr(sealed["event_id"]), event=repr(event.event_id)
        )
    if sealed.get("zone_id", event.zone_id) != event.zone_id:
        raise EvidencePackageOtherFinding(
            variant="zone_id", package=package, sealed=repr(sealed["zone_id"]), event=repr(event.zone_id)
        )
    if sealed.get("violation_code", event.violation_code) != event.violation_code:
        raise EvidencePackageOtherFinding(
            variant="violation_code", package=package, sealed=sealed["violation_code"], event=event.violation_code
        )


def utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


KEY_FRAMES = ("first", "middle", "confirming")
MAX_BOXES = 300  # a frame's boxes: a crowded street, not a flood


@dataclass(frozen=True)
class FrameLabels:
    frame: str
    boxes: list[dict[str, object]]  # {"class": name, "xyxy": [x1, y1, x2, y2]} in the frame's pixels
    labelled_by: str
    labelled_at: dt.datetime


@dataclass(frozen=True)
class LabelLimits:
    """What drawn boxes must respect: the classes the model names, the frame's size, and the model that saw it."""

    classes: tuple[str, ...]
    width: int
    height: int
    model_sha256: str | None = None

    def check(self, frame: str, boxes: object) -> list[dict[str, object]]:
        if frame not in KEY_FRAMES:
            raise InvalidInput(variant="label_frame", frame=repr(frame)[:40], frames="、".join(KEY_FRAMES))
        return self.boxes(boxes)

    def boxes(self, boxes: object) -> list[dict[str, object]]:
        """Each box of a class the model names, inside the frame; at most ``MAX_BOXES``."""
        if not isinstance(boxes, list) or len(boxes) > MAX_BOXES:
            raise InvalidInput(variant="label_boxes", limit=MAX_BOXES)
        return [self._box(number, box) for number, box in enumerate(boxes, start=1)]

    def _box(self, number: int, box: object) -> dict[str, object]:
        if not isinstance(box, dict) or box.get("class") not in self.classes:
            named = box.get("class") if isinstance(box, dict) else None
            raise InvalidInput(
                variant="label_class", number=number, name=repr(named)[:40], classes="、".join(self.classes)
            )
        try:
            x1, y1, x2, y2 = (round(float(v), 1) for v in box["xyxy"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(variant="label_box", number=number, width=self.width, height=self.height) from exc
        if not (0 <= x1 < x2 <= self.width and 0 <= y1 < y2 <= self.height):
            raise InvalidInput(variant="label_box", number=number, width=self.width, height=self.height)
        return {"class": box["class"], "xyxy": [x1, y1, x2, y2]}


@dataclass(frozen=True)
class SeenDetection:
    """A detection as a comparison with another model's findings needs it: where, what was raised, when, and how
    its review ended."""

    camera: str  # device id
    zone: str  # zone code
    raised_as: str  # the code its detector raised (a classified candidate: the candidate's kind)
    first_seen: dt.datetime
    last_seen: dt.datetime
    status: DetectionStatus


@dataclass(frozen=True)
class QueueFilter:
    status: DetectionStatus | None = DetectionStatus.PENDING_REVIEW
    camera_id: int | None = None
    violation_code: str | None = None
    seen_from: dt.datetime | None = None
    seen_until: dt.datetime | None = None


@dataclass(frozen=True)
class QueuePage:
    items: list[Detection]
    next_cursor: str | None  # pass back as ``cursor`` for the next (older) page


def encode_cursor(first_seen: dt.datetime, ident: int) -> str:
    return base64.urlsafe_b64encode(f"{first_seen.isoformat()}|{ident}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, ident = raw.split("|")
        first_seen = dt.datetime.fromisoformat(stamp)
        if first_seen.tzinfo is None:
            raise ValueError("naive")
        detection_id = int(ident)
        if not 1 <= detection_id < 2**63:  # a record id the database can hold, or the cursor was made by hand
            raise ValueError("out of range")
        return first_seen, detection_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor(variant="unknown", cursor=repr(cursor)) from exc


class DetectionService(Service):
    def intake(
        self,
        event: ViolationEvent,
        registry: RegistryService,
        evidence: EvidenceLookup | None = None,
        *,
        flag_unknown_zone: bool = False,
    ) -> tuple[Detection, bool]:
        """Store a violation event as a detection pending review. Returns (detection, created); the same event
        arriving again returns the stored detection and changes nothing. With ``evidence`` (an event from outside:
        a gateway) the package it cites is checked first (``check_evidence``); the pipelines cite what they sealed.

        A zone the camera has not in the registry is refused (``NotFound``: a gateway is told), unless
        ``flag_unknown_zone``: a pipeline has sealed the evidence already and nobody waits for an answer, so the
        detection is stored without a zone, flagged with the code the camera reported, for an operator to see."""
        if event.first_seen > self.clock.now() + CLOCK_TOLERANCE:
            raise InvalidInput(variant="first_seen_future", first_seen=event.first_seen.isoformat())
        if evidence is not None:
            check_evidence(event, evidence.sealed(event.evidence_package_id))
        existing = self._by_event_id(event.event_id)
        if existing is not None:
            return self._same_occurrence(existing, event, registry), False
        self.law.kind(event.violation_code)  # a violation or a review candidate; unknown codes are refused
        try:
            with self.transaction() as session:
                if evidence is not None:
                    self._package_free(session, event)
                camera = registry.camera_by_device(session, event.camera_id)
                zone = session.scalars(
                    select(Zone).where(tables.zones.c.camera_id == camera.id, tables.zones.c.code == event.zone_id)
                ).one_or_none()
                if zone is None and not flag_unknown_zone:
                    raise NotFound(variant="camera_zone", camera=repr(event.camera_id), zone=repr(event.zone_id))
                if evidence is not None and zone is not None:
                    self._subject_watched(session, event, zone)
                assert camera.id is not None
                detection = Detection(
                    event_id=event.event_id,
                    camera_id=camera.id,
                    zone_id=None if zone is None else zone.id,
                    unregistered_zone=event.zone_id if zone is None else None,
                    rule_id=event.rule_id,
                    violation_code=event.violation_code,
                    subject_kind=event.subject.kind.value,
                    subject_ref=event.subject.ref,
                    first_seen=event.first_seen,
                    last_seen=event.last_seen,
                    evidence_package_id=event.evidence_package_id,
                    confidence=event.confidence,
                    received_at=self.clock.now(),
                    certification_problems=camera.certification_problems(self.clock.local_date(event.first_seen)),
                )
                session.add(detection)
                session.flush()
        except AlreadyExists:
            # raced with the same event arriving concurrently (answered with the stored detection), or with another
            # event citing the same package: the database's own index refuses a second detection on one package
            stored = self._by_event_id(event.event_id)
            if stored is None:
                with self.transaction() as session:
                    self._package_free(session, event)  # EvidencePackageTaken: names the detection holding it
                raise
            return self._same_occurrence(stored, event, registry), False
        return detection, True

    @staticmethod
    def _subject_watched(session: Session, event: ViolationEvent, zone: Zone) -> None:
        """A gateway's event that names its subject names the one its zone watches: the shop's code or the site's
        permit number as the registry holds them. A case takes its party from the zone, so another name would stand
        on the record beside a party it does not name. An event that names none (a vendor not yet identified) is
        taken as it is."""
        if event.subject.ref is None:
            return
        watched: tuple[SubjectKind, str | None] = (SubjectKind.UNKNOWN, None)
        if zone.merchant_id is not None:
            watched = (SubjectKind.MERCHANT, get_or_404(session, Merchant, zone.merchant_id, "merchant").code)
        elif zone.site_id is not None:
            watched = (SubjectKind.SITE, get_or_404(session, Site, zone.site_id, "site").permit_number)
        if (event.subject.kind, event.subject.ref) != watched:
            raise InvalidInput(
                variant="event_subject_not_watched",
                subject=f"{event.subject.kind.value} {event.subject.ref!r}",
                zone=repr(event.zone_id),
                watched="—" if watched[1] is None else f"{watched[0].value} {watched[1]!r}",
            )

    @staticmethod
    def _package_free(session: Session, event: ViolationEvent) -> None:
        """One package backs one detection: an event from outside citing a package that another event's detection
        stands on is refused (a re-send of that event is answered before this, by its event id). The pipelines cite
        each what they have just sealed. Two gateways citing one package at once take turns, so the second sees
        the first's detection once it is stored. Whatever path an event takes, the database's unique index on the
        package (migration 0017) refuses a second detection; this check is what names the one that holds it."""
        take_turns(session, f"evidence_package:{event.evidence_package_id}")
        holder = session.execute(
            select(D.id, D.event_id).where(D.evidence_package_id == event.evidence_package_id).limit(1)
        ).first()
        if holder is not None:
            raise EvidencePackageTaken(
                variant="package", package=event.evidence_package_id, detection=holder.id, event=repr(holder.event_id)
            )

    def _same_occurrence(self, stored: Detection, event: ViolationEvent, registry: RegistryService) -> Detection:
        """An event id seen before is a re-send only if it describes the same occurrence; anything else reusing
        the id is refused, never answered with another camera's detection."""
        camera = registry.find_camera(event.camera_id)
        same = (
            stored.camera_id == camera.id
            and stored.violation_code == event.violation_code
            and stored.first_seen == event.first_seen
        )
        if not same:
            raise Conflict(variant="event_id", event_id=repr(event.event_id))
        return stored

    def _by_event_id(self, event_id: str) -> Detection | None:
        with self.transaction() as session:
            return session.scalars(select(Detection).where(D.event_id == event_id)).one_or_none()

    def evidence_package_ids(self) -> set[str]:
        """The evidence package of every detection: what the reconciliation of sealed packages need not open."""
        with self.transaction() as session:
            return set(session.scalars(select(D.evidence_package_id)))

    def reviewed_for_training(self, reader: Actor, purpose: str) -> list[Detection]:
        """Every reviewed detection, oldest first: what the operators' reviews say about the model, for a training
        export. Their key frames show people, so the read is logged (规定 第十六条: who took training frames, when,
        and why)."""
        with self.transaction() as session:
            rows = list(
                session.scalars(
                    select(Detection).where(D.status != DetectionStatus.PENDING_REVIEW).order_by(D.first_seen, D.id)
                )
            )
            log_personal_data_read(
                session, reader, self.clock.now(), "training_frames", f"{len(rows)} detections", ["key_frames"], purpose
            )
        return rows

    def save_labels(
        self,
        detection_id: int,
        frame: str,
        boxes: list[dict[str, object]],
        labeller: Actor,
        limits: LabelLimits,
    ) -> FrameLabels:
        """The boxes an operator drew on one key frame of a detection, replacing any drawn before: each of a class
        the model names and inside the frame. They stand for the frame in the next training export."""
        checked = limits.check(frame, boxes)
        act = self.clock.act(labeller.username, labeller.role)
        with self.transaction() as session:
            get_or_404(session, Detection, detection_id, "detection")
            session.execute(delete(tables.frame_labels).where(FL.detection_id == detection_id, FL.frame == frame))
            session.execute(
                insert(tables.frame_labels).values(
                    detection_id=detection_id, frame=frame, boxes=checked, labelled_by=act.actor,
                    labelled_at=act.at, model_sha256=limits.model_sha256,
                )
            )  # fmt: skip
        return FrameLabels(frame, checked, act.actor, act.at)

    def labels_of(self, detection_id: int) -> dict[str, FrameLabels]:
        """The boxes drawn on a detection's key frames, by frame."""
        return self.drawn_labels(detection_id).get(detection_id, {})

    def drawn_labels(self, detection_id: int | None = None) -> dict[int, dict[str, FrameLabels]]:
        """The boxes drawn on key frames, by detection and frame (of one detection, or of all in one read)."""
        query = select(tables.frame_labels)
        if detection_id is not None:
            query = query.where(FL.detection_id == detection_id)
        found: dict[int, dict[str, FrameLabels]] = {}
        with self.transaction() as session:
            for r in session.execute(query).mappings():
                labels = FrameLabels(r["frame"], list(r["boxes"]), r["labelled_by"], r["labelled_at"])
                found.setdefault(int(r["detection_id"]), {})[r["frame"]] = labels
        return found

    def seen_between(self, start: dt.datetime, end: dt.datetime | None = None) -> list[SeenDetection]:
        """Every detection seen between ``start`` and ``end`` (or since ``start``), by camera device and zone code,
        with its review."""
        query = (
            select(tables.cameras.c.device_id, tables.zones.c.code, D.unregistered_zone, D.violation_code, D.classified_from, D.first_seen,
                   D.last_seen, D.status)
            .join(tables.cameras, tables.cameras.c.id == D.camera_id)
            .join(tables.zones, tables.zones.c.id == D.zone_id, isouter=True)
            .where(D.last_seen >= start, *(() if end is None else (D.first_seen <= end,)))
        )  # fmt: skip
        with self.transaction() as session:
            return [
                SeenDetection(r.device_id, r.code or r.unregistered_zone or "", r.classified_from or r.violation_code,
                              r.first_seen, r.last_seen, DetectionStatus(r.status))
                for r in session.execute(query)
            ]  # fmt: skip

    def count_by_status(self) -> dict[str, int]:
        with self.transaction() as session:
            rows = session.execute(select(D.status, func.count()).group_by(D.status)).all()
        return {status.value: count for status, count in rows}

    def get(self, detection_id: int) -> Detection:
        with self.transaction() as session:
            return get_or_404(session, Detection, detection_id, "detection")

    def queue(self, criteria: QueueFilter, cursor: str | None = None, limit: int = 50) -> QueuePage:
        """The review queue: newest first, keyset-paged on (first_seen, id) so that page 1,000 costs what
        page 1 costs."""
        if not 1 <= limit <= 200:
            raise InvalidInput(variant="page_limit", max_limit=200)
        conditions = []
        if criteria.status is not None:
            conditions.append(D.status == criteria.status)
        if criteria.camera_id is not None:
            conditions.append(D.camera_id == criteria.camera_id)
        if criteria.violation_code is not None:
            conditions.append(D.violation_code == criteria.violation_code)
        if criteria.seen_from is not None:
            conditions.append(D.first_seen >= criteria.seen_from)
        if criteria.seen_until is not None:
            conditions.append(D.first_seen < criteria.seen_until)
        if cursor is not None:
            first_seen, ident = decode_cursor(cursor)
            # A row comparison, not "a < x OR (a = x AND b < y)": PostgreSQL turns it into an index bound, so a deep
            # page reads a handful of index entries instead of every row before the cursor.
            conditions.append(tuple_(D.first_seen, D.id) < tuple_(first_seen, ident))
        query = select(Detection).where(*conditions).order_by(D.first_seen.desc(), D.id.desc()).limit(limit + 1)
        with self.transaction() as session:
            rows = list(session.scalars(query))
        items = rows[:limit]
        next_cursor = None
        if len(rows) > limit and items[-1].id is not None:
            next_cursor = encode_cursor(items[-1].first_seen, items[-1].id)
        return QueuePage(items=items, next_cursor=next_cursor)

    def review(
        self,
        detection_id: int,
        reviewer: Actor,
        expected_version: int,
        confirm: bool,
        checklist: ReviewChecklist,
        reason: str | None,
        classified_as: str | None = None,
    ) -> Detection:
        """Confirm or reject a detection. A review candidate (不明物体滞留) is confirmed as the violation the reviewer
        chooses (``classified_as``); a rejection classifies nothing."""
        act = self.clock.act(reviewer.username, reviewer.role)
        with self.transaction() as session:
            detection = get_or_404(session, Detection, detection_id, "detection")
            check_version("detection", detection_id, detection.version, expected_version)
            if confirm:
                if detection.zone_id is None:
                    self._link_registered_zone(session, detection)
                detection.confirm(act, self.law, checklist, reason, classified_as)
            elif classified_as is not None:
                raise ClassificationRefused(variant="on_reject", ident=detection_id)
            else:
                detection.reject(act, checklist, reason or "")
        return detection

    @staticmethod
    def _link_registered_zone(session: Session, detection: Detection) -> None:
        """A detection flagged with a zone the registry lacked names that zone once it has been registered."""
        zone = session.scalars(
            select(Zone).where(
                tables.zones.c.camera_id == detection.camera_id, tables.zones.c.code == detection.unregistered_zone
            )
        ).one_or_none()
        if zone is not None and zone.id is not None:
            detection.link_zone(zone.id)
