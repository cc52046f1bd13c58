"""Camera pipeline configuration (``configs/cameras.yaml`` and friends), validated with pydantic, ``extra="forbid"``.

A camera names its source and sampling, its zones (normalised polygons linked to a merchant or site) and the rules
that watch them. Rule times default per rule kind and are all in seconds. Loading checks everything the pipeline
will need, so a bad file fails at start-up naming the camera and the field: a zone that is not simple or leaves
the frame, a rule on an unknown zone or class, a zone kind that does not fit the rule.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vision.capture import CaptureConfig
from vision.events import InvalidEvent, SubjectKind, SubjectRef
from vision.frames import FrameSource
from vision.pipeline import CameraPipeline, Detector, DropPolicy, EventSink, Reconfiguration, Sealer
from vision.rules import STATIC_CLASS, Rule, RuleEngine, RuleError, RuleKind, Zone, ZoneKind
from vision.sources import DecodeMode, SourceConfig, open_source
from vision.static_objects import StaticObjectConfig, StaticObjects
from vision.text_files import NotUtf8, read_utf8
from vision.tracking import Tracker, TrackerConfig
from vision.zones import FrontLine, PolygonZone, ZoneError

CODE = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"  # an id: a zone code, a rule's, a camera's
Code = Annotated[str, Field(pattern=CODE)]
Point = tuple[Annotated[float, Field(ge=0, le=1)], Annotated[float, Field(ge=0, le=1)]]


class ConfigError(ValueError):
    """A camera configuration that cannot be used; the message names the file, camera and field. For a reader of
    another language: ``fields`` holds each field's problem as pydantic tells it (``loc``, ``type``, ``ctx``), or
    ``key`` and ``params`` the zone's or rule's problem (the message catalogue's ``camera_config.<key>``)."""

    def __init__(
        self, problem: str, *, key: str | None = None, params: dict[str, object] | None = None,
        fields: tuple[FieldProblem, ...] = (),
    ) -> None:  # fmt: skip
        super().__init__(problem)
        self.key = key
        self.params = params or {}
        self.fields = fields


@dataclasses.dataclass(frozen=True)
class FieldProblem:
    """One field that pydantic refused: where (``("zones", 0, "polygon")``), pydantic's error type and context."""

    loc: tuple[str | int, ...]
    type: str
    ctx: dict[str, object]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleTimes(_Model):
    min_dwell_s: float = Field(ge=0, description="how long it must stay before it is a violation")
    inertia_s: float = Field(ge=0, description="a gap shorter than this does not end the occurrence")
    min_median_score: float = Field(ge=0, lt=1, description="median detection score the occurrence needs")
    cooldown_s: float = Field(ge=0, description="what comes back this soon after continues the same occurrence")
    min_presence: float = Field(
        default=0.25, ge=0, le=1, description="the share of its last min_dwell_s it must have been in view"
    )


# Defaults per rule kind: stalls and goods are judged over minutes; a plume is brief; a bare pile is there for hours.
DEFAULT_TIMES: dict[RuleKind, RuleTimes] = {
    RuleKind.STALL: RuleTimes(min_dwell_s=300, inertia_s=60, min_median_score=0.3, cooldown_s=1800),
    RuleKind.CROSS_DOOR: RuleTimes(min_dwell_s=300, inertia_s=60, min_median_score=0.3, cooldown_s=1800),
    RuleKind.DUST: RuleTimes(min_dwell_s=30, inertia_s=20, min_median_score=0.3, cooldown_s=900),
    RuleKind.BARE_PILE: RuleTimes(min_dwell_s=1800, inertia_s=300, min_median_score=0.3, cooldown_s=86400),
    RuleKind.UNKNOWN_OBJECT: RuleTimes(min_dwell_s=300, inertia_s=60, min_median_score=0.35, cooldown_s=1800),
}
# Generated videos (the demo, the benchmark) last a minute or two: the same rules with minutes scaled to seconds.
MINUTE_VIDEO_TIMES: dict[RuleKind, RuleTimes] = {
    RuleKind.STALL: RuleTimes(min_dwell_s=20, inertia_s=12, min_median_score=0.3, cooldown_s=120),
    RuleKind.CROSS_DOOR: RuleTimes(min_dwell_s=15, inertia_s=12, min_median_score=0.3, cooldown_s=120),
    RuleKind.DUST: RuleTimes(min_dwell_s=8, inertia_s=8, min_median_score=0.3, cooldown_s=120),
    RuleKind.BARE_PILE: RuleTimes(min_dwell_s=20, inertia_s=12, min_median_score=0.3, cooldown_s=600),
    RuleKind.UNKNOWN_OBJECT: RuleTimes(min_dwell_s=15, inertia_s=12, min_median_score=0.35, cooldown_s=120),
}
DEFAULT_CLASSES: dict[RuleKind, tuple[str, ...]] = {
    RuleKind.STALL: ("stall",),
    RuleKind.CROSS_DOOR: ("goods",),
    RuleKind.DUST: ("dust",),
    RuleKind.BARE_PILE: ("bare_pile",),
    RuleKind.UNKNOWN_OBJECT: (STATIC_CLASS,),
}
DEFAULT_VIOLATION: dict[RuleKind, str] = {
    RuleKind.STALL: "street_stall",
    RuleKind.CROSS_DOOR: "cross_door",
    RuleKind.DUST: "construction_dust",
    RuleKind.BARE_PILE: "bare_soil_uncovered",
    RuleKind.UNKNOWN_OBJECT: "unknown_object",
}


def class_of_violation(code: str) -> str | None:
    """The detector class whose staying makes the violation ``code`` by default (None: no class names it)."""
    kind = next((k for k, v in DEFAULT_VIOLATION.items() if v == code and k is not RuleKind.UNKNOWN_OBJECT), None)
    return None if kind is None else DEFAULT_CLASSES[kind][0]


class SubjectIn(_Model):
    kind: SubjectKind
    ref: str | None = None


class FrontLineIn(_Model):
    start: Point
    end: Point
    street_side: Point = Field(description="a point on the street side of the line")


class ZoneIn(_Model):
    id: Code
    kind: ZoneKind
    polygon: list[Point] = Field(min_length=3)
    subject: SubjectIn = SubjectIn(kind=SubjectKind.UNKNOWN)
    front_line: FrontLineIn | None = None


class RuleIn(_Model):
    id: Code
    kind: RuleKind
    zones: list[Code] = Field(min_length=1)
    violation: Code | None = None
    classes: list[str] | None = None
    min_dwell_s: float | None = Field(default=None, ge=0)
    inertia_s: float | None = Field(default=None, ge=0)
    min_median_score: float | None = Field(default=None, ge=0, lt=1)
    cooldown_s: float | None = Field(default=None, ge=0)
    min_presence: float | None = Field(default=None, ge=0, le=1)


class SourceIn(_Model):
    url: str = Field(
        min_length=1,
        description="a video file or an rtsp/http(s) address; 'push': frames pushed by the camera's gateway; "
        "'gateway': the stream address the camera's gateway registers",
    )
    interval_s: float = Field(default=2.0, ge=0.01, le=3600, description="one analysed frame this often")
    decode: DecodeMode = DecodeMode.AUTO
    start: dt.datetime | None = Field(default=None, description="capture time of a file's first frame")


class CameraIn(_Model):
    camera_id: Code
    source: SourceIn
    zones: list[ZoneIn] = Field(min_length=1)
    rules: list[RuleIn] = Field(min_length=1)
    lost_s: float = Field(default=30, ge=0, description="how long a lost track is kept")
    pre_s: float = Field(default=10, ge=0, description="clip seconds before the confirming frame")
    post_s: float = Field(default=5, ge=0, description="clip seconds after it")
    queue_size: int = Field(default=4, ge=1, le=1000)
    drop_policy: DropPolicy | None = Field(default=None, description="default: drop_oldest live, block for files")


class CamerasFile(_Model):
    cameras: list[CameraIn]


class CameraSpec:
    """A validated camera: its source, zones, rules, tracker and capture settings, ready to build a pipeline."""

    def __init__(self, camera: CameraIn, class_names: tuple[str, ...]) -> None:
        self.camera_id = camera.camera_id
        self.raw = camera
        self.pushed = camera.source.url == "push"
        self.gateway_stream = camera.source.url == "gateway"  # pulled from the address its gateway registers
        self.source = SourceConfig(
            camera.camera_id,
            camera.source.url,
            camera.source.interval_s,
            camera.source.decode,
            clip_keep_s=camera.pre_s + camera.post_s + 10,
            start=camera.source.start,
        )
        self.zones = [_zone(zone) for zone in camera.zones]
        self.rules = [_rule(rule) for rule in camera.rules]
        self.watches_static_objects = any(rule.kind is RuleKind.UNKNOWN_OBJECT for rule in self.rules)
        self.tracker = TrackerConfig(interval_s=camera.source.interval_s, lost_s=camera.lost_s)
        self.capture = CaptureConfig(camera.pre_s, camera.post_s)
        self.queue_size = camera.queue_size
        # A pulled live stream lets the newest frame win; a file waits; pushed frames wait too, because their own
        # bounded queue refuses the gateway (429) rather than losing a frame it accepted.
        live = self.gateway_stream or self.source.is_stream
        self.drop_policy = camera.drop_policy or (DropPolicy.DROP_OLDEST if live else DropPolicy.BLOCK)
        RuleEngine(self.zones, self.rules, class_names)  # refuses unknown zones, classes and mismatched kinds


def _zone(zone: ZoneIn) -> Zone:
    polygon = PolygonZone(zone.id, tuple(zone.polygon))
    line = None
    if zone.front_line is not None:
        line = FrontLine(zone.id, zone.front_line.start, zone.front_line.end, zone.front_line.street_side)
    try:
        subject = SubjectRef(zone.subject.kind, zone.subject.ref)
    except ValueError as exc:
        key = exc.key if isinstance(exc, InvalidEvent) else "zone_subject"
        raise ZoneError(key, f"zone {zone.id}: {exc}", zone=zone.id) from exc
    return Zone(zone.id, zone.kind, polygon, subject, line)


def _rule(rule: RuleIn) -> Rule:
    times = DEFAULT_TIMES[rule.kind]
    return Rule(
        rule_id=rule.id,
        kind=rule.kind,
        violation_code=rule.violation or DEFAULT_VIOLATION[rule.kind],
        classes=tuple(rule.classes) if rule.classes is not None else DEFAULT_CLASSES[rule.kind],
        zones=tuple(rule.zones),
        min_dwell_s=times.min_dwell_s if rule.min_dwell_s is None else rule.min_dwell_s,
        inertia_s=times.inertia_s if rule.inertia_s is None else rule.inertia_s,
        min_median_score=times.min_median_score if rule.min_median_score is None else rule.min_median_score,
        cooldown_s=times.cooldown_s if rule.cooldown_s is None else rule.cooldown_s,
        min_presence=times.min_presence if rule.min_presence is None else rule.min_presence,
    )


def camera_spec(data: dict[str, Any], class_names: tuple[str, ...], where: str = "camera") -> CameraSpec:
    camera_id = data.get("camera_id", "?") if isinstance(data, dict) else "?"
    try:
        return CameraSpec(CameraIn.model_validate(data), class_names)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors(include_url=False)
        )
        problems = tuple(
            FieldProblem(tuple(error["loc"]), error["type"], {k: str(v) for k, v in error.get("ctx", {}).items()})
            for error in exc.errors(include_url=False)
        )
        raise ConfigError(f"{where}: camera {camera_id}: {fields}", fields=problems) from exc
    except (ZoneError, RuleError) as exc:
        raise ConfigError(f"{where}: camera {camera_id}: {exc}", key=exc.key, params=exc.params) from exc
    except ValueError as exc:
        raise ConfigError(f"{where}: camera {camera_id}: {exc}") from exc


def camera_entries(path: Path) -> list[Any]:
    """The entries of a cameras file's ``cameras`` list, not yet validated."""
    try:
        data = yaml.safe_load(read_utf8(path))
    except NotUtf8 as exc:
        raise ConfigError(str(exc)) from exc
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("cameras"), list):
        raise ConfigError(f"{path}: expected a mapping with a 'cameras' list")
    return list(data["cameras"])


def load_cameras(path: Path, class_names: tuple[str, ...]) -> list[CameraSpec]:
    specs = [camera_spec(entry, class_names, str(path)) for entry in camera_entries(path)]
    ids = [spec.camera_id for spec in specs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"{path}: cameras {duplicates} appear more than once")
    return specs


def camera_from_sidecar(
    sidecar: dict[str, Any], camera_id: str, video: Path, times: dict[RuleKind, RuleTimes] | None = None,
    interval_s: float = 2.0, start: dt.datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A camera entry for a generated video, from its sidecar's zones: zone A, each shop strip and the site."""
    times = times or DEFAULT_TIMES
    zones: list[dict[str, Any]] = []
    rules: list[dict[str, Any]] = []
    for zone in sidecar["zones"]:
        entry: dict[str, Any] = {"id": zone["id"], "kind": zone["kind"], "polygon": zone["polygon"]}
        if zone["kind"] == "no_vending":
            kinds = [RuleKind.STALL]
        elif zone["kind"] == "shop_strip":
            (start_point, end_point) = zone["shop_front_line"][0], zone["shop_front_line"][-1]
            entry["front_line"] = {"start": start_point, "end": end_point, "street_side": zone["street_side"]}
            entry["subject"] = {"kind": "merchant", "ref": zone["id"]}
            kinds = [RuleKind.CROSS_DOOR]
        else:
            entry["subject"] = {"kind": "site", "ref": zone["id"]}
            kinds = [RuleKind.DUST, RuleKind.BARE_PILE]
        zones.append(entry)
        for kind in kinds:
            rules.append({"id": f"{kind.value}-{zone['id']}", "kind": kind.value, "zones": [zone["id"]]}
                         | times[kind].model_dump())  # fmt: skip
    source: dict[str, Any] = {"url": str(video), "interval_s": interval_s}
    if start is not None:
        source["start"] = start
    return {"camera_id": camera_id, "source": source, "zones": zones, "rules": rules}


def build_pipeline(
    spec: CameraSpec,
    detector: Detector,
    sealer: Sealer,
    emit: EventSink,
    work_dir: Path,
    source: FrameSource | None = None,
    inference_lock: threading.Semaphore | None = None,
    caption_tz: dt.tzinfo | None = None,
    **stream_options: Any,
) -> CameraPipeline:
    """A camera's pipeline from its spec; ``source`` overrides the configured one (pushed frames, tests);
    ``caption_tz`` is the bureau's zone, in which the annotated frames' captions are written (default UTC)."""
    if source is None:
        if spec.pushed or spec.gateway_stream:
            raise ConfigError(f"camera {spec.camera_id}: its source comes from its gateway, which only a server has")
        source = open_source(spec.source, **stream_options)
    return CameraPipeline(
        camera_id=spec.camera_id,
        source=source,
        detector=detector,
        tracker=Tracker(spec.tracker),
        rules=RuleEngine(spec.zones, spec.rules, detector.class_names),
        sealer=sealer,
        emit=emit,
        work_dir=work_dir,
        capture_config=spec.capture if caption_tz is None else dataclasses.replace(spec.capture, caption_tz=caption_tz),
        queue_size=spec.queue_size,
        drop_policy=spec.drop_policy,
        inference_lock=inference_lock,
        static_objects=_static_objects(spec, detector.class_names),
    )


def same_source(old: CameraSpec, new: CameraSpec) -> bool:
    """Whether a new configuration keeps the camera's source as it is (a running pipeline can take the rest)."""
    keep = ("source", "queue_size", "drop_policy")
    return old.raw.model_dump(include=set(keep)) == new.raw.model_dump(include=set(keep))


def reconfiguration(
    spec: CameraSpec, class_names: tuple[str, ...], caption_tz: dt.tzinfo | None = None
) -> Reconfiguration:
    """What a running pipeline of the same source takes from a camera's new configuration."""
    capture = spec.capture if caption_tz is None else dataclasses.replace(spec.capture, caption_tz=caption_tz)
    return Reconfiguration(RuleEngine(spec.zones, spec.rules, class_names), Tracker(spec.tracker), capture,
                           _static_objects(spec, class_names))  # fmt: skip


def _static_objects(spec: CameraSpec, class_names: tuple[str, ...]) -> StaticObjects | None:
    """The camera's static-object path, when a rule asks for it; the detector's people and vehicles are masked."""
    if not spec.watches_static_objects:
        return None
    masked = tuple(class_names.index(name) for name in ("person", "vehicle") if name in class_names)
    return StaticObjects(StaticObjectConfig(), masked)
