"""Wiring the camera pipelines: the configured cameras, the detector, the evidence store and the detection intake.

Each confirmed violation's evidence is sealed into the evidence store with its context (camera, zone, rule, times,
the model's SHA-256 and the hash of the camera's rules), and the event becomes a detection pending review.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from cases.services.detections import DetectionService
from cases.services.registry import RegistryService
from evidence_store.store import EvidenceStore, ItemIn
from vision.capture import CapturedEvidence
from vision.config import CameraSpec, build_pipeline, reconfiguration, same_source
from vision.detector import OnnxDetector
from vision.events import ViolationEvent
from vision.frames import FrameSource
from vision.pipeline import CameraMetrics, CameraPipeline, EventSink, Runner, event_id
from vision.pushed import FrameIntake
from vision.recent_frames import RecentFrames
from vision.rules import RuleEngine
from vision.shadow import ShadowFinding, ShadowLane
from vision.sources import Backoff, open_source
from vision.tracking import Tracker

if TYPE_CHECKING:
    from offsite.parts import ReleaseParts
    from offsite.settings import Settings

log = logging.getLogger("offsite.cameras")
# A failed camera waits 1 s before its first restart, then twice as long each time it fails again, at most a minute;
# a pipeline that ran HEALTHY_AFTER_S since its restart starts afresh at 1 s.
RESTART_BACKOFF = Backoff(first_s=1.0, factor=2.0, max_s=60.0)
HEALTHY_AFTER_S = 300.0
WATCH_INTERVAL_S = 0.1


def rules_hash(spec: CameraSpec) -> str:
    """SHA-256 of the camera's zones and rules as configured: sealed with every package they produced."""
    raw = spec.raw.model_dump(mode="json", include={"camera_id", "zones", "rules", "source"})
    raw["source"] = {k: v for k, v in raw["source"].items() if k in ("interval_s", "decode")}
    return hashlib.sha256(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass
class EvidenceContext:
    """What a package says of the finding it holds: the event, the model and rules that made it, the camera's
    certification, who produced it. The same whether this process seals or a sealer elsewhere does."""

    model_name: str
    model_sha256: str
    rules_sha256: dict[str, str]  # camera id → hash of its rules
    certification: Callable[[str], dict[str, Any]] | None = None  # the camera's review, as the registry has it
    producer: str = field(default_factory=lambda: f"offsite {version('offsite')}")

    def context(self, evidence: CapturedEvidence) -> dict[str, Any]:
        """What a package says of the finding it holds: the event, the model and rules that made it, the camera's
        certification, who produced it."""
        confirmation = evidence.confirmation
        return {
            "event_id": event_id(evidence.camera_id, confirmation),
            "camera_id": evidence.camera_id,
            "zone_id": confirmation.zone.zone_id,
            "rule_id": confirmation.rule.rule_id,
            "violation_code": confirmation.rule.violation_code,
            "subject": {"kind": confirmation.zone.subject.kind.value, "ref": confirmation.zone.subject.ref},
            "first_seen": confirmation.first_seen.isoformat(),
            "confirmed_at": confirmation.confirmed_at.isoformat(),
            "crossed_boundary_at": None if confirmation.crossed_at is None else confirmation.crossed_at.isoformat(),
            "median_score": f"{confirmation.median_score:.4f}",
            "track_ids": list(confirmation.track_ids),
            "model": {"name": self.model_name, "sha256": self.model_sha256},
            "rules_sha256": self.rules_sha256[evidence.camera_id],
            "camera_certification": (
                self.certification(evidence.camera_id) if self.certification else {"registered": False}
            ),
            "producer": self.producer,
            "clip_error": evidence.clip_error,
        }


class CameraSealer(Protocol):
    """What a camera supervisor seals with: the evidence context of its cameras, and ``seal``."""

    model_name: str
    model_sha256: str
    rules_sha256: dict[str, str]

    def seal(self, evidence: CapturedEvidence) -> str: ...


@dataclass
class PipelineSealer(EvidenceContext):
    """Seals a pipeline's captured evidence in this process's evidence store (the single writer of its log)."""

    store: EvidenceStore = field(kw_only=True)

    def seal(self, evidence: CapturedEvidence) -> str:
        items = [ItemIn(item.name, item.media_type, item.path) for item in evidence.items]
        sealed = self.store.seal(items, self.context(evidence))
        log.info(
            "camera %s: sealed package %s (log entry %d)", evidence.camera_id, sealed.package_id, sealed.leaf_index
        )
        return sealed.package_id


def build_runner(
    specs: list[CameraSpec],
    detector: OnnxDetector,
    store: EvidenceStore,
    emit: EventSink,
    work_dir: Path,
    pushed_source: Callable[[str], FrameSource] | None = None,
    inference_slots: int = 1,
    certification: Callable[[str], dict[str, Any]] | None = None,
    *,
    caption_tz: dt.tzinfo,
    recent: Callable[[str], RecentFrames] | None = None,
) -> Runner:
    """One pipeline per camera; pushed cameras read from ``pushed_source(camera_id)``; captions in ``caption_tz``."""
    sealer = PipelineSealer(
        detector.manifest.name,
        detector.manifest.sha256,
        {spec.camera_id: rules_hash(spec) for spec in specs},
        certification,
        store=store,
    )
    slots = threading.Semaphore(inference_slots)
    work_dir.mkdir(parents=True, exist_ok=True)
    pipelines = []
    for spec in specs:
        source = None
        if spec.pushed:
            if pushed_source is None:
                raise ValueError(f"camera {spec.camera_id} takes pushed frames, which only `offsite serve` receives")
            source = pushed_source(spec.camera_id)
        pipeline = build_pipeline(spec, detector, sealer, emit, work_dir, source, inference_lock=slots,
                                  caption_tz=caption_tz)  # fmt: skip
        pipeline.recent = None if recent is None else recent(spec.camera_id)
        pipelines.append(pipeline)
    return Runner(pipelines)


def camera_intake(detections: DetectionService, registry: RegistryService) -> Callable[[ViolationEvent], object]:
    """How a pipeline's events enter the case system: its evidence is sealed already and nobody waits for an
    answer, so an event in a zone the registry lacks is kept as a detection flagged 区域未登记, never dropped."""

    def intake(event: ViolationEvent) -> object:
        detection, created = detections.intake(event, registry, flag_unknown_zone=True)
        if created and detection.zone_id is None:
            log.warning("camera %s: zone %s is not in the registry; detection %s waits in review flagged 区域未登记",
                        event.camera_id, event.zone_id, detection.id)  # fmt: skip
        return detection

    return intake


def intake_sink(intake: Callable[[ViolationEvent], object]) -> EventSink:
    """An event sink recording each event as a detection pending review; a refused event is logged, not fatal."""

    def emit(event: ViolationEvent, evidence: CapturedEvidence) -> None:
        try:
            intake(event)
            log.info("camera %s: %s in zone %s → detection", event.camera_id, event.violation_code, event.zone_id)
        except Exception as exc:  # an unregistered camera or zone must not stop the camera
            log.error("camera %s: event %s refused by the case system: %s", event.camera_id, event.event_id, exc)

    return emit


@dataclass
class _Revival:
    """One camera's way back from failures: the waits still to come, and when the next restart is due."""

    delays: Iterator[float]
    started_at: float  # monotonic time its current pipeline started
    due_at: float | None = None  # monotonic time of the restart that is waiting


class CameraSupervisor:
    """The server's camera pipelines (``offsite serve --cameras FILE``).

    A camera configured with ``url: push`` reads the frames its gateway pushes; one with ``url: gateway`` pulls the
    stream address its gateway registered, and is restarted when the gateway registers a new one; any other
    address is pulled as configured. Events become detections pending review.

    A camera whose pipeline stopped on an error (a stage raised, its source failed) is never left dead: a watcher
    builds it afresh after a wait that grows with each failure in a row (``restart_backoff``), logs why, and
    carries its counters over, ``failures`` and ``restarts`` included (in /metrics). A pushed camera answers
    ``409 no_pipeline`` only during that wait. The others run on meanwhile.
    """

    def __init__(
        self,
        specs: list[CameraSpec],
        detector: OnnxDetector,
        store: EvidenceStore | None,
        emit: EventSink,
        work_dir: Path,
        frames: FrameIntake,
        registered_stream: Callable[[str], tuple[str | None, float | None]],
        inference_slots: int = 1,
        certification: Callable[[str], dict[str, Any]] | None = None,
        restart_backoff: Backoff = RESTART_BACKOFF,
        *,
        caption_tz: dt.tzinfo,
        recent: Callable[[str], RecentFrames] | None = None,
        sealer: CameraSealer | None = None,
    ) -> None:
        """``store`` seals here; a worker of a cluster gives no store and its own ``sealer`` (``StoringSealer``)."""
        self.specs = {spec.camera_id: spec for spec in specs}
        self.caption_tz = caption_tz  # the bureau's zone: annotated frames are captioned in local time
        self.recent = recent  # each camera's recent frames, for "missed violation" labels
        self.detector, self.store, self.emit, self.work_dir = detector, store, emit, work_dir
        self.frames = frames
        self.registered_stream = registered_stream
        if sealer is None:
            if store is None:
                raise ValueError("a camera supervisor needs an evidence store or a sealer")
            sealer = PipelineSealer(detector.manifest.name, detector.manifest.sha256, {}, certification, store=store)
        sealer.rules_sha256.update({s.camera_id: rules_hash(s) for s in specs})
        self.sealer: CameraSealer = sealer
        self.slots = threading.Semaphore(inference_slots)
        self.runner = Runner([])
        self.waiting: set[str] = set()  # gateway-stream cameras whose gateway has registered no address yet
        self._restart_lock = threading.Lock()
        self.restart_backoff = restart_backoff
        self._revivals: dict[str, _Revival] = {}
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="camera-watcher", daemon=True)
        self.shadow_detector: OnnxDetector | None = None  # a candidate beside the active model (shadow mode)
        self.shadow_record: Callable[[ShadowFinding], None] | None = None
        work_dir.mkdir(parents=True, exist_ok=True)

    def _pipeline(self, spec: CameraSpec) -> CameraPipeline | None:
        source: FrameSource | None = None
        if spec.pushed:
            source = self.frames.open(spec.camera_id, capacity=spec.queue_size)
        elif spec.gateway_stream:
            url, interval = self.registered_stream(spec.camera_id)
            if url is None:
                return None
            config = dataclasses.replace(spec.source, url=url, interval_s=interval or spec.source.interval_s)
            source = open_source(config)
        pipeline = build_pipeline(
            spec, self.detector, self.sealer, self.emit, self.work_dir, source, inference_lock=self.slots,
            caption_tz=self.caption_tz,
        )  # fmt: skip
        pipeline.shadow = self._lane(spec.camera_id)
        pipeline.recent = None if self.recent is None else self.recent(spec.camera_id)
        return pipeline

    def start(self) -> None:
        for spec in self.specs.values():
            pipeline = self._pipeline(spec)
            if pipeline is None:
                self.waiting.add(spec.camera_id)
                log.warning("camera %s waits for its gateway to register a stream address", spec.camera_id)
            else:
                self.runner.replace(pipeline)
        self._watcher.start()

    def stream_changed(self, camera_id: str, wait: bool = False) -> bool:
        """The gateway registered a new address: (re)start the camera's pipeline on it, on a thread of its own
        so the gateway's request does not wait for the old stream to close. True when a restart was started."""
        spec = self.specs.get(camera_id)
        if spec is None or not spec.gateway_stream:
            return False
        thread = threading.Thread(target=self._restart, args=(spec,), name=f"{camera_id}-restart", daemon=True)
        thread.start()
        if wait:
            thread.join()
        return True

    def reconfigure(self, spec: CameraSpec, resume: dict[str, Any] | None = None) -> None:
        """A camera's new configuration, taken up without a restart: on the same source, the running pipeline takes
        its zones, rules, tracking and capture before its next frame (no frame lost, what it watched carried on);
        on a new source, a pipeline is built on it and replaces the running one, its counters and what it saw kept;
        a camera new to the supervisor starts."""
        with self._restart_lock:
            earlier = self.specs.get(spec.camera_id)
            self.specs[spec.camera_id] = spec
            self.sealer.rules_sha256[spec.camera_id] = rules_hash(spec)
            old = self.runner.pipelines.get(spec.camera_id)
            if old is not None and earlier is not None and same_source(earlier, spec) and old.metrics.failed is None:
                old.reconfigure(reconfiguration(spec, self.detector.class_names, self.caption_tz))
                return  # the same source: the running pipeline takes the rest up before its next frame
            pipeline = self._pipeline(spec)
            if pipeline is None:
                self.waiting.add(spec.camera_id)
                return
            if resume is not None:  # a camera taken over from another worker: what it raised is not raised again
                pipeline.rules.resume(resume)
            if old is not None:
                pipeline.metrics = dataclasses.replace(old.metrics, failed=None)
                pipeline.presence = old.presence
            self.waiting.discard(spec.camera_id)
            self.runner.replace(pipeline)

    def remove(self, camera_id: str, timeout_s: float = 30.0) -> bool:
        """Stop the camera and forget it: it runs elsewhere now (its lease went to another worker)."""
        with self._restart_lock:
            self.specs.pop(camera_id, None)
            self.waiting.discard(camera_id)
            self._revivals.pop(camera_id, None)
            return self.runner.remove(camera_id, timeout_s)

    def _restart(self, spec: CameraSpec) -> None:
        with self._restart_lock:  # one restart at a time: two quick registrations end on the second address
            try:
                pipeline = self._pipeline(spec)
                if pipeline is None:
                    return
                self.waiting.discard(spec.camera_id)
                self.runner.replace(pipeline)
                log.info("camera %s: pulling its newly registered stream", spec.camera_id)
            except Exception:  # the request has been answered: a failed restart is logged, the others run on
                log.exception("camera %s: restarting on the new stream failed", spec.camera_id)

    # -- failed cameras come back ------------------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_INTERVAL_S):
            for camera_id in list(self.runner.pipelines):
                try:
                    self._revive_if_failed(camera_id)
                except Exception:  # a restart that failed is tried again after the next, longer wait
                    log.exception("camera %s: restarting after its failure failed", camera_id)

    def _revive_if_failed(self, camera_id: str) -> None:
        pipeline = self.runner.pipelines.get(camera_id)
        if pipeline is None or pipeline.metrics.failed is None or self.runner.running(camera_id):
            return
        now = time.monotonic()
        revival = self._revivals.get(camera_id)
        if revival is None or (revival.due_at is None and now - revival.started_at >= HEALTHY_AFTER_S):
            revival = self._revivals[camera_id] = _Revival(self.restart_backoff.delays(), now)
        if revival.due_at is None:
            wait_s = next(revival.delays)
            revival.due_at = now + wait_s
            log.warning(
                "camera %s stopped (failure %d: %s); restarting in %.1f s",
                camera_id, pipeline.metrics.failures, pipeline.metrics.failed, wait_s,
            )  # fmt: skip
        elif now >= revival.due_at:
            revival.due_at = None
            self._revive(camera_id, pipeline)
            revival.started_at = time.monotonic()

    def _revive(self, camera_id: str, failed: CameraPipeline) -> None:
        """Build the camera's pipeline afresh (a new tracker, rules and source) with the failed one's counters."""
        with self._restart_lock:
            if self._stopping.is_set() or self.runner.pipelines.get(camera_id) is not failed:
                return  # stopping, or a new stream address replaced it meanwhile
            pipeline = self._pipeline(self.specs[camera_id])
            if pipeline is None:
                return
            pipeline.metrics = dataclasses.replace(
                failed.metrics, failed=None, online=False, restarts=failed.metrics.restarts + 1
            )
            pipeline.presence = failed.presence  # what the camera saw before stays answerable for re-checks
            self.runner.replace(pipeline)
        log.warning("camera %s restarted after failure %d", camera_id, pipeline.metrics.failures)

    def use_model(self, detector: OnnxDetector) -> bool:
        """Take up another model without a restart: each running pipeline analyses its next frame with it, and what
        is sealed from then on names it. A model of other classes is refused (the rules count classes by their
        place in the model's list), and False says so."""
        if tuple(detector.class_names) != tuple(self.detector.class_names):
            log.error("model %s names classes %s, not %s: the cameras keep %s", detector.manifest.sha256[:12],
                      list(detector.class_names), list(self.detector.class_names), self.detector.manifest.name)  # fmt: skip
            return False
        with self._restart_lock:
            self.detector = detector
            self.sealer.model_name, self.sealer.model_sha256 = detector.manifest.name, detector.manifest.sha256
            for pipeline in self.runner.pipelines.values():
                pipeline.detector = detector
        log.info("cameras now use model %s (%s)", detector.manifest.name, detector.manifest.sha256[:12])
        return True

    def follow_registry(self, components: ReleaseParts, stop: threading.Event, interval_s: float) -> None:
        """Until ``stop``: take up the registry's newly promoted (or rolled back) model and its shadow model, every
        ``interval_s`` (``offsite serve --cameras`` and a cluster's worker, on a thread of their own)."""
        from offsite.model_registry import follow_active_model

        def shadowing() -> str | None:
            return None if self.shadow_detector is None else self.shadow_detector.manifest.sha256

        follow_active_model(components, self.use_model, lambda: self.detector.manifest.sha256, stop, interval_s,
                            self.use_shadow, shadowing)  # fmt: skip

    def use_shadow(self, detector: OnnxDetector | None, record: Callable[[ShadowFinding], None]) -> bool:
        """Run ``detector`` beside the active model on every camera, its findings given to ``record`` (never sealed,
        never queued); None ends shadow mode. A model of other classes is refused, as for ``use_model``."""
        if detector is not None and tuple(detector.class_names) != tuple(self.detector.class_names):
            log.error("shadow model %s names other classes: not run", detector.manifest.sha256[:12])
            return False
        with self._restart_lock:
            self.shadow_detector, self.shadow_record = detector, record
            for camera_id, pipeline in self.runner.pipelines.items():
                pipeline.shadow = self._lane(camera_id)
        log.info("shadow model: %s", "none" if detector is None else detector.manifest.sha256[:12])
        return True

    def _lane(self, camera_id: str) -> ShadowLane | None:
        if self.shadow_detector is None or self.shadow_record is None:
            return None
        spec = self.specs[camera_id]
        rules = RuleEngine(spec.zones, spec.rules, self.shadow_detector.class_names)
        return ShadowLane(camera_id, self.shadow_detector, Tracker(spec.tracker), rules, self.shadow_record)

    def stop(self, timeout_s: float = 30.0) -> bool:
        self._stopping.set()
        if self._watcher.is_alive():
            self._watcher.join(timeout_s)
        return self.runner.stop(timeout_s)

    def metrics(self) -> dict[str, CameraMetrics]:
        return self.runner.metrics()


def registry_certification(find_camera: Callable[[str], Any]) -> Callable[[str], dict[str, Any]]:
    """The camera's legal and technical review, maintenance and publication as the registry holds them now: sealed
    with its evidence (规定第七、十条), as strings so the manifest stays canonical."""

    def certification(camera_id: str) -> dict[str, Any]:
        try:
            camera = find_camera(camera_id)
        except Exception:  # an unregistered camera's evidence still seals; the review will see it
            return {"registered": False}
        fields = ("legal_review_date", "legal_review_ref", "technical_review_date", "technical_review_ref",
                  "next_maintenance_due")  # fmt: skip
        return {"registered": True, "published": bool(camera.published), "status": str(camera.status)} | {
            name: None if getattr(camera, name) is None else str(getattr(camera, name)) for name in fields
        }

    return certification


def supervisor_of(
    specs: list[CameraSpec],
    detector: OnnxDetector,
    emit: EventSink,
    work_dir: Path,
    *,
    registry: RegistryService,
    frames: FrameIntake,
    settings: Settings,
    store: EvidenceStore | None = None,
    sealer: CameraSealer | None = None,
) -> CameraSupervisor:
    """A camera supervisor wired as every role that runs cameras runs one (``serve --cameras``, a cluster's worker):
    a gateway's registered stream and a camera's certification read from the registry, captions in the bureau's
    zone, recent frames kept as the settings say. It seals into ``store``, or hands its evidence to ``sealer``."""
    from offsite.missed import keeper

    def registered_stream(camera_id: str) -> tuple[str | None, float | None]:
        camera = registry.find_camera(camera_id)
        return camera.stream_url, camera.sample_interval_s

    return CameraSupervisor(
        specs, detector, store, emit, work_dir, frames, registered_stream,
        certification=registry_certification(registry.find_camera), caption_tz=settings.tz,
        recent=keeper(settings), sealer=sealer,
    )  # fmt: skip
