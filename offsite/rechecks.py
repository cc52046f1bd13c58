"""The automatic re-check: once a notice's rectification deadline has passed, the service looks again at the same
camera and zone and notes what it saw on the case, for the officer to confirm.

The look is a fresh detector → tracker → rule pass over a window of the camera's frames (``vision.recheck``); the
camera's source comes from the camera configuration the service runs (a live stream is watched from now on; a file
plays as if its first frame were captured now).

The key frames are sealed as evidence through ``Seal``: in one process (``offsite serve --cameras``) by the evidence
store this process writes; in a cluster by the sealer, the log's single writer, which ``offsite scheduler`` asks
(``offsite.cluster.sealing``).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2

from cases.model.case import Case
from evidence_store.store import ItemIn
from offsite.bootstrap import Components
from offsite.parts import Seal
from vision.config import CameraSpec
from vision.detector import OnnxDetector
from vision.frames import Frame
from vision.recheck import recheck
from vision.rules import RuleEngine
from vision.sources import open_source

log = logging.getLogger("offsite.rechecks")


def sealing_here(components: Components) -> Seal:
    """Sealed as this process seals (its own evidence store, where it is the log's writer: ``serve --cameras``)."""
    return components.seal


def _seal_key_frames(
    seal: Seal, case: Case, camera_id: str, zone_id: str, frames: tuple[Frame, ...]
) -> dict[str, object]:
    """The re-check's key frames as JPEGs in a sealed package; the names the case page shows, in order."""
    names = [f"recheck-{n}.jpg" for n in range(1, len(frames) + 1)]
    with tempfile.TemporaryDirectory() as scratch:
        items = []
        for name, frame in zip(names, frames, strict=True):
            path = Path(scratch) / name
            path.write_bytes(cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
            items.append(ItemIn(name, "image/jpeg", path))
        context = {"purpose": "automatic_recheck", "case_id": case.id, "camera_id": camera_id, "zone_id": zone_id,
                   "frames_captured_at": [frame.ts.isoformat() for frame in frames]}  # fmt: skip
        package_id = seal(items, context)
    return {"frames_package_id": package_id, "frames": names}


@dataclass(frozen=True)
class AutomaticRecheck:
    case_id: int
    camera_id: str
    zone_id: str
    present: bool | None  # None: the camera could not be looked at (why is in ``problem``)
    problem: str | None = None


def run_due_rechecks(
    components: Components,
    detector: OnnxDetector,
    camera_of: Callable[[str], CameraSpec | None],
    window_s: float = 60.0,
    seal: Seal | None = None,
    stop: threading.Event | None = None,
) -> list[AutomaticRecheck]:
    """Re-check every case whose rectification deadline has passed; one camera's failure never stops the rest.

    ``seal``: how the key frames are sealed (by default, this process's evidence store). ``stop``: asked to stop,
    the round ends before the next case (a case whose key frames could not be sealed is not noted: the next round
    looks at it again)."""
    seal = seal or sealing_here(components)
    done = []
    for case in components.cases.due_for_automatic_recheck():
        if stop is not None and stop.is_set():
            break
        try:
            done.append(_recheck_case(components, detector, camera_of, case, window_s, seal))
        except Exception as exc:  # a camera offline or misconfigured: the officer inspects on site instead
            log.error("case %s: automatic re-check failed: %s", case.id, exc)
    return done


def _recheck_case(
    components: Components,
    detector: OnnxDetector,
    camera_of: Callable[[str], CameraSpec | None],
    case: Case,
    window_s: float,
    seal: Seal,
) -> AutomaticRecheck:
    assert case.id is not None
    camera = components.registry.get_camera(case.camera_id)
    zone = components.registry.get_zone(case.zone_id)
    spec = camera_of(camera.device_id)
    if spec is None or spec.pushed or spec.gateway_stream:
        problem = "the service does not pull this camera's footage"
        log.warning("case %s: no automatic re-check: %s", case.id, problem)
        return AutomaticRecheck(case.id, camera.device_id, zone.code, None, problem)
    rule = next(
        (r for r in spec.rules if r.violation_code == case.violation_code and zone.code in r.zones),
        None,
    )
    if rule is None:
        problem = f"camera {camera.device_id} has no rule for {case.violation_code} in zone {zone.code}"
        log.warning("case %s: no automatic re-check: %s", case.id, problem)
        return AutomaticRecheck(case.id, camera.device_id, zone.code, None, problem)
    at = components.clock.now()
    source = open_source(dataclasses.replace(spec.source, start=at))
    engine = RuleEngine(spec.zones, spec.rules, detector.class_names)
    result = recheck(source, detector, engine, rule.rule_id, zone.code, at, window_s, spec.source.interval_s)
    details = {
        "camera_id": camera.device_id,
        "zone_id": zone.code,
        "rule_id": rule.rule_id,
        "looked_from": at.isoformat(),
        "window_s": result.window_s,
        "seen_s": result.seen_s,
        "frames_checked": result.frames_checked,
        "median_score": None if result.median_score is None else round(result.median_score, 4),
        "model_sha256": detector.manifest.sha256,
    }
    if result.key_frames:  # sealed like any evidence, so the officer sees what the machine saw
        details |= _seal_key_frames(seal, case, camera.device_id, zone.code, result.key_frames)
    components.cases.note_automatic_recheck(case.id, case.version, result.present, details)
    log.info("case %s: automatic re-check of %s/%s: present=%s", case.id, camera.device_id, zone.code, result.present)
    return AutomaticRecheck(case.id, camera.device_id, zone.code, result.present)
