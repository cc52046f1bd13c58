"""The model registry's files and its gate (issue 15): a model is registered by the SHA-256 of its file, kept in the
model store beside its manifest, and promoted only when the gate (``vision.model_gate``) finds it better than the
active model on the golden set and no worse on the real photos. The shipped model is the first active one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cases.errors import Conflict, NotFound
from cases.messages import Term, detector_class
from cases.model.detector_release import DetectorRelease, GateAction, ReleaseStatus
from cases.services.base import Actor
from offsite.parts import ReleaseParts
from offsite.settings import SHIPPED_MODEL
from vision.detector import DetectorConfig, OnnxDetector
from vision.manifest import ModelManifest, manifest_path_for
from vision.manifest import sha256_of as file_sha256
from vision.model_gate import (
    DEFAULT_MARGIN,
    GOLDEN,
    GOLDEN_CLASSES,
    Exam,
    GoldenSetError,
    Reason,
    Verdict,
    judge,
    read_golden,
    sit,
)
from vision.real_eval import onnx_predictor
from vision.real_photos import read_folder
from vision.shadow import Raised, ShadowComparison, ShadowFinding, compare

log = logging.getLogger("offsite.models")


class RegistryError(ValueError):
    """A model file the registry cannot take: which file, and why."""


class NotInStore(RegistryError):
    """A registered model whose file this machine's model store lacks (a store not shared with it, or a file
    removed by hand)."""


def told(reason: Reason) -> Term:
    """A gate's reason as the catalogue tells it, the exam and the class named in the reader's language."""
    params = {**reason.params, "exam": Term(f"term.gate.exam.{reason.params['exam']}")}
    if "class_name" in params:
        params["class_name"] = detector_class(str(params["class_name"]))
    return Term(reason.key, params)


def store(model: Path, model_store: Path) -> tuple[str, str, ModelManifest]:
    """Copy a model file and its manifest into the store under its hash; (sha256, path in the store, manifest).
    The manifest must describe this very file."""
    manifest_file = manifest_path_for(model)
    if not model.is_file():
        raise RegistryError(f"{model} does not exist")
    if not manifest_file.is_file():
        raise RegistryError(f"{model} has no manifest ({manifest_file.name}) naming its classes and thresholds")
    manifest = ModelManifest.read(manifest_file)
    sha256 = file_sha256(model)
    if manifest.sha256 != sha256:
        raise RegistryError(
            f"{manifest_file.name} describes another file (sha256 {manifest.sha256[:12]}…, not {sha256[:12]}…)"
        )
    relative = Path(sha256[:16]) / model.name
    target = model_store / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        for source, final in ((manifest_file, manifest_path_for(target)), (model, target)):  # the model last
            handle, partial = tempfile.mkstemp(prefix=f".{final.name}-", dir=final.parent)
            os.close(handle)
            shutil.copyfile(source, partial)
            os.replace(partial, final)  # each file appears whole, even with two processes storing it at once
    return sha256, str(relative), manifest


def register(components: ReleaseParts, model: Path, actor: Actor) -> tuple[DetectorRelease, bool]:
    sha256, relative, manifest = store(model, components.settings.model_store)
    return components.releases.register(sha256, manifest.name, relative, actor)


ADOPTION_TRIES = 5


def active_release(components: ReleaseParts, actor: Actor) -> DetectorRelease:
    """The active release; on a registry that has none yet, the shipped model, registered and made active. Several
    processes starting at once on a new install (workers) may all adopt it: a registration or activation refused
    because another process's came first is looked at again, and every process ends on the one active model."""
    for attempt in range(ADOPTION_TRIES):
        found = components.releases.active()
        if found is not None:
            return found
        sha256, relative, manifest = store(SHIPPED_MODEL, components.settings.model_store)
        try:
            return components.releases.adopt_shipped(sha256, manifest.name, relative, actor)
        except Conflict:  # another process registered or activated it meanwhile: look again
            if attempt == ADOPTION_TRIES - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def model_file(components: ReleaseParts, release: DetectorRelease) -> Path:
    return components.settings.model_store / release.path


@dataclass(frozen=True)
class GateResult:
    release: DetectorRelease
    verdict: Verdict
    figures: dict[str, Any]


def gate(
    components: ReleaseParts,
    sha256: str,
    actor: Actor,
    golden: Path,
    real: Path | None = None,
    margin: float = DEFAULT_MARGIN,
) -> GateResult:
    """Sit both models through the golden set (and the real photos neither trained on), judge, and record the
    decision: promoted, or refused with the reasons."""
    active = active_release(components, actor)
    candidate = components.releases.get(sha256)
    candidate.require_undecided()
    exam_set = read_golden(golden)
    new = onnx_predictor(model_file(components, candidate))
    old = onnx_predictor(model_file(components, active))
    golden_classes = [c for c in GOLDEN_CLASSES if c in new[2] and c in old[2]]
    exams = [
        Exam("golden", sit(exam_set.frames, new[0], new[1], golden_classes),
             sit(exam_set.frames, old[0], old[1], golden_classes), must_beat=True),
    ]  # fmt: skip
    figures: dict[str, Any] = {
        "active": active.sha256,
        "margin": margin,
        "golden": {"folder": str(golden), "fingerprint": exam_set.fingerprint, "frames": len(exam_set.frames)},
    }
    if real is not None:
        photos = [p for p in read_folder(real) if p.name not in set(new[3]) | set(old[3])]
        classes = [c for c in new[2] if c in old[2]]
        exams.append(Exam("real", sit(photos, new[0], new[1], classes), sit(photos, old[0], old[1], classes),
                          must_beat=False, counts_false_boxes=True))  # fmt: skip
        figures["real"] = {"folder": str(real), "photos": len(photos)}
    for exam in exams:
        figures[exam.name] |= {"candidate": exam.candidate.as_dict(), "active": exam.active.as_dict()}
    verdict = judge(exams, margin)
    figures["verdict"] = verdict.as_json()
    if any(d.action is GateAction.SHADOWED for d in components.releases.decisions(sha256)):
        figures["shadow"] = shadow_report(components, sha256).as_json()  # recorded with the decision, not weighed
    release = components.releases.decide(sha256, actor, verdict.passed, figures)
    return GateResult(release, verdict, figures)


def stored_model_file(components: ReleaseParts, release: DetectorRelease) -> Path:
    """The release's file in this machine's model store; NotInStore names the release and the store when the file
    is not there. The shipped model is put back from this machine's own copy (a new worker machine's empty store)."""
    path = model_file(components, release)
    if not path.is_file() and release.sha256 == file_sha256(SHIPPED_MODEL):
        store(SHIPPED_MODEL, components.settings.model_store)
    if not path.is_file():
        raise NotInStore(
            f"model {release.sha256[:12]} {release.name} ({release.status.value}) is not in the model store "
            f"{components.settings.model_store} (expected {release.path}): give this machine the registry's store "
            "(OFFSITE_MODEL_STORE), or put the file back with `offsite model register FILE`"
        )
    return path


def active_model_file(components: ReleaseParts, actor: Actor) -> Path:
    """The file of the registry's active model (the shipped one on a new registry), for the cameras to start on."""
    return stored_model_file(components, active_release(components, actor))


def _registered_file(
    components: ReleaseParts, release: DetectorRelease, otherwise: str, told: set[str] | None = None
) -> Path | None:
    """The release's file when this store holds the very file registered; else None, logged in one line (once while
    it lasts, with ``told``: a follower's memory of what it has said)."""
    told = set() if told is None else told
    try:
        path = stored_model_file(components, release)
        if file_sha256(path) != release.sha256:
            raise NotInStore(f"model {path} in the store is not the registered file")
    except NotInStore as exc:
        problem = f"{exc}; {otherwise}"
        if problem not in told:
            log.error("%s", problem)
            told.add(problem)
        return None
    told.clear()  # mended: a later fault is told again
    return path


def take_up_promoted(
    components: ReleaseParts,
    take: Callable[[OnnxDetector], bool],
    current_sha256: str,
    told: set[str] | None = None,
) -> bool:
    """When the registry's active model is no longer ``current_sha256``, load it from the store and hand it to
    ``take`` (the cameras' ``use_model``); True when they took it. A stored file that is missing or not the
    registered one is refused and logged (once while it lasts, with ``told``)."""
    release = components.releases.active()
    if release is None or release.sha256 == current_sha256:
        return False
    path = _registered_file(components, release, "the cameras keep their model", told)
    if path is None:
        return False
    return take(OnnxDetector(DetectorConfig(path)))


def follow_active_model(
    components: ReleaseParts,
    take: Callable[[OnnxDetector], bool],
    current: Callable[[], str],
    stop: threading.Event,
    interval_s: float,
    shadow: Callable[[OnnxDetector | None, Callable[[ShadowFinding], None]], bool] | None = None,
    shadowing: Callable[[], str | None] = lambda: None,
) -> None:
    """Every ``interval_s``, take up a newly promoted (or rolled back) model: pipelines change models between two
    frames, without a restart. With ``shadow`` (the cameras' ``use_shadow``), the model in shadow mode, if any, runs
    beside it and its findings are recorded. A model missing from this machine's store is logged once, not at every
    look, and taken up when it is back."""
    told_promoted: set[str] = set()
    told_shadow: set[str] = set()
    while not stop.wait(interval_s):
        try:
            take_up_promoted(components, take, current(), told_promoted)
            if shadow is not None:
                take_up_shadow(components, shadow, shadowing(), told_shadow)
        except Exception:  # keep following: one failed look must not pin the cameras for good
            log.exception("looking for a newly promoted model failed")


def take_up_shadow(
    components: ReleaseParts,
    shadow: Callable[[OnnxDetector | None, Callable[[ShadowFinding], None]], bool],
    current_sha256: str | None,
    told: set[str] | None = None,
) -> bool:
    """Start, change or end shadow mode on the cameras as the registry says; True when something changed."""
    release = components.releases.shadowed()
    if release is not None and _shadow_over(components, release.sha256):
        release = None  # its period is over: the cameras stop running it; its findings stay for the gate
    wanted = None if release is None else release.sha256
    if wanted == current_sha256:
        return False
    if release is None:
        return shadow(None, components.releases.record_shadow)
    path = _registered_file(components, release, "the shadow model is not run", told)
    if path is None:
        return False
    return shadow(OnnxDetector(DetectorConfig(path)), components.releases.record_shadow)


def _shadow_over(components: ReleaseParts, sha256: str) -> bool:
    until = components.releases.shadow_until(sha256)
    return until is not None and components.clock.now() >= until


SHADOW_SLACK = dt.timedelta(seconds=60)  # a finding and a detection this far apart in time are the same occurrence


def shadow_report(components: ReleaseParts, sha256: str) -> ShadowComparison:
    """The shadow model's findings against the active model's detections since shadowing began, and the
    operators' decisions on those."""
    release = components.releases.get(sha256)
    findings = components.releases.shadow_findings(sha256)
    started = next((dt.datetime.fromisoformat(d.at) for d in components.releases.decisions(sha256)
                    if d.action is GateAction.SHADOWED), None)  # fmt: skip
    if started is None:
        raise Conflict(variant="never_shadowed", model=release.sha256[:12])
    raised = [Raised(d.camera, d.zone, d.raised_as, d.first_seen, d.last_seen, d.status.value)
              for d in components.detections.seen_between(started)]  # fmt: skip
    return compare(findings, raised, SHADOW_SLACK)


def golden_sets(components: ReleaseParts) -> list[str]:
    """The golden sets in the golden store, by folder name: what a promotion from the console or the API may name."""
    root = components.settings.golden_store
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / GOLDEN).is_file())


def promote_on(components: ReleaseParts, sha256: str, actor: Actor, golden_set: str, margin: float) -> GateResult:
    """``gate`` on a golden set of the store named by its folder; a model or a set the registry lacks (404), or a set
    whose files changed since it was frozen (409), is refused in the catalogue's words and nothing is decided."""
    known = [r.sha256 for r in components.releases.releases() if r.sha256.startswith(sha256)]
    if len(known) != 1:
        raise NotFound(variant="release", model=sha256[:12])
    if golden_set not in golden_sets(components):
        raise NotFound(variant="golden_set", name=repr(golden_set))
    try:
        return gate(components, known[0], actor, components.settings.golden_store / golden_set, margin=margin)
    except GoldenSetError as exc:
        if exc.key == "changed":
            raise Conflict(variant="golden_changed", name=golden_set, file=exc.params.get("file", "")) from exc
        raise Conflict(variant="golden_not_golden", name=golden_set) from exc


def reasons_of(figures: dict[str, Any] | None) -> list[Term]:
    """A recorded decision's reasons, as catalogue entries."""
    verdict = (figures or {}).get("verdict") or {}
    return [told(Reason(str(r["key"]), dict(r["params"]))) for r in verdict.get("reasons", [])]


@dataclass(frozen=True)
class DecisionView:
    at: dt.datetime
    actor: str
    sha256: str
    action: GateAction
    replaced: str | None
    reasons: list[Term]


@dataclass(frozen=True)
class RegistryView:
    releases: list[DetectorRelease]
    decisions: list[DecisionView]  # newest first
    golden_sets: list[str]
    shadow_reports: dict[str, ShadowComparison] = dataclasses.field(default_factory=dict)  # by the shadow's hash
    shadow_until: dict[str, dt.datetime] = dataclasses.field(default_factory=dict)  # when each shadow period ends


def registry_view(components: ReleaseParts, actor: Actor) -> RegistryView:
    """What the registry's page and route show: the releases (the shipped model adopted on a new registry), the
    decisions newest first with their reasons, and the golden sets."""
    active_release(components, actor)
    decisions = [
        DecisionView(dt.datetime.fromisoformat(d.at), d.actor, d.sha256, d.action, d.replaced, reasons_of(d.figures))
        for d in reversed(components.releases.decisions())
    ]
    releases = components.releases.releases()
    shadowed = [r.sha256 for r in releases if r.status is ReleaseStatus.SHADOW]
    shadows = {sha256: shadow_report(components, sha256) for sha256 in shadowed}
    until = {sha256: moment for sha256 in shadowed if (moment := components.releases.shadow_until(sha256)) is not None}
    return RegistryView(releases, decisions, golden_sets(components), shadows, until)
