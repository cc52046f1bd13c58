"""Sealed camera packages without their detection, taken in (``offsite serve --cameras``, at start and periodically).

A pipeline seals an occurrence's evidence first and records its detection after (``offsite.cameras``), so a process
killed between the two leaves a package that verifies and that no operator would ever see. ``SealedEvents`` finds
each camera package no detection cites, rebuilds the event from the context it was sealed with, and takes it in
through the same intake as the pipeline. The intake is idempotent by event id: a package whose detection exists,
or appears meanwhile from the pipeline itself, adds nothing.

It reads the packages and their manifests only, never the evidence log, so it writes nothing there: in a cluster
``offsite scheduler`` runs it on the shared backend (``StoredPackages``), beside the sealer that writes the log.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from cases.errors import OffsiteError
from cases.services.detections import DetectionService
from cases.services.registry import RegistryService
from evidence_store.backends import EvidenceBackend
from vision.events import SubjectKind, SubjectRef, ViolationEvent
from vision.pipeline import occurrence_event_id

log = logging.getLogger("offsite.reconcile")
RECONCILE_EVERY_S = 600.0
# What offsite.cameras.PipelineSealer seals with every camera package, and this rebuilds the event from.
PIPELINE_CONTEXT = ("camera_id", "zone_id", "rule_id", "violation_code", "subject", "first_seen", "confirmed_at")


def sealed_event(package_id: str, context: Any) -> ViolationEvent | None:
    """The violation event a camera pipeline sealed this package for, rebuilt from the context ``PipelineSealer``
    sealed with it (as the pipeline builds it after sealing); None for a package of anything else (a document, a
    party's attachment). Packages sealed before the context held ``event_id`` get the id the pipeline gave them."""
    if not isinstance(context, dict) or not all(context.get(name) for name in PIPELINE_CONTEXT):
        return None
    try:
        first_seen = dt.datetime.fromisoformat(context["first_seen"])
        subject = SubjectRef(SubjectKind(context["subject"]["kind"]), context["subject"].get("ref"))
        median_score = float(context.get("median_score") or 1.0)
        return ViolationEvent(
            event_id=context.get("event_id")
            or occurrence_event_id(context["camera_id"], context["rule_id"], context["zone_id"], context["first_seen"]),
            camera_id=context["camera_id"],
            zone_id=context["zone_id"],
            rule_id=context["rule_id"],
            violation_code=context["violation_code"],
            subject=subject,
            first_seen=first_seen,
            last_seen=dt.datetime.fromisoformat(context["confirmed_at"]),
            evidence_package_id=package_id,
            confidence=round(min(1.0, max(0.0, median_score)), 4),
        )
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        log.error("package %s: a camera's context that does not make an event (%s)", package_id, exc)
        return None


class SealedPackages(Protocol):
    """What reconciling reads of the evidence: the packages stored, and each one's manifest (an ``EvidenceStore``
    reads them so too)."""

    def package_ids(self) -> Iterator[str]: ...
    def manifest(self, package_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class StoredPackages:
    """The packages as the shared evidence backend holds them, for a process that holds no evidence log (the
    cluster's scheduler: the log is the sealer's)."""

    backend: EvidenceBackend

    def package_ids(self) -> Iterator[str]:
        for key in self.backend.keys("packages/"):
            yield key.removeprefix("packages/").removesuffix(".json")

    def manifest(self, package_id: str) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.backend.get(f"packages/{package_id}.json"))
        return parsed


@dataclass(frozen=True)
class Reconciled:
    """One round: the packages taken in as new detections, and those the case system refused (with why)."""

    taken_in: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)


class SealedEvents:
    """Sealed camera packages without their detection, taken in as detections pending review."""

    def __init__(
        self, store: Callable[[], SealedPackages], detections: DetectionService, registry: RegistryService
    ) -> None:
        self._store, self._detections, self._registry = store, detections, registry
        self._settled: set[str] = set()  # taken in, or not a camera's package: never opened again by this process
        self._reported: set[str] = set()  # refused packages already logged (they are tried again each round)

    def run(self) -> Reconciled:
        result = Reconciled()
        store = self._store()
        recorded = self._detections.evidence_package_ids()
        for package_id in store.package_ids():
            if package_id in self._settled or package_id in recorded:
                continue
            event = sealed_event(package_id, store.manifest(package_id).get("context"))
            if event is None:
                self._settled.add(package_id)
                continue
            try:
                _detection, created = self._detections.intake(event, self._registry, flag_unknown_zone=True)
            except OffsiteError as exc:  # an unregistered camera, say: tried again next round, logged once
                result.refused[package_id] = exc.message
                if package_id not in self._reported:
                    self._reported.add(package_id)
                    log.error("sealed package %s (event %s) refused by the case system: %s",
                              package_id, event.event_id, exc.message)  # fmt: skip
                continue
            self._settled.add(package_id)
            if created:
                result.taken_in.append(package_id)
                log.warning("camera %s: sealed package %s had no detection; taken in as event %s",
                            event.camera_id, package_id, event.event_id)  # fmt: skip
        return result

    def run_forever(self, stop: threading.Event, every_s: float = RECONCILE_EVERY_S) -> None:
        """A round now, then one every ``every_s`` until ``stop``; a failed round is logged and the next one runs."""
        while True:
            try:
                self.run()
            except Exception:  # the store or the database may be away for a while: the next round tries again
                log.exception("reconciling sealed packages with detections failed")
            if stop.wait(every_s):
                return
