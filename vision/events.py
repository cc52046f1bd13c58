"""``ViolationEvent``: what the vision pipeline hands to its sink when a violation has stayed long enough.

A frozen dataclass because it crosses thread and process boundaries; validated on construction so that a
malformed event is refused where it is made, not three stages later.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


class SubjectKind(StrEnum):
    MERCHANT = "merchant"  # the zone watches a registered shop front: ref is its 一店一码 code
    SITE = "site"  # the zone watches a registered construction site: ref is its permit number
    UNKNOWN = "unknown"  # a street vendor not yet identified: ref is None


class InvalidEvent(ValueError):
    """An event that cannot be made; ``key`` and ``params`` name the problem for a reader of another language (the
    project's message catalogue has ``event.<key>``), the message says it in English."""

    def __init__(self, key: str, problem: str, **params: object) -> None:
        super().__init__(problem)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class SubjectRef:
    kind: SubjectKind
    ref: str | None = None

    def __post_init__(self) -> None:
        if self.kind is SubjectKind.UNKNOWN and self.ref is not None:
            raise InvalidEvent("subject_takes_no_ref", f"subject {self.kind.value} needs no reference", kind=self.kind)
        if self.kind is not SubjectKind.UNKNOWN and self.ref is None:
            raise InvalidEvent("subject_needs_ref", f"subject {self.kind.value} needs a reference", kind=self.kind)


@dataclass(frozen=True)
class ViolationEvent:
    event_id: str  # stable for one occurrence: the same event sent twice has the same id
    camera_id: str  # the camera's device id
    zone_id: str  # the zone's code within that camera
    rule_id: str  # the rule that fired
    violation_code: str  # a code of the violation catalogue
    subject: SubjectRef
    first_seen: dt.datetime
    last_seen: dt.datetime
    evidence_package_id: str  # the sealed evidence package holding key frames and clip
    confidence: float = 1.0

    def __post_init__(self) -> None:
        for name in ("event_id", "camera_id", "zone_id", "rule_id", "violation_code", "evidence_package_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not _CODE.fullmatch(value):
                raise InvalidEvent("identifier", f"{name} {value!r} is not a valid identifier",
                                   field=name, value=repr(value))  # fmt: skip
        for name in ("first_seen", "last_seen"):
            if getattr(self, name).tzinfo is None:
                raise InvalidEvent("naive", f"{name} must carry a time zone", field=name)
        if self.last_seen < self.first_seen:
            raise InvalidEvent("order", "last_seen is before first_seen",
                               first_seen=self.first_seen.isoformat(), last_seen=self.last_seen.isoformat())  # fmt: skip
        if not 0.0 <= self.confidence <= 1.0:
            raise InvalidEvent(
                "confidence", f"confidence {self.confidence} is outside 0..1", confidence=self.confidence
            )

    @property
    def dwell(self) -> dt.timedelta:
        return self.last_seen - self.first_seen

    def as_json(self) -> dict[str, object]:
        """The event as the gateway route takes it (and ``offsite camera run --json`` prints it)."""
        return {
            "event_id": self.event_id,
            "camera_id": self.camera_id,
            "zone_id": self.zone_id,
            "rule_id": self.rule_id,
            "violation_code": self.violation_code,
            "subject": {"kind": self.subject.kind.value, "ref": self.subject.ref},
            "first_seen": self.first_seen.isoformat(),
            "last_seen": self.last_seen.isoformat(),
            "evidence_package_id": self.evidence_package_id,
            "confidence": self.confidence,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ViolationEvent:
        """The event ``as_json`` wrote (a worker's event, carried to the sealer through the broker)."""
        subject = data["subject"]
        return cls(
            event_id=data["event_id"], camera_id=data["camera_id"], zone_id=data["zone_id"], rule_id=data["rule_id"],
            violation_code=data["violation_code"], subject=SubjectRef(SubjectKind(subject["kind"]), subject["ref"]),
            first_seen=dt.datetime.fromisoformat(data["first_seen"]),
            last_seen=dt.datetime.fromisoformat(data["last_seen"]),
            evidence_package_id=data["evidence_package_id"], confidence=float(data["confidence"]),
        )  # fmt: skip
