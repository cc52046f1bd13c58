"""Violation rules: zones of a camera's picture, and how long something must stay in one before it is a violation.

Everything is in seconds of capture time, never in frames. For each rule and zone the engine keeps at most one
*occurrence*: it starts when a matching object is first seen in the zone, survives gaps shorter than the rule's
``inertia_s`` (a passer-by hiding the stall for a moment does not end it), and is *confirmed* once it has lasted
``min_dwell_s`` *in one place* with a median detection score of at least ``min_median_score``, having been in view
there for at least ``min_presence`` of its last ``min_dwell_s`` seconds. Staying is judged per place (``Place``: a
box that later sightings mostly overlap), so what tells a stall that stays from the false boxes of real footage is
that they do not stay: a box that noise lifts over the threshold now and then is in view a small share of the
time, and boxes on passing traffic are in the zone in every frame but never long in one place. (A plume drifts: a
dust rule's place is its zone.) An occurrence is confirmed once;
after it ends, what reappears in the same zone within ``cooldown_s`` continues it rather than raising a second
event. So one occurrence gives one event, whatever the sampling rate.

Matching, by rule kind (objects are placed by their bottom-centre anchor, where they meet the ground):
- ``stall``: a stall (or goods) standing in a no-vending zone;
- ``cross_door``: goods in a shop's sidewalk strip, on the street side of its shop-front line;
- ``dust``: a plume standing in a site, or reaching past its boundary (a bottom corner of the plume outside it);
- ``bare_pile``: an uncovered pile in a site;
- ``unknown_object``: something no model names that arrived and stays (``vision.static_objects``), in any zone
  that asks for it: a review candidate that an operator classifies.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
import threading
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from vision.detections import Detections
from vision.events import SubjectRef
from vision.zones import FrontLine, PolygonZone, ZoneError

BoolArray = npt.NDArray[np.bool_]


class RuleError(ValueError):
    """A rule or zone configuration that cannot work (unknown class, unknown zone...); ``key`` and ``params`` name the
    problem for the project's message catalogue (``camera_config.<key>``), the message says it in English."""

    def __init__(self, key: str, problem: str, **params: object) -> None:
        super().__init__(problem)
        self.key = key
        self.params = params


class RuleKind(StrEnum):
    STALL = "stall"
    CROSS_DOOR = "cross_door"
    DUST = "dust"
    BARE_PILE = "bare_pile"
    UNKNOWN_OBJECT = "unknown_object"


STATIC_CLASS = "unknown_object"  # the class of what the static-object path finds (no model names it)


class ZoneKind(StrEnum):
    NO_VENDING = "no_vending"
    SHOP_STRIP = "shop_strip"
    SITE = "site"


ZONE_KIND_OF_RULE = {
    RuleKind.STALL: ZoneKind.NO_VENDING,
    RuleKind.CROSS_DOOR: ZoneKind.SHOP_STRIP,
    RuleKind.DUST: ZoneKind.SITE,
    RuleKind.BARE_PILE: ZoneKind.SITE,
}


@dataclass(frozen=True)
class Zone:
    zone_id: str
    kind: ZoneKind
    polygon: PolygonZone
    subject: SubjectRef
    front_line: FrontLine | None = None

    def __post_init__(self) -> None:
        if (self.kind is ZoneKind.SHOP_STRIP) != (self.front_line is not None):
            raise ZoneError("front_line_shop_strip_only",
                            f"zone {self.zone_id}: a shop strip, and only a shop strip, has a shop-front line",
                            zone=self.zone_id)  # fmt: skip


@dataclass(frozen=True)
class Rule:
    rule_id: str
    kind: RuleKind
    violation_code: str
    classes: tuple[str, ...]
    zones: tuple[str, ...]  # the zone ids it watches
    min_dwell_s: float
    inertia_s: float = 30.0
    min_median_score: float = 0.3
    cooldown_s: float = 600.0
    min_presence: float = 0.25  # the share of its last min_dwell_s it must have been in view

    def __post_init__(self) -> None:
        if not self.classes:
            raise RuleError("rule_no_classes", f"rule {self.rule_id}: names no classes", rule=self.rule_id)
        if not self.zones:
            raise RuleError("rule_no_zones", f"rule {self.rule_id}: watches no zones", rule=self.rule_id)
        if self.min_dwell_s < 0 or self.inertia_s < 0 or self.cooldown_s < 0:
            raise RuleError("rule_negative_time", f"rule {self.rule_id}: min_dwell_s, inertia_s and cooldown_s must not be negative",
                            rule=self.rule_id)  # fmt: skip
        if not 0 <= self.min_median_score < 1:
            raise RuleError(
                "rule_score_range", f"rule {self.rule_id}: min_median_score must be in [0, 1)", rule=self.rule_id
            )
        if not 0 <= self.min_presence <= 1:
            raise RuleError(
                "rule_presence_range", f"rule {self.rule_id}: min_presence must be in [0, 1]", rule=self.rule_id
            )


@dataclass(frozen=True)
class Sighting:
    """The best matching detection of an occurrence in one frame."""

    ts: dt.datetime
    box: tuple[float, float, float, float]  # pixels of the frame
    score: float
    class_name: str
    track_id: int | None
    crosses_boundary: bool = False


# A sighting that covers most of a place's first box (or that the box mostly covers) is the same thing, where it was.
STAY_OVERLAP = 0.8
MAX_PLACES = 64  # places an occurrence follows at once; the longest unseen is forgotten first


def overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """The share of the smaller box that the other covers (0..1)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    smaller = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return 0.0 if width <= 0 or height <= 0 or smaller <= 0 else width * height / smaller


@dataclass
class Place:
    """Where one of an occurrence's objects stands: the box it was first seen in there, and when it was in view."""

    box: tuple[float, float, float, float]
    since: dt.datetime
    window_s: float  # the rule's dwell: presence is judged over the last this many seconds
    last_sighting: Sighting
    in_view: deque[tuple[dt.datetime, float]] = field(default_factory=deque)  # (sighting, seconds it accounts for)
    in_view_s: float = 0.0  # their sum

    @property
    def last_seen(self) -> dt.datetime:
        return self.last_sighting.ts

    @property
    def dwell_s(self) -> float:
        return (self.last_seen - self.since).total_seconds()

    def seen(self, sighting: Sighting, seconds: float) -> None:
        """A sighting here accounts for the ``seconds`` since the frame before it; the last ``window_s`` are kept."""
        self.last_sighting = sighting
        self.in_view.append((sighting.ts, seconds))
        self.in_view_s += seconds
        since = sighting.ts - dt.timedelta(seconds=self.window_s)
        while self.in_view and self.in_view[0][0] <= since:
            self.in_view_s -= self.in_view.popleft()[1]

    @property
    def presence(self) -> float:
        """The share of the last ``window_s`` (up to its last sighting) in which it was in view here."""
        if self.window_s <= 0:
            return 1.0
        return min(1.0, max(0.0, self.in_view_s) / self.window_s)


@dataclass
class Occurrence:
    occurrence_id: int
    rule: Rule
    zone: Zone
    first_seen: dt.datetime
    last_seen: dt.datetime
    scores: list[float] = field(default_factory=list)
    track_ids: set[int] = field(default_factory=set)
    first_sighting: Sighting | None = None
    last_sighting: Sighting | None = None
    crossed_at: dt.datetime | None = None  # a plume first reaching past the site boundary
    confirmed_at: dt.datetime | None = None
    suppressed: bool = False  # within the cooldown of a confirmed occurrence in the same zone: never confirms
    places: list[Place] = field(default_factory=list)  # where its objects stand (one, for a plume)

    @property
    def dwell_s(self) -> float:
        return (self.last_seen - self.first_seen).total_seconds()

    def stayed(self, ts: dt.datetime) -> Place | None:
        """A place seen now where something has stayed the rule's dwell and presence, if any."""
        rule = self.rule
        for place in self.places:
            if place.last_seen == ts and place.dwell_s >= rule.min_dwell_s and place.presence >= rule.min_presence:
                return place
        return None

    @property
    def median_score(self) -> float:
        return float(statistics.median(self.scores)) if self.scores else 0.0


@dataclass(frozen=True)
class Confirmation:
    """An occurrence that has just become a violation: what the pipeline turns into evidence and an event."""

    occurrence_id: int
    rule: Rule
    zone: Zone
    first_seen: dt.datetime
    confirmed_at: dt.datetime
    median_score: float
    track_ids: tuple[int, ...]
    first_sighting: Sighting
    confirming_sighting: Sighting
    crossed_at: dt.datetime | None


@dataclass(frozen=True)
class Step:
    """What one frame did to the occurrences: the runner keeps key frames of those seen, and seals the confirmed."""

    seen: tuple[Occurrence, ...]
    confirmed: tuple[Confirmation, ...]
    ended: tuple[Occurrence, ...]


class RuleEngine:
    """One camera's rules over its zones; fed tracked detections frame by frame, in capture order."""

    def __init__(self, zones: list[Zone], rules: list[Rule], class_names: tuple[str, ...]) -> None:
        self.zones = {zone.zone_id: zone for zone in zones}
        if len(self.zones) != len(zones):
            raise RuleError("zones_share_id", "two zones share an id")
        self.rules = rules
        self.class_names = class_names if STATIC_CLASS in class_names else (*class_names, STATIC_CLASS)
        for rule in rules:
            unknown = [name for name in rule.classes if name not in self.class_names]
            if unknown:
                raise RuleError("rule_unknown_classes",
                                f"rule {rule.rule_id}: unknown classes {unknown}; the model knows {list(class_names)}",
                                rule=rule.rule_id, classes=", ".join(unknown))  # fmt: skip
            for zone_id in rule.zones:
                zone = self.zones.get(zone_id)
                if zone is None:
                    raise RuleError("rule_unknown_zone", f"rule {rule.rule_id}: unknown zone {zone_id!r}", rule=rule.rule_id,
                                    zone=zone_id)  # fmt: skip
                if rule.kind is not RuleKind.UNKNOWN_OBJECT and zone.kind is not ZONE_KIND_OF_RULE[rule.kind]:
                    raise RuleError(
                        "rule_zone_kind",
                        f"rule {rule.rule_id} ({rule.kind.value}) needs {ZONE_KIND_OF_RULE[rule.kind].value} "
                        f"zones; zone {zone_id} is {zone.kind.value}",
                        rule=rule.rule_id, zone=zone_id, needed=ZONE_KIND_OF_RULE[rule.kind].value,
                    )  # fmt: skip
        self._class_ids = {rule.rule_id: self._ids(rule.classes) for rule in rules}
        self.active: dict[tuple[str, str], Occurrence] = {}
        self._cooldown_until: dict[tuple[str, str], dt.datetime] = {}
        self._ids_counter = itertools.count(1)
        self._last_ts: dt.datetime | None = None

    def carry_on_from(self, earlier: RuleEngine) -> None:
        """Take over from the engine of the camera's previous configuration: its occurrence numbering, what it is
        watching (for a rule and zone this engine has too) and its cooldowns, so that a violation seen across the
        change is one occurrence, raised once."""
        self._ids_counter = earlier._ids_counter
        self._last_ts = earlier._last_ts
        kept = {(rule.rule_id, zone_id) for rule in self.rules for zone_id in rule.zones}
        self.active = {key: occurrence for key, occurrence in earlier.active.items() if key in kept}
        self._cooldown_until = {key: until for key, until in earlier._cooldown_until.items() if key in kept}

    def snapshot(self) -> dict[str, Any]:
        """What another process needs to carry on for this camera without raising a violation twice: when each
        cooldown ends, counting a confirmed (or suppressed) occurrence still going on as if it ended when last seen.
        An occurrence not yet confirmed is not carried: the process taking over starts its dwell afresh (its
        ``gap``). JSON: a snapshot crosses machines."""
        cooldowns = dict(self._cooldown_until)
        for key, occurrence in list(self.active.items()):
            if occurrence.confirmed_at is not None or occurrence.suppressed:
                until = occurrence.last_seen + dt.timedelta(seconds=occurrence.rule.cooldown_s)
                cooldowns[key] = max(until, cooldowns.get(key, until))
        return {"cooldowns": [[rule, zone, until.isoformat()] for (rule, zone), until in sorted(cooldowns.items())]}

    def resume(self, snapshot: dict[str, Any]) -> None:
        """Carry on from another process's ``snapshot`` of this camera (before the first frame): a violation it
        raised, still there, is not raised again within its cooldown. Rules and zones this engine lacks are left."""
        kept = {(rule.rule_id, zone_id) for rule in self.rules for zone_id in rule.zones}
        for rule, zone, until in snapshot.get("cooldowns", []):
            key, moment = (str(rule), str(zone)), dt.datetime.fromisoformat(until)
            if key in kept:
                self._cooldown_until[key] = max(moment, self._cooldown_until.get(key, moment))

    def _ids(self, names: tuple[str, ...]) -> npt.NDArray[np.int64]:
        return np.array([self.class_names.index(name) for name in names], np.int64)

    def observe(self, ts: dt.datetime, detections: Detections, frame_size: tuple[int, int]) -> Step:
        if self._last_ts is not None and ts < self._last_ts:
            raise RuleError("frame_out_of_order",
                            f"frame at {ts.isoformat()} is older than the last one ({self._last_ts.isoformat()})")  # fmt: skip
        since_last_s = 0.0 if self._last_ts is None else (ts - self._last_ts).total_seconds()
        self._last_ts = ts
        seen: list[Occurrence] = []
        confirmed: list[Confirmation] = []
        for rule in self.rules:
            of_class = detections[np.isin(detections.class_id, self._class_ids[rule.rule_id])]
            for zone_id in rule.zones:
                sightings = self._sightings(rule, self.zones[zone_id], of_class, frame_size, ts)
                if not sightings:
                    continue
                occurrence = self._occurrence(rule, zone_id, ts, sightings, since_last_s)
                seen.append(occurrence)
                confirmation = self._maybe_confirm(occurrence, ts)
                if confirmation is not None:
                    confirmed.append(confirmation)
        return Step(tuple(seen), tuple(confirmed), tuple(self._end_stale(ts)))

    def _sightings(
        self, rule: Rule, zone: Zone, detections: Detections, frame_size: tuple[int, int], ts: dt.datetime
    ) -> list[Sighting]:
        """The matching detections in the zone, the most confident first."""
        if len(detections) == 0:
            return []
        inside, crosses = self._match(rule, zone, detections, frame_size)
        found = []
        for index in sorted(np.flatnonzero(inside), key=lambda i: -float(detections.confidence[i])):
            x1, y1, x2, y2 = (float(v) for v in detections.xyxy[index])
            track = None if detections.tracker_id is None else int(detections.tracker_id[index])
            track = None if track is not None and track < 0 else track  # untracked (a static-object candidate)
            name = self.class_names[int(detections.class_id[index])]
            found.append(Sighting(ts, (x1, y1, x2, y2), float(detections.confidence[index]), name, track,
                                  bool(crosses[index])))  # fmt: skip
        return found

    @staticmethod
    def _match(
        rule: Rule, zone: Zone, detections: Detections, frame_size: tuple[int, int]
    ) -> tuple[BoolArray, BoolArray]:
        width, height = frame_size
        scale = np.array([width, height], np.float32)
        anchors = detections.bottom_centers / scale
        inside = zone.polygon.contains(anchors)
        crosses = np.zeros(len(detections), np.bool_)
        if rule.kind is RuleKind.CROSS_DOOR and zone.front_line is not None:
            inside &= zone.front_line.beyond(anchors)
        elif rule.kind is RuleKind.DUST:
            left = detections.xyxy[:, [0, 3]] / scale
            right = detections.xyxy[:, [2, 3]] / scale
            left_in, right_in = zone.polygon.contains(left), zone.polygon.contains(right)
            touching = inside | left_in | right_in
            crosses = touching & ~(left_in & right_in)
            inside = touching
        return inside, crosses

    def _occurrence(self, rule: Rule, zone_id: str, ts: dt.datetime, sightings: list[Sighting], since_last_s: float) -> Occurrence:  # fmt: skip
        key = (rule.rule_id, zone_id)
        occurrence = self.active.get(key)
        sighting = sightings[0]
        if occurrence is None:
            cooldown = self._cooldown_until.get(key)
            occurrence = Occurrence(
                next(self._ids_counter), rule, self.zones[zone_id], ts, ts,
                first_sighting=sighting, suppressed=cooldown is not None and ts <= cooldown,
            )  # fmt: skip
            self.active[key] = occurrence
        occurrence.last_seen = ts
        occurrence.last_sighting = sighting
        occurrence.scores.append(sighting.score)
        if sighting.track_id is not None:
            occurrence.track_ids.add(sighting.track_id)
        if sighting.crosses_boundary and occurrence.crossed_at is None:
            occurrence.crossed_at = ts
        self._stand(occurrence, sightings, since_last_s)
        return occurrence

    @staticmethod
    def _stand(occurrence: Occurrence, sightings: list[Sighting], since_last_s: float) -> None:
        """Put each sighting in the place it stands in: the place whose box it mostly overlaps, or a new one. A
        sighting accounts for the time since the frame before (as long as the inertia bridges it); a place unseen
        longer than the inertia is forgotten."""
        rule, ts = occurrence.rule, sightings[0].ts
        places = [p for p in occurrence.places if (ts - p.last_seen).total_seconds() <= rule.inertia_s]
        credit = min(since_last_s, rule.inertia_s)
        if rule.kind is RuleKind.DUST:  # a plume drifts and changes shape: its place is the zone
            sightings = sightings[:1]
        for sighting in sightings:
            if rule.kind is RuleKind.DUST:
                here = places[0] if places else None
            else:
                here = max(places, key=lambda p: overlap(p.box, sighting.box), default=None)
                here = here if here is not None and overlap(here.box, sighting.box) >= STAY_OVERLAP else None
            if here is None:
                places.append(Place(sighting.box, ts, rule.min_dwell_s, sighting))
                places[-1].seen(sighting, 0.0)  # a place begins with its first sighting
            elif here.last_seen < ts:  # (a second box on the same thing in one frame adds nothing)
                here.seen(sighting, credit)
        places.sort(key=lambda p: p.last_seen, reverse=True)
        occurrence.places = places[:MAX_PLACES]

    @staticmethod
    def _maybe_confirm(occurrence: Occurrence, ts: dt.datetime) -> Confirmation | None:
        rule = occurrence.rule
        if occurrence.confirmed_at is not None or occurrence.suppressed:
            return None
        if occurrence.dwell_s < rule.min_dwell_s or occurrence.median_score < rule.min_median_score:
            return None
        place = occurrence.stayed(ts)
        if place is None:
            return None  # seen now and then, or never long in one place: nothing has stayed
        assert occurrence.first_sighting is not None
        occurrence.confirmed_at = occurrence.last_seen
        return Confirmation(
            occurrence.occurrence_id,
            rule,
            occurrence.zone,
            occurrence.first_seen,
            occurrence.last_seen,
            occurrence.median_score,
            tuple(sorted(occurrence.track_ids)),
            occurrence.first_sighting,
            place.last_sighting,
            occurrence.crossed_at,
        )

    def _end_stale(self, now: dt.datetime) -> list[Occurrence]:
        ended = []
        for key, occurrence in list(self.active.items()):
            if (now - occurrence.last_seen).total_seconds() > occurrence.rule.inertia_s:
                del self.active[key]
                ended.append(occurrence)
                if occurrence.confirmed_at is not None or occurrence.suppressed:
                    self._cooldown_until[key] = occurrence.last_seen + dt.timedelta(seconds=occurrence.rule.cooldown_s)
        return ended

    def finish(self) -> list[Occurrence]:
        """End every occurrence (the source has ended)."""
        ended = list(self.active.values())
        self.active.clear()
        return ended

    def is_present(self, rule_id: str, zone_id: str) -> bool:
        """Whether an occurrence of the rule in the zone is going on now (the re-check's question)."""
        return (rule_id, zone_id) in self.active


@dataclass(frozen=True)
class Presence:
    first_seen: dt.datetime
    last_seen: dt.datetime
    confirmed: bool


class PresenceLog:
    """When each rule's occurrences went on in each zone (the newest ``keep`` per rule and zone)."""

    def __init__(self, keep: int = 1000) -> None:
        self._spans: dict[tuple[str, str], deque[Presence]] = {}
        self._open: dict[tuple[str, str], Occurrence] = {}
        self._keep = keep
        self._lock = threading.Lock()

    def seen(self, occurrence: Occurrence) -> None:
        with self._lock:
            self._open[(occurrence.rule.rule_id, occurrence.zone.zone_id)] = occurrence

    def ended(self, occurrence: Occurrence) -> None:
        key = (occurrence.rule.rule_id, occurrence.zone.zone_id)
        with self._lock:
            self._open.pop(key, None)
            spans = self._spans.setdefault(key, deque(maxlen=self._keep))
            spans.append(Presence(occurrence.first_seen, occurrence.last_seen, occurrence.confirmed_at is not None))

    def present(self, rule_id: str, zone_id: str, at: dt.datetime, tolerance_s: float = 0.0) -> bool:
        """Whether an occurrence of the rule in the zone went on at ``at`` (give or take ``tolerance_s``)."""
        slack = dt.timedelta(seconds=tolerance_s)
        with self._lock:
            spans = list(self._spans.get((rule_id, zone_id), ()))
            current = self._open.get((rule_id, zone_id))
        if current is not None:
            spans.append(Presence(current.first_seen, current.last_seen, current.confirmed_at is not None))
        return any(span.first_seen - slack <= at <= span.last_seen + slack for span in spans)
