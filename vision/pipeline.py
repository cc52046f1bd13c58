"""The camera pipeline, from frames to violation events with their evidence; and the runner for many cameras.

Per camera, two threads joined by a bounded queue (Frigate's capture → detect split):
- the *reader* pulls frames from the source (decoding only what the sampling needs) into the queue;
- the *analyser* takes them out: detect → track → rules; keeps key frames of each occurrence going on; when one is
  confirmed, waits for the clip's post-seconds, captures the evidence, has it sealed, and emits the event.
A full queue follows the camera's drop policy: a live stream drops its oldest frame (the newest wins, and the drop is
counted), a file blocks the reader (no frame is lost when nothing is live). One camera's failure is logged, counted
and marks that camera failed; the others go on (``offsite.cameras.CameraSupervisor`` restarts a failed camera). ``Runner.stop()`` closes the sources, lets the analysers finish what is
queued and pending, and joins the threads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

import numpy as np

from vision.capture import CaptureConfig, CapturedEvidence, KeyFrameKeeper, SeenBox, capture
from vision.clips import ClipBuffer, FrameClipBuffer
from vision.detections import Detections
from vision.events import ViolationEvent
from vision.frames import Frame, FrameSource, Image
from vision.recent_frames import RecentFrames
from vision.rules import STATIC_CLASS, Confirmation, Occurrence, PresenceLog, RuleEngine, Step
from vision.shadow import ShadowLane
from vision.static_objects import StaticObjects, as_detections
from vision.tracking import Tracker

log = logging.getLogger("offsite.vision.pipeline")


class Detector(Protocol):
    class_names: tuple[str, ...]

    def detect(self, frame: Image) -> Detections: ...


class Sealer(Protocol):
    """Seals captured evidence and answers the package id (the evidence store's job)."""

    def seal(self, evidence: CapturedEvidence) -> str: ...


EventSink = Callable[[ViolationEvent, CapturedEvidence], None]


class DropPolicy(StrEnum):
    DROP_OLDEST = "drop_oldest"  # live: the newest frame wins
    BLOCK = "block"  # files: the reader waits


@dataclass
class CameraMetrics:
    frames_in: int = 0
    frames_dropped: int = 0
    frames_analysed: int = 0
    frames_stale: int = 0  # older than a frame already analysed (a camera clock stepping back): skipped
    inference_ms_total: float = 0.0
    events: int = 0
    evidence_failures: int = 0
    failures: int = 0  # times the reader or the analyser stopped on an error
    restarts: int = 0  # times a supervisor started the camera afresh after a failure
    online: bool = False
    failed: str | None = None  # why the camera stopped, when it did

    @property
    def inference_ms_mean(self) -> float:
        return self.inference_ms_total / self.frames_analysed if self.frames_analysed else 0.0


@dataclass
class _Pending:
    confirmation: Confirmation
    keeper: KeyFrameKeeper
    due: dt.datetime  # when the clip's post-seconds have been recorded
    clips: ClipBuffer | None  # the buffer of the connection that saw it (a reconnect brings a new one)


@dataclass(frozen=True)
class Reconfiguration:
    """What a camera's new configuration changes in its running pipeline."""

    rules: RuleEngine
    tracker: Tracker
    capture_config: CaptureConfig
    static_objects: StaticObjects | None


@dataclass
class CameraPipeline:
    camera_id: str
    source: FrameSource
    detector: Detector
    tracker: Tracker
    rules: RuleEngine
    sealer: Sealer
    emit: EventSink
    work_dir: Path
    capture_config: CaptureConfig = field(default_factory=CaptureConfig)
    queue_size: int = 4
    drop_policy: DropPolicy = DropPolicy.DROP_OLDEST
    inference_lock: threading.Semaphore | None = None  # shared by cameras: at most N inferences at once
    metrics: CameraMetrics = field(default_factory=CameraMetrics)
    presence: PresenceLog = field(default_factory=PresenceLog)  # for re-checks of past moments
    static_objects: StaticObjects | None = None  # the second path: new objects that stay, for the zones that ask
    shadow: ShadowLane | None = None  # a candidate model beside the active one: its findings recorded, not raised
    recent: RecentFrames | None = None  # a frame now and then, kept a while for "missed violation" labels

    def __post_init__(self) -> None:
        if self.queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._queue: queue.Queue[Frame | None] = queue.Queue(self.queue_size)
        self._keepers: dict[int, KeyFrameKeeper] = {}
        self._pending: list[_Pending] = []
        self._frame_clips: FrameClipBuffer | None = None
        self._stopping = threading.Event()
        self._last_ts: dt.datetime | None = None
        self._next: Reconfiguration | None = None  # a new configuration, taken up before the next frame

    # -- reader ------------------------------------------------------------------------------------------------------

    def read(self) -> None:
        """Pull frames into the queue until the source ends or is closed; always ends the queue."""
        if hasattr(self.source, "on_status") and getattr(self.source, "on_status", None) is None:
            self.source.on_status = self._status  # a stream tells when it goes offline and back
        try:
            for frame in self.source.frames():
                self.metrics.frames_in += 1
                self.metrics.online = True
                self._enqueue(frame)
                if self._stopping.is_set():
                    break
        except Exception as exc:  # isolate this camera: record why, let the others run
            self._failed(exc)
            log.error("camera %s stopped on an error reading its source: %s", self.camera_id, self.metrics.failed)
        finally:
            self.metrics.online = False
            self._queue.put(None)

    def _failed(self, exc: Exception) -> None:
        """Record why the camera stopped; the reader and the analyser stopping on one fault count as one failure."""
        if self.metrics.failed is None:
            self.metrics.failures += 1
            self.metrics.failed = f"{exc.__class__.__name__}: {exc}"

    def _status(self, camera_id: str, online: bool, reason: str) -> None:
        self.metrics.online = online

    def _enqueue(self, frame: Frame) -> None:
        if self.drop_policy is DropPolicy.BLOCK:
            while not self._stopping.is_set():
                try:
                    self._queue.put(frame, timeout=0.2)
                    return
                except queue.Full:
                    continue
            return
        while True:
            try:
                self._queue.put_nowait(frame)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.metrics.frames_dropped += 1
                except queue.Empty:
                    pass

    # -- analyser ----------------------------------------------------------------------------------------------------

    def analyse_all(self) -> None:
        """Analyse queued frames until the reader ends the queue; then flush what is pending."""
        last: Frame | None = None
        try:
            while (frame := self._queue.get()) is not None:
                self.analyse(frame)
                last = frame
        except Exception as exc:
            self._failed(exc)
            log.exception("camera %s stopped on an error in its analysis", self.camera_id)
            self.source.close()
            while self._queue.get() is not None:  # let the reader finish
                pass
        finally:
            self.finish(last)

    def analyse(self, frame: Frame) -> Step | None:
        """One frame through detect → track → rules; None when the frame is older than one already analysed."""
        if self._last_ts is not None and frame.ts < self._last_ts:
            self.metrics.frames_stale += 1  # rules reason forward in time: a frame from the past is skipped
            return None
        self._last_ts = frame.ts
        self._take_up_reconfiguration()
        detections = self._detect(frame)
        self._keep_recent(frame, detections)
        tracked = self.tracker.update(detections)
        if self.static_objects is not None:
            tracked = self._with_static_objects(frame, detections, tracked)
        step = self.rules.observe(frame.ts, tracked, frame.size)
        self.metrics.frames_analysed += 1
        if self._clip_buffer() is self._frame_clips and self._frame_clips is not None:
            self._frame_clips.add(frame)
        seen: tuple[SeenBox, ...] | None = None  # made once a frame is kept
        for occurrence in step.seen:
            self.presence.seen(occurrence)
            if occurrence.last_sighting is not None and occurrence.confirmed_at is None:
                seen = self._seen(detections) if seen is None else seen
                self._keeper(occurrence).offer(frame, occurrence.last_sighting, seen)
        for confirmation in step.confirmed:
            keeper = self._keepers[confirmation.occurrence_id]
            seen = self._seen(detections) if seen is None else seen
            keeper.confirm(frame, confirmation.confirming_sighting, seen)
            due = confirmation.confirmed_at + dt.timedelta(seconds=self.capture_config.post_s)
            self._pending.append(_Pending(confirmation, keeper, due, self._clip_buffer()))
        for occurrence in step.ended:
            self.presence.ended(occurrence)
            if not any(p.confirmation.occurrence_id == occurrence.occurrence_id for p in self._pending):
                self._keepers.pop(occurrence.occurrence_id, None)
        self._complete_due(frame.ts)
        self._shadow(frame)
        return step

    def reconfigure(self, change: Reconfiguration) -> None:
        """A new configuration of the same source (zones, rules, tracking, capture), taken up by the analysing thread
        before its next frame: no frame is lost, and what the rules were watching carries on where a rule and zone
        stay (``RuleEngine.carry_on_from``). Evidence being captured finishes as it began."""
        self._next = change

    def _take_up_reconfiguration(self) -> None:
        change, self._next = self._next, None
        if change is None:
            return
        change.rules.carry_on_from(self.rules)
        self.rules, self.capture_config = change.rules, change.capture_config
        if change.tracker.config != self.tracker.config:  # else the tracks go on as they were
            self.tracker = change.tracker
        self.static_objects = change.static_objects
        watched = {o.occurrence_id for o in self.rules.active.values()} | {
            p.confirmation.occurrence_id for p in self._pending
        }  # the key frames of what carries on, and of evidence being captured, stay
        self._keepers = {key: keeper for key, keeper in self._keepers.items() if key in watched}
        log.info("camera %s: new configuration taken up", self.camera_id)

    def _keep_recent(self, frame: Frame, detections: Detections) -> None:
        """A frame now and then for the operators' "missed violation" labels; a full disk never stops the camera."""
        if self.recent is None:
            return
        model = getattr(getattr(self.detector, "manifest", None), "sha256", None)  # the model that saw the frame
        try:
            self.recent.offer(frame, lambda: self._seen(detections), model)
        except OSError:
            log.exception("camera %s: a recent frame could not be kept; the camera goes on", self.camera_id)

    def _shadow(self, frame: Frame) -> None:
        """The shadow model on the same frame; its failure is logged and ends the shadow, never the camera."""
        lane = self.shadow
        if lane is None:
            return
        try:
            if self.inference_lock is None:
                lane.observe(frame)
            else:
                with self.inference_lock:
                    lane.observe(frame)
        except Exception:
            log.exception("camera %s: the shadow model failed; it stops, the camera goes on", self.camera_id)
            self.shadow = None

    def _with_static_objects(self, frame: Frame, detections: Detections, tracked: Detections) -> Detections:
        """The tracked detections plus what the static-object path finds staying (untracked: tracker id -1)."""
        assert self.static_objects is not None
        found = as_detections(
            self.static_objects.update(frame.ts, frame.image, detections), self.rules.class_names.index(STATIC_CLASS)
        )
        return tracked.plus(found.with_tracker_ids(np.full(len(found), -1, np.int64)))

    def _seen(self, detections: Detections) -> tuple[SeenBox, ...]:
        """The detector's boxes as kept with a key frame (by class name)."""
        names = self.rules.class_names
        return tuple(
            SeenBox(names[int(c)], float(s), (float(x1), float(y1), float(x2), float(y2)))
            for (x1, y1, x2, y2), s, c in zip(detections.xyxy, detections.confidence, detections.class_id, strict=True)
        )

    def _detect(self, frame: Frame) -> Detections:
        started = time.perf_counter()
        if self.inference_lock is None:
            detections = self.detector.detect(frame.image)
        else:
            with self.inference_lock:
                detections = self.detector.detect(frame.image)
        self.metrics.inference_ms_total += (time.perf_counter() - started) * 1000
        return detections

    def _keeper(self, occurrence: Occurrence) -> KeyFrameKeeper:
        return self._keepers.setdefault(occurrence.occurrence_id, KeyFrameKeeper())

    def _clip_buffer(self) -> ClipBuffer | None:
        buffer: ClipBuffer | None = getattr(self.source, "clip_buffer", None)
        if buffer is not None:
            return buffer
        if self._frame_clips is None:  # a source without packets (pushed JPEGs): keep decoded frames instead
            keep = self.capture_config.pre_s + self.capture_config.post_s + 5
            self._frame_clips = FrameClipBuffer(keep)
        return self._frame_clips

    def _complete_due(self, now: dt.datetime, force: bool = False) -> None:
        still: list[_Pending] = []
        for pending in self._pending:
            covered = pending.clips.covered_until if pending.clips is not None else None
            recorded = covered is not None and covered >= pending.due
            if force or recorded or now >= pending.due + dt.timedelta(seconds=30):
                self._complete(pending, pending.clips)
            else:
                still.append(pending)
        self._pending = still

    def _complete(self, pending: _Pending, clips: ClipBuffer | None) -> None:
        confirmation = pending.confirmation
        folder = Path(tempfile.mkdtemp(prefix="capture-", dir=self.work_dir))
        try:
            evidence = capture(
                self.camera_id, confirmation, pending.keeper, clips, self.capture_config, folder / "items"
            )
            package_id = self.sealer.seal(evidence)
            self.emit(self._event(confirmation, package_id), evidence)
            self.metrics.events += 1
        except Exception:  # a failed capture or seal loses this event's evidence, never the camera
            self.metrics.evidence_failures += 1
            log.exception("camera %s: evidence for %s failed", self.camera_id, confirmation.rule.rule_id)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            self._keepers.pop(confirmation.occurrence_id, None)

    def _event(self, confirmation: Confirmation, package_id: str) -> ViolationEvent:
        return ViolationEvent(
            event_id=event_id(self.camera_id, confirmation),
            camera_id=self.camera_id,
            zone_id=confirmation.zone.zone_id,
            rule_id=confirmation.rule.rule_id,
            violation_code=confirmation.rule.violation_code,
            subject=confirmation.zone.subject,
            first_seen=confirmation.first_seen,
            last_seen=confirmation.confirmed_at,
            evidence_package_id=package_id,
            confidence=round(min(1.0, max(0.0, confirmation.median_score)), 4),
        )

    def finish(self, last: Frame | None) -> None:
        """The source has ended: complete every pending capture with what was recorded."""
        self._complete_due(last.ts if last is not None else dt.datetime.now(dt.UTC), force=True)
        for occurrence in self.rules.finish():
            self.presence.ended(occurrence)
        self.source.close()

    def stop(self) -> None:
        self._stopping.set()
        self.source.close()


def event_id(camera_id: str, confirmation: Confirmation) -> str:
    """Stable for one occurrence: the same camera, rule, zone and first sighting give the same id."""
    rule, zone = confirmation.rule.rule_id, confirmation.zone.zone_id
    return occurrence_event_id(camera_id, rule, zone, confirmation.first_seen.isoformat())


def occurrence_event_id(camera_id: str, rule_id: str, zone_id: str, first_seen_iso: str) -> str:
    """The event id of an occurrence from its parts as sealed with its evidence (first seen in ISO 8601)."""
    key = f"{camera_id}|{rule_id}|{zone_id}|{first_seen_iso}"
    return "ev-" + hashlib.sha256(key.encode()).hexdigest()[:32]


class Runner:
    """Runs many camera pipelines: two threads each, failures isolated, one shared limit on inference."""

    def __init__(self, pipelines: list[CameraPipeline]) -> None:
        ids = [p.camera_id for p in pipelines]
        if len(set(ids)) != len(ids):
            raise ValueError("two pipelines watch the same camera")
        self.pipelines = {p.camera_id: p for p in pipelines}
        self._threads: dict[str, list[threading.Thread]] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        for pipeline in list(self.pipelines.values()):
            self._start(pipeline)

    def _start(self, pipeline: CameraPipeline) -> None:
        threads = [
            threading.Thread(target=target, name=f"{pipeline.camera_id}-{role}", daemon=True)
            for role, target in (("read", pipeline.read), ("analyse", pipeline.analyse_all))
        ]
        with self._lock:  # started under the lock: a thread that `wait` sees has always been started
            self._threads[pipeline.camera_id] = threads
            for thread in threads:
                thread.start()

    def replace(self, pipeline: CameraPipeline, timeout_s: float = 30.0) -> None:
        """Stop the camera's running pipeline, if any, and start this one in its place (a new stream address)."""
        old = self.pipelines.get(pipeline.camera_id)
        if old is not None:
            old.stop()
            for thread in self._threads.get(pipeline.camera_id, []):
                thread.join(timeout_s)
        self.pipelines[pipeline.camera_id] = pipeline
        self._start(pipeline)

    def remove(self, camera_id: str, timeout_s: float = 30.0) -> bool:
        """Stop the camera's pipeline and forget it (the camera runs elsewhere now); True when its threads ended."""
        pipeline = self.pipelines.pop(camera_id, None)
        if pipeline is None:
            return True
        pipeline.stop()
        with self._lock:
            threads = self._threads.pop(camera_id, [])
        for thread in threads:
            thread.join(timeout_s)
        return not any(thread.is_alive() for thread in threads)

    def running(self, camera_id: str) -> bool:
        """Whether any thread of the camera's pipeline is still alive."""
        with self._lock:
            return any(thread.is_alive() for thread in self._threads.get(camera_id, []))

    def _all_threads(self) -> list[threading.Thread]:
        with self._lock:
            return [thread for threads in self._threads.values() for thread in threads]

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for every source to end; True when all threads finished within the timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for thread in self._all_threads():
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
        return not any(thread.is_alive() for thread in self._all_threads())

    def stop(self, timeout_s: float = 30.0) -> bool:
        for pipeline in list(self.pipelines.values()):
            pipeline.stop()
        return self.wait(timeout_s)

    def metrics(self) -> dict[str, CameraMetrics]:
        return {camera_id: p.metrics for camera_id, p in self.pipelines.items()}
